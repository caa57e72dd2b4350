//! What the commands share: loading the config, failing with a message, and connecting to BTP
//! or to the built-in sandbox.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use calm_btp::ClientConfig;
use calm_core::Desired;
use calm_engine::Connections;

use crate::cli::SandboxArgs;
use crate::sandbox::Sandbox;
use crate::{Context, Status, output};

/// Loads and validates the config, printing problems; `None` if it is invalid.
pub(crate) fn load_config(path: &Path, ctx: &Context) -> Option<calm_config::Loaded> {
    match calm_config::load_file(path) {
        Ok(loaded) => {
            output::stderr(&output::render_problems(ctx, &loaded.warnings));
            Some(loaded)
        }
        Err(calm_config::ConfigError::Invalid { name, problems }) => {
            output::stderr(&output::render_problems(ctx, &problems));
            output::stderr(&format!(
                "error: {name} is not valid: {}\n",
                output::count(&problems)
            ));
            None
        }
        Err(e) => {
            output::stderr(&format!("error: {e}\n"));
            None
        }
    }
}

/// Prints an error line; the command fails.
pub(crate) fn fail(message: &str) -> Status {
    output::stderr(&format!("error: {message}\n"));
    Status::Failure
}

/// Connections to BTP, or to the sandbox.
pub(crate) struct Session {
    pub(crate) desired: Desired,
    pub(crate) connections: Connections,
    sandbox: Option<(Sandbox, Option<PathBuf>)>,
}

impl Session {
    /// Connects with the client settings chosen by the caller (apply's observer).
    pub(crate) async fn open(
        desired: &Desired,
        ctx: &Context,
        sandbox: &SandboxArgs,
        mut config: ClientConfig,
    ) -> Result<Session, String> {
        let state = sandbox.sandbox_state.as_deref();
        let (desired, env, sandbox): (Desired, Arc<calm_engine::EnvLookup>, _) = if sandbox.sandbox
        {
            let sb = Sandbox::start(desired, state).await?;
            config.api_url = Some(sb.url().parse().map_err(|e| format!("sandbox URL: {e}"))?);
            let secrets: HashMap<String, String> = sb.secrets.clone();
            let desired = sb.desired(desired);
            (
                desired,
                Arc::new(move |name: &str| secrets.get(name).cloned()),
                Some((sb, state.map(Path::to_owned))),
            )
        } else {
            if let Some(url) = &ctx.api_url {
                config.api_url = Some(
                    url.parse()
                        .map_err(|e| format!("CALMCTL_API_URL={url}: {e}"))?,
                );
            }
            (desired.clone(), Arc::clone(&ctx.env), None)
        };
        let connections = Connections::new(&desired, config, env.as_ref()).map_err(|e| {
            output::render_error(&e)
                .trim_end()
                .trim_start_matches("error: ")
                .to_owned()
        })?;
        Ok(Session {
            desired,
            connections,
            sandbox,
        })
    }

    /// Saves the sandbox's world if asked, and stops it.
    pub(crate) async fn close(self) {
        if let Some((sb, state)) = self.sandbox {
            if let Some(path) = state
                && let Err(e) = sb.save(&path)
            {
                output::stderr(&format!("error: {e}\n"));
            }
            sb.stop().await;
        }
    }
}
