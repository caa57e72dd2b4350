//! Small helpers of the per-tenant diff: ownership labels, fingerprints, masking.

use serde_json::{Value, json};

use super::{Action, Change, FieldChange, Observed, Plan, Resource};
use crate::Tenant;
use crate::live::{LiveInstance, LiveKey, Metadata, labels};

pub(super) fn push(
    out: &mut Plan,
    t: &Tenant,
    resource: Resource,
    action: Action,
    reason: Option<String>,
    fields: Vec<FieldChange>,
    observed: Option<Observed>,
) {
    out.changes.push(Change {
        tenant: t.name.clone(),
        resource,
        action,
        reason,
        fields,
        observed,
    });
}

/// The labels adoption writes.
pub(super) fn ownership_fields(t: &Tenant) -> Vec<FieldChange> {
    let mut fields = vec![
        FieldChange {
            path: format!("labels.{}", labels::MANAGED_BY),
            before: None,
            after: Some(json!(labels::MANAGED_BY_VALUE)),
            unknown_before: false,
        },
        FieldChange {
            path: format!("labels.{}", labels::TENANT),
            before: None,
            after: Some(json!(t.name)),
            unknown_before: false,
        },
    ];
    if t.protect {
        fields.push(FieldChange {
            path: format!("labels.{}", labels::PROTECT),
            before: None,
            after: Some(json!("true")),
            unknown_before: false,
        });
    }
    fields
}

pub(super) fn protect_field(t: &Tenant, metadata: &Metadata) -> Option<FieldChange> {
    let live = crate::live::is_protected(metadata);
    (live != t.protect).then(|| FieldChange {
        path: format!("labels.{}", labels::PROTECT),
        before: live.then(|| json!("true")),
        after: t.protect.then(|| json!("true")),
        unknown_before: false,
    })
}

pub(super) fn mask_all(value: &Value, redact: &[String]) -> Value {
    let mut masked = value.clone();
    for path in redact {
        let mut node = &mut masked;
        let parts: Vec<&str> = path.split('.').collect();
        for (n, part) in parts.iter().enumerate() {
            let Some(child) = node.get_mut(*part) else {
                break;
            };
            if n + 1 == parts.len() {
                *child = json!(super::REDACTED);
                break;
            }
            node = child;
        }
    }
    masked
}

pub(super) fn version(li: &LiveInstance) -> String {
    match &li.last_operation {
        Some(op) => format!("{} {} {}", li.updated_at, op.kind, op.state),
        None => li.updated_at.clone(),
    }
}

pub(super) fn key_version(lk: &LiveKey) -> String {
    match &lk.last_operation {
        Some(op) => format!("{} {} {}", lk.created_at, op.kind, op.state),
        None => lk.created_at.to_string(),
    }
}

pub(super) fn observed(guid: &str, version: &str, metadata: &Metadata) -> Observed {
    let json = serde_json::to_value(metadata).unwrap_or_default();
    Observed {
        guid: guid.to_owned(),
        version: version.to_owned(),
        metadata_sha256: crate::hash::parameters_hash(&json),
    }
}
