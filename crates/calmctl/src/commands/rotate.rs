//! `calmctl rotate`: `apply` for the chosen tenants with their keys (or one key) marked for
//! rotation whatever their age.

use calm_engine::ops::{self, ApplyRequest};

use crate::cli::RotateArgs;
use crate::commands::apply::{lease_options, options, run};
use crate::commands::session::{fail, load_config};
use crate::{Context, Status};

pub(crate) fn rotate(args: &RotateArgs, ctx: &Context) -> Status {
    let Some(loaded) = load_config(&args.config.file, ctx) else {
        return Status::Failure;
    };
    let chosen = ops::select(&loaded.desired, &args.targets.tenants, &args.targets.select)
        .and_then(|targets| {
            let targets = targets.unwrap_or_default();
            let keys = ops::rotation_keys(&loaded.desired, &targets, args.key.as_deref())?;
            Ok((targets, keys))
        });
    let (targets, rotate) = match chosen {
        Ok(chosen) => chosen,
        Err(e) => return fail(&e.to_string()),
    };
    let request = ApplyRequest {
        desired: &loaded.desired,
        saved: None,
        targets: Some(targets),
        allow_delete: false,
        rotate,
        enforce_parameters: false,
        offboard: Default::default(),
        options: options(&args.run, ctx, &loaded.desired),
        lease: lease_options(&args.run),
    };
    run(request, &args.run, &args.sandbox, ctx)
}
