//! What `plan` and `apply` share: loading the config, choosing tenants, and connecting to BTP or
//! to the built-in sandbox.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use calm_btp::ClientConfig;
use calm_core::Desired;
use calm_engine::Connections;

use crate::sandbox::Sandbox;
use crate::{Context, output};

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

/// The tenants `--tenant` and `--select` pick; `None` when neither is given (all tenants).
pub(crate) fn targets(
    desired: &Desired,
    tenants: &[String],
    select: &[String],
) -> Result<Option<BTreeSet<String>>, String> {
    if tenants.is_empty() && select.is_empty() {
        return Ok(None);
    }
    let mut set = BTreeSet::new();
    for name in tenants {
        if !desired.tenants.iter().any(|t| &t.name == name) {
            return Err(format!(
                "--tenant {name}: no tenant of that name in the config"
            ));
        }
        set.insert(name.clone());
    }
    let mut pairs = Vec::new();
    for s in select {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--select {s}: write KEY=VALUE"))?;
        pairs.push((k.to_owned(), v.to_owned()));
    }
    if !pairs.is_empty() {
        set.extend(
            desired
                .tenants
                .iter()
                .filter(|t| pairs.iter().all(|(k, v)| t.labels.get(k) == Some(v)))
                .map(|t| t.name.clone()),
        );
    }
    Ok(Some(set))
}

/// Connections to BTP, or to the sandbox.
pub(crate) struct Session {
    pub(crate) desired: Desired,
    pub(crate) connections: Connections,
    sandbox: Option<(Sandbox, Option<PathBuf>)>,
}

impl Session {
    pub(crate) async fn open(
        desired: &Desired,
        ctx: &Context,
        sandbox: bool,
        state: Option<&Path>,
    ) -> Result<Session, String> {
        Session::open_with(desired, ctx, sandbox, state, ClientConfig::default()).await
    }

    /// Like [`Session::open`], with client settings chosen by the caller (apply's observer).
    pub(crate) async fn open_with(
        desired: &Desired,
        ctx: &Context,
        sandbox: bool,
        state: Option<&Path>,
        mut config: ClientConfig,
    ) -> Result<Session, String> {
        let (desired, env, sandbox): (Desired, Arc<calm_engine::EnvLookup>, _) = if sandbox {
            let sb = Sandbox::start(desired, state).await?;
            config.api_url = Some(
                sb.sim
                    .url()
                    .parse()
                    .map_err(|e| format!("sandbox URL: {e}"))?,
            );
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
    pub(crate) async fn close(self) -> Result<(), ()> {
        if let Some((sb, state)) = self.sandbox {
            if let Some(path) = state
                && let Err(e) = sb.save(&path)
            {
                output::stderr(&format!("error: {e}\n"));
            }
            sb.sim.stop().await;
        }
        Ok(())
    }
}
