//! A simulated landscape for one scenario: btp-sim in this process, seeded from a generated
//! config, and the environment the calmctl child needs to reach it.

use std::path::{Path, PathBuf};

use btp_sim::{JobTimings, Sim, SimHandle, World};
use calm_core::{Desired, SecretRef};

/// A running simulator and how to point calmctl at it.
pub struct Landscape {
    pub sim: SimHandle,
    pub config: PathBuf,
    pub desired: Desired,
    pub env: Vec<(String, String)>,
}

impl Landscape {
    /// Writes the config to `work` and starts a simulator whose world it describes.
    pub async fn start(
        work: &Path,
        name: &str,
        yaml: &str,
        latency_ms: u64,
        jobs: JobTimings,
    ) -> Result<Landscape, String> {
        let config = work.join(format!("{name}.yaml"));
        std::fs::write(&config, yaml).map_err(|e| e.to_string())?;
        let desired = calm_config::load_bytes(name, yaml.as_bytes())
            .map_err(|e| e.to_string())?
            .desired;
        let world = World::from_desired(&desired, 1);
        let sim = Sim::from_world(world)
            .latency_ms(latency_ms)
            .jobs(jobs)
            .start()
            .await
            .map_err(|e| e.to_string())?;
        let mut env = vec![("CALMCTL_API_URL".to_owned(), sim.url().to_owned())];
        for (reference, value) in sim.secrets_for(&desired) {
            if let SecretRef::Env(name) = reference {
                env.push((name, value));
            }
        }
        Ok(Landscape {
            sim,
            config,
            desired,
            env,
        })
    }

    /// Requests the simulator has served so far (admin API excluded).
    pub fn requests(&self) -> u64 {
        self.sim.stats().total
    }
}
