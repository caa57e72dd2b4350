//! A tenant removed from calm.yaml is found through calmctl's mark on its subaccount, whatever
//! its runtime, also where no tenant of the config leads a read: here a Service Manager tenant
//! and the last Cloud Foundry tenant. `plan --allow-delete` lists exactly their objects, once
//! each; `apply --allow-delete` deletes them and nothing else.

use std::collections::BTreeMap;

use calm_core::live::labels;
use calm_test::Landscape;
use calm_test::configs::ACCOUNT;
use serde_json::{Value, json};

fn config(tenants: &[&str]) -> String {
    let mut out = format!(
        "{ACCOUNT}defaults:
  space: calm
  instance: {{ name: calm-api, authorities: [imp-cdm-feature-display-ui] }}
  keys: [{{ name: calm-key }}]
tenants:
"
    );
    for t in tenants {
        out.push_str(&format!("  - {{ {t} }}\n"));
    }
    out
}

const KEEP: &str = "name: keep, subaccount: keep, runtime: service-manager";
const GONE_SM: &str = "name: gone-sm, subaccount: gone-sm, runtime: service-manager";
const GONE_CF: &str = "name: gone-cf, subaccount: gone-cf, runtime: cloudfoundry";

#[test]
fn removed_tenants_of_both_runtimes_are_found_through_marks_and_deleted_once() {
    let l = Landscape::quick(&config(&[KEEP, GONE_SM, GONE_CF]));
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let marks: BTreeMap<String, Vec<String>> = l.sim.with_world(|w| {
        w.subaccounts
            .values()
            .filter_map(|s| {
                Some((
                    s.subdomain.clone(),
                    s.labels.get(labels::ONBOARDED)?.clone(),
                ))
            })
            .collect()
    });
    assert_eq!(marks["gone-cf"], ["cloudfoundry"], "{marks:?}");
    assert_eq!(marks["gone-sm"], ["service-manager"], "{marks:?}");
    // Made by hand beside the removed tenant's objects: never calmctl's to delete.
    let other = l.hand_made_sm("gone-sm", "other-api", json!({}), &["other-key"]);

    std::fs::write(l.path("calm.yaml"), config(&[KEEP])).unwrap();
    let (code, plan, err) = l.run(&["plan", "--allow-delete", "--format", "json"]);
    assert_eq!(code, 2, "{err}");
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let mut got: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["tenant"].as_str().unwrap(),
                c["action"].as_str().unwrap(),
                c["resource"]["kind"].as_str().unwrap(),
                c["resource"]["name"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "gone-cf delete service_instance calm-api",
            "gone-cf delete service_key calm-key",
            "gone-sm delete service_instance calm-api",
            "gone-sm delete service_key calm-key",
        ],
        "exactly their objects, once each"
    );

    let before = l.sim.export_world();
    let (code, _, err) = l.apply(&["--allow-delete"]);
    assert_eq!(code, 0, "{err}");
    let after = l.sim.export_world();
    let gone = |t: &str| {
        before
            .sm_instances
            .values()
            .filter(|i| i.labels.get(labels::TENANT).is_some_and(|v| v == &[t]))
            .count()
    };
    assert_eq!(gone("gone-sm"), 1);
    assert_eq!(
        after.sm_instances.len(),
        before.sm_instances.len() - 1,
        "only gone-sm's instance went"
    );
    assert!(
        after.sm_instances.contains_key(&other),
        "the hand-made one stays"
    );
    assert_eq!(after.sm_bindings.len(), before.sm_bindings.len() - 1);
    assert!(
        after.service_instances.is_empty(),
        "gone-cf's instance went"
    );
    assert!(after.service_keys.is_empty(), "and its key");
    assert_eq!(
        l.run(&["plan", "--allow-delete"]).0,
        0,
        "nothing left to do"
    );
}
