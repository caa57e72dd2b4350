//! The retry loop ([`Btp::execute`]), safe creates ([`create_or_find`]) and polling
//! ([`Btp::poll`]).

use std::future::Future;
use std::time::SystemTime;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::ExposeSecret;
use tokio::time::Instant;

use super::{Auth, Body, Btp, Replay, Request, Response, error_body, redact, retry};
use crate::error::{Api, ApiError, Error, ErrorBody, TransportFailure};
use crate::observer::{Event, RetryReason};

/// What came back from one attempt.
enum Attempt {
    Answered(Response),
    Failed(TransportFailure, Option<reqwest::Error>),
    /// The body exceeded `max_body_bytes`; reading stopped there.
    TooLarge(reqwest::StatusCode),
}

impl Btp {
    /// Sends `request`, applying the limiter, authentication and the retry policy:
    /// - 429: wait for `Retry-After` (or backoff), cut the host's rate, repeat — for every method,
    ///   because a rate-limited request was not processed;
    /// - 401 with a bearer token: drop the token, get a new one, repeat once;
    /// - 404 from the Cloud Foundry router (`X-Cf-Routererror`): repeat with backoff for every
    ///   method, since the API never saw the request;
    /// - 500/502/503/504 and broken connections: repeat with jittered backoff if the request is
    ///   [`Replay::Safe`] (501 means "never"; a 500 from BTP is as often a passing fault of a
    ///   backend as a bug, and a safe request costs nothing to repeat — the same rule as
    ///   hashicorp/go-retryablehttp's `DefaultRetryPolicy`, under Terraform's providers); a
    ///   connect failure is repeated for every method;
    /// - everything else: a typed error.
    pub(crate) async fn execute(&self, request: &Request) -> Result<Response, Error> {
        let context = request.context();
        let policy = &self.inner.config.retry;
        // One limiter per API and host: on BTP every API has its own host anyway, and when
        // CALMCTL_API_URL routes them all to one address (the simulator) each API keeps its own
        // pace, as BTP's limits are per API.
        let limiter = self
            .inner
            .limiters
            .for_host(&format!("{:?}@{}", context.api, context.host));
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            // Counts this request as in flight until its answer is handled (or it waits to retry).
            let permit = limiter.acquire().await;
            let token = match &request.auth {
                // Boxed: getting a token sends a request through this function.
                Auth::Bearer(source) => Some(Box::pin(source.access_token(self)).await?),
                _ => None,
            };
            tracing::trace!(
                api = %request.api, method = %context.method, host = %context.host,
                path = %context.path, attempt, "sending"
            );
            let outcome = self.attempt(request, token.as_ref().map(|t| &t.0)).await;
            let elapsed = started.elapsed();
            let answered = match outcome {
                Attempt::Answered(response) => response,
                Attempt::TooLarge(status) => {
                    return Err(Error::BodyTooLarge {
                        context: Box::new(context),
                        status: status.as_u16(),
                        limit: self.inner.config.max_body_bytes,
                    });
                }
                Attempt::Failed(kind, source) => {
                    let wait = policy.backoff(attempt);
                    let safe = kind == TransportFailure::Connect || request.replay == Replay::Safe;
                    if safe && attempt < policy.max_attempts && elapsed + wait < policy.max_elapsed
                    {
                        self.emit(Event::Retrying {
                            api: request.api,
                            host: context.host.clone(),
                            reason: RetryReason::Connection,
                            wait,
                            attempt: attempt + 1,
                        });
                        drop(permit);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(Error::Transport {
                        context: Box::new(context),
                        kind,
                        source,
                    });
                }
            };
            let status = answered.status.as_u16();
            tracing::debug!(
                api = %request.api, method = %context.method, path = %context.path, status,
                elapsed_ms = elapsed.as_millis() as u64, "response"
            );
            if status == 429 {
                let wait = retry::retry_after(&answered.headers, SystemTime::now())
                    .unwrap_or_else(|| policy.backoff(attempt))
                    .min(policy.max_retry_after);
                let new_rate = limiter.on_rate_limited(wait);
                if elapsed + wait < policy.max_elapsed {
                    self.emit(Event::RateLimited {
                        api: request.api,
                        host: context.host.clone(),
                        wait,
                        new_rate,
                    });
                    // The limiter now holds every request to this host until `wait` has passed.
                    continue;
                }
                return Err(api_error(answered));
            }
            if status == 401
                && let (Some(token), Auth::Bearer(source)) = (&token, &request.auth)
                && !refreshed
            {
                // btp-api.md §2.10: CF-InvalidAuthToken (1000) means refresh and retry once;
                // other APIs answer a bare 401 to an expired token.
                refreshed = true;
                source.invalidate(token.1);
                attempt -= 1;
                continue;
            }
            if status == 404 && router_error(&answered.headers).is_some() {
                // The router found no route to the API (e.g. while its app restarts): the API
                // never saw the request, so it is repeated whatever its method, like a connect
                // failure. Never read as "not found" (Error::is_not_found).
                let wait = policy.backoff(attempt);
                if attempt < policy.max_attempts && elapsed + wait < policy.max_elapsed {
                    self.emit(Event::Retrying {
                        api: request.api,
                        host: context.host.clone(),
                        reason: RetryReason::Status(status),
                        wait,
                        attempt: attempt + 1,
                    });
                    drop(permit);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(api_error(answered));
            }
            if matches!(status, 500 | 502..=504) && request.replay == Replay::Safe {
                // Only an explicit Retry-After counts here: CF sends `X-RateLimit-Reset` (the end
                // of its hourly window) on every response, which says nothing about a 5xx.
                let hinted = answered
                    .headers
                    .contains_key(reqwest::header::RETRY_AFTER)
                    .then(|| retry::retry_after(&answered.headers, SystemTime::now()))
                    .flatten();
                let wait = hinted
                    .unwrap_or_else(|| policy.backoff(attempt))
                    .min(policy.max_delay);
                if attempt < policy.max_attempts && elapsed + wait < policy.max_elapsed {
                    self.emit(Event::Retrying {
                        api: request.api,
                        host: context.host.clone(),
                        reason: RetryReason::Status(status),
                        wait,
                        attempt: attempt + 1,
                    });
                    drop(permit);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            if !matches!(status, 500..=599) {
                limiter.on_success();
                if let Some((remaining, reset_in)) =
                    retry::window_budget(&answered.headers, SystemTime::now())
                {
                    limiter.on_budget(remaining, reset_in);
                }
            }
            if answered.status.is_success() {
                return Ok(answered);
            }
            if answered.status.is_redirection() {
                // The client follows no redirect (reqwest Policy::none): it could carry the bearer
                // token to another host. Say where it pointed, so the user can fix the API URL.
                let location = answered
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map_or_else(|| "none".to_owned(), redact::redact_text);
                return Err(Error::Redirect {
                    context: Box::new(answered.context),
                    status,
                    location,
                });
            }
            return Err(api_error(answered));
        }
    }

    /// One attempt: send and read the whole body within the per-request timeout.
    async fn attempt(&self, request: &Request, token: Option<&secrecy::SecretString>) -> Attempt {
        let mut builder = self
            .inner
            .client
            .request(request.method.clone(), request.url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(host) = request
            .host
            .as_deref()
            .and_then(|h| HeaderValue::from_str(h).ok())
        {
            builder = builder.header(reqwest::header::HOST, host);
        }
        let authorization = match (&request.auth, token) {
            (Auth::Basic(value), _) => Some(value.expose_secret().to_owned()),
            (Auth::Bearer(_), Some(token)) => Some(format!("bearer {}", token.expose_secret())),
            _ => None,
        };
        if let Some(value) = authorization
            && let Ok(mut value) = HeaderValue::from_str(&value)
        {
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        builder = match &request.body {
            Body::None => builder,
            Body::Json(bytes) => builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes.clone()),
            Body::Form(form) => builder
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(form.expose_secret().to_owned()),
        };
        let timeout = self.inner.config.request_timeout;
        let limit = self.inner.config.max_body_bytes;
        let exchange = async {
            let mut response = builder.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            // Read at most `limit` bytes, chunk by chunk: an enormous or endless body must neither
            // fill memory nor be read to its end.
            if response.content_length().is_some_and(|n| n > limit as u64) {
                return Ok(Err(status));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > limit {
                    return Ok(Err(status));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Ok((status, headers, body)))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Attempt::Failed(TransportFailure::TimedOut, None),
            Ok(Ok(Err(status))) => Attempt::TooLarge(status),
            Ok(Err(e)) => {
                let kind = if e.is_connect() {
                    TransportFailure::Connect
                } else if e.is_timeout() {
                    TransportFailure::TimedOut
                } else {
                    TransportFailure::Interrupted
                };
                Attempt::Failed(kind, Some(e.without_url()))
            }
            Ok(Ok(Ok((status, headers, body)))) => Attempt::Answered(Response {
                context: request.context(),
                status,
                headers,
                body,
            }),
        }
    }

    /// [`Btp::poll`] of an operation that was just started: waits `poll_first` before the first
    /// check.
    pub(crate) async fn poll_started<T, F, Fut>(
        &self,
        api: Api,
        what: &str,
        check: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Result<T, String>, Error>>,
    {
        if self
            .inner
            .config
            .cancel
            .cancelled_during(self.inner.config.poll_first)
            .await
        {
            return Err(Error::Cancelled {
                api,
                what: what.to_owned(),
            });
        }
        self.poll(api, what, check).await
    }

    /// Polls `check` until it returns `Some`, waiting `poll_initial`, then half as long again each
    /// time up to `poll_max`, for at most `operation_timeout`, and not a moment after
    /// [`ClientConfig::cancel`](crate::ClientConfig) is set. `describe` names the operation for
    /// the observer and errors; `check` returns the state to report while it is not done (server
    /// text: it is cleaned before it is shown).
    pub(crate) async fn poll<T, F, Fut>(
        &self,
        api: Api,
        what: &str,
        mut check: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Result<T, String>, Error>>,
    {
        let config = &self.inner.config;
        let started = Instant::now();
        let mut wait = config.poll_initial;
        let cancelled = || Error::Cancelled {
            api,
            what: what.to_owned(),
        };
        loop {
            if config.cancel.is_cancelled() {
                return Err(cancelled());
            }
            match check().await? {
                Ok(done) => return Ok(done),
                Err(state) => {
                    if started.elapsed() + wait > config.operation_timeout {
                        return Err(Error::Timeout {
                            api,
                            what: what.to_owned(),
                            after: started.elapsed(),
                        });
                    }
                    self.emit(Event::Waiting {
                        api,
                        what: what.to_owned(),
                        state: redact::server_text(&state),
                        wait,
                    });
                    if config.cancel.cancelled_during(wait).await {
                        return Err(cancelled());
                    }
                    wait = (wait + wait / 2).min(config.poll_max);
                }
            }
        }
    }
}

fn api_error(response: Response) -> Error {
    let body = match router_error(&response.headers) {
        Some(error) => ErrorBody::Router {
            error,
            message: redact::snippet(&response.body).trim().to_owned(),
        },
        None => error_body::parse(response.context.api, &response.body),
    };
    let request_id = error_body::request_id(&response.headers, &body);
    Error::Api(Box::new(ApiError {
        context: response.context,
        status: response.status.as_u16(),
        body,
        request_id,
    }))
}

/// `X-Cf-Routererror` of an answer the Cloud Foundry router gave itself (cloudfoundry/gorouter
/// `handlers/helpers.go` `AddRouterErrorHeader`), e.g. `unknown_route`.
fn router_error(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get("x-cf-routererror")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The result of [`create_or_find`].
#[derive(Debug)]
pub(crate) enum Created<C, F> {
    /// The create request was answered.
    Created(C),
    /// A create failed ambiguously and the object was found: an earlier attempt took effect.
    Found(F),
}

/// Creates an object without ever creating it twice.
///
/// `create` sends the POST (which [`Btp::execute`] repeats only when the request certainly was not
/// processed). When it fails ambiguously (broken connection, timeout, 502/503/504), `find` looks
/// the object up by its name: if it exists, the earlier attempt took effect and it is returned as
/// [`Created::Found`]; if not, the create is repeated after a backoff. A name conflict on a
/// repeated attempt also means an earlier attempt took effect, so it is looked up too.
pub(crate) async fn create_or_find<C, F, CFut, FFut, CT, FT>(
    btp: &Btp,
    api: Api,
    mut create: C,
    mut find: F,
) -> Result<Created<CT, FT>, Error>
where
    C: FnMut() -> CFut,
    F: FnMut() -> FFut,
    CFut: Future<Output = Result<CT, Error>>,
    FFut: Future<Output = Result<Option<FT>, Error>>,
{
    let policy = &btp.inner.config.retry;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let error = match create().await {
            Ok(created) => return Ok(Created::Created(created)),
            Err(error) => error,
        };
        let retried_conflict = attempt > 1 && error.is_conflict();
        if !(error.is_ambiguous() || retried_conflict) {
            return Err(error);
        }
        if let Some(found) = find().await? {
            return Ok(Created::Found(found));
        }
        if attempt >= policy.max_attempts || retried_conflict {
            return Err(error);
        }
        let wait = policy.backoff(attempt);
        let host = match &error {
            Error::Api(e) => e.context.host.clone(),
            Error::Transport { context, .. } => context.host.clone(),
            _ => String::new(),
        };
        btp.emit(Event::Retrying {
            api,
            host,
            reason: RetryReason::CreateNotApplied,
            wait,
            attempt: attempt + 1,
        });
        tokio::time::sleep(wait).await;
    }
}
