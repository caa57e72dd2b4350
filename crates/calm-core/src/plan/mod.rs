//! The plan: what must change for the live state to match the desired state.
//!
//! [`plan`] is a pure function. It never deletes what calmctl does not own (no `managed-by`
//! label), never plans a deletion without `allow_delete`, never deletes a protected object, and
//! never deletes a Cloud Foundry space (space deletion is recursive in CF and would take along
//! whatever else lives there).

mod diff;
mod removal;
pub mod roles;
mod rotation;
mod support;
mod tenant;

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Desired, Live};

pub use diff::{FieldChange, REDACTED, json_diff};
pub use roles::missing_right;
pub use rotation::stamp;

/// The version of the plan's JSON form (`schemas/plan.schema.json`).
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// Choices that change what a plan may contain.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Include deletions of managed objects the config no longer lists.
    pub allow_delete: bool,
    /// Only these tenants (a partial plan); `None` plans all.
    pub targets: Option<BTreeSet<String>>,
    /// The current time (Unix seconds): which keys are old enough to rotate, which retired keys
    /// are past their grace period, and the stamp in a rotated key's name.
    pub now_unix: i64,
    /// Keys to rotate whatever their age (`calmctl rotate`), as (tenant, key name in calm.yaml).
    pub rotate: BTreeSet<(String, String)>,
    /// Overwrite the parameters of instances whose parameters calmctl cannot know (made by hand
    /// or by SAP, adopted without them) with calm.yaml's, where calm.yaml states them
    /// (`--enforce-parameters`). Without it such instances keep their parameters.
    pub enforce_parameters: bool,
    /// Tenants to offboard (`calmctl offboard`): every object calmctl made for them is deleted,
    /// whether or not they are still in calm.yaml, under the rules of any deletion (`protect`
    /// keeps an object; `--max-delete` counts them). Their deletions need no `allow_delete`:
    /// naming the tenant is the consent.
    pub offboard: BTreeSet<String>,
}

/// The changes, in the order they must be applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Format version of this structure.
    pub format_version: u32,
    /// Changes, dependencies first and deletions last in reverse dependency order.
    pub changes: Vec<Change>,
    /// Tenants that need no change.
    pub unchanged_tenants: Vec<String>,
    /// Deletions left out because `allow_delete` was not given.
    pub withheld_deletes: Vec<Resource>,
    /// Objects that would be deleted but are protected, each with its tenant.
    pub protected: Vec<Protected>,
    /// Objects calmctl found but does not own, and will never touch.
    pub not_managed: Vec<NotManaged>,
    /// The tenants a partial plan covers; `None` for a full plan.
    pub targets: Option<Vec<String>>,
    /// Read-only deliveries of existing credentials (`retrieve:`) whose sink lacks them. They
    /// change nothing in BTP: a plan with only these takes no lease.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retrieve: Vec<crate::retrieved::RetrieveLine>,
    /// Tenants whose credentials to retrieve are missing or refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retrieve_errors: Vec<crate::retrieved::RetrieveError>,
    /// Tenants this plan offboards: their keys and bindings are deleted, so the credentials
    /// delivered from them stop working.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offboarded: Vec<String>,
    /// Where calm.yaml's explicit `cf_api` or `org` differ from the subaccount's Cloud Foundry
    /// environment instance (calm.yaml wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<Disagreement>,
}

/// calm.yaml says one thing about where a tenant's org is, the environment instance another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Disagreement {
    /// The tenant.
    pub tenant: String,
    /// What differs, and which value is used.
    pub message: String,
}

impl Plan {
    /// True when applying would change nothing in BTP (read-only deliveries may still be due:
    /// [`Plan::has_no_work`]).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// True when applying would neither change BTP nor deliver anything, and nothing failed.
    pub fn has_no_work(&self) -> bool {
        self.changes.is_empty() && self.retrieve.is_empty() && self.retrieve_errors.is_empty()
    }

    /// How many changes have each action.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// One change to one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// The tenant it belongs to.
    pub tenant: String,
    /// The object.
    pub resource: Resource,
    /// What happens to it.
    pub action: Action,
    /// Why, when it is not obvious (e.g. "the last create failed: ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Field-level differences (parameters, labels, amounts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// What was observed when the plan was made, for refusing a stale saved plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
}

/// What happens to an object.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create it.
    Create,
    /// Change it in place.
    Update,
    /// Create it again under the same name (only where the API cannot update).
    Replace,
    /// Label it as calmctl's and manage it from now on.
    Adopt,
    /// Delete it.
    Delete,
    /// Create a new key for a calm.yaml key, deliver and verify it, then retire the old one.
    Rotate,
    /// Delete a key retired by a rotation whose grace period is over, or one left by an
    /// interrupted rotation. Part of the rotation the config asked for: it needs no
    /// `--allow-delete` and is not counted by `--max-delete`.
    DeleteRetired,
    /// Deliver an existing key's credentials again: its last delivery failed or was
    /// interrupted, or the sink no longer holds them (`reason` says which).
    Deliver,
}

impl Action {
    /// The Terraform-style symbol: `+`, `~`, `-/+`, `=`, `-`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update | Action::Deliver => "~",
            Action::Replace => "-/+",
            Action::Adopt => "=",
            Action::Delete | Action::DeleteRetired => "-",
            Action::Rotate => "+/-",
        }
    }

    /// The verb used in summaries.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Adopt => "adopt",
            Action::Delete => "delete",
            Action::Rotate => "rotate",
            Action::DeleteRetired => "delete retired",
            Action::Deliver => "deliver",
        }
    }

    /// Whether the change destroys something.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            Action::Delete | Action::Replace | Action::DeleteRetired
        )
    }
}

/// An object calmctl manages, named as the APIs name it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    /// The `SAPCloudALMAPIs` entitlement of a subaccount.
    Entitlement {
        /// The subaccount as written in the config.
        subaccount: String,
        /// Desired amount (`None` for an enable-type plan).
        amount: Option<u32>,
    },
    /// A Cloud Foundry space.
    Space {
        /// The org.
        org: String,
        /// The space.
        name: String,
    },
    /// A Cloud Foundry role of a user: an org role (no `space`) or a space role. calmctl only
    /// assigns roles, never removes one.
    Role {
        /// The org.
        org: String,
        /// The space, for a space role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        /// The role type, e.g. `space_developer` or `organization_user`.
        role: String,
        /// The user name.
        user: String,
        /// The user's identity provider (`origin`), e.g. `sap.ids`.
        origin: String,
    },
    /// A service instance.
    ServiceInstance {
        /// The CF space, for the cloudfoundry runtime.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        /// The instance name.
        name: String,
    },
    /// A service key (cloudfoundry) or binding (service-manager).
    ServiceKey {
        /// The instance it belongs to.
        instance: String,
        /// The key name.
        name: String,
        /// The name in calm.yaml, when the key is a rotation (`name` is then `<key>-<stamp>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rotates: Option<String>,
    },
}

impl Resource {
    /// Execution phase: entitlement, space, roles (org roles before space roles), instance,
    /// key; deletions in reverse.
    pub fn phase(&self, action: Action) -> u8 {
        let depth = match self {
            Resource::Entitlement { .. } => 0,
            Resource::Space { .. } => 1,
            Resource::Role { space: None, .. } => 2,
            Resource::Role { space: Some(_), .. } => 3,
            Resource::ServiceInstance { .. } => 4,
            Resource::ServiceKey { .. } => 5,
        };
        if matches!(action, Action::Delete | Action::DeleteRetired) {
            10 - depth
        } else {
            depth
        }
    }

    /// A short, human label: `service_instance calm/calm-api`.
    pub fn label(&self) -> String {
        match self {
            Resource::Entitlement { subaccount, amount } => match amount {
                Some(a) => {
                    format!("entitlement SAPCloudALMAPIs/standard ({subaccount}, amount {a})")
                }
                None => format!("entitlement SAPCloudALMAPIs/standard ({subaccount}, enabled)"),
            },
            Resource::Space { org, name } => format!("space {org}/{name}"),
            Resource::Role {
                org,
                space: None,
                role,
                user,
                origin,
            } => format!("org_role {org} {role} {user} ({origin})"),
            Resource::Role {
                org,
                space: Some(space),
                role,
                user,
                origin,
            } => format!("space_role {org}/{space} {role} {user} ({origin})"),
            Resource::ServiceInstance {
                space: Some(s),
                name,
            } => format!("service_instance {s}/{name}"),
            Resource::ServiceInstance { space: None, name } => format!("service_instance {name}"),
            Resource::ServiceKey { instance, name, .. } => format!("service_key {instance}/{name}"),
        }
    }
}

/// What the plan saw of an object, so that a saved plan can refuse to apply if it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Observed {
    /// GUID or id.
    pub guid: String,
    /// `updated_at`, or the last operation (`create succeeded`).
    pub version: String,
    /// SHA-256 of the object's labels and annotations.
    pub metadata_sha256: String,
}

/// An object a deletion would remove but `protect` keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Protected {
    /// The tenant it belongs to (the `tenant` label of a removed tenant's objects).
    pub tenant: String,
    /// The object.
    pub resource: Resource,
}

/// An object calmctl saw and leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotManaged {
    /// The tenant whose subaccount holds it.
    pub tenant: String,
    /// The object.
    pub resource: Resource,
    /// Why calmctl does not touch it.
    pub reason: String,
}

/// Computes the plan.
pub fn plan(desired: &Desired, live: &Live, options: &PlanOptions) -> Plan {
    let mut out = Plan {
        format_version: PLAN_FORMAT_VERSION,
        targets: options
            .targets
            .as_ref()
            .map(|t| t.iter().cloned().collect()),
        offboarded: options.offboard.iter().cloned().collect(),
        ..Plan::default()
    };
    let targeted = |name: &str| options.targets.as_ref().is_none_or(|t| t.contains(name));
    for t in desired.tenants.iter().filter(|t| targeted(&t.name)) {
        let empty = crate::LiveTenant::default();
        let lt = live.tenants.get(&t.name).unwrap_or(&empty);
        let before = out.changes.len();
        if options.offboard.contains(&t.name) {
            tenant::offboard(t, lt, options, &mut out);
        } else {
            tenant::diff(t, lt, desired, options, &mut out);
        }
        if out.changes.len() == before {
            out.unchanged_tenants.push(t.name.clone());
        }
        for message in lt.cf.iter().flat_map(|c| &c.disagreements) {
            out.disagreements.push(Disagreement {
                tenant: t.name.clone(),
                message: message.clone(),
            });
        }
    }
    for orphan in live.orphans.iter().filter(|o| targeted(&o.name)) {
        tenant::orphan(orphan, options, &mut out);
    }
    out.changes.sort_by(|a, b| {
        (a.resource.phase(a.action), &a.tenant, &a.resource).cmp(&(
            b.resource.phase(b.action),
            &b.tenant,
            &b.resource,
        ))
    });
    out
}

#[cfg(test)]
mod roles_tests;
#[cfg(test)]
mod tests;

/// A plan written to a file by `calmctl plan --out`, to be applied later after review.
/// It holds no secrets: only names, GUIDs, labels and configured parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavedPlan {
    /// Format version ([`PLAN_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The calmctl version that made it.
    pub calmctl_version: String,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// SHA-256 of everything the plan was made from: the calmctl version, calm.yaml and every
    /// inventory file (`tenants_from`) it names. A plan is applied only while it is unchanged.
    pub config_sha256: String,
    /// The files the plan was made from, each with the SHA-256 of its bytes: what changed is named
    /// when the plan is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<PlanSource>,
    /// Whether deletions were allowed.
    pub allow_delete: bool,
    /// Whether parameters calmctl could not read were to be overwritten (`--enforce-parameters`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enforce_parameters: bool,
    /// The plan.
    pub plan: Plan,
}

/// A file a saved plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlanSource {
    /// The path as calmctl read it.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// The draft-07 JSON Schema of `calmctl plan --format json` (a [`Plan`]) and of saved plans
/// (a [`SavedPlan`]), as checked in at `schemas/plan.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<PlanDocument>();
    serde_json::to_value(schema).unwrap_or_default()
}

/// Either form of a plan document.
#[derive(JsonSchema)]
#[schemars(title = "calmctl plan", untagged)]
#[allow(dead_code)] // only its schema is used
enum PlanDocument {
    /// `calmctl plan --format json`.
    Plan(Plan),
    /// `calmctl plan --out FILE`.
    Saved(SavedPlan),
}
