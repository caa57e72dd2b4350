//! A simulated BTP landscape for end-to-end tests: btp-sim started in-process from a calm.yaml,
//! and the calmctl binary pointed at it through `CALMCTL_API_URL` and the credential variables
//! the config references. Objects "made by hand" are created through calm-btp, as a person with
//! the cockpit or the cf CLI would.

use std::path::PathBuf;

use btp_sim::{ADMIN_PASSWORD, ADMIN_USER, Sim, SimHandle, World};
use calm_btp::auth::Grant;
use calm_btp::cf::CfClient;
use calm_btp::{Btp, ClientConfig};
use calm_core::{Desired, SecretRef};

/// A running landscape and a folder with its calm.yaml.
pub struct Landscape {
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
    pub desired: Desired,
    pub env: Vec<(String, String)>,
    pub runtime: tokio::runtime::Runtime,
}

impl Landscape {
    /// Starts a simulator in which everything `yaml` refers to exists.
    pub fn new(yaml: &str) -> Landscape {
        Landscape::with_world(yaml, |_, _| {})
    }

    /// Like [`Landscape::new`], with a chance to change the world before the simulator starts.
    pub fn with_world(yaml: &str, seed: impl FnOnce(&mut World, &Desired)) -> Landscape {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("calm.yaml"), yaml).unwrap();
        let desired = calm_config::load_bytes("calm.yaml", yaml.as_bytes())
            .unwrap()
            .desired;
        let mut world = World::from_desired(&desired, 7);
        seed(&mut world, &desired);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime.block_on(Sim::from_world(world).start()).unwrap();
        let mut env = vec![("CALMCTL_API_URL".to_owned(), sim.url().to_owned())];
        for (reference, value) in sim.secrets_for(&desired) {
            if let SecretRef::Env(name) = reference {
                env.push((name, value));
            }
        }
        Landscape {
            sim,
            dir,
            desired,
            env,
            runtime,
        }
    }

    /// `calmctl` run in the landscape's folder, connected to the simulator.
    pub fn calmctl(&self) -> assert_cmd::Command {
        let mut cmd = crate::calmctl();
        cmd.current_dir(self.dir.path()).env_remove("CI");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// A path inside the landscape's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A Cloud Foundry client logged in as the administrator, for changes "by hand".
    pub fn cf(&self) -> CfClient {
        let config = ClientConfig {
            api_url: Some(self.sim.url().parse().unwrap()),
            ..ClientConfig::default()
        };
        let btp = Btp::new(config).unwrap();
        let grant = Grant::cf_password(ADMIN_USER, ADMIN_PASSWORD.to_owned().into(), None);
        self.runtime
            .block_on(btp.cloud_foundry("https://api.cf.eu10.hana.ondemand.com", grant))
            .unwrap()
    }

    /// Every secret the simulator issued or accepts: client secrets of keys, bindings and cis
    /// keys, and the administrator's password.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![ADMIN_PASSWORD.to_owned()];
        collect_secrets(&self.sim.state_json(), &mut out);
        for account in &self.desired.accounts {
            if let Some(key) = self.sim.cis_key(&account.subdomain) {
                collect_secrets(&key, &mut out);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn collect_secrets(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = k.to_ascii_lowercase();
                // `key` holds a PEM private key in X.509 credentials; elsewhere in the simulator's
                // state it names records, so only PEM values count there.
                let pem = v.as_str().is_some_and(|s| s.contains("-----BEGIN"));
                let secret_field = ((key == "key" || key == "private_key") && pem)
                    || ["secret", "password", "token", "assertion"]
                        .iter()
                        .any(|s| key.ends_with(s));
                match v {
                    serde_json::Value::String(s)
                        if secret_field && s.len() >= 8 && !s.starts_with("http") =>
                    {
                        out.push(s.clone());
                    }
                    other => collect_secrets(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_secrets(v, out)),
        _ => {}
    }
}

/// Replaces GUIDs, ports and times so that snapshots are stable.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_guid(&text[i..i + 36]) {
            out.push_str("[guid]");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_guid(s: &str) -> bool {
    s.char_indices().all(|(i, c)| {
        if [8, 13, 18, 23].contains(&i) {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}
