//! Names that must be unique: tenants, subaccounts, instances within a space or subaccount, and
//! keys within an instance. Each finding labels the first and the repeated place.

use std::collections::HashMap;

use calm_core::{Span, Tenant};

use crate::diagnostic::Problems;

/// Reports names that must be unique but are not, pointing at both places.
pub(crate) fn check(problems: &mut Problems, tenants: &[Tenant]) {
    let mut names: HashMap<&str, Span> = HashMap::with_capacity(tenants.len());
    let mut subaccounts: HashMap<(&str, &str), Span> = HashMap::with_capacity(tenants.len());
    for t in tenants {
        if let Some(first) = names.insert(&t.name, t.span) {
            problems.error("calm::duplicate_tenant", format!("tenant `{}` is defined twice", t.name)).label(t.span, "defined again here").label(first, "first defined here").help("tenant names must be unique: they name the tenant in plans, labels and credential paths").push();
        }
        if let Some(first) = subaccounts.insert((&t.account, &t.subaccount), t.span) {
            problems.error("calm::duplicate_subaccount", format!("subaccount `{}` belongs to two tenants", t.subaccount)).label(t.span, "second tenant").label(first, "first tenant").help("give each subaccount one tenant; use `instances:` for several instances in one subaccount").push();
        }
        let mut instances: HashMap<(Option<&str>, &str), Span> = HashMap::new();
        for i in &t.instances {
            if let Some(first) = instances.insert((i.space.as_deref(), &i.name), i.span) {
                let scope = i.space.as_deref().map_or_else(
                    || format!("subaccount `{}`", t.subaccount),
                    |s| format!("space `{s}`"),
                );
                problems.error("calm::duplicate_instance", format!("instance `{}` appears twice in {scope}", i.name)).label(i.span, "defined again here").label(first, "first defined here").help("instance names must be unique within a space (Cloud Foundry) or a subaccount (Service Manager)").push();
            }
            let mut keys: HashMap<&str, Span> = HashMap::new();
            for k in &i.keys {
                if let Some(first) = keys.insert(&k.name, k.span) {
                    problems
                        .error(
                            "calm::duplicate_key",
                            format!("key `{}` appears twice for instance `{}`", k.name, i.name),
                        )
                        .label(k.span, "defined again here")
                        .label(first, "first defined here")
                        .help("key names must be unique within an instance")
                        .push();
                }
            }
        }
    }
}
