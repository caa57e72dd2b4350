//! `calmctl rotate`: `apply` for the chosen tenants with their keys (or one key) marked for
//! rotation whatever their age.

use std::collections::BTreeSet;

use crate::cli::{ApplyArgs, RotateArgs};
use crate::commands::apply;
use crate::commands::session::load_config;
use crate::{Context, Status, output};

pub(crate) fn rotate(args: &RotateArgs, ctx: &Context) -> Status {
    let Some(loaded) = load_config(&args.file, ctx) else {
        return Status::Failure;
    };
    let mut keys = BTreeSet::new();
    for name in &args.tenants {
        let Some(t) = loaded.desired.tenants.iter().find(|t| &t.name == name) else {
            output::stderr(&format!(
                "error: --tenant {name}: no tenant of that name in the config\n"
            ));
            return Status::Failure;
        };
        let names: BTreeSet<&str> = t
            .instances
            .iter()
            .flat_map(|i| i.keys.iter().map(|k| k.name.as_str()))
            .collect();
        match &args.key {
            Some(key) if !names.contains(key.as_str()) => {
                output::stderr(&format!(
                    "error: --key {key}: tenant {name} has no key of that name in the config\n"
                ));
                return Status::Failure;
            }
            Some(key) => {
                keys.insert((name.clone(), key.clone()));
            }
            None => keys.extend(names.iter().map(|k| (name.clone(), (*k).to_owned()))),
        }
    }
    let apply_args = ApplyArgs {
        saved_plan: None,
        file: args.file.clone(),
        auto_approve: args.auto_approve,
        parallelism: 8,
        allow_delete: false,
        max_delete: None,
        tenants: args.tenants.clone(),
        max_plan_age: 24,
        report: args.report.clone(),
        no_progress: args.no_progress,
        no_verify: args.no_verify,
        refresh_credentials: false,
        sandbox: args.sandbox,
        sandbox_state: args.sandbox_state.clone(),
        lease_wait: args.lease_wait,
        lease_ttl: 600,
        lease_host: None,
        lease_namespace: None,
    };
    apply::run(&apply_args, ctx, &loaded, keys)
}
