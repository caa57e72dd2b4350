//! `calmctl offboard`: an apply whose request names tenants whose objects are all deleted, with
//! the plan shown and approved first and `--max-delete` and `protect` as for any deletion.

use std::collections::BTreeSet;

use calm_engine::ops::{self, ApplyRequest};

use crate::cli::OffboardArgs;
use crate::commands::apply::{lease_options, options, run};
use crate::commands::session::{fail, load_config};
use crate::{Context, Status};

pub(crate) fn offboard(args: &OffboardArgs, ctx: &Context) -> Status {
    let Some(loaded) = load_config(&args.config.file, ctx) else {
        return Status::Failure;
    };
    let chosen =
        ops::offboard_targets(&loaded.desired, &args.targets.tenants, &args.targets.select);
    let offboard = match chosen {
        Ok(chosen) => chosen,
        Err(e) => return fail(&e.to_string()),
    };
    let request = ApplyRequest {
        desired: &loaded.desired,
        saved: None,
        targets: Some(offboard.clone()),
        allow_delete: false,
        rotate: BTreeSet::new(),
        enforce_parameters: false,
        offboard,
        options: calm_engine::ApplyOptions {
            max_delete: args
                .max_delete
                .or_else(|| (ctx.env)("CI").filter(|v| !v.is_empty()).map(|_| 0)),
            ..options(&args.run, ctx, &loaded.desired)
        },
        lease: lease_options(&args.run),
    };
    run(request, &args.run, &args.sandbox, ctx)
}
