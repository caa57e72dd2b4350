//! The built-in sandbox: btp-sim started in this process, seeded from the config's own tenants,
//! so that `plan` and `apply` can run for real with no BTP account. It is the cargo feature
//! `sandbox` (on by default); a build without it (`--no-default-features`) links no simulator and
//! answers `--sandbox` with an error.

use std::collections::HashMap;
use std::path::Path;

use btp_sim::{JobTimings, Sim, SimHandle, World};
use calm_core::{Desired, SecretRef};

/// Latency and job durations close enough to BTP's to feel real, short enough to be quick.
const LATENCY_MS: u64 = 15;

/// A running sandbox and the secrets its world accepts.
pub(crate) struct Sandbox {
    pub(crate) sim: SimHandle,
    /// Values for the config's secret references (`env` names; file references are rewritten
    /// to these names by [`Sandbox::desired`]).
    pub(crate) secrets: HashMap<String, String>,
}

impl Sandbox {
    /// Starts the simulator with the world saved in `state` if it exists, else one derived
    /// from the config.
    pub(crate) async fn start(desired: &Desired, state: Option<&Path>) -> Result<Sandbox, String> {
        let world = match state.filter(|p| p.exists()) {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                serde_json::from_str::<World>(&text)
                    .map_err(|e| format!("{} is not a sandbox state: {e}", path.display()))?
            }
            None => World::from_desired(desired, 0),
        };
        let jobs = JobTimings {
            processing_ms: 150,
            polling_ms: 600,
            entitlement_ms: 400,
        };
        let sim = Sim::from_world(world)
            .latency_ms(LATENCY_MS)
            .jobs(jobs)
            .start()
            .await
            .map_err(|e| format!("cannot start the sandbox: {e}"))?;
        let secrets = secrets(desired, &sim);
        Ok(Sandbox { sim, secrets })
    }

    /// The config with file references replaced by sandbox variables (a sandbox must not read
    /// the user's real credential files).
    pub(crate) fn desired(&self, desired: &Desired) -> Desired {
        let mut out = desired.clone();
        let rename = |r: &mut Option<SecretRef>| {
            if let Some(SecretRef::File(path)) = r {
                *r = Some(SecretRef::Env(file_variable(path)));
            }
        };
        for account in &mut out.accounts {
            rename(&mut account.cis_key);
            rename(&mut account.username);
            rename(&mut account.password);
            if let Some(cf) = &mut account.cloudfoundry {
                rename(&mut cf.username);
                rename(&mut cf.password);
                rename(&mut cf.assertion);
            }
        }
        out
    }

    /// The simulator's base URL.
    pub(crate) fn url(&self) -> &str {
        self.sim.url()
    }

    /// Saves the world for the next sandbox run. The world holds the simulated secrets, so the
    /// file is 0600 like a credentials file.
    pub(crate) fn save(&self, path: &Path) -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let text = serde_json::to_string(&self.sim.export_world()).map_err(|e| e.to_string())?;
        let cannot = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(cannot)?;
        // An older file keeps its mode on open: narrow it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(cannot)?;
        file.write_all(text.as_bytes()).map_err(cannot)
    }

    /// Stops the simulator.
    pub(crate) async fn stop(self) {
        self.sim.stop().await;
    }
}

/// The sandbox variable standing in for a file reference.
fn file_variable(path: &Path) -> String {
    let digest = calm_core::hash::sha256_hex(path.to_string_lossy().as_bytes());
    format!("CALMCTL_SANDBOX_FILE_{}", &digest[..16])
}

/// What each secret reference resolves to in the sandbox's world, by variable name.
fn secrets(desired: &Desired, sim: &SimHandle) -> HashMap<String, String> {
    sim.secrets_for(desired)
        .into_iter()
        .map(|(reference, value)| match reference {
            SecretRef::Env(name) => (name, value),
            SecretRef::File(path) => (file_variable(&path), value),
        })
        .collect()
}
