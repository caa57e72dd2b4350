//! Run-time knobs: latency, job durations, token lifetime, faults and rate limits.
//!
//! These are not part of the world (a world file says *what exists*; settings say *how the
//! simulator behaves*). `PUT /_sim/faults` changes [`Faults`] while the simulator runs.

use serde::{Deserialize, Serialize};

/// How the simulator behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Added to every API request (never to `/_sim`).
    pub latency_ms: u64,
    /// Access token lifetime. BTP's CF UAA issues 1199 s (observed `expires_in: 1199`, btp-api.md §2.2).
    pub token_ttl_secs: u64,
    /// Durations of async operations.
    pub jobs: JobTimings,
    /// Fault injection.
    pub faults: Faults,
    /// Rate limits per API.
    pub rate_limits: RateLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            latency_ms: 0,
            token_ttl_secs: 1199,
            jobs: JobTimings::default(),
            faults: Faults::default(),
            rate_limits: RateLimits::default(),
        }
    }
}

impl Settings {
    /// The token lifetime in force (a fault profile may shorten it).
    pub fn effective_token_ttl(&self) -> u64 {
        self.faults.token_ttl_secs.unwrap_or(self.token_ttl_secs)
    }
}

/// How long async operations take. CF jobs report `PROCESSING` for `processing_ms`, then `POLLING`
/// for `polling_ms`, then finish (observed sequence POLLING, POLLING, COMPLETE over ~6 s,
/// btp-api.md §2.7; the defaults are shorter so that sandboxes feel quick).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobTimings {
    /// Time in `PROCESSING`.
    pub processing_ms: u64,
    /// Time in `POLLING` (the broker works).
    pub polling_ms: u64,
    /// Duration of an entitlement job.
    pub entitlement_ms: u64,
}

impl Default for JobTimings {
    fn default() -> Self {
        JobTimings {
            processing_ms: 100,
            polling_ms: 400,
            entitlement_ms: 300,
        }
    }
}

impl JobTimings {
    /// Every async operation finishes at once (used by replay tests).
    pub fn instant() -> Self {
        JobTimings {
            processing_ms: 0,
            polling_ms: 0,
            entitlement_ms: 0,
        }
    }
}

/// Which API a request belongs to; rate limits, fault storms and error shapes depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `POST /oauth/token`.
    Uaa,
    /// Cloud Foundry v3 and `GET /`.
    Cf,
    /// `/accounts/...`.
    Accounts,
    /// `/entitlements/...` and `/jobs-management/...`.
    Entitlements,
    /// Service Manager `/v1/...`.
    ServiceManager,
}

impl Api {
    /// The API a path belongs to (`None` for `/_sim` and unknown paths).
    pub fn of_path(path: &str) -> Option<Api> {
        if path == "/oauth/token" {
            Some(Api::Uaa)
        } else if path == "/" || path.starts_with("/v3") {
            Some(Api::Cf)
        } else if path.starts_with("/accounts/") || path.starts_with("/provisioning/") {
            Some(Api::Accounts)
        } else if path.starts_with("/entitlements/") || path.starts_with("/jobs-management/") {
            Some(Api::Entitlements)
        } else if path.starts_with("/v1/") {
            Some(Api::ServiceManager)
        } else {
            None
        }
    }
}

/// Fault injection. The named profiles (`none`, `flaky`, `chaos`) are presets of these fields;
/// any field can be set on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Name of the preset these values started from.
    pub profile: String,
    /// Share of requests answered with a 5xx (500 or 503).
    pub error_rate: f64,
    /// Share of requests answered with a 429 in the API's own form.
    pub throttle_rate: f64,
    /// Share of requests whose connection is cut before a full response.
    pub reset_rate: f64,
    /// Share of requests delayed by `slow_ms`.
    pub slow_rate: f64,
    /// Delay of a slow request.
    pub slow_ms: u64,
    /// Share of requests the Cloud Foundry router answers itself with 404 `unknown_route` (the
    /// API never sees them).
    pub unknown_route_rate: f64,
    /// Share of async operations (CF jobs, SM operations, entitlement jobs) that fail.
    pub job_failure_rate: f64,
    /// Async operations on instances, keys or bindings with these names always fail.
    pub fail_names: Vec<String>,
    /// Keys and bindings whose name starts with one of these get no token with their client
    /// credentials (401 `invalid_client`), as if the UAA had not caught up with a new key.
    pub reject_token_prefixes: Vec<String>,
    /// Overrides `Settings::token_ttl_secs`.
    pub token_ttl_secs: Option<u64>,
    /// A 429 storm: the next `requests` requests to `apis` (all APIs when empty) get a 429.
    pub storm: Option<Storm>,
    /// Hostile answers: broken bodies, wrong content types, misleading `Location` headers.
    pub garbage: Option<Garbage>,
}

/// Hostile answers for a share of the requests to some APIs ("garbage" mode). Each hit draws one
/// of `kinds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Garbage {
    /// The kinds to draw from; empty means [`GarbageKind::GATEWAY`].
    #[serde(default)]
    pub kinds: Vec<GarbageKind>,
    /// Share of the matching requests that get garbage (1.0: all).
    pub rate: f64,
    /// APIs affected; empty means all.
    #[serde(default)]
    pub apis: Vec<Api>,
    /// HTTP methods affected (e.g. `POST`); empty means all.
    #[serde(default)]
    pub methods: Vec<String>,
}

impl Garbage {
    /// Every request to `apis` gets garbage of `kind`.
    pub fn always(kind: GarbageKind, apis: &[Api]) -> Self {
        Garbage {
            kinds: vec![kind],
            rate: 1.0,
            apis: apis.to_vec(),
            methods: Vec::new(),
        }
    }

    /// Whether a request is eligible.
    pub fn matches(&self, api: Api, method: &str) -> bool {
        (self.apis.is_empty() || self.apis.contains(&api))
            && (self.methods.is_empty()
                || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
    }
}

/// One kind of hostile answer. "Processed" kinds let the real handler run first (the request takes
/// effect, then the answer is spoiled); the others answer in its place, as a broken proxy would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GarbageKind {
    /// Processed; the body is cut in the middle (invalid JSON), status and headers kept.
    TruncatedJson,
    /// A gateway's `502 Bad Gateway` HTML page with `text/html`.
    HtmlErrorPage,
    /// Status 200 with an XML body under `application/xml`.
    WrongContentType,
    /// Status 200 with an empty body.
    Empty200,
    /// Status 200 with a 64 MiB body, streamed.
    EnormousBody,
    /// Processed; `Location` points to another path on the same host.
    LocationElsewhere,
    /// Processed; `Location` points at a non-loopback host (`http://evil.example.com/...`).
    LocationForeign,
    /// A `302 Found` redirect to `http://evil.example.com/...`.
    RedirectForeign,
    /// A hostile server, not a broken gateway: 401 in the API's own error form (UAA
    /// `error_description`, CF `detail`, Accounts `message`, Service Manager `description`) that
    /// echoes the request's `Authorization` header, its form body, the secrets in it in free text,
    /// and escape sequences (clear screen, a fake "Apply complete"). A test aid for the client's
    /// redaction of server text, not a platform rule. Drawn only when named.
    EchoCredentials,
    /// Processed; a list's `pagination.next` (CF) or `token` (Service Manager) leads back to a
    /// page already served (A → B → A). Drawn only when named.
    CyclingPages,
}

impl GarbageKind {
    /// Every kind, in declaration order.
    pub const ALL: [GarbageKind; 10] = [
        GarbageKind::TruncatedJson,
        GarbageKind::HtmlErrorPage,
        GarbageKind::WrongContentType,
        GarbageKind::Empty200,
        GarbageKind::EnormousBody,
        GarbageKind::LocationElsewhere,
        GarbageKind::LocationForeign,
        GarbageKind::RedirectForeign,
        GarbageKind::EchoCredentials,
        GarbageKind::CyclingPages,
    ];

    /// The kinds drawn when [`Garbage::kinds`] is empty: what a broken proxy or gateway does.
    /// The hostile-server kinds (echoes, cycling pages) are drawn only when named.
    pub const GATEWAY: [GarbageKind; 8] = [
        GarbageKind::TruncatedJson,
        GarbageKind::HtmlErrorPage,
        GarbageKind::WrongContentType,
        GarbageKind::Empty200,
        GarbageKind::EnormousBody,
        GarbageKind::LocationElsewhere,
        GarbageKind::LocationForeign,
        GarbageKind::RedirectForeign,
    ];

    /// Whether the real handler runs before the answer is spoiled.
    pub fn processed(self) -> bool {
        matches!(
            self,
            GarbageKind::TruncatedJson
                | GarbageKind::LocationElsewhere
                | GarbageKind::LocationForeign
                | GarbageKind::CyclingPages
        )
    }
}

/// A burst of 429s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Storm {
    /// APIs affected; empty means all.
    #[serde(default)]
    pub apis: Vec<Api>,
    /// How many requests get a 429.
    pub requests: u32,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::profile("none").unwrap_or(Faults {
            profile: "none".to_owned(),
            error_rate: 0.0,
            throttle_rate: 0.0,
            reset_rate: 0.0,
            slow_rate: 0.0,
            slow_ms: 0,
            unknown_route_rate: 0.0,
            job_failure_rate: 0.0,
            fail_names: Vec::new(),
            reject_token_prefixes: Vec::new(),
            token_ttl_secs: None,
            storm: None,
            garbage: None,
        })
    }
}

impl Faults {
    /// A named preset: `none`, `flaky` (about 5% of requests get a 503 or a 429, a few jobs fail)
    /// or `chaos` (about 15% fail with a mix of 5xx, 429, resets and slow answers; 10% of jobs
    /// fail; tokens live 60 s).
    pub fn profile(name: &str) -> Option<Faults> {
        let none = Faults {
            profile: name.to_owned(),
            error_rate: 0.0,
            throttle_rate: 0.0,
            reset_rate: 0.0,
            slow_rate: 0.0,
            slow_ms: 0,
            unknown_route_rate: 0.0,
            job_failure_rate: 0.0,
            fail_names: Vec::new(),
            reject_token_prefixes: Vec::new(),
            token_ttl_secs: None,
            storm: None,
            garbage: None,
        };
        match name {
            "none" => Some(none),
            "flaky" => Some(Faults {
                error_rate: 0.025,
                throttle_rate: 0.025,
                unknown_route_rate: 0.005,
                job_failure_rate: 0.03,
                ..none
            }),
            "chaos" => Some(Faults {
                error_rate: 0.06,
                throttle_rate: 0.04,
                reset_rate: 0.02,
                slow_rate: 0.03,
                slow_ms: 2_000,
                unknown_route_rate: 0.01,
                job_failure_rate: 0.10,
                token_ttl_secs: Some(60),
                ..none
            }),
            _ => None,
        }
    }
}

/// Rate limits per API; `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// UAA token endpoint.
    pub uaa: Option<Limit>,
    /// Cloud Foundry.
    pub cf: Option<Limit>,
    /// Accounts service.
    pub accounts: Option<Limit>,
    /// Entitlements service.
    pub entitlements: Option<Limit>,
    /// Service Manager.
    pub service_manager: Option<Limit>,
}

impl RateLimits {
    /// The limit of one API.
    pub fn of(&self, api: Api) -> Option<&Limit> {
        match api {
            Api::Uaa => self.uaa.as_ref(),
            Api::Cf => self.cf.as_ref(),
            Api::Accounts => self.accounts.as_ref(),
            Api::Entitlements => self.entitlements.as_ref(),
            Api::ServiceManager => self.service_manager.as_ref(),
        }
    }
}

/// At most `requests` per fixed window of `window_secs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length.
    pub window_secs: u64,
}
