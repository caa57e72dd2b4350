//! `calmctl apply` end to end: the binary against btp-sim, checked against the simulator's world.
//! Adoption is in adopt.rs, rotation in rotate.rs.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use btp_sim::Faults;
use calm_core::live::labels;
use serde_json::{Value, json};

use crate::stderr;
use calm_test::configs::{MIXED, cf_beta};
use calm_test::{Landscape, scrub, untimed};

/// Exactly one instance and one key per tenant, all labelled, and every delivered file is a
/// live key's credentials.
pub(crate) fn assert_converged(l: &Landscape, tenants: usize) {
    let world = l.sim.export_world();
    let mut instances = BTreeSet::new();
    for i in world.service_instances.values() {
        assert!(
            instances.insert(i.space.clone()),
            "duplicate instance in {}",
            i.space
        );
        assert_eq!(
            i.metadata
                .labels
                .get(labels::MANAGED_BY)
                .map(String::as_str),
            Some("calmctl")
        );
    }
    for i in world.sm_instances.values() {
        assert!(
            instances.insert(i.subaccount.clone()),
            "duplicate SM instance"
        );
        assert!(i.labels.contains_key(labels::MANAGED_BY));
    }
    assert_eq!(instances.len(), tenants, "one instance per tenant");
    let keys = world.service_keys.len() + world.sm_bindings.len();
    assert_eq!(keys, tenants, "one key per tenant, no duplicate, no orphan");
    let live = l.live_credentials();
    let mut files = 0;
    for tenant in std::fs::read_dir(l.path("credentials")).unwrap() {
        let tenant = tenant.unwrap().path();
        assert_eq!(
            std::fs::metadata(&tenant).unwrap().permissions().mode() & 0o777,
            0o700
        );
        for file in std::fs::read_dir(&tenant).unwrap() {
            let path = file.unwrap().path();
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            let value: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(
                live.contains(&value),
                "{} matches no live key",
                path.display()
            );
            files += 1;
        }
    }
    assert_eq!(files, tenants, "one credentials file per key");
}

#[test]
fn fresh_onboarding_of_both_runtimes_then_no_changes() {
    let l = Landscape::quick(MIXED);
    let (code, out, err) = l.apply(&["--parallelism", "1", "--report", "report.json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "stdout carries data only");
    insta::assert_snapshot!("fresh_apply_progress", scrub(&untimed(&err)));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    insta::assert_json_snapshot!("fresh_apply_report", report);
    assert_converged(&l, 2);
    let file = std::fs::read_to_string(l.path("credentials/acme-prod/calm-key.json")).unwrap();
    let value: Value = serde_json::from_str(&file).unwrap();
    assert!(value["uaa"]["clientid"].is_string() && value["endpoints"]["Api"].is_string());
    for secret in l.secrets() {
        assert!(!err.contains(&secret), "a secret reached stderr");
        assert!(
            !report.to_string().contains(&secret),
            "a secret reached the report"
        );
    }
    let (code, _, err) = l.run(&["plan"]);
    assert_eq!(code, 0, "a second plan shows no changes: {err}");
    // A lost file is delivered again from the live key, without any change on BTP.
    std::fs::remove_file(l.path("credentials/acme-test/calm-key.json")).unwrap();
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("acme-test: deliver calm-api/calm-key: ok"),
        "{err}"
    );
    assert_converged(&l, 2);
}

#[test]
fn saved_plan_is_applied_and_a_stale_one_refused() {
    let l = Landscape::quick(MIXED);
    let (code, _, err) = l.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = l.run(&["apply", "--no-progress", "plan.json"]);
    assert_eq!(code, 0, "{err}");
    assert_converged(&l, 2);

    // A plan made, then the object it updates changes before the apply.
    let yaml = MIXED.replace(
        "imp-cdm-feature-manage-ui]",
        "imp-cdm-feature-manage-ui, calm-api.tasks.read]",
    );
    std::fs::write(l.path("calm.yaml"), &yaml).unwrap();
    let (code, _, err) = l.run(&["plan", "--out", "stale.json"]);
    assert_eq!(code, 2, "{err}");
    l.sim.with_world(|w| {
        for i in w.service_instances.values_mut() {
            i.metadata.labels.insert("touched".into(), "by-hand".into());
        }
    });
    let (code, _, err) = l.run(&["apply", "--no-progress", "stale.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("refusing the saved plan"), "{err}");
    assert!(
        err.contains("acme-prod: service_instance calm/calm-api (changed since the plan was made)"),
        "{err}"
    );

    // A plan for another config, and a plan too old, are refused too.
    std::fs::write(l.path("calm.yaml"), MIXED).unwrap();
    let (code, _, err) = l.run(&["apply", "stale.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("different calm.yaml"), "{err}");
    let mut old: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("plan.json")).unwrap()).unwrap();
    old["created_at"] = json!(0);
    std::fs::write(l.path("old.json"), old.to_string()).unwrap();
    let (code, _, err) = l.run(&["apply", "old.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("older than --max-plan-age 24 h"), "{err}");
}

#[test]
fn without_a_terminal_apply_needs_auto_approve() {
    let l = Landscape::quick(MIXED);
    let (code, _, err) = l.run(&["apply"]);
    assert_eq!(code, 1);
    assert!(err.contains("--auto-approve"), "{err}");
    assert!(
        l.sim.export_world().service_instances.is_empty(),
        "nothing was changed"
    );
}

#[test]
fn a_failed_job_is_reported_then_replaced_on_the_next_run() {
    let l = Landscape::quick(&cf_beta());
    l.sim.set_faults(Faults {
        fail_names: vec!["calm-api".into()],
        ..Faults::default()
    });
    let (code, _, err) = l.apply(&["--report", "report.json"]);
    assert_eq!(code, 1, "{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    let beta = &report["tenants"][0];
    assert_eq!(beta["status"], "failed");
    assert_eq!(
        beta["error"]["step"],
        "create service_instance calm/calm-api"
    );
    assert!(beta["remaining"].as_array().is_some_and(|r| !r.is_empty()));
    l.sim.set_faults(Faults::default());
    let (code, _, err) = l.run(&["plan"]);
    assert_eq!(code, 2);
    assert!(err.is_empty() || !err.contains("error"), "{err}");
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("replace service_instance calm/calm-api: ok"),
        "{err}"
    );
    assert_eq!(
        l.sim.export_world().service_instances.len(),
        1,
        "replaced, not duplicated"
    );
    assert_converged(&l, 1);
}

#[test]
fn deletion_gates_allow_delete_and_max_delete() {
    let two = cf_beta().replace(
        "  - { name: beta, subaccount: beta }",
        "  - { name: alpha, subaccount: alpha }\n  - { name: beta, subaccount: beta }",
    );
    let l = Landscape::quick(&two);
    assert_eq!(l.apply(&[]).0, 0);
    std::fs::write(l.path("calm.yaml"), cf_beta().replace("beta", "alpha")).unwrap();
    let world = || l.sim.export_world();
    let ci = |args: &[&str]| {
        let o = l.calmctl().env("CI", "true").args(args).output().unwrap();
        (o.status.code().unwrap_or(-1), stderr(&o))
    };
    let (code, err) = ci(&["apply", "--auto-approve", "--no-progress"]);
    assert_eq!(code, 0, "without --allow-delete nothing is deleted: {err}");
    assert_eq!(world().service_instances.len(), 2);
    let (code, err) = ci(&["apply", "--auto-approve", "--no-progress", "--allow-delete"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("more than --max-delete 0 allows; nothing was changed"),
        "{err}"
    );
    assert_eq!(world().service_instances.len(), 2);
    let (code, err) = ci(&[
        "apply",
        "--auto-approve",
        "--no-progress",
        "--allow-delete",
        "--max-delete",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        world().service_instances.len(),
        1,
        "the removed tenant's instance is gone"
    );
    assert_eq!(world().service_keys.len(), 1, "and its key");
}

/// Tiny deterministic generator for the kill moments.
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn sigkill_at_random_moments_leaves_nothing_to_duplicate() {
    let yaml = calm_test::configs::alternating(50);
    let mut seed = 20_261_123_u64;
    for trial in 0..10 {
        let l = Landscape::quick(&yaml);
        let wait = 200 + next(&mut seed) % 2_800;
        let mut child = l
            .process()
            .args([
                "apply",
                "--auto-approve",
                "--no-progress",
                "--parallelism",
                "50",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (code, _, err) = l.apply(&["--parallelism", "50"]);
        assert_eq!(code, 0, "trial {trial} (killed after {wait} ms): {err}");
        assert_converged(&l, 50);
        assert_eq!(l.run(&["plan"]).0, 0, "trial {trial}: no changes left");
    }
}
