//! Request execution: one place that paces, authenticates, sends, retries and decodes.
//!
//! Every API module builds a [`Request`] and calls [`Btp::execute`]. The loop here applies the
//! whole load and failure policy described in the crate overview, so that no API module has to.

pub(crate) mod endpoint;
pub(crate) mod error_body;
pub mod limiter;
pub(crate) mod redact;
pub mod retry;
pub(crate) mod send;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{TokenKey, TokenSource};
use crate::config::ClientConfig;
use crate::error::{Api, Error, RequestContext};
use crate::observer::Event;
use limiter::Limiters;

/// The shared HTTP machinery of a process: connection pool, per-host limiters, token cache and
/// settings. Cloning is cheap; all clones share everything. Build API clients from it with
/// [`Btp::cloud_foundry`](crate::Btp::cloud_foundry), [`Btp::accounts`](crate::Btp::accounts),
/// [`Btp::entitlements`](crate::Btp::entitlements) and
/// [`Btp::service_manager`](crate::Btp::service_manager).
#[derive(Clone)]
pub struct Btp {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: reqwest::Client,
    pub(crate) config: ClientConfig,
    pub(crate) limiters: Limiters,
    pub(crate) tokens: Mutex<HashMap<TokenKey, Arc<TokenSource>>>,
}

impl std::fmt::Debug for Btp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btp")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Btp {
    /// Builds the shared machinery. Fails if `config.api_url` is not https (or http to loopback)
    /// or the TLS stack cannot be set up.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        if let Some(url) = &config.api_url {
            endpoint::check_scheme(url)?;
        }
        let client = reqwest::Client::builder()
            // Never follow a redirect: it could carry the bearer token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(Error::Init)?;
        let limiters = Limiters::new(config.limiter.clone());
        Ok(Btp {
            inner: Arc::new(Inner {
                client,
                config,
                limiters,
                tokens: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub(crate) fn emit(&self, event: Event) {
        tracing::info!(target: "calm_btp::event", "{event}");
        self.inner.config.observer.on_event(&event);
    }

    /// The token source for `key`, created with `make` on first use and shared afterwards, so that
    /// every task using the same identity and token URL shares one token and one refresh.
    pub(crate) fn token_source(
        &self,
        key: TokenKey,
        make: impl FnOnce() -> TokenSource,
    ) -> Arc<TokenSource> {
        let mut tokens = self
            .inner
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tokens
            .entry(key)
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }

    /// The configured routing URL, if any.
    pub(crate) fn route(&self) -> Option<&Url> {
        self.inner.config.api_url.as_ref()
    }
}

/// How a request authenticates.
#[derive(Clone)]
pub(crate) enum Auth {
    /// No credentials (CF `GET /`).
    None,
    /// `Authorization: Basic …`, the full header value (token requests).
    Basic(SecretString),
    /// A bearer token from a shared token source.
    Bearer(Arc<TokenSource>),
}

/// The body of a request.
#[derive(Clone)]
pub(crate) enum Body {
    None,
    Json(Vec<u8>),
    /// An `application/x-www-form-urlencoded` body; secret because token requests carry
    /// passwords, client secrets and refresh tokens in it.
    Form(SecretString),
}

/// Whether a request may be repeated after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Repeating has the same effect as sending once: GET, PUT, DELETE, PATCH of metadata, token
    /// requests.
    Safe,
    /// A create: repeated only on a connect failure or a 429 (the request was not processed).
    /// Other failures go back to the caller, who looks before creating again (`create_or_find`).
    Once,
}

/// A request to one API.
pub(crate) struct Request {
    pub(crate) api: Api,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Body,
    pub(crate) auth: Auth,
    pub(crate) replay: Replay,
    /// The `Host` header to send when the URL was routed ([`endpoint::Endpoint::host_header`]).
    pub(crate) host: Option<String>,
}

impl Request {
    pub(crate) fn new(api: Api, method: Method, url: Url, auth: Auth) -> Self {
        let replay = if method == Method::POST {
            Replay::Once
        } else {
            Replay::Safe
        };
        Request {
            api,
            method,
            url,
            body: Body::None,
            auth,
            replay,
            host: None,
        }
    }

    /// Names the endpoint's logical host when its requests are routed elsewhere.
    pub(crate) fn routed_for(mut self, endpoint: &endpoint::Endpoint) -> Self {
        self.host = endpoint.host_header();
        self
    }

    pub(crate) fn get(api: Api, url: Url, auth: Auth) -> Self {
        Request::new(api, Method::GET, url, auth)
    }

    pub(crate) fn json(mut self, value: &impl serde::Serialize) -> Self {
        // Serialising our own request types cannot fail: they hold only strings, numbers, maps
        // and serde_json values. Fall back to `null` rather than panic.
        self.body = Body::Json(serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()));
        self
    }

    pub(crate) fn replay(mut self, replay: Replay) -> Self {
        self.replay = replay;
        self
    }

    pub(crate) fn context(&self) -> RequestContext {
        RequestContext {
            api: self.api,
            method: self.method.to_string(),
            host: endpoint::host_key(&self.url),
            path: redact::path_and_query(&self.url),
        }
    }
}

/// A response with a success status (2xx).
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) context: RequestContext,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// Decodes the body, or fails with the first bytes of the body (redacted).
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        decode(&self.context, self.status.as_u16(), &self.body).map_err(|e| match e {
            // Name a content type that is not JSON: it says who answered (a proxy's HTML or XML).
            // The body decides, not the header: CF sends JSON 429s as text/plain (btp-api.md §7).
            Error::Decode {
                context,
                status,
                reason,
                snippet,
            } => {
                let content_type = self
                    .headers
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .filter(|t| !t.contains("json"));
                let reason = match content_type {
                    Some(t) => format!("{reason}; content type {}", redact::redact_text(t)),
                    None => reason,
                };
                Error::Decode {
                    context,
                    status,
                    reason,
                    snippet,
                }
            }
            other => other,
        })
    }

    /// The `Location` header, if it points into `endpoint`. A `Location` to another host is an
    /// [`Error::ForeignLink`] naming this request and its status: it is never followed, since the
    /// next request would carry the bearer token there.
    pub(crate) fn location_in(&self, endpoint: &endpoint::Endpoint) -> Result<Option<&str>, Error> {
        let Some(location) = self
            .headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(None);
        };
        match endpoint.resolve(location) {
            Ok(_) => Ok(Some(location)),
            Err(Error::Url { url, reason }) => Err(Error::ForeignLink {
                context: Box::new(self.context.clone()),
                status: self.status.as_u16(),
                link: url,
                reason,
            }),
            Err(other) => Err(other),
        }
    }
}

/// Decodes `body` as `T`; the error keeps a redacted snippet of the body, never the body itself.
pub(crate) fn decode<T: DeserializeOwned>(
    context: &RequestContext,
    status: u16,
    body: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        context: Box::new(context.clone()),
        status,
        // serde's message can quote a value of the wrong type; redact it like a body.
        reason: if body.iter().all(u8::is_ascii_whitespace) {
            "the body is empty".to_owned()
        } else {
            redact::redact_text(&e.to_string())
        },
        snippet: redact::snippet(body),
    })
}
