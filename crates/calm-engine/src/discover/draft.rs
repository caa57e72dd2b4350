//! From what [`discover`](super::discover) found to a calm.yaml draft: `defaults` are the most
//! common settings among onboarded subaccounts, and each tenant states only where it differs,
//! so that the first plan adopts what exists and creates only what is missing.

use std::collections::BTreeMap;

use calm_config::draft::{Draft, DraftDefaults, DraftInstance, DraftTenant};
use calm_core::live::{Metadata, Ownership, is_protected, labels, ownership};
use calm_core::{Account, Entitlement, LiveEntitlement, Runtime, looks_generated};
use serde_json::Value;

use super::found::Found;

/// What an instance was created with, as far as its labels tell (calmctl records the parameters
/// it applied; an unlabelled instance's parameters cannot be read back from Cloud ALM).
#[derive(Default, PartialEq)]
struct Settings {
    authorities: Option<Vec<String>>,
    credential_types: Option<Vec<String>>,
    parameters: Option<serde_json::Map<String, Value>>,
}

/// The draft for `found`, with `account` as its one connection.
pub fn draft(account: &Account, found: &[Found]) -> Draft {
    // Subaccounts holding only SAP's generated credentials are retrieved, not managed: they do
    // not shape the defaults of the managed tenants.
    let onboarded: Vec<&Found> = found
        .iter()
        .filter(|f| f.runtime.is_some() && !generated_only(f))
        .collect();
    let region = most_common(found.iter().map(|f| f.subaccount.region.clone()))
        .unwrap_or_else(|| account.region.clone());
    let runtime =
        most_common(onboarded.iter().filter_map(|f| f.runtime)).unwrap_or(Runtime::ServiceManager);
    let instances = || onboarded.iter().flat_map(|f| f.instances.iter());
    let space =
        most_common(instances().filter_map(|(_, s)| s.clone())).unwrap_or_else(|| "calm".into());
    let instance =
        most_common(instances().map(|(i, _)| i.name.clone())).unwrap_or_else(|| "calm-api".into());
    let authorities =
        most_common(instances().filter_map(|(i, _)| settings(&i.metadata, &i.name).authorities))
            .unwrap_or_default();
    let keys = most_common(
        onboarded
            .iter()
            .flat_map(|f| f.instances.iter().map(|(i, _)| key_names(f, &i.guid))),
    )
    .unwrap_or_else(|| vec!["calm-key".to_owned()]);
    // `Some(n)` for an amount, `None` for an enabled plan without quota.
    let amount = |e: Entitlement| match e {
        Entitlement::Amount(n) => Some(n),
        Entitlement::Enable(_) => None,
    };
    let entitlement = most_common(
        found
            .iter()
            .filter_map(|f| f.entitlement.as_ref().map(|e| amount(entitlement(e)))),
    )
    .map_or(Entitlement::Amount(1), |a| {
        a.map_or(Entitlement::Enable(true), Entitlement::Amount)
    });
    let defaults = DraftDefaults {
        region,
        runtime,
        space,
        instance,
        authorities,
        keys,
        entitlement,
    };
    let tenants = found.iter().map(|f| tenant(f, &defaults)).collect();
    let selected = found.len();
    let adopted = onboarded.len();
    Draft {
        header: vec![
            format!(
                "Written by `calmctl discover` from global account {} ({selected} subaccounts, {adopted} onboarded already).",
                account.subdomain
            ),
            "Tenants marked `onboarded` have Cloud ALM objects already: the first plan adopts them instead of creating new ones.".into(),
        ],
        account: account.clone(),
        defaults,
        tenants,
    }
}

fn tenant(f: &Found, d: &DraftDefaults) -> DraftTenant {
    let s = &f.subaccount;
    let managed_name = f
        .instances
        .iter()
        .find_map(|(i, _)| match ownership(&i.metadata) {
            Ownership::Managed { tenant } => Some(tenant),
            Ownership::Unmanaged => None,
        });
    let name = managed_name
        .clone()
        .unwrap_or_else(|| tenant_name(&s.subdomain));
    let runtime = match f.runtime {
        Some(r) => r,
        None if d.runtime == Runtime::Cloudfoundry && f.org.is_some() => Runtime::Cloudfoundry,
        None => Runtime::ServiceManager,
    };
    // The org was found through the subaccount's environment instance, as `plan` finds it: the
    // file need not name it.
    let org: Option<String> = None;
    let mut comments = Vec::new();
    if !f.instances.is_empty() {
        let what: Vec<String> = f
            .instances
            .iter()
            .map(|(i, _)| format!("instance {}", i.name))
            .collect();
        let how = if managed_name.is_some() {
            "managed by calmctl"
        } else {
            "made by hand; the first plan adopts it"
        };
        comments.push(format!("onboarded: {} ({how})", what.join(", ")));
    } else if f.service_manager_unread && f.org.is_none() {
        comments.push(
            "Service Manager not readable yet (no access binding): the first apply reads it and \
             adopts what it finds before creating anything"
                .into(),
        );
    } else if f.entitlement.is_some() {
        comments.push("entitled already; no Cloud ALM instance yet".into());
    }
    let generated: Vec<&str> = f
        .keys
        .iter()
        .map(|k| k.name.as_str())
        .filter(|n| looks_generated(n))
        .collect();
    let unreadable_only = generated_only(f) && !f.unreadable_keys.is_empty();
    if unreadable_only {
        // Retrieving would fail: say what to do, and write the tenant as found (adopted, with
        // SAP's keys left alone) until the role is there.
        comments.push(format!(
            "SAP generated credentials {} here, but calmctl's user is not a Space Developer of \
             their space, and Cloud Foundry shows a key's credentials to Space Developers only: \
             assign that role, then give this tenant `retrieve: generated` in place of what follows",
            f.unreadable_keys.join(", ")
        ));
    } else if generated_only(f) {
        // What SAP generated is delivered as it is: an active entry, because retrieving writes
        // nothing to BTP (README, "Credentials SAP generated").
        return DraftTenant {
            comments: vec![format!(
                "SAP generated credentials {} here; calmctl delivers them read-only",
                generated.join(", ")
            )],
            name,
            subaccount: s.subdomain.clone(),
            org,
            region: (s.region != d.region).then(|| s.region.clone()),
            runtime: (runtime != d.runtime).then_some(runtime),
            retrieve: vec![calm_config::GENERATED.to_owned()],
            ..DraftTenant::default()
        };
    }
    if !generated.is_empty() && !unreadable_only {
        comments.push(format!(
            "SAP generated credentials {} here; calmctl leaves them alone",
            generated.join(", ")
        ));
    }
    let instances: Vec<DraftInstance> = f
        .instances
        .iter()
        .map(|(i, space)| {
            let found = settings(&i.metadata, &i.name);
            let keys = key_names(f, &i.guid);
            DraftInstance {
                name: (i.name != d.instance).then(|| i.name.clone()),
                space: space.clone().filter(|s| s != &d.space),
                authorities: found.authorities.filter(|a| a != &d.authorities),
                credential_types: found.credential_types,
                parameters: found.parameters,
                keys: (keys != d.keys).then_some(keys),
            }
        })
        .collect();
    DraftTenant {
        comments,
        name,
        subaccount: s.subdomain.clone(),
        org,
        region: (s.region != d.region).then(|| s.region.clone()),
        runtime: (runtime != d.runtime).then_some(runtime),
        instances,
        protect: f.instances.iter().any(|(i, _)| is_protected(&i.metadata)),
        entitlement: f
            .entitlement
            .as_ref()
            .map(entitlement)
            .filter(|e| *e != d.entitlement),
        retrieve: Vec::new(),
    }
}

/// A subaccount whose Cloud ALM instances carry no calmctl label and hold only keys or
/// bindings named like SAP's generated ones (`ABC_100_00`): the tenant SAP provisioned, whose
/// credentials are to be retrieved rather than managed.
fn generated_only(f: &Found) -> bool {
    !f.keys.is_empty()
        && f.keys.iter().all(|k| looks_generated(&k.name))
        && f.instances
            .iter()
            .all(|(i, _)| ownership(&i.metadata) == Ownership::Unmanaged)
}

/// The config key names of an instance's keys: calmctl's `key` label (a rotated key is named
/// `<name>-<time>`), else the name; SAP's generated credentials are not calmctl's to manage.
fn key_names(f: &Found, instance_guid: &str) -> Vec<String> {
    let mut names: Vec<String> = f
        .keys
        .iter()
        .filter(|k| k.instance_guid == instance_guid && !looks_generated(&k.name))
        .filter(|k| !k.metadata.contains_key(labels::RETIRED_AT))
        .map(|k| {
            k.metadata
                .get(labels::KEY)
                .cloned()
                .unwrap_or_else(|| k.name.clone())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn entitlement(e: &LiveEntitlement) -> Entitlement {
    match e.amount {
        Some(n) => Entitlement::Amount(n),
        None => Entitlement::Enable(true),
    }
}

/// What calmctl recorded on an instance, split back into the fields calm.yaml has.
fn settings(metadata: &Metadata, name: &str) -> Settings {
    let Some(Value::Object(mut params)) = metadata
        .get(labels::PARAMETERS)
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
    else {
        return Settings::default();
    };
    let mut out = Settings::default();
    if let Some(Value::Object(mut security)) = params.remove("xs-security") {
        if security.get("xsappname").and_then(Value::as_str) == Some(name) {
            security.remove("xsappname");
        }
        if let Some(Value::Array(list)) = security.remove("authorities") {
            out.authorities = Some(
                list.iter()
                    .filter_map(Value::as_str)
                    .map(|a| {
                        a.trim_start_matches(calm_config::XSMASTERAPPNAME)
                            .trim_start_matches('.')
                            .to_owned()
                    })
                    .collect(),
            );
        }
        if let Some(Value::Object(mut oauth)) = security.remove("oauth2-configuration") {
            if let Some(Value::Array(types)) = oauth.remove("credential-types") {
                let types: Vec<String> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                if types != ["binding-secret"] {
                    out.credential_types = Some(types);
                }
            }
            if !oauth.is_empty() {
                security.insert("oauth2-configuration".into(), Value::Object(oauth));
            }
        }
        if !security.is_empty() {
            params.insert("xs-security".into(), Value::Object(security));
        }
    }
    out.parameters = (!params.is_empty()).then_some(params);
    out
}

/// A tenant name from a subdomain: the characters calm.yaml allows, at most 63.
fn tenant_name(subdomain: &str) -> String {
    let name: String = subdomain
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    name.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// The most frequent value; ties go to the smallest, so the result does not depend on order.
fn most_common<T: Ord>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(v, _)| v)
}
