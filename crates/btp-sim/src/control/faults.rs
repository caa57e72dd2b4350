//! Injected faults and the 429s of rate limits, each in its API's own form.
//!
//! A request's fate is one [`Injected`] value chosen by [`decide`]. Adding a new kind of fault means
//! adding a variant, a share in [`Faults`] and an arm in [`respond`]; nothing else changes. Hostile
//! answers (garbage bodies, misleading `Location` headers) live in [`super::garbage`].

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;

use crate::errors;
use crate::settings::{Api, Faults};

/// What the fault layer does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// Answer with this 5xx status.
    ServerError(u16),
    /// Answer with a 429 telling the client to retry after this many seconds.
    Throttle(u64),
    /// Cut the connection before a complete response.
    Reset,
    /// Answer normally after this extra delay (ms).
    Slow(u64),
    /// The Cloud Foundry router found no route to the API: 404 with `X-Cf-Routererror:
    /// unknown_route`; the API never saw the request.
    UnknownRoute,
}

/// Draw the fate of one request from the fault shares.
pub fn decide(faults: &Faults, rng: &mut impl Rng) -> Option<Injected> {
    let roll: f64 = rng.random();
    let mut edge = faults.error_rate;
    if roll < edge {
        return Some(Injected::ServerError(if rng.random_bool(0.5) {
            503
        } else {
            500
        }));
    }
    edge += faults.throttle_rate;
    if roll < edge {
        return Some(Injected::Throttle(rng.random_range(1..=3)));
    }
    edge += faults.reset_rate;
    if roll < edge {
        return Some(Injected::Reset);
    }
    edge += faults.slow_rate;
    if roll < edge {
        return Some(Injected::Slow(faults.slow_ms));
    }
    edge += faults.unknown_route_rate;
    if roll < edge {
        return Some(Injected::UnknownRoute);
    }
    None
}

/// The response for a fault (never called for `Slow`, which only delays). `host` is the
/// request's `Host`, which a router's answer names.
pub fn respond(api: Api, injected: Injected, path: &str, host: &str) -> Response {
    match injected {
        Injected::Throttle(secs) => throttled(api, secs, path),
        Injected::ServerError(status) => server_error(api, status, path),
        Injected::Reset => reset(),
        Injected::UnknownRoute => unknown_route(host),
        Injected::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The Cloud Foundry router's answer when no route matches the host (every BTP API host sits
/// behind it): 404, `X-Cf-Routererror: unknown_route`, `text/plain` and a one-line body
/// (cloudfoundry/gorouter `handlers/lookup.go` `handleMissingRoute`,
/// `errorwriter/error_writer.go`). SAP's Service Manager client treats it as 503, not as "not
/// found" (btp-api.md §10 item 4).
pub fn unknown_route(host: &str) -> Response {
    let body = format!("404 Not Found: Requested route ('{host}') does not exist.\n");
    let mut response = (StatusCode::NOT_FOUND, body).into_response();
    for (name, value) in [
        ("content-type", "text/plain; charset=utf-8"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-cache, no-store"),
        ("x-cf-routererror", "unknown_route"),
        ("x-sim-fault", "unknown_route"),
    ] {
        insert(&mut response, name, value);
    }
    response
}

/// A 429 in the API's own form (btp-api.md §2.3, §4.5, §3.1 and quirk 6 in §7).
pub fn throttled(api: Api, retry_after_secs: u64, path: &str) -> Response {
    let mut response = match api {
        // CF: Retry-After in seconds, text/plain content type over a JSON body.
        Api::Cf | Api::Uaa => {
            let (code, title) = if api == Api::Uaa {
                (20008, "CF-UaaRateLimited")
            } else {
                (10013, "CF-RateLimitExceeded")
            };
            let body = json!({"errors": [{"code": code, "title": title, "detail": "Rate Limit Exceeded"}]});
            let mut r = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            insert(&mut r, "retry-after", &retry_after_secs.to_string());
            r
        }
        // Service Manager: Retry-After as an HTTP-date.
        Api::ServiceManager => {
            let mut r = errors::json_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"description": "The allowed request limit has been reached. Please try again later."}),
            );
            let at = SystemTime::now() + Duration::from_secs(retry_after_secs);
            insert(&mut r, "retry-after", &httpdate::fmt_http_date(at));
            r
        }
        // Accounts and Entitlements: X-Ratelimit-Reset in epoch milliseconds.
        Api::Accounts | Api::Entitlements => {
            let mut r = errors::btp(
                StatusCode::TOO_MANY_REQUESTS,
                429,
                "Rate Limit Exceeded",
                path,
            );
            let reset_ms = crate::world::now_ms() + retry_after_secs * 1000;
            insert(&mut r, "x-ratelimit-reset", &reset_ms.to_string());
            r
        }
    };
    response
        .headers_mut()
        .insert("x-sim-fault", HeaderValue::from_static("429"));
    response
}

fn server_error(api: Api, status: u16, path: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let unavailable = code == StatusCode::SERVICE_UNAVAILABLE;
    let mut response = match api {
        // The recorded 500 is `{"title":"UnknownError","detail":"An unknown error occurred.","code":10001}`
        // (cassette resource_user_cf_crud_invalid.yaml); 503 is CF-ServiceUnavailable 10015.
        Api::Cf => {
            if unavailable {
                errors::cf(
                    code,
                    10015,
                    "CF-ServiceUnavailable",
                    "The service is currently unavailable.",
                )
            } else {
                errors::cf(code, 10001, "UnknownError", "An unknown error occurred.")
            }
        }
        Api::Uaa => errors::uaa(code, "server_error", "Internal server error"),
        Api::ServiceManager => {
            let name = if unavailable {
                "ServiceUnavailable"
            } else {
                "InternalServerError"
            };
            errors::sm(code, name, "The service is temporarily unavailable.")
        }
        Api::Accounts | Api::Entitlements => {
            errors::btp(code, u32::from(status), "Internal Server Error", path)
        }
    };
    insert(&mut response, "x-sim-fault", &status.to_string());
    response
}

/// A response whose body fails after the headers: hyper then aborts the connection, which the
/// client sees as a reset / incomplete message.
fn reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    let mut response = Response::new(Body::from_stream(stream));
    insert(&mut response, "x-sim-fault", "reset");
    response
}

fn insert(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    #[test]
    fn shares_roughly_match_the_profile() {
        let faults = Faults::profile("chaos").unwrap_or_default();
        let mut rng = SmallRng::seed_from_u64(7);
        let hits = (0..10_000)
            .filter(|_| decide(&faults, &mut rng).is_some())
            .count();
        assert!((1_300..1_700).contains(&hits), "chaos hit {hits} of 10000");
        let none = Faults::default();
        assert!((0..1000).all(|_| decide(&none, &mut rng).is_none()));
    }
}
