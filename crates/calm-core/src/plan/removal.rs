//! Deletions: what calmctl owns and calm.yaml no longer lists, keys before their instance, held
//! back without `allow_delete` and never for protected objects.

use super::support::{key_version, observed, version};
use super::{Action, Change, Observed, Plan, PlanOptions, Resource};
use crate::live::{LiveInstance, LiveTenant, Metadata, Ownership, labels, ownership};

pub(super) fn delete_instance(
    tenant: &str,
    live: &LiveTenant,
    li: &LiveInstance,
    options: &PlanOptions,
    out: &mut Plan,
) {
    if ownership(&li.metadata) == Ownership::Unmanaged {
        return;
    }
    for lk in live.keys.iter().filter(|k| k.instance_guid == li.guid) {
        let resource = Resource::ServiceKey {
            instance: li.name.clone(),
            name: lk.name.clone(),
            rotates: None,
        };
        if ownership(&lk.metadata) != Ownership::Unmanaged {
            // A protected instance protects its keys too.
            let mut metadata = lk.metadata.clone();
            if crate::live::is_protected(&li.metadata) {
                metadata.insert(labels::PROTECT.into(), "true".into());
            }
            delete(
                out,
                tenant,
                resource,
                &metadata,
                options,
                observed(&lk.guid, &key_version(lk), &lk.metadata),
            );
        }
    }
    let resource = instance_resource(live, li);
    delete(
        out,
        tenant,
        resource,
        &li.metadata,
        options,
        observed(&li.guid, &version(li), &li.metadata),
    );
}

pub(super) fn delete(
    out: &mut Plan,
    tenant: &str,
    resource: Resource,
    metadata: &Metadata,
    options: &PlanOptions,
    observed: Observed,
) {
    let offboarding = options.offboard.contains(tenant);
    if crate::live::is_protected(metadata) {
        out.protected.push(super::Protected {
            tenant: tenant.to_owned(),
            resource,
        });
    } else if !options.allow_delete && !offboarding {
        out.withheld_deletes.push(resource);
    } else {
        let reason = match (&resource, offboarding) {
            (Resource::ServiceKey { .. }, true) => {
                "offboarding the tenant: credentials delivered from this key stop working"
            }
            (_, true) => "offboarding the tenant",
            (_, false) => "managed by calmctl but no longer in calm.yaml",
        };
        out.changes.push(Change {
            tenant: tenant.to_owned(),
            resource,
            action: Action::Delete,
            reason: Some(reason.into()),
            fields: Vec::new(),
            observed: Some(observed),
        });
    }
}

pub(super) fn instance_resource(live: &LiveTenant, li: &LiveInstance) -> Resource {
    let space = li.space_guid.as_ref().map(|g| {
        live.spaces
            .iter()
            .find(|s| &s.guid == g)
            .map_or_else(|| g.clone(), |s| s.name.clone())
    });
    Resource::ServiceInstance {
        space,
        name: li.name.clone(),
    }
}
