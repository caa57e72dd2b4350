//! No log line, at any level, contains a secret: the password, an access or refresh token, or a
//! key's client secret. Everything calm-btp, reqwest and hyper log at TRACE is captured while a
//! full CF flow runs (password grant, create a key, read its credentials).

use std::io::Write;
use std::sync::{Arc, Mutex};

use btp_sim::Sim;
use calm_btp::SecretString;
use calm_btp::auth::Grant;
use calm_btp::cf::{NewServiceInstance, NewServiceKey};

use crate::support::{CF_API, OFFERING, PLAN, Recorder, config};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PASSWORD: &str = "pw-Zq81-never-in-logs";

#[tokio::test]
async fn no_log_line_contains_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace,btp_sim=off,tower_http=off")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The global default, not a thread-local one: tracing caches per call site whether anyone
    // listens, and other tests of this binary run on other threads at the same time, so a
    // thread-local subscriber could miss events (this test was flaky that way). Every test's
    // events now land in the buffer; the checks below only look for this test's secrets.
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets a subscriber");

    let mut sim = Sim::new();
    let world = sim.world_mut();
    world.add_user("alice", PASSWORD);
    let ga = world.add_global_account("ga-logs", "eu10");
    world.add_quota(&ga, OFFERING, PLAN, None);
    let subaccount = world.add_subaccount(&ga, "logs", "eu10", None);
    world.entitle(&subaccount, OFFERING, PLAN, 1);
    let org = world.add_org("logs-org", Some(&subaccount));
    let space = world.add_space(&org, "calm");
    world.add_role("alice", btp_sim::world::RoleType::SpaceDeveloper, &space);
    let sim = sim.start().await.expect("simulator starts");

    let recorder = Arc::new(Recorder::default());
    let btp = calm_btp::Btp::new(config(sim.url(), &recorder)).expect("config");
    let grant = Grant::cf_password("alice", SecretString::from(PASSWORD), None);
    let cf = btp.cloud_foundry(CF_API, grant).await.expect("root");
    let plan = cf.find_service_plans(OFFERING, PLAN).await.expect("plan")[0]
        .guid
        .clone();
    let instance = cf
        .create_service_instance(&NewServiceInstance {
            name: "calm-api".into(),
            space_guid: space,
            service_plan_guid: plan,
            parameters: None,
            tags: Vec::new(),
            metadata: Default::default(),
        })
        .await
        .expect("instance");
    let key = cf
        .create_service_key(&NewServiceKey {
            name: "calm-key".into(),
            service_instance_guid: instance.guid,
            parameters: None,
            metadata: Default::default(),
        })
        .await
        .expect("key");
    let credentials = cf
        .service_credential_binding_details(&key.guid)
        .await
        .expect("details");
    let json: serde_json::Value =
        serde_json::from_str(credentials.expose_json()).expect("credentials are JSON");
    let client_secret = json
        .pointer("/uaa/clientsecret")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(client_secret.len() >= 8, "{json}");

    let logs =
        String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(
        logs.contains("/v3/service_credential_bindings"),
        "nothing was captured"
    );
    assert!(!logs.contains(PASSWORD), "the password was logged");
    assert!(
        !logs.contains(&client_secret),
        "a key's client secret was logged"
    );
    // Tokens issued by the simulator are JWTs.
    assert!(!logs.contains("eyJ"), "a token was logged");
}
