//! The diff of one tenant, object by object in dependency order.

use serde_json::{Value, json};

use super::removal::{delete, delete_instance, instance_resource};
use super::support::{
    key_version, mask_all, observed, ownership_fields, protect_field, push, version,
};
use super::{Action, Change, FieldChange, NotManaged, Plan, PlanOptions, Resource, rotation};
use crate::live::{
    LiveInstance, LiveKey, LiveParameters, LiveTenant, Ownership, labels, ownership,
};
use crate::{Entitlement, Instance, Runtime, Tenant};

/// Appends the changes `tenant` needs given what exists (`live`).
pub(super) fn diff(
    t: &Tenant,
    live: &LiveTenant,
    desired: &crate::Desired,
    options: &PlanOptions,
    out: &mut Plan,
) {
    if t.retrieve_only() {
        // Only reads: the credentials it retrieves are planned by calm-engine's `retrieve`.
        return;
    }
    let redact = &desired.redact;
    entitlement(t, live, out);
    if t.runtime == Runtime::Cloudfoundry {
        spaces(t, live, out);
        super::roles::diff(t, live, out);
    }
    let mut claimed: Vec<&str> = Vec::new();
    for i in &t.instances {
        let found = find_instance(t, live, i);
        if let Some(li) = found {
            claimed.push(&li.guid);
        }
        instance(t, live, i, found, redact, options, out);
        keys(t, live, i, found, &desired.delivery, options, out);
    }
    for li in live
        .instances
        .iter()
        .filter(|li| !claimed.contains(&li.guid.as_str()))
    {
        match ownership(&li.metadata) {
            Ownership::Managed { .. } => delete_instance(&t.name, live, li, options, out),
            Ownership::Unmanaged => out.not_managed.push(NotManaged {
                tenant: t.name.clone(),
                resource: instance_resource(live, li),
                reason: "not created by calmctl and not in calm.yaml".into(),
            }),
        }
    }
}

/// A tenant being offboarded: delete what calmctl labelled (keys first), name what it did not
/// make and leaves alone.
pub(super) fn offboard(t: &Tenant, live: &LiveTenant, options: &PlanOptions, out: &mut Plan) {
    for li in &live.instances {
        match ownership(&li.metadata) {
            Ownership::Managed { .. } => delete_instance(&t.name, live, li, options, out),
            Ownership::Unmanaged => out.not_managed.push(NotManaged {
                tenant: t.name.clone(),
                resource: instance_resource(live, li),
                reason: "not created by calmctl: offboarding leaves it".into(),
            }),
        }
    }
}

/// A tenant removed from the config: delete what calmctl labelled, keys first.
pub(super) fn orphan(live: &LiveTenant, options: &PlanOptions, out: &mut Plan) {
    for li in &live.instances {
        delete_instance(&live.name, live, li, options, out);
    }
}

fn entitlement(t: &Tenant, live: &LiveTenant, out: &mut Plan) {
    let (amount, wanted) = match t.entitlement {
        Entitlement::Amount(a) => (Some(a), json!(a)),
        Entitlement::Enable(_) => (None, json!(true)),
    };
    let resource = Resource::Entitlement {
        subaccount: t.subaccount.clone(),
        amount,
    };
    let (action, before, reason) = match &live.entitlement {
        None => (Action::Create, None, None),
        Some(le) if le.state == "PROCESSING_FAILED" => (
            Action::Update,
            current(le),
            Some("the last assignment failed".to_owned()),
        ),
        Some(le) => {
            let matches = match t.entitlement {
                Entitlement::Amount(a) => le.amount == Some(a),
                Entitlement::Enable(_) => le.enabled,
            };
            if matches {
                return;
            }
            (Action::Update, current(le), None)
        }
    };
    let field = if amount.is_some() { "amount" } else { "enable" };
    out.changes.push(Change {
        tenant: t.name.clone(),
        resource,
        action,
        reason,
        fields: vec![FieldChange {
            path: field.into(),
            before,
            after: Some(wanted),
            unknown_before: false,
        }],
        observed: None,
    });
}

fn current(le: &crate::LiveEntitlement) -> Option<Value> {
    Some(le.amount.map_or(json!(le.enabled), |a| json!(a)))
}

fn spaces(t: &Tenant, live: &LiveTenant, out: &mut Plan) {
    let org = live.org_name(t).to_owned();
    for name in t.spaces() {
        let resource = Resource::Space {
            org: org.clone(),
            name: name.to_owned(),
        };
        match live
            .spaces
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
        {
            None => {
                let blocked = super::roles::missing_right(t, live, &resource);
                push(out, t, resource, Action::Create, blocked, Vec::new(), None);
            }
            Some(s) if ownership(&s.metadata) == Ownership::Unmanaged => {
                let observed = observed(&s.guid, &s.updated_at, &s.metadata);
                let fields = ownership_fields(t);
                let blocked = super::roles::missing_right(t, live, &resource);
                push(
                    out,
                    t,
                    resource,
                    Action::Adopt,
                    blocked,
                    fields,
                    Some(observed),
                );
            }
            Some(_) => {}
        }
    }
}

/// The live instance a desired instance corresponds to: same name, and for CF the same space.
fn find_instance<'a>(t: &Tenant, live: &'a LiveTenant, i: &Instance) -> Option<&'a LiveInstance> {
    let space_guid = match (&t.runtime, &i.space) {
        (Runtime::Cloudfoundry, Some(space)) => Some(
            live.spaces
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(space))?
                .guid
                .as_str(),
        ),
        _ => None,
    };
    live.instances.iter().find(|li| {
        li.name == i.name && (space_guid.is_none() || li.space_guid.as_deref() == space_guid)
    })
}

fn instance(
    t: &Tenant,
    live: &LiveTenant,
    i: &Instance,
    found: Option<&LiveInstance>,
    redact: &[String],
    options: &PlanOptions,
    out: &mut Plan,
) {
    let resource = Resource::ServiceInstance {
        space: i.space.clone(),
        name: i.name.clone(),
    };
    let Some(li) = found else {
        let fields = super::json_diff("parameters", &json!({}), &i.parameters, redact);
        let reason = live.service_manager_unread.then(|| UNREAD.to_owned());
        push(out, t, resource, Action::Create, reason, fields, None);
        return;
    };
    let obs = Some(observed(&li.guid, &version(li), &li.metadata));
    if let Some(op) = li.last_operation.as_ref().filter(|op| op.create_failed()) {
        let reason = format!("the last create failed: {}", op.description);
        push(
            out,
            t,
            resource,
            Action::Replace,
            Some(reason),
            Vec::new(),
            obs,
        );
        return;
    }
    // Parameters calmctl could not read are overwritten only when calm.yaml states some and the
    // user asks for it: unknown is never taken for empty.
    let enforce = options.enforce_parameters && i.parameters_stated;
    let overwrite = || FieldChange {
        path: "parameters".into(),
        before: None,
        after: Some(mask_all(&i.parameters, redact)),
        unknown_before: true,
    };
    if ownership(&li.metadata) == Ownership::Unmanaged {
        let mut fields = ownership_fields(t);
        let reason = if enforce && li.parameters() == LiveParameters::Unknown {
            fields.push(overwrite());
            format!("has the configured name but no calmctl labels; {OVERWRITES}")
        } else {
            format!("has the configured name but no calmctl labels; {KEPT}")
        };
        push(out, t, resource, Action::Adopt, Some(reason), fields, obs);
        return;
    }
    let mut fields = Vec::new();
    let mut reason = None;
    if li.plan != i.plan {
        fields.push(FieldChange {
            path: "plan".into(),
            before: Some(json!(li.plan)),
            after: Some(json!(i.plan)),
            unknown_before: false,
        });
    }
    match li.parameters() {
        LiveParameters::Written { sha256, .. } if sha256 == i.parameters_hash() => {}
        LiveParameters::Written {
            value: Some(old), ..
        } => fields.extend(super::json_diff("parameters", &old, &i.parameters, redact)),
        LiveParameters::Written { value: None, .. } => fields.push(overwrite()),
        LiveParameters::Unknown if enforce => {
            fields.push(overwrite());
            reason = Some(OVERWRITES.to_owned());
        }
        LiveParameters::Unknown => {}
    }
    fields.extend(protect_field(t, &li.metadata));
    if !fields.is_empty() {
        push(out, t, resource, Action::Update, reason, fields, obs);
    }
}

/// Why a create in a Service Manager calmctl could not read may become an adoption.
pub(super) const UNREAD: &str = "Service Manager not readable yet (no access binding): read \
                                 during apply, which adopts what it finds of this name instead";

/// The same for a key or binding of such an instance.
pub(super) const UNREAD_KEY: &str = "Service Manager not readable yet: read during apply";

/// Why an instance calmctl did not make keeps its parameters.
const KEPT: &str = "parameters unknown (Cloud ALM does not return them): kept as they are \
                    (`--enforce-parameters` overwrites them with calm.yaml's)";

/// Why such an instance's parameters are written.
const OVERWRITES: &str = "--enforce-parameters: overwrites parameters calmctl could not read";

fn keys(
    t: &Tenant,
    live: &LiveTenant,
    i: &Instance,
    found: Option<&LiveInstance>,
    delivery: &crate::Delivery,
    options: &PlanOptions,
    out: &mut Plan,
) {
    let renew = found.is_none_or(|li| {
        li.last_operation
            .as_ref()
            .is_some_and(|op| op.create_failed())
    });
    let live_keys: Vec<&LiveKey> = match found {
        Some(li) if !renew => live
            .keys
            .iter()
            .filter(|k| k.instance_guid == li.guid)
            .collect(),
        _ => Vec::new(),
    };
    let mut claimed: Vec<&str> = Vec::new();
    // Retired keys are past: deleted after their grace period, never matched to a calm.yaml key.
    for lk in live_keys.iter().filter(|lk| {
        ownership(&lk.metadata) != Ownership::Unmanaged
            && rotation::retired_at(&lk.metadata).is_some()
    }) {
        claimed.push(&lk.guid);
        let retire_after = i
            .keys
            .iter()
            .find(|k| lk.metadata.get(labels::KEY) == Some(&k.name))
            .map_or(crate::DEFAULT_RETIRE_AFTER_SECS, |k| k.retire_after_secs);
        rotation::expire(&t.name, &i.name, lk, retire_after, t.protect, options, out);
    }
    for k in &i.keys {
        let resource = Resource::ServiceKey {
            instance: i.name.clone(),
            name: k.name.clone(),
            rotates: None,
        };
        // The oldest managed key of this name is current; younger ones were left by an
        // interrupted rotation.
        let mut managed: Vec<&LiveKey> = live_keys
            .iter()
            .copied()
            .filter(|lk| {
                lk.metadata.get(labels::KEY) == Some(&k.name)
                    && ownership(&lk.metadata) != Ownership::Unmanaged
                    && !claimed.contains(&lk.guid.as_str())
            })
            .collect();
        managed.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        for lk in managed.iter().skip(1) {
            claimed.push(&lk.guid);
            rotation::leftover(t, i, k, lk, out);
        }
        let by_name = live_keys
            .iter()
            .find(|lk| lk.name == k.name && !claimed.contains(&lk.guid.as_str()));
        match managed.first().or(by_name) {
            None => {
                let reason = live.service_manager_unread.then(|| UNREAD_KEY.to_owned());
                push(out, t, resource, Action::Create, reason, Vec::new(), None);
            }
            Some(lk) => {
                claimed.push(&lk.guid);
                let obs = Some(observed(&lk.guid, &key_version(lk), &lk.metadata));
                if lk
                    .last_operation
                    .as_ref()
                    .is_some_and(|op| op.create_failed())
                {
                    let reason = "the last create failed".to_owned();
                    push(
                        out,
                        t,
                        resource,
                        Action::Replace,
                        Some(reason),
                        Vec::new(),
                        obs,
                    );
                } else if ownership(&lk.metadata) == Ownership::Unmanaged {
                    let reason = "has the configured name but no calmctl labels".to_owned();
                    push(
                        out,
                        t,
                        resource,
                        Action::Adopt,
                        Some(reason),
                        ownership_fields(t),
                        obs,
                    );
                } else {
                    let before = out.changes.len();
                    rotation::rotate(t, i, k, lk, &live_keys, options, out);
                    // A rotation delivers its new key; otherwise the key may be due.
                    let rotates = out.changes.len() > before;
                    if let Some(reason) = (!rotates)
                        .then(|| crate::delivered::due(delivery, &i.name, &k.name, lk, &live.files))
                        .flatten()
                    {
                        // What a delivery depends on is the key and its record, not how far
                        // its create got: a key a killed run left in progress is done by the
                        // time the lease is taken, and its delivery is still the approved one.
                        let obs = Some(observed(&lk.guid, "", &lk.metadata));
                        push(
                            out,
                            t,
                            resource,
                            Action::Deliver,
                            Some(reason),
                            Vec::new(),
                            obs,
                        );
                    }
                }
            }
        }
    }
    for lk in live_keys
        .into_iter()
        .filter(|lk| !claimed.contains(&lk.guid.as_str()))
    {
        let resource = Resource::ServiceKey {
            instance: i.name.clone(),
            name: lk.name.clone(),
            rotates: None,
        };
        match ownership(&lk.metadata) {
            Ownership::Managed { .. } => delete(
                out,
                &t.name,
                resource,
                &lk.metadata,
                options,
                observed(&lk.guid, &key_version(lk), &lk.metadata),
            ),
            Ownership::Unmanaged => {
                let reason = if crate::looks_generated(&lk.name) {
                    "generated by SAP Cloud ALM (<SID>_<client>_<system number>)"
                } else {
                    "not created by calmctl (made by hand?)"
                };
                out.not_managed.push(NotManaged {
                    tenant: t.name.clone(),
                    resource,
                    reason: reason.into(),
                });
            }
        }
    }
}
