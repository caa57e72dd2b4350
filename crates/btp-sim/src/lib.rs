//! btp-sim: a stateful simulator of the SAP BTP and Cloud Foundry APIs that calmctl uses.
//!
//! Data flow:
//!
//! ```text
//! Sim (builder: World + Settings) ──start()──▶ axum server on 127.0.0.1:PORT ──▶ SimHandle
//!
//! request ─▶ stats layer ─▶ fault layer (latency, 429 storms, rate limits, injected faults)
//!         ─▶ handler: token check per API (caller.rs; RS256, cached: auth/) ─▶ lock World
//!            ─▶ World::advance(now) (finishes due jobs/operations) ─▶ read/change ─▶ render JSON
//!            (own definitions)
//! ```
//!
//! The port answers plain HTTP and, for clients that fetch token keys only over https
//! (`@sap/xssec`), TLS as well (tls.rs). Tokens are minted in tokens.rs, Cloud Management key plans
//! and scopes live in world/cis.rs and btp/scopes.rs.
//!
//! One base URL serves every API: UAA `POST /oauth/token`, CF `/` and `/v3/...`, Accounts
//! `/accounts/v1/...`, Entitlements `/entitlements/v1/...` and `/jobs-management/v1/...`, Service
//! Manager `/v1/...`, and the unauthenticated admin API `/_sim/...`. The [`World`] is plain serde
//! data: it can be built in code ([`World::add_org`], ...), derived from a calm.yaml model
//! ([`World::from_desired`]), saved and loaded (`btp-sim --world FILE`, [`SimHandle::export_world`]).
//!
//! Responses are built from this crate's own definitions (`serde_json::json!`), never from
//! `calm-btp`'s wire types, so a wrong field name cannot hide on both sides. Shapes, codes and
//! quirks cite `btp-api.md` or the recorded cassette they come from.

// Helpers return the API's own error response as `Err`, which the handler sends at once; boxing
// it would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

mod auth;
mod btp;
mod caller;
mod cf;
mod control;
mod credentials;
mod errors;
mod render;
mod server;
mod settings;
mod sm;
mod tls;
mod tokens;
mod uaa;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;

pub use control::garbage::FAKE_SUCCESS;
pub use control::stats::{Second, StatsSnapshot};
pub use settings::{
    Api, Faults, Garbage, GarbageKind, JobTimings, Limit, RateLimits, Settings, Storm,
};
pub use tls::ca_certificate_pem;
pub use world::{CisGrantType, CisPlan, World};

use server::{AppState, Shared};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The login every derived world accepts (password grant, client `cf`).
pub const ADMIN_USER: &str = "admin";
/// Password of [`ADMIN_USER`].
pub const ADMIN_PASSWORD: &str = "admin";

/// Builder of a simulator: a world, settings and a seed.
#[derive(Debug, Clone)]
pub struct Sim {
    world: World,
    settings: Settings,
    seed: u64,
    listen: SocketAddr,
}

impl Default for Sim {
    fn default() -> Self {
        Sim::new()
    }
}

impl Sim {
    /// A simulator with an empty world (only the Cloud ALM catalog and the `admin` user).
    pub fn new() -> Self {
        let mut world = World::new(0);
        world.add_user(ADMIN_USER, ADMIN_PASSWORD);
        Sim::from_world(world)
    }

    /// A simulator around a given world (e.g. loaded from a file or exported earlier).
    pub fn from_world(world: World) -> Self {
        let seed = world.seed;
        Sim {
            world,
            settings: Settings::default(),
            seed,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// A simulator whose world has everything a calm.yaml refers to (see [`World::from_desired`]).
    pub fn from_desired(desired: &calm_core::Desired, seed: u64) -> Self {
        Sim::from_world(World::from_desired(desired, seed)).seed(seed)
    }

    /// Seed of the fault sequence.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Replace all settings.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Set the faults.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.settings.faults = faults;
        self
    }

    /// Latency added to every API request.
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.settings.latency_ms = ms;
        self
    }

    /// Durations of async operations.
    pub fn jobs(mut self, jobs: JobTimings) -> Self {
        self.settings.jobs = jobs;
        self
    }

    /// Access token lifetime.
    pub fn token_ttl_secs(mut self, secs: u64) -> Self {
        self.settings.token_ttl_secs = secs;
        self
    }

    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Change the world before starting (seeding).
    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// Bind and serve in the background of the current tokio runtime.
    pub async fn start(self) -> std::io::Result<SimHandle> {
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        // Plain HTTP, and https on the same port for clients that insist on it (tls.rs).
        let listener = tls::DualListener::new(listener)?;
        let base_url = format!("http://{addr}");
        let state: Shared = Arc::new(AppState::new(
            self.world,
            self.settings,
            base_url.clone(),
            self.seed,
        ));
        let app = server::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("btp-sim server stopped: {e}");
            }
        });
        tracing::info!("btp-sim listening on {base_url}");
        Ok(SimHandle {
            base_url,
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    base_url: String,
    addr: SocketAddr,
    state: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`: the one base URL of every API (`CALMCTL_API_URL`).
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A copy of the current world (the file format of `--world` and `--sandbox-state`).
    pub fn export_world(&self) -> World {
        self.state.world().clone()
    }

    /// Replace the world.
    pub fn import_world(&self, world: World) {
        self.state.replace_world(world);
    }

    /// Read or change the world while it runs (the lock is held for the closure: keep it short).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.state.world())
    }

    /// `GET /_sim/state` as a value: the world plus every key's and binding's credentials.
    pub fn state_json(&self) -> serde_json::Value {
        control::admin::state_json(&self.state)
    }

    /// Request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats.snapshot()
    }

    /// Current settings.
    pub fn settings(&self) -> Settings {
        self.state.settings()
    }

    /// Change the fault settings at run time.
    pub fn set_faults(&self, faults: Faults) {
        self.state.update_settings(|s| s.faults = faults);
    }

    /// Change any setting at run time.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) {
        self.state.update_settings(change);
    }

    /// The `cis` key of a global account (found by GUID or subdomain), pointing at this simulator.
    pub fn cis_key(&self, global_account: &str) -> Option<serde_json::Value> {
        let world = self.state.world();
        let guid = world
            .global_accounts
            .values()
            .find(|g| g.guid == global_account || g.subdomain == global_account)?
            .guid
            .clone();
        world.cis_key(&guid, &self.base_url)
    }

    /// A new `cis` key of `plan` for `grant_type` in a global account (GUID or subdomain), as
    /// JSON pointing at this simulator; `None` for an unknown global account or a combination BTP
    /// does not offer (`central-viewer` keys are client-credentials only).
    pub fn new_cis_key(
        &self,
        global_account: &str,
        plan: CisPlan,
        grant_type: CisGrantType,
    ) -> Option<serde_json::Value> {
        let mut world = self.state.world();
        let guid = world
            .global_accounts
            .values()
            .find(|g| g.guid == global_account || g.subdomain == global_account)?
            .guid
            .clone();
        let client_id = world.add_cis_key(&guid, plan, grant_type)?;
        world.cis_key_of_client(&client_id, &self.base_url)
    }

    /// The `cis` key an account of a config asks for: the global account's password-grant key
    /// when the account names a user or password, otherwise a `central` key for the
    /// client-credentials grant (made on first use, then the same one).
    pub fn cis_key_for(&self, account: &calm_core::Account) -> Option<serde_json::Value> {
        if account.username.is_some() || account.password.is_some() {
            return self.cis_key(&account.subdomain);
        }
        let existing = {
            let world = self.state.world();
            world
                .global_accounts
                .values()
                .find(|g| g.subdomain == account.subdomain || g.guid == account.subdomain)?
                .cis_keys
                .iter()
                .find(|k| {
                    k.plan == CisPlan::Central && k.grant_type == CisGrantType::ClientCredentials
                })
                .map(|k| k.client_id.clone())
        };
        match existing {
            Some(client_id) => self
                .state
                .world()
                .cis_key_of_client(&client_id, &self.base_url),
            None => self.new_cis_key(
                &account.subdomain,
                CisPlan::Central,
                CisGrantType::ClientCredentials,
            ),
        }
    }

    /// A jwt-bearer assertion for a user that this simulator accepts (valid one day).
    pub fn assertion_for(&self, user: &str) -> String {
        uaa::assertion_for(&self.state, user, 86_400)
    }

    /// Every secret this simulator issued or accepts, sorted: user passwords, client secrets of
    /// `cis` keys, Service Manager bindings, instances, service keys and bindings, private keys,
    /// the token-signing secret, and every access, refresh and id token and assertion it handed
    /// out. Secret-hygiene tests search calmctl's output for each of them.
    pub fn issued_secrets(&self) -> Vec<String> {
        control::secrets::issued(&self.state, &self.state_json())
    }

    /// What each secret reference of `desired` resolves to in this world: an account's `cis_key`
    /// is its global account's key, user names and passwords are the administrator login, and an
    /// `assertion` is an OIDC token the simulator accepts. The binary prints these as `export`
    /// lines; calmctl's sandbox and the tests hand them to calmctl directly.
    pub fn secrets_for(&self, desired: &calm_core::Desired) -> Vec<(calm_core::SecretRef, String)> {
        // A world may give the administrator another password than the default.
        let admin_password = self
            .state
            .world()
            .users
            .iter()
            .find(|u| u.username == ADMIN_USER)
            .map_or_else(|| ADMIN_PASSWORD.to_owned(), |u| u.password.clone());
        let mut out: Vec<(calm_core::SecretRef, String)> = Vec::new();
        let mut add = |reference: &Option<calm_core::SecretRef>, value: String| {
            if let Some(r) = reference
                && !out.iter().any(|(seen, _)| seen == r)
            {
                out.push((r.clone(), value));
            }
        };
        for account in &desired.accounts {
            if let Some(key) = self.cis_key_for(account) {
                add(&account.cis_key, key.to_string());
            }
            add(&account.username, ADMIN_USER.to_owned());
            add(&account.password, admin_password.clone());
            if let Some(cf) = &account.cloudfoundry {
                add(&cf.username, ADMIN_USER.to_owned());
                add(&cf.password, admin_password.clone());
                add(&cf.assertion, self.assertion_for(ADMIN_USER));
            }
        }
        out
    }

    /// Stop serving and wait for the server task.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
