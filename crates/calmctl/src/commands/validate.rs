//! `calmctl validate`: read calm.yaml and report every problem.

use calm_config::ConfigError;

use crate::cli::ValidateArgs;
use crate::output;
use crate::{Context, Status};

pub(crate) fn validate(args: &ValidateArgs, ctx: &Context) -> Status {
    match calm_config::load_file(&args.file) {
        Ok(loaded) => {
            output::stderr(&output::render_problems(ctx, &loaded.warnings));
            let tenants = loaded.desired.tenants.len();
            let warnings = if loaded.warnings.is_empty() {
                String::new()
            } else {
                format!(" ({})", output::count(&loaded.warnings))
            };
            output::stderr(&format!(
                "{} is valid: {tenants} tenant{}{warnings}\n",
                args.file.display(),
                if tenants == 1 { "" } else { "s" }
            ));
            Status::Success
        }
        Err(ConfigError::Invalid { name, problems }) => {
            output::stderr(&output::render_problems(ctx, &problems));
            output::stderr(&format!(
                "error: {name} is not valid: {}\n",
                output::count(&problems)
            ));
            Status::Failure
        }
        Err(e) => {
            output::stderr(&format!("error: {e}\n"));
            Status::Failure
        }
    }
}
