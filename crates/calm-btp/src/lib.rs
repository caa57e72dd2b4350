//! calm-btp: typed, well-behaved clients for the APIs calmctl talks to.
//!
//! # Structure
//!
//! ```text
//! Btp (http)  one per process: reqwest (rustls, no redirects), per-host AIMD limiters,
//!   │         shared token sources, settings (ClientConfig) and the Observer
//!   ├── auth              tokens from UAA/XSUAA: password, client_credentials, refresh_token,
//!   │                     jwt-bearer; cis keys
//!   ├── cf                Cloud Foundry v3: root, organizations, spaces, service plans,
//!   │                     service instances, service credential bindings (keys), jobs
//!   ├── accounts          Accounts service: subaccounts, serviceManagementBinding
//!   ├── entitlements      Entitlements service: assignments, subaccountServicePlans, jobs
//!   └── service_manager   Service Manager: offerings, plans, instances, bindings, operations
//! ```
//!
//! Each API module has its own private wire types (`wire.rs` or a private section) and returns
//! plain public structs (e.g. [`cf::ServiceInstance`]); wire quirks (epoch-ms dates, CLI-server
//! string labels, `{"error":{…}}` wrappers) stay inside the module. Errors are [`Error`]: typed,
//! with the API, method, redacted path, HTTP status, what the API said and its request id.
//!
//! # Load and failure policy
//!
//! Written once, in `http`, and applied to every request:
//! - **Pacing.** One AIMD limiter per API host paces requests; it slows down on 429 and creeps
//!   back up on success, so many concurrent tasks settle near a server's limit.
//! - **429.** The wait comes from `Retry-After` (seconds or HTTP-date) or `X-Ratelimit-Reset`
//!   (epoch seconds or milliseconds), else jittered backoff. The host's limiter pauses every task
//!   for that long, the observer is told ("rate limited on …, retrying in 4 s"), and the request
//!   is repeated, for every method: a rate-limited request was not processed.
//! - **401.** The shared token is dropped and renewed once (single-flight), then the request is
//!   repeated once. Tokens are also renewed before they expire.
//! - **502/503/504 and broken connections.** GET, PUT, DELETE and PATCH are idempotent and are
//!   repeated with jittered exponential backoff. A connect failure is repeated for every method.
//!   A create (POST) that fails ambiguously is never blindly repeated: the client first looks the
//!   object up by name; if it exists, the first attempt took effect and it is returned, otherwise
//!   the create is sent again. A name conflict on a repeated create is resolved the same way.
//! - **Timeouts.** Per request ([`ClientConfig::request_timeout`]), per asynchronous operation
//!   ([`ClientConfig::operation_timeout`]) and per call including retries
//!   ([`RetryPolicy::max_elapsed`]).
//! - **Cancellation.** [`ClientConfig::cancel`] ends every wait for an asynchronous operation at
//!   once ([`Error::Cancelled`]). Every call is a plain future; dropping it stops it. Shared state (limiter,
//!   token cache) is only changed in short synchronous sections or under an async mutex that a
//!   dropped future releases, so nothing is left half-updated.
//!
//! # Security
//!
//! Passwords, client secrets, tokens and credentials are [`secrecy::SecretString`]; their `Debug`
//! prints `[REDACTED]`. Tracing logs method, redacted path and status only. Error messages keep at
//! most the first 512 bytes of an unexpected body, with secret-looking values removed. Plain
//! `http://` is refused except to loopback; redirects are never followed (a 3xx is
//! [`Error::Redirect`]), and links from responses (`pagination.next.href`, `Location`) are followed
//! only to the API's own host. Bodies are read chunk by chunk up to
//! [`ClientConfig::max_body_bytes`] (16 MiB); a larger one is [`Error::BodyTooLarge`]. Every error
//! names the API, method, path, host and status.

pub mod accounts;
pub mod auth;
mod cancel;
pub mod cf;
mod config;
pub mod entitlements;
mod error;
mod http;
mod observer;
pub mod operation;
pub mod provisioning;
pub mod service_manager;

#[doc(hidden)]
pub mod decode;

pub use cancel::Cancel;
pub use config::{API_URL_ENV, ClientConfig};
pub use error::{Api, ApiError, CfErrorEntry, Error, ErrorBody, RequestContext, TransportFailure};
pub use http::Btp;
pub use http::limiter::LimiterConfig;
pub use http::redact::{is_unsafe_char, remember as remember_secret, server_text};
pub use http::retry::RetryPolicy;
pub use observer::{Event, NoopObserver, Observer, RetryReason};
pub use secrecy::{ExposeSecret, SecretString};

/// Labels and annotations as the APIs hold them: sorted for stable output.
pub type Labels = std::collections::BTreeMap<String, String>;

/// The engine runs calls on a multi-threaded runtime (`tokio::spawn`): every call's future must be
/// `Send`. This does not run; it fails to compile if one is not.
#[cfg(test)]
#[allow(dead_code, clippy::let_underscore_future)]
fn calls_are_send(
    cf: &cf::CfClient,
    accounts: &accounts::AccountsClient,
    entitlements: &entitlements::EntitlementsClient,
    sm: &service_manager::ServiceManagerClient,
) {
    fn send<T: Send>(_: T) {}
    send(cf.list_spaces(&cf::SpaceFilter::default()));
    send(cf.create_space(&cf::NewSpace {
        name: String::new(),
        organization_guid: String::new(),
        metadata: cf::Metadata::default(),
    }));
    send(cf.create_service_instance(&cf::NewServiceInstance {
        name: String::new(),
        space_guid: String::new(),
        service_plan_guid: String::new(),
        parameters: None,
        tags: Vec::new(),
        metadata: cf::Metadata::default(),
    }));
    send(cf.delete_service_credential_binding(""));
    send(cf.service_credential_binding_details(""));
    send(accounts.list_subaccounts(&accounts::SubaccountFilter::default()));
    send(accounts.service_management_binding(""));
    send(entitlements.assign(&[]));
    send(entitlements.wait_for_assignment("", "", "", false));
    send(sm.find_plan("", ""));
    send(sm.list_service_bindings(None, None));
    send(sm.delete_service_instance(""));
}
