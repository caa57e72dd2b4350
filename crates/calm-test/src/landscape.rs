//! A simulated BTP landscape for end-to-end tests: btp-sim started in-process from a calm.yaml,
//! and the calmctl binary pointed at it through `CALMCTL_API_URL` and the credential variables
//! the config references. calmctl's user (`admin`) is Org Manager of every org and nothing more,
//! as on BTP. Objects "made by hand" are created through calm-btp by a colleague, as a person
//! with the cockpit or the cf CLI would: calmctl's user has no role in what the colleague made.

use std::path::PathBuf;

use btp_sim::world::RoleType;
use btp_sim::{ADMIN_USER, JobTimings, Sim, SimHandle, World};
use calm_btp::Labels;
use calm_btp::auth::Grant;
use calm_btp::cf::{
    CfClient, Metadata, NewRole, NewServiceInstance, NewServiceKey, NewSpace, OrganizationFilter,
    RoleTarget, RoleUser, ServicePlanFilter, SpaceFilter,
};
use calm_btp::service_manager::{ServiceManagerClient, ServiceManagerCredentials};
use calm_btp::{Btp, ClientConfig};
use calm_core::{Desired, SecretRef};
use serde_json::{Value, json};

/// A running landscape and a folder with its calm.yaml.
pub struct Landscape {
    /// The simulator.
    pub sim: SimHandle,
    /// The folder calmctl runs in (calm.yaml, credentials/).
    pub dir: tempfile::TempDir,
    /// The config the landscape was made from.
    pub desired: Desired,
    /// `CALMCTL_API_URL` and the credential variables the config references.
    pub env: Vec<(String, String)>,
    /// The runtime the simulator and hand-made changes run on.
    pub runtime: tokio::runtime::Runtime,
}

/// An instance (and its keys) made by hand in an org's space, through the Cloud Foundry API: by a
/// colleague in the cockpit (in a space of theirs), or by calmctl itself in an earlier run when it
/// creates the space (`create_space`) and `metadata` carries its labels.
#[derive(Debug, Clone)]
pub struct HandMade {
    /// The org, by name.
    pub org: String,
    /// The space, by name.
    pub space: String,
    /// Create the space with this metadata first (`None`: it exists).
    pub create_space: Option<Metadata>,
    /// The instance name.
    pub instance: String,
    /// The instance's parameters.
    pub parameters: Value,
    /// The instance's labels and annotations.
    pub metadata: Metadata,
    /// Keys: name and metadata.
    pub keys: Vec<(String, Metadata)>,
}

impl HandMade {
    /// Instance `calm-api` (`xsappname` only, no labels) in the existing space `calm` of `org`,
    /// no keys.
    pub fn new(org: &str) -> HandMade {
        HandMade {
            org: org.to_owned(),
            space: "calm".to_owned(),
            create_space: None,
            instance: "calm-api".to_owned(),
            parameters: json!({"xs-security": {"xsappname": "calm-api"}}),
            metadata: Metadata::default(),
            keys: Vec::new(),
        }
    }

    /// Adds keys without labels (e.g. the `ABC_100_00` key SAP Cloud ALM generates).
    pub fn keys(mut self, names: &[&str]) -> HandMade {
        self.keys
            .extend(names.iter().map(|n| ((*n).to_owned(), Metadata::default())));
        self
    }
}

/// Metadata with labels only.
pub fn labels_only(labels: Labels) -> Metadata {
    Metadata {
        labels,
        annotations: Labels::new(),
    }
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
        // A password that is not also the user name: plans print user names (of roles), and
        // the secret-hygiene checks look for every password in every output.
        world.add_user(ADMIN_USER, ADMIN_TEST_PASSWORD);
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

    /// Like [`Landscape::with_world`], with async operations that finish quickly, to keep the
    /// suite short.
    pub fn quick_with(yaml: &str, seed: impl FnOnce(&mut World, &Desired)) -> Landscape {
        let l = Landscape::with_world(yaml, seed);
        l.sim.update_settings(|s| {
            s.jobs = JobTimings {
                processing_ms: 20,
                polling_ms: 60,
                entitlement_ms: 50,
            }
        });
        l
    }

    /// [`Landscape::new`] with quick async operations.
    pub fn quick(yaml: &str) -> Landscape {
        Landscape::quick_with(yaml, |_, _| {})
    }

    /// Runs calmctl with `args`: exit code, stdout, stderr.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = self.calmctl().args(args).output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            crate::text::stdout(&output),
            crate::text::stderr(&output),
        )
    }

    /// `calmctl apply --auto-approve --no-progress` plus `extra`.
    pub fn apply(&self, extra: &[&str]) -> (i32, String, String) {
        let mut args = vec!["apply", "--auto-approve", "--no-progress"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// A Service Manager client of a subaccount, with the Service Manager credentials calmctl had
    /// the Accounts API make for it (so calmctl must have run first), for changes "by hand".
    pub fn sm(&self, subdomain: &str) -> ServiceManagerClient {
        let credentials = self.sim.with_world(|w| {
            w.subaccounts
                .values()
                .find(|s| s.subdomain == subdomain)
                .and_then(|s| s.service_manager_binding.clone())
                .expect("calmctl made the subaccount's Service Manager binding")
        });
        let json = json!({
            "clientid": credentials.client_id,
            "clientsecret": credentials.client_secret,
            "sm_url": "https://service-manager.cfapps.eu10.hana.ondemand.com",
            "url": format!("https://{subdomain}.authentication.eu10.hana.ondemand.com"),
        });
        let config = ClientConfig {
            api_url: Some(self.sim.url().parse().unwrap()),
            ..ClientConfig::default()
        };
        let credentials = ServiceManagerCredentials::from_json(&json.to_string()).unwrap();
        Btp::new(config)
            .unwrap()
            .service_manager(&credentials)
            .unwrap()
    }

    /// What a colleague makes by hand in org `org`'s space `calm` (made with
    /// [`add_calm_space`]): an instance with the configured name but no labels, and keys named
    /// `keys` (e.g. the one SAP Cloud ALM generates).
    pub fn hand_made(&self, org: &str, keys: &[&str]) {
        self.make(&HandMade::new(org).keys(keys));
    }

    /// Makes what `made` describes; returns the instance's GUID. With `create_space` it is what
    /// an earlier calmctl run left: made by calmctl's user, which creates the space and gives
    /// itself the roles calmctl gives it (Org User, Space Developer). Without, it is what a
    /// colleague made by hand in a space of theirs ([`add_calm_space`]), in which calmctl's user
    /// has no role.
    pub fn make(&self, made: &HandMade) -> String {
        let cf = if made.create_space.is_some() {
            self.cf()
        } else {
            self.colleague()
        };
        self.runtime.block_on(async {
            let org = cf
                .list_organizations(&OrganizationFilter {
                    names: vec![made.org.clone()],
                    ..Default::default()
                })
                .await
                .unwrap()[0]
                .guid
                .clone();
            let space = match &made.create_space {
                Some(metadata) => {
                    let new = NewSpace {
                        name: made.space.clone(),
                        organization_guid: org.clone(),
                        metadata: metadata.clone(),
                    };
                    let space = cf.create_space(&new).await.unwrap().guid;
                    let me = cf.current_user().await.unwrap();
                    for (kind, target) in [
                        ("organization_user", RoleTarget::Organization(org.clone())),
                        ("space_developer", RoleTarget::Space(space.clone())),
                    ] {
                        let role = NewRole {
                            kind: kind.into(),
                            target,
                            user: RoleUser::Guid(me.user_id.clone()),
                        };
                        cf.create_role(&role).await.unwrap();
                    }
                    space
                }
                None => {
                    let filter = SpaceFilter {
                        organization_guids: vec![org.clone()],
                        names: vec![made.space.clone()],
                        ..Default::default()
                    };
                    cf.list_spaces(&filter).await.unwrap()[0].guid.clone()
                }
            };
            let plans = cf
                .list_service_plans(&ServicePlanFilter {
                    service_offering_names: vec!["SAPCloudALMAPIs".into()],
                    organization_guids: vec![org],
                    ..Default::default()
                })
                .await
                .unwrap();
            let instance = cf
                .create_service_instance(&NewServiceInstance {
                    name: made.instance.clone(),
                    space_guid: space,
                    service_plan_guid: plans[0].guid.clone(),
                    parameters: Some(made.parameters.clone()),
                    tags: Vec::new(),
                    metadata: made.metadata.clone(),
                })
                .await
                .unwrap();
            for (name, metadata) in &made.keys {
                let key = NewServiceKey {
                    name: name.clone(),
                    service_instance_guid: instance.guid.clone(),
                    parameters: None,
                    metadata: metadata.clone(),
                };
                cf.create_service_key(&key).await.unwrap();
            }
            instance.guid
        })
    }

    /// Every credentials JSON the simulator would render for a live key or binding.
    pub fn live_credentials(&self) -> Vec<Value> {
        let state = self.sim.state_json();
        let mut out = Vec::new();
        for map in ["service_keys", "sm_bindings"] {
            if let Some(m) = state["credentials"][map].as_object() {
                out.extend(m.values().cloned());
            }
        }
        out
    }

    /// A delivered credentials file, parsed.
    pub fn delivered(&self, tenant: &str, key: &str) -> Value {
        let path = self.path(&format!("credentials/{tenant}/{key}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// `calmctl` run in the landscape's folder, connected to the simulator.
    pub fn calmctl(&self) -> assert_cmd::Command {
        let mut cmd = crate::text::calmctl();
        cmd.current_dir(self.dir.path()).env_remove("CI");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// The calmctl binary as a plain process (to spawn, signal or kill), run in the landscape's
    /// folder and connected to the simulator.
    pub fn process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("calmctl"));
        cmd.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CI");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Client settings that route every API to the simulator.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            api_url: Some(self.sim.url().parse().expect("the simulator's URL")),
            ..ClientConfig::default()
        }
    }

    /// The credential variables the config references, as a lookup.
    pub fn env_lookup(&self) -> impl Fn(&str) -> Option<String> + use<> {
        let env = self.env.clone();
        move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// A path inside the landscape's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A Cloud Foundry client logged in as calmctl's user, for what an earlier calmctl run made.
    pub fn cf(&self) -> CfClient {
        self.cf_as(ADMIN_USER, &self.admin_password())
    }

    /// The password of calmctl's user in this landscape.
    pub fn admin_password(&self) -> String {
        self.sim.with_world(|w| {
            w.users
                .iter()
                .find(|u| u.username == ADMIN_USER)
                .map(|u| u.password.clone())
                .unwrap_or_default()
        })
    }

    /// A Cloud Foundry client logged in as the colleague who makes things by hand.
    pub fn colleague(&self) -> CfClient {
        self.cf_as(COLLEAGUE, COLLEAGUE_PASSWORD)
    }

    /// A client of the simulator's own address, which serves every landscape at once (the
    /// simulator's README, "Landscapes"): hand-made changes reach an org on any landscape.
    fn cf_as(&self, user: &str, password: &str) -> CfClient {
        let btp = Btp::new(ClientConfig::default()).unwrap();
        let grant = Grant::cf_password(user, password.to_owned().into(), None);
        self.runtime
            .block_on(btp.cloud_foundry(self.sim.url(), grant))
            .unwrap()
    }

    /// Every secret the simulator issued or accepts: client secrets of keys, bindings and cis
    /// keys, and the administrator's password.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![self.admin_password(), COLLEAGUE_PASSWORD.to_owned()];
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

/// The subaccount `subdomain` entitled to Cloud ALM, with a space `calm` in its org, as a person
/// prepares it before making an instance by hand.
pub fn entitled_with_space(world: &mut World, subdomain: &str) {
    entitle(world, subdomain);
    add_calm_space(world, subdomain);
}

/// Entitles the subaccount `subdomain` to Cloud ALM; returns its GUID.
pub fn entitle(world: &mut World, subdomain: &str) -> String {
    let guid = world
        .subaccounts
        .values()
        .find(|s| s.subdomain == subdomain)
        .unwrap()
        .guid
        .clone();
    world.entitle(&guid, "SAPCloudALMAPIs", "standard", 1);
    guid
}

/// The password of calmctl's user in test landscapes.
pub const ADMIN_TEST_PASSWORD: &str = "test-admin-password";

/// The colleague who makes things by hand.
pub const COLLEAGUE: &str = "colleague";
/// The password the colleague logs in with.
pub const COLLEAGUE_PASSWORD: &str = "colleague-password";

/// Adds a space `calm` to the org named `subdomain`, made by the colleague, who is an Org
/// Manager and the space's Space Developer; calmctl's user gets no role in it. Returns the
/// org's GUID.
pub fn add_calm_space(world: &mut World, subdomain: &str) -> String {
    let org = world
        .orgs
        .values()
        .find(|o| o.name == subdomain)
        .unwrap()
        .guid
        .clone();
    if world.user_guid(COLLEAGUE).is_none() {
        world.add_user(COLLEAGUE, COLLEAGUE_PASSWORD);
    }
    world.add_role(COLLEAGUE, RoleType::OrganizationManager, &org);
    let space = world.add_space(&org, "calm");
    world.add_role(COLLEAGUE, RoleType::SpaceDeveloper, &space);
    org
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
