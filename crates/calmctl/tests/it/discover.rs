//! `calmctl discover` against a simulated global account of 200 subaccounts: labels,
//! directories, tenants onboarded by calmctl, tenants onboarded by hand, and the credentials SAP
//! Cloud ALM generates. The file it writes must validate, and its first plan must adopt what
//! exists and create only what is missing.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use btp_sim::JobTimings;
use serde_json::Value;

use crate::{stderr, stdout};
use calm_test::{Landscape, add_calm_space, entitle};

const DIR_A: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
const DIR_B: &str = "0b0b0b0b-0000-4000-8000-00000000000b";

const ACCOUNT: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
";

const DEFAULTS: &str = "\
defaults:
  runtime: cloudfoundry
  space: calm
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui] }
  keys: [{ name: calm-key }]
";

fn sub(i: usize) -> String {
    format!("sub-{i:03}")
}

/// Even subaccounts have a Cloud Foundry org, odd ones use Service Manager.
fn tenants(range: std::ops::Range<usize>) -> String {
    let mut out = String::from("tenants:\n");
    for i in range {
        let runtime = if i % 2 == 0 {
            ""
        } else {
            ", runtime: service-manager"
        };
        writeln!(out, "  - {{ name: {0}, subaccount: {0}{runtime} }}", sub(i)).unwrap();
    }
    out
}

/// Subaccounts 0..20 onboarded by calmctl; even ones 20..40 by hand, each with SAP's generated
/// key; every subaccount in directory A (0..100) or B, and `calm-onboarding=yes` on all but
/// every fourth.
fn landscape() -> Landscape {
    let all = format!("{ACCOUNT}{DEFAULTS}{}", tenants(0..200));
    let l = Landscape::with_world(&all, |world, _| {
        for s in world.subaccounts.values_mut() {
            let Some(i) = s
                .subdomain
                .strip_prefix("sub-")
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            s.directory = Some(if i < 100 { DIR_A } else { DIR_B }.to_owned());
            if i % 4 != 3 {
                s.labels
                    .insert("calm-onboarding".into(), vec!["yes".into()]);
            }
        }
    });
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 10,
            polling_ms: 30,
            entitlement_ms: 20,
        }
    });
    let managed = format!("{ACCOUNT}{DEFAULTS}{}", tenants(0..20));
    std::fs::write(l.path("managed.yaml"), managed).unwrap();
    let output = l
        .calmctl()
        .args([
            "apply",
            "-f",
            "managed.yaml",
            "--auto-approve",
            "--no-progress",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for i in (20..40).step_by(2) {
        hand_made(&l, &sub(i));
    }
    std::fs::write(l.path("calm.yaml"), format!("{ACCOUNT}tenants: []\n")).unwrap();
    l
}

/// What a person makes in the cockpit and with the cf CLI: entitlement, space, an instance and
/// a key without calmctl's labels, and the key SAP Cloud ALM generates.
fn hand_made(l: &Landscape, subdomain: &str) {
    l.sim.with_world(|w| {
        entitle(w, subdomain);
        add_calm_space(w, subdomain);
    });
    l.hand_made(subdomain, &["calm-key", "ABC_100_00"]);
}

fn run(l: &Landscape, args: &[&str]) -> (i32, String, String) {
    let output = l
        .calmctl()
        .args(args)
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

/// Per tenant, the sorted list of `action kind` of its changes.
fn changes(plan_json: &str) -> BTreeMap<String, Vec<String>> {
    let plan: Value = serde_json::from_str(plan_json).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in plan["changes"].as_array().unwrap() {
        let kind = c["resource"]["kind"].as_str().unwrap_or("?");
        let entry = format!("{} {kind}", c["action"].as_str().unwrap());
        out.entry(c["tenant"].as_str().unwrap().to_owned())
            .or_default()
            .push(entry);
    }
    out.values_mut().for_each(|v| v.sort());
    out
}

fn desired_json(l: &Landscape, file: &str) -> Value {
    let loaded = calm_config::load_file(&l.path(file)).unwrap();
    serde_json::to_value(&loaded.desired.tenants).unwrap()
}

#[test]
fn discover_writes_a_config_whose_first_plan_adopts_and_creates_exactly_what_is_expected() {
    let l = landscape();
    let (code, yaml, err) = run(
        &l,
        &[
            "discover",
            "--account",
            "acme",
            "--label",
            "calm-onboarding=yes",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("discovered 150 subaccounts"), "{err}");
    for secret in l.secrets() {
        assert!(
            !yaml.contains(&secret) && !err.contains(&secret),
            "a secret leaked"
        );
    }
    assert!(
        yaml.contains("  # SAP generated credentials ABC_100_00 here"),
        "{yaml}"
    );
    let head: Vec<&str> = yaml.lines().take(44).collect();
    insta::assert_snapshot!(head.join("\n"));
    std::fs::write(l.path("discovered.yaml"), &yaml).unwrap();
    let (code, _, err) = run(&l, &["validate", "-f", "discovered.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "discovered.yaml is valid: 150 tenants\n");

    let (code, plan, err) = run(&l, &["plan", "-f", "discovered.yaml", "--format", "json"]);
    assert_eq!(code, 2, "{err}");
    let got = changes(&plan);
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in (0..200).filter(|i| i % 4 != 3) {
        let list: Vec<&str> = if i < 20 {
            vec![]
        } else if i < 40 && i % 2 == 0 {
            // A colleague made the space: calmctl's user (Org Manager) gives itself the roles.
            vec![
                "adopt service_instance",
                "adopt service_key",
                "adopt space",
                "create role",
                "create role",
            ]
        } else if i % 2 == 0 {
            vec![
                "create entitlement",
                "create role",
                "create role",
                "create service_instance",
                "create service_key",
                "create space",
            ]
        } else {
            vec![
                "create entitlement",
                "create service_instance",
                "create service_key",
            ]
        };
        if !list.is_empty() {
            expected.insert(sub(i), list.into_iter().map(str::to_owned).collect());
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn directory_and_region_filters_select_subaccounts() {
    let l = landscape();
    let (code, yaml, err) = run(&l, &["discover", "--directory", DIR_B, "--region", "eu10"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("discovered 100 subaccounts"), "{err}");
    assert!(yaml.contains("subaccount: sub-100") && !yaml.contains("subaccount: sub-099"));
    let (code, _, err) = run(&l, &["discover", "--region", "us10"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("discovered 0 subaccounts"), "{err}");
}

#[test]
fn round_trip_discover_apply_discover_and_csv() {
    let l = landscape();
    let args = [
        "discover",
        "--directory",
        DIR_A,
        "--label",
        "calm-onboarding=yes",
    ];
    let (code, first, err) = run(&l, &[&args[..], &["--out", "first.yaml"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(first.is_empty(), "--out writes the file, not stdout");
    let (code, _, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "first.yaml",
            "--auto-approve",
            "--no-progress",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&l, &["plan", "-f", "first.yaml"]);
    assert_eq!(code, 0, "no changes after apply: {err}");
    let (code, _, err) = run(&l, &[&args[..], &["--out", "second.yaml"]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        desired_json(&l, "first.yaml"),
        desired_json(&l, "second.yaml")
    );

    // The same tenants as a CSV inventory under the same defaults give the same desired state.
    let (code, _, err) = run(
        &l,
        &[&args[..], &["--format", "csv", "--out", "tenants.csv"]].concat(),
    );
    assert_eq!(code, 0, "{err}");
    let second = std::fs::read_to_string(l.path("second.yaml")).unwrap();
    let head = &second[..second.find("\ntenants:\n").unwrap()];
    std::fs::write(
        l.path("inventory.yaml"),
        format!("{head}\ntenants_from: tenants.csv\n"),
    )
    .unwrap();
    assert_eq!(
        desired_json(&l, "second.yaml"),
        desired_json(&l, "inventory.yaml")
    );
    let (code, _, err) = run(&l, &["plan", "-f", "inventory.yaml"]);
    assert_eq!(code, 0, "{err}");
}
