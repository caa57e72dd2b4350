//! The built-in sandbox: btp-sim started in this process, seeded from the config's own tenants,
//! so that `plan` and `apply` can run for real with no BTP account.

use std::collections::HashMap;
use std::path::Path;

use btp_sim::{ADMIN_PASSWORD, ADMIN_USER, JobTimings, Sim, SimHandle, World};
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

    /// The config with file references replaced by sandbox secrets (a sandbox must not read
    /// the user's real credential files).
    pub(crate) fn desired(&self, desired: &Desired) -> Desired {
        let mut out = desired.clone();
        for (i, account) in out.accounts.iter_mut().enumerate() {
            let rename = |r: &mut Option<SecretRef>, field: &str| {
                if let Some(SecretRef::File(_)) = r {
                    *r = Some(SecretRef::Env(file_name(i, field)));
                }
            };
            rename(&mut account.cis_key, "cis_key");
            rename(&mut account.username, "username");
            rename(&mut account.password, "password");
            if let Some(cf) = &mut account.cloudfoundry {
                let rename = |r: &mut Option<SecretRef>, field: &str| {
                    if let Some(SecretRef::File(_)) = r {
                        *r = Some(SecretRef::Env(file_name(i, field)));
                    }
                };
                rename(&mut cf.username, "cf_username");
                rename(&mut cf.password, "cf_password");
                rename(&mut cf.assertion, "cf_assertion");
            }
        }
        out
    }

    /// Saves the world for the next sandbox run.
    pub(crate) fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string(&self.sim.export_world()).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

fn file_name(account: usize, field: &str) -> String {
    format!("CALMCTL_SANDBOX_{account}_{}", field.to_ascii_uppercase())
}

/// What each secret reference resolves to in the sandbox's world.
fn secrets(desired: &Desired, sim: &SimHandle) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (i, account) in desired.accounts.iter().enumerate() {
        let mut add = |r: &Option<SecretRef>, field: &str, value: String| match r {
            Some(SecretRef::Env(name)) => {
                out.insert(name.clone(), value);
            }
            Some(SecretRef::File(_)) => {
                out.insert(file_name(i, field), value);
            }
            None => {}
        };
        if let Some(key) = sim.cis_key(&account.subdomain) {
            add(&account.cis_key, "cis_key", key.to_string());
        }
        add(&account.username, "username", ADMIN_USER.to_owned());
        add(&account.password, "password", ADMIN_PASSWORD.to_owned());
        if let Some(cf) = &account.cloudfoundry {
            add(&cf.username, "cf_username", ADMIN_USER.to_owned());
            add(&cf.password, "cf_password", ADMIN_PASSWORD.to_owned());
            add(&cf.assertion, "cf_assertion", sim.assertion_for(ADMIN_USER));
        }
    }
    out
}
