//! "Garbage" mode: hostile answers a client must survive without panicking, hanging, or sending
//! its token to another host.
//!
//! [`draw`] picks a [`GarbageKind`] for a request (or none). Kinds that stand for a broken proxy or
//! gateway ([`answer`]) reply in place of the handler, so the request has no effect. Kinds that
//! spoil a real answer ([`spoil`]) let the handler run first: the change is made, and the client
//! must find out on its own (by looking before creating again).

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use rand::Rng;

use crate::settings::{Api, Garbage, GarbageKind};

/// The foreign host of `Location` and redirect garbage: not loopback, not an API host.
pub const FOREIGN: &str = "http://evil.example.com";
/// Size of an enormous body: 64 MiB.
pub const ENORMOUS_BYTES: usize = 64 * 1024 * 1024;
/// Bodies are read whole before truncating; none of the simulator's own answers is near this.
const READ_LIMIT: usize = 16 * 1024 * 1024;

/// Draws the garbage for one request, if any.
pub fn draw(garbage: &Garbage, api: Api, method: &str, rng: &mut impl Rng) -> Option<GarbageKind> {
    if !garbage.matches(api, method) || rng.random::<f64>() >= garbage.rate {
        return None;
    }
    let kinds: &[GarbageKind] = if garbage.kinds.is_empty() {
        &GarbageKind::ALL
    } else {
        &garbage.kinds
    };
    Some(kinds[rng.random_range(0..kinds.len())])
}

/// The answer of a kind that replaces the handler (not [`GarbageKind::processed`]).
pub fn answer(kind: GarbageKind, path: &str) -> Response {
    let mut response = match kind {
        // Shaped like a gorouter / load balancer page (the HTML 502 in issue 4's proxy test).
        GarbageKind::HtmlErrorPage => with_type(
            StatusCode::BAD_GATEWAY,
            "text/html",
            Body::from(
                "<html><head><title>502 Bad Gateway</title></head>\
                 <body><h1>502 Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>",
            ),
        ),
        GarbageKind::WrongContentType => with_type(
            StatusCode::OK,
            "application/xml",
            Body::from("<?xml version=\"1.0\"?><result><status>ok</status></result>"),
        ),
        GarbageKind::Empty200 => with_type(StatusCode::OK, "application/json", Body::empty()),
        GarbageKind::EnormousBody => with_type(StatusCode::OK, "application/json", enormous()),
        GarbageKind::RedirectForeign => {
            let mut r = with_type(StatusCode::FOUND, "text/plain", Body::from("Found"));
            insert(&mut r, header::LOCATION, &format!("{FOREIGN}{path}"));
            r
        }
        // Processed kinds are applied by `spoil`; answering here would be a bug, so say so.
        GarbageKind::TruncatedJson
        | GarbageKind::LocationElsewhere
        | GarbageKind::LocationForeign => with_type(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            Body::from("btp-sim: processed garbage kind answered in place of the handler"),
        ),
    };
    mark(&mut response, kind);
    response
}

/// Spoils the handler's real `response` (a [`GarbageKind::processed`] kind).
pub async fn spoil(kind: GarbageKind, response: Response, base_url: &str, path: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let mut response = match kind {
        GarbageKind::TruncatedJson => {
            let bytes = axum::body::to_bytes(body, READ_LIMIT)
                .await
                .unwrap_or_default();
            let cut = if bytes.len() >= 2 {
                bytes.slice(..bytes.len() / 2)
            } else {
                // An empty answer (e.g. 202) still gets the start of a JSON document.
                Bytes::from_static(b"{\"guid\":\"")
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Response::from_parts(parts, Body::from(cut))
        }
        GarbageKind::LocationElsewhere => {
            let mut r = Response::from_parts(parts, body);
            insert(
                &mut r,
                header::LOCATION,
                &format!("{base_url}/elsewhere{path}"),
            );
            r
        }
        GarbageKind::LocationForeign => {
            let mut r = Response::from_parts(parts, body);
            insert(&mut r, header::LOCATION, &format!("{FOREIGN}{path}"));
            r
        }
        other => return answer(other, path),
    };
    mark(&mut response, kind);
    response
}

/// `{"resources":["xxxx…","xxxx…",…` for [`ENORMOUS_BYTES`], streamed in 64 KiB chunks and never
/// closed: no client should read that far.
fn enormous() -> Body {
    const CHUNK: usize = 64 * 1024;
    let mut item = Vec::with_capacity(CHUNK);
    item.extend_from_slice(b"\"");
    item.resize(CHUNK - 2, b'x');
    item.extend_from_slice(b"\",");
    let item = Bytes::from(item);
    let head = Bytes::from_static(b"{\"resources\":[");
    let chunks = std::iter::once(head).chain(std::iter::repeat_n(item, ENORMOUS_BYTES / CHUNK));
    Body::from_stream(futures::stream::iter(
        chunks.map(Ok::<Bytes, std::io::Error>),
    ))
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn mark(response: &mut Response, kind: GarbageKind) {
    let name = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    insert(
        response,
        header::HeaderName::from_static("x-sim-fault"),
        &format!("garbage-{name}"),
    );
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
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
    fn draws_only_matching_requests_at_the_rate() {
        let mut rng = SmallRng::seed_from_u64(3);
        let garbage = Garbage {
            kinds: vec![GarbageKind::Empty200, GarbageKind::HtmlErrorPage],
            rate: 0.5,
            apis: vec![Api::Cf],
            methods: vec!["POST".into()],
        };
        assert!((0..100).all(|_| draw(&garbage, Api::ServiceManager, "POST", &mut rng).is_none()));
        assert!((0..100).all(|_| draw(&garbage, Api::Cf, "GET", &mut rng).is_none()));
        let hits: Vec<GarbageKind> = (0..1000)
            .filter_map(|_| draw(&garbage, Api::Cf, "post", &mut rng))
            .collect();
        assert!((400..600).contains(&hits.len()), "{} hits", hits.len());
        assert!(hits.iter().all(|k| garbage.kinds.contains(k)));
        let all = Garbage::always(GarbageKind::RedirectForeign, &[]);
        assert_eq!(
            draw(&all, Api::Uaa, "POST", &mut rng),
            Some(GarbageKind::RedirectForeign)
        );
    }

    #[tokio::test]
    async fn the_enormous_body_is_as_large_as_announced() {
        let response = answer(GarbageKind::EnormousBody, "/v3/spaces");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        assert!(bytes.len() > ENORMOUS_BYTES, "{} bytes", bytes.len());
        assert!(bytes.starts_with(b"{\"resources\":[\""));
    }
}
