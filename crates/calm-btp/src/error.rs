//! Typed errors. Every failure names the API, the method and the request path (with secret query
//! parameters removed) so that a user can find it, and carries what the API said about it: CF
//! `code`/`title`/`detail`, Service Manager `error`/`description`, Accounts/Entitlements
//! `error.code`/`message`/`correlationID`, or UAA `error`/`error_description`, plus the request or
//! correlation id to quote to SAP support.

use std::fmt;
use std::time::Duration;

/// Which API a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Api {
    /// A UAA or XSUAA token endpoint.
    Uaa,
    /// The Cloud Foundry v3 Cloud Controller.
    CloudFoundry,
    /// The BTP Accounts service.
    Accounts,
    /// The BTP Entitlements service.
    Entitlements,
    /// SAP Service Manager.
    ServiceManager,
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::Uaa => "UAA",
            Api::CloudFoundry => "Cloud Foundry",
            Api::Accounts => "Accounts",
            Api::Entitlements => "Entitlements",
            Api::ServiceManager => "Service Manager",
        })
    }
}

/// Where a request went: API, method and path. The path never holds a secret query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The API.
    pub api: Api,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The host the request went to.
    pub host: String,
    /// Path and query, with secret query parameters redacted.
    pub path: String,
}

impl fmt::Display for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.api, self.method, self.path)?;
        if !self.host.is_empty() {
            write!(f, " at {}", self.host)?;
        }
        Ok(())
    }
}

/// One entry of a Cloud Foundry `errors` list (btp-api.md §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfErrorEntry {
    /// Numeric code, e.g. 10008. Match on this, never on `detail`.
    pub code: i64,
    /// Title, e.g. `CF-UnprocessableEntity`.
    pub title: String,
    /// Human-readable detail; the text may change between CF versions.
    pub detail: String,
}

impl fmt::Display for CfErrorEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.code, self.detail)
    }
}

/// What the API said in an error response body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// Cloud Foundry: `{"errors":[{detail,title,code}]}`.
    CloudFoundry(Vec<CfErrorEntry>),
    /// Service Manager: `{"error":"NotFound","description":"..."}` (btp-api.md §4.5).
    ServiceManager {
        /// The error name, e.g. `NotFound`, `BrokerError`.
        error: String,
        /// The description.
        description: String,
    },
    /// Accounts/Entitlements: `{"error":{"code","message","target","correlationID"}}` (btp-api.md
    /// §3.1). Through the BTP CLI server the error is a plain string such as
    /// `"Subaccount … not found [Error: 20004/404]"`; then only `message` is set and `code` is parsed
    /// from the `[Error: n/status]` suffix.
    Accounts {
        /// Numeric error code, e.g. 20004 or 30004 (entitlement lock).
        code: Option<i64>,
        /// The message.
        message: String,
        /// The correlation id in the body.
        correlation_id: Option<String>,
    },
    /// UAA/XSUAA (RFC 6749): `{"error":"unauthorized","error_description":"Bad credentials"}`.
    Uaa {
        /// The error, e.g. `invalid_token`.
        error: String,
        /// The description.
        description: String,
    },
    /// The Cloud Foundry router (in front of every BTP API host) answered itself, naming why in
    /// `X-Cf-Routererror`, e.g. `unknown_route`: the API never saw the request, so a 404 from
    /// the router says nothing about the object (btp-api.md §10 item 4).
    Router {
        /// The `X-Cf-Routererror` value, e.g. `unknown_route`.
        error: String,
        /// The router's one-line text, e.g. "404 Not Found: Requested route (…) does not exist.".
        message: String,
    },
    /// The body was empty.
    Empty,
    /// The body was not the JSON the API documents (an HTML error page, truncated JSON): its first
    /// bytes, secrets redacted.
    Unparsed {
        /// Up to 512 bytes of the body, with secrets redacted.
        snippet: String,
    },
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorBody::CloudFoundry(entries) => {
                let mut first = true;
                for entry in entries {
                    if !first {
                        f.write_str("; ")?;
                    }
                    first = false;
                    write!(f, "{entry}")?;
                }
                Ok(())
            }
            ErrorBody::ServiceManager { error, description } => write!(f, "{error}: {description}"),
            ErrorBody::Accounts { code, message, .. } => match code {
                Some(code) => write!(f, "{message} (code {code})"),
                None => f.write_str(message),
            },
            ErrorBody::Uaa { error, description } => write!(f, "{error}: {description}"),
            ErrorBody::Router { error, message } => {
                write!(f, "Cloud Foundry router error {error}: {message}")
            }
            ErrorBody::Empty => f.write_str("empty body"),
            ErrorBody::Unparsed { snippet } => write!(f, "unexpected body: {snippet:?}"),
        }
    }
}

/// An HTTP error status from an API, with everything the API said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Where the request went.
    pub context: RequestContext,
    /// The HTTP status code.
    pub status: u16,
    /// The decoded error body.
    pub body: ErrorBody,
    /// `X-Vcap-Request-Id` (CF) or `X-Correlationid` / the body's `correlationID` (BTP).
    pub request_id: Option<String>,
}

impl ApiError {
    /// The CF error codes in the body, empty for other APIs.
    pub fn cf_codes(&self) -> Vec<i64> {
        match &self.body {
            ErrorBody::CloudFoundry(entries) => entries.iter().map(|e| e.code).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}: {}", self.context, self.status, self.body)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Every error calm-btp returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request did not complete: connection refused or reset, TLS failure, timeout.
    #[error("{context}: {kind}")]
    Transport {
        /// Where the request went.
        context: Box<RequestContext>,
        /// What went wrong.
        kind: TransportFailure,
        /// The underlying error, if any.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// A success response whose body is not the JSON the API documents.
    #[error(
        "{context}: HTTP {status}: cannot decode the response ({reason}); body starts {snippet:?}"
    )]
    Decode {
        /// Where the request went.
        context: Box<RequestContext>,
        /// The HTTP status.
        status: u16,
        /// Why decoding failed (the serde message, which holds no body content).
        reason: String,
        /// The first bytes of the body, secrets redacted.
        snippet: String,
    },
    /// The API answered with a redirect (3xx). Redirects are never followed: one could carry the
    /// bearer token to another host.
    #[error(
        "{context}: HTTP {status}: redirect to {location} not followed (calmctl never follows redirects; check the API URL)"
    )]
    Redirect {
        /// Where the request went.
        context: Box<RequestContext>,
        /// The HTTP status, e.g. 302.
        status: u16,
        /// The `Location` header, secret query parameters redacted (`none` if absent).
        location: String,
    },
    /// A response's `Location` header is not a URL of the API's own host (or not a URL at all).
    #[error("{context}: HTTP {status}: Location {link} not followed: {reason}")]
    ForeignLink {
        /// The request whose response carried the header.
        context: Box<RequestContext>,
        /// The HTTP status of that response.
        status: u16,
        /// The `Location` value, secret query parameters redacted.
        link: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A response body was larger than [`ClientConfig::max_body_bytes`](crate::ClientConfig).
    #[error("{context}: HTTP {status}: response body larger than {limit} bytes; not read")]
    BodyTooLarge {
        /// Where the request went.
        context: Box<RequestContext>,
        /// The HTTP status.
        status: u16,
        /// The limit in bytes.
        limit: usize,
    },
    /// A Cloud Foundry job ended in `FAILED`.
    #[error("{api} job {job_guid} ({operation}) failed: {}", ErrorBody::CloudFoundry(errors.clone()))]
    JobFailed {
        /// The API (Cloud Foundry).
        api: Api,
        /// The job GUID.
        job_guid: String,
        /// The job operation, e.g. `service_instance.create`.
        operation: String,
        /// The job's errors; for a broker failure this holds the broker's message.
        errors: Vec<CfErrorEntry>,
        /// The GUID of the object the job worked on, if known.
        resource_guid: Option<String>,
    },
    /// An asynchronous operation (CF last operation, Service Manager operation, Entitlements job)
    /// ended in failure.
    #[error("{api} {resource} {resource_id}: {operation} failed: {description}")]
    OperationFailed {
        /// The API.
        api: Api,
        /// The kind of object, e.g. `service instance`.
        resource: &'static str,
        /// Its id or GUID.
        resource_id: String,
        /// The operation, e.g. `create`.
        operation: String,
        /// What the API said.
        description: String,
    },
    /// Waiting for an operation took longer than allowed.
    #[error("{api}: gave up waiting for {what} after {}s", after.as_secs())]
    Timeout {
        /// The API.
        api: Api,
        /// What was waited for.
        what: String,
        /// How long was waited.
        after: Duration,
    },
    /// A URL is not acceptable: not https (and not loopback), unparsable, or a link that points to a
    /// host outside the configured API hosts.
    #[error("refusing URL {url}: {reason}")]
    Url {
        /// The URL, with secret query parameters redacted.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// Credentials are incomplete or malformed (e.g. a `cis` key without `uaa.url`).
    #[error("invalid credentials: {0}")]
    Credentials(&'static str),
    /// The HTTP client could not be built (e.g. no TLS root certificates).
    #[error("cannot set up the HTTP client")]
    Init(#[source] reqwest::Error),
}

/// How a request failed to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportFailure {
    /// Connecting failed: the request was certainly not received.
    Connect,
    /// The connection broke after the request may have been sent.
    Interrupted,
    /// No response within the per-request timeout.
    TimedOut,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportFailure::Connect => "could not connect",
            TransportFailure::Interrupted => "connection interrupted",
            TransportFailure::TimedOut => "request timed out",
        })
    }
}

impl Error {
    /// The HTTP status, if the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. }
            | Error::Redirect { status, .. }
            | Error::ForeignLink { status, .. }
            | Error::BodyTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API error, if the API answered with an error status.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// True when the API said the object does not exist (HTTP 404). A 404 of the Cloud Foundry
    /// router (`X-Cf-Routererror`, [`ErrorBody::Router`]) is not: the route was missing, not the
    /// object, and the request never reached the API (SAP's Service Manager client treats it as
    /// 503).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404) && !self.is_router_error()
    }

    /// True when the Cloud Foundry router answered instead of the API ([`ErrorBody::Router`]).
    pub fn is_router_error(&self) -> bool {
        matches!(self, Error::Api(e) if matches!(e.body, ErrorBody::Router { .. }))
    }

    /// True when it is unknown whether a non-idempotent request took effect: the connection broke
    /// after sending, the request timed out, a gateway answered 502/503/504, or the server answered
    /// 500 (a backend that failed half way may have stored the object). The caller must look
    /// before it repeats a create.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => *kind != TransportFailure::Connect,
            Error::Api(e) => matches!(e.status, 500 | 502..=504),
            _ => false,
        }
    }

    /// True when the API rejected a create because the name is taken: CF 422 with code 10008 and a
    /// name-uniqueness message, Service Manager / Accounts 409.
    pub fn is_conflict(&self) -> bool {
        let Error::Api(e) = self else { return false };
        match &e.body {
            ErrorBody::CloudFoundry(entries) => entries.iter().any(|entry| {
                // btp-api.md §2.5, §2.7, §2.8: CF uses one code (10008) for many 422s, so the
                // uniqueness ones can only be told apart by their detail text.
                let detail = entry.detail.to_ascii_lowercase();
                entry.code == 10008
                    && (detail.contains("is taken")
                        || detail.contains("must be unique")
                        || detail.contains("unique"))
            }),
            _ => e.status == 409,
        }
    }
}
