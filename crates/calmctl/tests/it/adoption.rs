//! Adoption that never destroys, on a landscape of 60 subaccounts as a new user finds it:
//! instances made by hand on Cloud Foundry (with authorities and keys) and in Service Manager
//! (with bindings, and no Service Manager access binding left), instances SAP made with its
//! generated `ABC_100_00` credentials, tenants calmctl onboarded already, and empty
//! subaccounts. `discover`, then `plan` and `apply` on the file it wrote, must adopt what exists
//! without rewriting it and create only what is missing, in one run, without a 409.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use btp_sim::JobTimings;
use calm_test::{HandMade, Landscape, add_calm_space, entitle};
use serde_json::{Value, json};

use crate::{stderr, stdout};

const ACCOUNT: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
defaults:
  space: calm
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui] }
  keys: [{ name: calm-key }]
";

fn sub(i: usize) -> String {
    format!("land-{i:02}")
}

/// What each subaccount holds before calmctl first looks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Cloud Foundry: an instance with authorities and two keys, made by a colleague.
    CfByHand,
    /// Service Manager: an instance with authorities and two bindings, made by a colleague,
    /// whose access binding is gone.
    SmByHand,
    /// Cloud Foundry: an instance SAP made, with SAP's generated credentials only.
    CfBySap,
    /// Service Manager: the same, no access binding.
    SmBySap,
    /// Onboarded by calmctl already (Cloud Foundry for even, Service Manager for odd numbers).
    Managed,
    /// Nothing yet (a Cloud Foundry org for even numbers).
    Empty,
}

fn kind(i: usize) -> Kind {
    match i {
        0..10 => Kind::CfByHand,
        10..20 => Kind::SmByHand,
        20..25 => Kind::CfBySap,
        25..30 => Kind::SmBySap,
        30..45 => Kind::Managed,
        _ => Kind::Empty,
    }
}

fn runtime_of(i: usize) -> &'static str {
    match kind(i) {
        Kind::CfByHand | Kind::CfBySap => "cloudfoundry",
        Kind::SmByHand | Kind::SmBySap => "service-manager",
        Kind::Managed | Kind::Empty if i.is_multiple_of(2) => "cloudfoundry",
        Kind::Managed | Kind::Empty => "service-manager",
    }
}

fn tenants(pick: impl Fn(usize) -> bool) -> String {
    let mut out = String::from("tenants:\n");
    for i in (0..60).filter(|i| pick(*i)) {
        writeln!(
            out,
            "  - {{ name: {0}, subaccount: {0}, runtime: {1} }}",
            sub(i),
            runtime_of(i)
        )
        .unwrap();
    }
    out
}

/// The parameters people gave their instances: authorities calmctl cannot read back.
fn by_hand_parameters(i: usize) -> Value {
    json!({"xs-security": {"xsappname": "calm-api", "authorities": [format!("$XSMASTERAPPNAME.calm-api.projects.read-{i}")]}})
}

fn run(l: &Landscape, args: &[&str]) -> (i32, String, String) {
    let output = l
        .calmctl()
        .args(args)
        .timeout(Duration::from_secs(240))
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

/// The landscape, and the instances and keys that existed before discover (by id: parameters,
/// and the key ids of each).
struct Before {
    instances: BTreeMap<String, Value>,
    keys: Vec<String>,
}

fn landscape() -> (Landscape, Before) {
    let all = format!("{ACCOUNT}{}", tenants(|_| true));
    let l = Landscape::with_world(&all, |_, _| {});
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 10,
            polling_ms: 30,
            entitlement_ms: 20,
        }
    });
    let managed = format!("{ACCOUNT}{}", tenants(|i| kind(i) == Kind::Managed));
    std::fs::write(l.path("managed.yaml"), managed).unwrap();
    let (code, _, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "managed.yaml",
            "--auto-approve",
            "--no-progress",
        ],
    );
    assert_eq!(code, 0, "{err}");
    for i in 0..60 {
        let s = sub(i);
        match kind(i) {
            Kind::CfByHand | Kind::CfBySap => {
                l.sim.with_world(|w| {
                    entitle(w, &s);
                    add_calm_space(w, &s);
                });
                let mut made = HandMade::new(&s);
                made.parameters = by_hand_parameters(i);
                let keys: &[&str] = if kind(i) == Kind::CfByHand {
                    &["calm-key", "ops-key"]
                } else {
                    &["ABC_100_00"]
                };
                l.make(&made.keys(keys));
            }
            Kind::SmByHand | Kind::SmBySap => {
                l.sim.with_world(|w| {
                    entitle(w, &s);
                });
                let bindings: &[&str] = if kind(i) == Kind::SmByHand {
                    &["calm-key", "ops-binding"]
                } else {
                    &["ABC_100_00"]
                };
                l.hand_made_sm(&s, "calm-api", by_hand_parameters(i), bindings);
            }
            Kind::Managed | Kind::Empty => {}
        }
    }
    std::fs::write(l.path("calm.yaml"), format!("{ACCOUNT}tenants: []\n")).unwrap();
    let before = snapshot(&l);
    (l, before)
}

/// Every instance (CF and SM) with its parameters, and every key or binding, by id.
fn snapshot(l: &Landscape) -> Before {
    // `/_sim/state`: the world at the top level.
    let world = l.sim.state_json();
    let mut instances = BTreeMap::new();
    let mut keys = Vec::new();
    for map in ["service_instances", "sm_instances"] {
        for i in objects(&world[map]) {
            let id = i["guid"].as_str().or(i["id"].as_str()).unwrap().to_owned();
            instances.insert(id, i["parameters"].clone());
        }
    }
    for map in ["service_keys", "sm_bindings"] {
        for k in objects(&world[map]) {
            keys.push(k["guid"].as_str().or(k["id"].as_str()).unwrap().to_owned());
        }
    }
    Before { instances, keys }
}

/// The records of a world map, whether it is serialized as an object or a list.
fn objects(v: &Value) -> Vec<&Value> {
    match v {
        Value::Object(m) => m.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => Vec::new(),
    }
}

#[test]
fn discover_plan_and_apply_adopt_without_rewriting_and_converge_in_one_run() {
    let (l, before) = landscape();
    assert!(before.instances.len() >= 45, "{}", before.instances.len());
    let (code, _, err) = run(
        &l,
        &["discover", "--account", "acme", "--out", "found.yaml"],
    );
    assert_eq!(code, 0, "{err}");
    let found = std::fs::read_to_string(l.path("found.yaml")).unwrap();
    assert!(
        found.contains("Service Manager not readable yet"),
        "{found}"
    );
    // SAP's keys in spaces where calmctl's user is no Space Developer cannot be retrieved (Cloud
    // Foundry shows their credentials to no one else): discover says so instead of writing a
    // retrieve entry the first plan would fail on.
    assert!(
        found.contains("is not a Space Developer of their space"),
        "{found}"
    );
    assert!(!found.contains("retrieve: generated }"), "{found}");

    // The first plan changes nothing that exists: adoptions (labels only) and creations.
    let (code, plan, err) = run(&l, &["plan", "-f", "found.yaml", "--format", "json"]);
    assert_eq!(code, 2, "{err}");
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    for c in changes {
        let action = c["action"].as_str().unwrap();
        assert!(
            ["adopt", "create"].contains(&action),
            "the first plan may only adopt and create: {c}"
        );
        if action == "adopt" {
            let paths: Vec<&str> = c["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["path"].as_str())
                .collect();
            assert!(
                paths.iter().all(|p| p.starts_with("labels.")),
                "an adoption writes labels only: {c}"
            );
        }
    }
    let adopted_instances = changes
        .iter()
        .filter(|c| c["action"] == "adopt" && c["resource"]["kind"] == "service_instance")
        .count();
    assert_eq!(
        adopted_instances, 15,
        "the Cloud Foundry instances made by hand or by SAP"
    );
    let unread = changes
        .iter()
        .filter(|c| {
            c["reason"]
                .as_str()
                .is_some_and(|r| r.contains("Service Manager not readable yet"))
        })
        .count();
    assert!(
        unread >= 15,
        "the plan says what it could not read: {unread}"
    );
    let (_, text, _) = run(&l, &["plan", "-f", "found.yaml"]);
    assert!(text.contains("parameters unknown"), "{text}");

    // One run converges: no 409, and nothing calmctl did not make is rewritten.
    let (code, _, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "found.yaml",
            "--auto-approve",
            "--no-progress",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("409"), "{err}");
    let (code, _, err) = run(&l, &["plan", "-f", "found.yaml"]);
    assert_eq!(code, 0, "converged in one run: {err}");

    let after = snapshot(&l);
    for (id, parameters) in &before.instances {
        assert_eq!(
            after.instances.get(id),
            Some(parameters),
            "instance {id} is still there with its own parameters"
        );
    }
    for key in &before.keys {
        assert!(after.keys.contains(key), "key {key} is still there");
    }
    // Service Manager instances made by hand were adopted, not duplicated.
    let world = &l.sim.state_json();
    for i in (0..60).filter(|i| matches!(kind(*i), Kind::SmByHand | Kind::SmBySap)) {
        let guid = objects(&world["subaccounts"])
            .into_iter()
            .find(|s| s["subdomain"] == sub(i).as_str())
            .map(|s| s["guid"].clone())
            .unwrap();
        let named = objects(&world["sm_instances"])
            .into_iter()
            .filter(|x| x["subaccount"] == guid && x["name"] == "calm-api")
            .count();
        assert_eq!(named, 1, "{} holds one calm-api", sub(i));
    }
}
