//! The GUIDs a tenant's steps need, from the live read and from what this run created, and the
//! ownership labels every created object carries.

use std::collections::{BTreeMap, HashMap, HashSet};

use calm_btp::cf::Credentials;
use calm_core::live::{Ownership, labels, ownership};
use calm_core::{Instance, LiveTenant, Tenant};

/// What a tenant's steps know about its objects.
#[derive(Default)]
pub(crate) struct Ids {
    pub(crate) subaccount: Option<String>,
    pub(crate) org: Option<String>,
    /// Space GUIDs by lower-case name (CF space names are case-insensitive).
    pub(crate) spaces: HashMap<String, String>,
    /// Instance GUIDs by name.
    pub(crate) instances: HashMap<String, String>,
    /// The labels (and annotations) of the instances as read, by GUID.
    pub(crate) metadata: HashMap<String, calm_core::live::Metadata>,
    /// Instances with an operation still running when they were read: keys must wait for it.
    pub(crate) busy: HashSet<String>,
    /// Managed key GUIDs by (instance name, key name in calm.yaml).
    pub(crate) keys: HashMap<(String, String), String>,
    /// Keys created in this run: their credentials are new and must be delivered.
    pub(crate) fresh: HashSet<String>,
    /// Credentials returned with a create (Service Manager), to spare a second read.
    pub(crate) credentials: HashMap<String, Credentials>,
    /// `retired-at` of retired keys, by GUID (to remove a binding's mark from its instance).
    pub(crate) retired: HashMap<String, String>,
}

impl Ids {
    pub(crate) fn from_live(live: &LiveTenant) -> Ids {
        let mut ids = Ids {
            subaccount: live.subaccount_guid.clone(),
            org: live.org_guid.clone(),
            ..Ids::default()
        };
        for s in &live.spaces {
            ids.spaces
                .insert(s.name.to_ascii_lowercase(), s.guid.clone());
        }
        let mut names: HashMap<&str, &str> = HashMap::new();
        let mut created: HashMap<(String, String), (i64, &str)> = HashMap::new();
        for i in &live.instances {
            let failed = i
                .last_operation
                .as_ref()
                .is_some_and(|op| op.create_failed());
            if failed {
                continue;
            }
            if i.last_operation.as_ref().is_some_and(|op| op.in_progress()) {
                ids.busy.insert(i.guid.clone());
            }
            ids.instances.insert(i.name.clone(), i.guid.clone());
            ids.metadata.insert(i.guid.clone(), i.metadata.clone());
            names.insert(&i.guid, &i.name);
        }
        for k in &live.keys {
            let failed = k
                .last_operation
                .as_ref()
                .is_some_and(|op| op.create_failed());
            let managed = matches!(ownership(&k.metadata), Ownership::Managed { .. });
            let retired = k.metadata.contains_key(labels::RETIRED_AT);
            if let Some(at) = k.metadata.get(labels::RETIRED_AT) {
                ids.retired.insert(k.guid.clone(), at.clone());
            }
            if failed || !managed || retired {
                continue;
            }
            let Some(instance) = names.get(k.instance_guid.as_str()) else {
                continue;
            };
            let name = k.metadata.get(labels::KEY).unwrap_or(&k.name);
            let slot = ((*instance).to_owned(), name.clone());
            // The oldest is current; a younger one was left by an interrupted rotation.
            let age = (k.created_at, k.name.as_str());
            if created.get(&slot).is_some_and(|older| *older <= age) {
                continue;
            }
            created.insert(slot.clone(), age);
            ids.keys.insert(slot, k.guid.clone());
        }
        ids
    }
}

/// `managed-by`, `tenant` and, for a protected tenant, `protect`.
pub(crate) fn ownership_labels(t: &Tenant) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into());
    out.insert(labels::TENANT.into(), t.name.clone());
    if t.protect {
        out.insert(labels::PROTECT.into(), "true".into());
    }
    out
}

/// The hash and the canonical JSON of the parameters: CF keeps them as annotations (label values
/// are limited to 63 characters), Service Manager as labels, the JSON split into parts of at most
/// 255 bytes (`crate::sm_labels`).
pub(crate) fn parameter_marks(i: &Instance) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(labels::PARAMETERS_SHA256.into(), i.parameters_hash());
    out.insert(labels::PARAMETERS.into(), canonical_json(&i.parameters));
    out
}

/// The labels of a key: ownership plus the calm.yaml key name.
pub(crate) fn key_labels(t: &Tenant, key: &str) -> BTreeMap<String, String> {
    let mut out = ownership_labels(t);
    out.insert(labels::KEY.into(), key.to_owned());
    out
}

/// JSON with object keys sorted, so the same parameters always give the same text.
pub(crate) fn canonical_json(value: &serde_json::Value) -> String {
    fn sort(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<&String, serde_json::Value> =
                    map.iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sort).collect())
            }
            other => other.clone(),
        }
    }
    sort(value).to_string()
}
