//! Read-only deliveries: credentials that exist already (SAP's generated ones, or keys calm.yaml
//! names under `retrieve:`), which calmctl reads, checks, delivers and verifies, and never
//! creates, relabels, rotates or deletes.
//!
//! calm-engine finds them (its `retrieve` module); a plan lists those whose sink lacks them or
//! holds other credentials as [`RetrieveLine`]s, and a tenant whose credentials cannot be found or
//! fail Landscape Management's rules as a [`RetrieveError`]. Unlike calmctl's own keys, whose
//! delivery record is a label on the key, these are SAP's objects and stay as they are: what was
//! delivered to an `exec` sink is recorded in a local file ([`RECORD_PATH`]) instead.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Runtime;

/// Where the record of read-only deliveries to an `exec` sink is kept, relative to the working
/// directory (as the default `dir` sink is): per `tenant/instance/key`, the sink and a 64-bit
/// prefix of the SHA-256 of the credentials delivered ([`crate::delivered::record`]), never
/// a secret.
pub const RECORD_PATH: &str = ".calmctl/retrieved.json";

/// One read-only delivery.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct RetrieveLine {
    /// The tenant.
    pub tenant: String,
    /// Its subaccount's subdomain.
    pub subaccount: String,
    /// Its subaccount's GUID.
    pub subaccount_guid: String,
    /// Its subaccount's region.
    pub region: String,
    /// The Cloud Foundry API its org is on, as its environment instance names it (Cloud Foundry
    /// credentials only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cf_api: Option<String>,
    /// Where the credentials are: a Cloud Foundry service key or a Service Manager binding.
    pub runtime: Runtime,
    /// The instance holding them.
    pub instance: String,
    /// The key or binding.
    pub key: String,
    /// The key's GUID (Cloud Foundry) or the binding's id (Service Manager).
    pub guid: String,
    /// Where the credentials go: a file, or the `exec` command.
    pub to: String,
    /// Why they are delivered (the sink lacks them, holds other credentials, or a refresh).
    pub reason: String,
}

impl RetrieveLine {
    /// `service_key calm/ABC_100_00` or `service_binding calm/ABC_100_00`.
    pub fn label(&self) -> String {
        let kind = match self.runtime {
            Runtime::Cloudfoundry => "service_key",
            Runtime::ServiceManager => "service_binding",
        };
        format!("{kind} {}/{}", self.instance, self.key)
    }
}

/// A tenant whose credentials cannot be retrieved: not found, or refused by the checks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct RetrieveError {
    /// The tenant.
    pub tenant: String,
    /// What was looked for and what exists, or which rule the credentials break (no secret).
    pub message: String,
}

/// What the read-only deliveries of an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetrieveReport {
    /// Delivered (and verified, unless verification was turned off).
    pub delivered: Vec<RetrieveLine>,
    /// Tenants that failed, with why.
    pub failed: Vec<RetrieveError>,
}
