//! The world: everything the simulator knows, as one serde value behind one `Mutex`.
//!
//! Handlers lock it, read or change it, render their answer and unlock; nothing awaits while the
//! lock is held. Async operations (CF jobs, SM operations, entitlement jobs) are records with a due
//! time; [`World::advance`] applies every operation that is due, and every handler calls it first,
//! so the world is always seen as of "now" without background tasks.

mod catalog;
pub mod cis;
mod desired;
mod effects;
mod generated;
pub(crate) mod keyed;
pub mod landscapes;
pub mod model;
mod roles;
mod seed;
pub mod services;

use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use catalog::{CALM_OFFERING, CALM_PLAN};
pub use cis::{CIS_XSAPPNAME, CisGrantType, CisKey, CisPlan};
pub(crate) use effects::PendingKind;
pub use generated::{GENERATED_INSTANCE, GeneratedCredentials};
pub use model::*;
pub use roles::Access;
pub use services::*;

/// The whole simulated landscape. Serializes to the world file format (see the crate README).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct World {
    /// Seed for ids and secrets; the same seed and the same requests give the same world.
    #[serde(default)]
    pub seed: u64,
    /// Goes into every token's revocation signature (`rev_sig`): a world with another secret refuses
    /// the tokens issued before. Derived from the seed when empty.
    #[serde(default)]
    pub secret: String,
    /// Counter behind every generated id.
    #[serde(default)]
    pub next_id: u64,
    /// Users of the password and jwt-bearer grants.
    #[serde(default)]
    pub users: Vec<User>,
    /// Global accounts.
    #[serde(default, with = "keyed")]
    pub global_accounts: IndexMap<String, GlobalAccount>,
    /// Subaccounts.
    #[serde(default, with = "keyed")]
    pub subaccounts: IndexMap<String, Subaccount>,
    /// Entitlement jobs.
    #[serde(default, with = "keyed")]
    pub entitlement_jobs: IndexMap<String, EntitlementJob>,
    /// CF orgs.
    #[serde(default, with = "keyed")]
    pub orgs: IndexMap<String, Org>,
    /// CF spaces.
    #[serde(default, with = "keyed")]
    pub spaces: IndexMap<String, Space>,
    /// CF org and space roles of users.
    #[serde(default, with = "keyed")]
    pub roles: IndexMap<String, Role>,
    /// Service offerings (CF and SM catalog).
    #[serde(default, with = "keyed")]
    pub offerings: IndexMap<String, Offering>,
    /// Service plans (CF and SM catalog).
    #[serde(default, with = "keyed")]
    pub plans: IndexMap<String, Plan>,
    /// CF service instances.
    #[serde(default, with = "keyed")]
    pub service_instances: IndexMap<String, ServiceInstance>,
    /// CF service keys.
    #[serde(default, with = "keyed")]
    pub service_keys: IndexMap<String, ServiceKey>,
    /// CF jobs.
    #[serde(default, with = "keyed")]
    pub jobs: IndexMap<String, Job>,
    /// SM instances.
    #[serde(default, with = "keyed")]
    pub sm_instances: IndexMap<String, SmInstance>,
    /// SM bindings.
    #[serde(default, with = "keyed")]
    pub sm_bindings: IndexMap<String, SmBinding>,
    /// SM operations.
    #[serde(default, with = "keyed")]
    pub sm_operations: IndexMap<String, SmOperation>,
    /// Unfinished operations by due time, so that [`World::advance`] need not scan every job ever
    /// made. Rebuilt by [`World::normalize`]; not part of the file format.
    #[serde(skip)]
    pub(crate) pending: Vec<effects::Pending>,
}

/// Wall-clock time in epoch milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl World {
    /// An empty world with the Cloud ALM catalog (`SAPCloudALMAPIs`/`standard`).
    pub fn new(seed: u64) -> Self {
        let mut world = World {
            seed,
            ..World::default()
        };
        world.normalize();
        world
    }

    /// Fill what a hand-written or older file may lack: the token secret and the Cloud ALM catalog.
    pub fn normalize(&mut self) {
        if self.secret.is_empty() {
            self.secret = hex::encode(&self.digest(b"secret")[..16]);
        }
        if !self.offerings.values().any(|o| o.name == CALM_OFFERING) {
            catalog::add_calm_catalog(self);
        }
        for user in &mut self.users {
            if user.guid.is_empty() {
                user.guid = user.derived_id();
            }
        }
        self.rebuild_pending();
    }

    fn digest(&self, purpose: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.seed.to_le_bytes());
        hasher.update(self.next_id.to_le_bytes());
        hasher.update(purpose);
        hasher.finalize().into()
    }

    fn bump(&mut self, purpose: &[u8]) -> [u8; 32] {
        let bytes = self.digest(purpose);
        self.next_id += 1;
        bytes
    }

    /// A new GUID, deterministic for a seed (version-4 layout so clients that check it are happy).
    pub fn guid(&mut self) -> String {
        let mut b = self.bump(b"guid");
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(&b[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A new client secret.
    pub fn secret_value(&mut self) -> String {
        let b = self.bump(b"client-secret");
        format!("{}$sim{}", hex::encode(&b[..12]), hex::encode(&b[12..20]))
    }

    /// A short numeric id (entitlement jobs use numbers, observed `{"jobId":"53873672"}`).
    pub fn numeric_id(&mut self) -> String {
        self.next_id += 1;
        (53_000_000 + self.next_id).to_string()
    }

    /// The org of a space, and the subaccount of that org.
    pub fn subaccount_of_space(&self, space: &str) -> Option<&Subaccount> {
        let org = self.orgs.get(&self.spaces.get(space)?.org)?;
        self.subaccounts.get(org.subaccount.as_deref()?)
    }

    /// Is a plan usable in a subaccount: public, or entitled there (btp-api.md §2.6).
    pub fn plan_entitled(&self, plan: &Plan, subaccount: Option<&Subaccount>) -> bool {
        if plan.public {
            return true;
        }
        let Some(offering) = self.offerings.get(&plan.offering) else {
            return false;
        };
        subaccount.is_some_and(|s| {
            s.entitlements.iter().any(|a| {
                // A new assignment counts once its job finished; a changing one keeps counting.
                a.service == offering.name
                    && a.plan == plan.name
                    && a.amount > 0
                    && a.state != "STARTED"
            })
        })
    }

    /// Is a plan visible in a CF org.
    pub fn plan_visible_in_org(&self, plan: &Plan, org: &str) -> bool {
        let subaccount = self
            .orgs
            .get(org)
            .and_then(|o| o.subaccount.as_deref())
            .and_then(|s| self.subaccounts.get(s));
        self.plan_entitled(plan, subaccount)
    }

    /// Find a user by name and password (a user without a password never matches).
    pub fn user(&self, username: &str, password: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| !u.password.is_empty() && u.username == username && u.password == password)
    }

    /// Subaccount that an SM client id belongs to.
    pub fn subaccount_by_sm_client(&self, client_id: &str) -> Option<&Subaccount> {
        self.subaccounts.values().find(|s| {
            s.service_manager_binding
                .as_ref()
                .is_some_and(|b| b.client_id == client_id)
        })
    }
}
