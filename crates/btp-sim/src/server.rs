//! The axum application: shared state, the route table and the layers every API request passes.
//!
//! Request path: stats (count, concurrency) → faults (latency, 429 storms, rate limits, injected
//! failures, garbage answers) → the API handler, which checks the bearer token with its API's extractor, locks the
//! world, calls [`World::advance`], reads or changes it, renders JSON and unlocks. `/_sim` routes are
//! merged after the layers, so they see no faults, latency or auth.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::auth::TokenCache;
use crate::control::faults::{self, Injected};
use crate::control::garbage;
use crate::control::ratelimit::{CF_NOMINAL, RateLimiter};
use crate::control::stats::Stats;
use crate::settings::{Api, Settings};
use crate::world::{World, now_ms};
use crate::{btp, cf, control, sm, uaa};

/// State shared by all handlers.
pub struct AppState {
    world: Mutex<World>,
    /// The world's token secret and the tokens checked against it.
    pub tokens: TokenCache,
    /// `http://127.0.0.1:PORT`, used in every link and in issued credentials.
    pub base_url: String,
    settings: RwLock<Settings>,
    /// Request counters.
    pub stats: Stats,
    rng: Mutex<SmallRng>,
    limiter: RateLimiter,
    storm_remaining: AtomicU32,
    /// Every token issued, for secret-hygiene tests ([`crate::SimHandle::issued_secrets`]).
    issued: Mutex<Vec<String>>,
}

/// Issued tokens kept for [`AppState::issued`]; beyond this the oldest are dropped, so that a
/// long benchmark cannot grow memory without bound.
const ISSUED_KEPT: usize = 100_000;

/// The handle handlers receive.
pub type Shared = Arc<AppState>;

impl AppState {
    /// New state around a world.
    pub fn new(mut world: World, settings: Settings, base_url: String, seed: u64) -> Self {
        world.normalize();
        let storm = settings.faults.storm.as_ref().map_or(0, |s| s.requests);
        AppState {
            tokens: TokenCache::new(&world.secret),
            world: Mutex::new(world),
            base_url,
            settings: RwLock::new(settings),
            stats: Stats::new(),
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
            limiter: RateLimiter::default(),
            storm_remaining: AtomicU32::new(storm),
            issued: Mutex::new(Vec::new()),
        }
    }

    /// Lock the world, brought up to date. Never hold the guard across an `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        world.advance(now_ms());
        world
    }

    /// Replace the whole world (admin API and `Sim::import_world`).
    pub fn replace_world(&self, mut world: World) {
        world.normalize();
        self.tokens.set_secret(&world.secret);
        *self.world.lock().unwrap_or_else(|e| e.into_inner()) = world;
    }

    /// The world's token secret (tokens carry a revocation signature made with it).
    pub fn secret(&self) -> String {
        self.tokens.secret()
    }

    /// Records an issued token and gives it back.
    pub fn issue(&self, token: String) -> String {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if issued.len() >= ISSUED_KEPT {
            issued.drain(..ISSUED_KEPT / 2);
        }
        issued.push(token.clone());
        token
    }

    /// Every token issued so far (the most recent [`ISSUED_KEPT`]).
    pub fn issued(&self) -> Vec<String> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A copy of the settings.
    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Change the settings.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) {
        let mut settings = self.settings.write().unwrap_or_else(|e| e.into_inner());
        change(&mut settings);
        let storm = settings.faults.storm.as_ref().map_or(0, |s| s.requests);
        self.storm_remaining.store(storm, Ordering::SeqCst);
    }

    /// Decide whether an async operation fails: by name (`fail_names`) or by chance.
    pub fn operation_fails(&self, name: &str) -> Option<String> {
        let faults = self.settings().faults;
        if faults.fail_names.iter().any(|n| n == name) {
            return Some(format!(
                "Service broker failed to process the request for {name} (simulated failure)."
            ));
        }
        let roll: f64 = rand::Rng::random(&mut *self.rng.lock().unwrap_or_else(|e| e.into_inner()));
        (roll < faults.job_failure_rate)
            .then(|| "Service broker responded with an error (simulated failure).".to_owned())
    }
}

/// Build the application for a state.
pub fn router(state: Shared) -> Router {
    let apis = Router::new()
        .route("/oauth/token", post(uaa::token))
        .route("/token_keys", get(uaa::token_keys))
        .merge(cf::routes())
        .merge(btp::routes())
        .merge(sm::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), fault_layer))
        .route_layer(middleware::from_fn_with_state(state.clone(), stats_layer));
    let admin = Router::new()
        .route(
            "/_sim/state",
            get(control::admin::state).put(control::admin::replace_state),
        )
        .route("/_sim/stats", get(control::admin::stats))
        .route(
            "/_sim/faults",
            put(control::admin::put_faults).get(control::admin::get_faults),
        )
        .route(
            "/_sim/settings",
            get(control::admin::get_settings).put(control::admin::put_settings),
        );
    apis.merge(admin).fallback(cf::not_found).with_state(state)
}

async fn stats_layer(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let _in_flight = state.stats.begin(format!("{} {route}", request.method()));
    next.run(request).await
}

async fn fault_layer(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let Some(api) = Api::of_path(request.uri().path()) else {
        return next.run(request).await;
    };
    let response = faults_and_limits(&state, api, request, next).await;
    state
        .stats
        .answered(api, response.status() == StatusCode::TOO_MANY_REQUESTS);
    response
}

/// Latency, fault storms, rate limits, injected faults and garbage, in that order.
async fn faults_and_limits(state: &Shared, api: Api, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let settings = state.settings();
    if settings.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(settings.latency_ms)).await;
    }
    if in_storm(state, &settings, api) {
        state.stats.throttled(api);
        return faults::throttled(api, 1, &path);
    }
    // CF's root document is not rate limited (btp-api.md §2.3).
    let limited = !(api == Api::Cf && (path == "/" || path == "/v3"));
    let now_secs = now_ms() / 1000;
    let window = match (settings.rate_limits.of(api), api) {
        (Some(limit), _) if limited => Some(state.limiter.hit(api, limit, true, now_secs)),
        (None, Api::Cf) if limited => Some(state.limiter.hit(api, &CF_NOMINAL, false, now_secs)),
        _ => None,
    };
    if let Some(w) = window.filter(|w| w.exceeded) {
        state.stats.throttled(api);
        let mut response =
            faults::throttled(api, w.reset_secs.saturating_sub(now_secs).max(1), &path);
        if api == Api::Cf {
            add_cf_rate_headers(&mut response, w.limit, 0, w.reset_secs);
        }
        return response;
    }
    let (injected, garbage) = {
        let mut rng = state.rng.lock().unwrap_or_else(|e| e.into_inner());
        let injected = faults::decide(&settings.faults, &mut *rng);
        let garbage = match (&injected, &settings.faults.garbage) {
            (None, Some(g)) => garbage::draw(g, api, request.method().as_str(), &mut *rng),
            _ => None,
        };
        (injected, garbage)
    };
    if let Some(kind) = garbage {
        state.stats.fault();
        return if kind.processed() {
            let response = next.run(request).await;
            garbage::spoil(kind, response, &state.base_url, &path).await
        } else {
            garbage::answer(kind, &path)
        };
    }
    match injected {
        Some(Injected::Slow(ms)) => {
            state.stats.fault();
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        Some(Injected::Throttle(_)) => state.stats.throttled(api),
        Some(_) => state.stats.fault(),
        None => {}
    }
    let mut response = match injected {
        Some(
            fault @ (Injected::ServerError(_)
            | Injected::Throttle(_)
            | Injected::Reset
            | Injected::UnknownRoute),
        ) => faults::respond(api, fault, &path, &host),
        _ => next.run(request).await,
    };
    if let (Some(w), Api::Cf) = (window, api) {
        add_cf_rate_headers(&mut response, w.limit, w.remaining, w.reset_secs);
    }
    response
}

fn in_storm(state: &AppState, settings: &Settings, api: Api) -> bool {
    let Some(storm) = &settings.faults.storm else {
        return false;
    };
    if !storm.apis.is_empty() && !storm.apis.contains(&api) {
        return false;
    }
    state
        .storm_remaining
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// `X-RateLimit-Limit/Remaining/Reset` (Unix seconds), sent by CC on every limited response.
fn add_cf_rate_headers(response: &mut Response, limit: u32, remaining: u32, reset: u64) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}
