//! Targeting end to end: `--select` in apply and rotate, saved plans that keep their targets and
//! refuse more, and `calmctl offboard`, which removes calmctl's objects of named tenants only
//! (in calm.yaml or not), under the rules of every deletion: the plan first, confirmation,
//! `--max-delete`, and `protect`.

use btp_sim::World;
use calm_core::live::labels;
use serde_json::Value;

use calm_test::Landscape;
use calm_test::configs::cf_only;

/// alpha and gamma are `env: prod`, beta (Service Manager) is `env: test`.
fn labelled() -> String {
    cf_only(&[
        "name: alpha, subaccount: alpha, labels: { env: prod }",
        "name: beta, subaccount: beta, runtime: service-manager, labels: { env: test }",
        "name: gamma, subaccount: gamma, labels: { env: prod }",
    ])
}

/// The tenants that have an instance in the simulator, by calmctl's tenant label.
fn onboarded(w: &World) -> Vec<String> {
    let mut out: Vec<String> = w
        .service_instances
        .values()
        .filter_map(|i| i.metadata.labels.get(labels::TENANT).cloned())
        .chain(
            w.sm_instances
                .values()
                .filter_map(|i| i.labels.get(labels::TENANT)?.first().cloned()),
        )
        .collect();
    out.sort();
    out
}

/// How many keys and bindings the simulator holds.
fn keys(w: &World) -> usize {
    w.service_keys.len() + w.sm_bindings.len()
}

fn secret(v: &Value) -> String {
    v["uaa"]["clientsecret"].as_str().unwrap().to_owned()
}

#[test]
fn apply_and_rotate_with_select_touch_only_the_selected_tenants() {
    let l = Landscape::quick(&labelled());
    let (code, _, err) = l.apply(&["--select", "env=prod"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(onboarded(&l.sim.export_world()), ["alpha", "gamma"]);
    assert!(!l.path("credentials/beta").exists());
    assert_eq!(l.run(&["plan", "--select", "env=prod"]).0, 0);
    let (code, text, _) = l.run(&["plan"]);
    assert_eq!(code, 2, "beta is still to do");
    assert!(text.contains("beta") && !text.contains("alpha\n"), "{text}");

    let (code, _, err) = l.apply(&["--select", "env=test"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(onboarded(&l.sim.export_world()), ["alpha", "beta", "gamma"]);
    let before: Vec<String> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|t| secret(&l.delivered(t, "calm-key")))
        .collect();

    let (code, _, err) = l.run(&[
        "rotate",
        "--select",
        "env=prod",
        "--auto-approve",
        "--no-progress",
    ]);
    assert_eq!(code, 0, "{err}");
    let after: Vec<String> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|t| secret(&l.delivered(t, "calm-key")))
        .collect();
    assert_ne!(after[0], before[0], "alpha's key was rotated");
    assert_eq!(after[1], before[1], "beta was not selected");
    assert_ne!(after[2], before[2], "gamma's key was rotated");
    let rotated: Vec<String> = l
        .sim
        .export_world()
        .service_keys
        .values()
        .filter(|k| k.name.starts_with("calm-key-"))
        .filter_map(|k| k.metadata.labels.get(labels::TENANT).cloned())
        .collect();
    assert_eq!(rotated.len(), 2, "{rotated:?}");

    // --refresh-credentials delivers again only to the selected tenants.
    let (code, _, err) = l.apply(&[
        "--refresh-credentials",
        "--select",
        "env=test",
        "--report",
        "report.json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    let tenants = report["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 1, "{report}");
    assert_eq!(tenants[0]["tenant"], "beta");
    assert_eq!(
        tenants[0]["delivered"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );

    let (code, _, err) = l.run(&["rotate", "--select", "env=none", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(err.contains("no tenant chosen"), "{err}");
}

#[test]
fn a_saved_plan_keeps_its_targets_and_refuses_more() {
    let l = Landscape::quick(&labelled());
    let (code, _, err) = l.run(&["plan", "--select", "env=prod", "--out", "plan.json"]);
    assert_eq!(code, 2, "{err}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("plan.json")).unwrap()).unwrap();
    assert_eq!(
        saved["plan"]["targets"],
        serde_json::json!(["alpha", "gamma"])
    );

    for extra in [
        &["--tenant", "beta"][..],
        &["--select", "env=test"],
        &["--allow-delete"],
    ] {
        let mut args = vec!["apply", "plan.json", "--no-progress"];
        args.extend_from_slice(extra);
        let (code, _, err) = l.run(&args);
        assert_eq!(code, 1, "{extra:?}");
        assert!(
            err.contains("cannot be used with a saved plan")
                && err.contains("tenant(s) alpha, gamma"),
            "{extra:?}: {err}"
        );
    }
    assert!(
        onboarded(&l.sim.export_world()).is_empty(),
        "nothing was changed"
    );
    let (code, _, err) = l.run(&["apply", "plan.json", "--no-progress"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(onboarded(&l.sim.export_world()), ["alpha", "gamma"]);
}

#[test]
fn offboarding_removes_only_the_named_tenants_objects_and_refuses_a_protected_one() {
    let config = cf_only(&[
        "name: alpha, subaccount: alpha",
        "name: beta, subaccount: beta, runtime: service-manager",
        "name: gamma, subaccount: gamma, protect: true",
        "name: delta, subaccount: delta",
    ]);
    let l = Landscape::quick(&config);
    assert_eq!(l.apply(&[]).0, 0);
    let world = || l.sim.export_world();
    assert_eq!(onboarded(&world()), ["alpha", "beta", "delta", "gamma"]);
    assert_eq!(keys(&world()), 4);
    // delta leaves calm.yaml: offboarding finds its objects all the same.
    std::fs::write(
        l.path("calm.yaml"),
        config.replace("  - { name: delta, subaccount: delta }\n", ""),
    )
    .unwrap();

    // The plan says what goes and that those credentials stop working.
    let (code, text, err) = l.run(&["plan", "--offboard", "beta", "--offboard", "delta"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        text.contains("Offboarding beta, delta")
            && text.contains("the credentials delivered from them stop working"),
        "{text}"
    );
    assert_eq!(
        text.matches("- service_key calm-api/calm-key").count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("- service_instance").count(), 2, "{text}");
    assert!(!text.contains("alpha") && !text.contains("gamma"), "{text}");
    let (_, markdown, _) = l.run(&["plan", "--offboard", "beta", "--format", "markdown"]);
    assert!(
        markdown.contains("**Offboarding 1 tenant(s): `beta`.**"),
        "{markdown}"
    );

    // Confirmation and --max-delete, as for every deletion.
    let (code, _, err) = l.run(&["offboard", "--tenant", "beta"]);
    assert_eq!(code, 1);
    assert!(err.contains("--auto-approve"), "{err}");
    let ci = |args: &[&str]| {
        let o = l.calmctl().env("CI", "true").args(args).output().unwrap();
        (o.status.code().unwrap_or(-1), calm_test::stderr(&o))
    };
    let (code, err) = ci(&[
        "offboard",
        "--tenant",
        "beta",
        "--tenant",
        "delta",
        "--auto-approve",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("more than --max-delete 0 allows"), "{err}");
    assert_eq!(keys(&world()), 4, "nothing was deleted");

    // A protected tenant is refused, and so is a name nobody knows.
    let (code, err) = ci(&[
        "offboard",
        "--tenant",
        "gamma",
        "--auto-approve",
        "--max-delete",
        "9",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("tenant `gamma` is protected") && err.contains("nothing was changed"),
        "{err}"
    );
    let (code, err) = ci(&["offboard", "--tenant", "nobody", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(err.contains("--tenant nobody: not in the config"), "{err}");
    assert_eq!(keys(&world()), 4, "nothing was deleted");

    let (code, err) = ci(&[
        "offboard",
        "--tenant",
        "beta",
        "--tenant",
        "delta",
        "--auto-approve",
        "--no-progress",
        "--max-delete",
        "4",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(onboarded(&world()), ["alpha", "gamma"]);
    assert_eq!(keys(&world()), 2, "alpha's and gamma's keys stay");
    // Offboarding is not in calm.yaml: beta, still listed there, would be onboarded again.
    let (code, text, _) = l.run(&["plan"]);
    assert_eq!(code, 2);
    assert!(
        text.contains("+ service_instance calm-api") && text.contains("beta"),
        "{text}"
    );
}

#[test]
fn a_saved_offboarding_plan_is_applied_as_reviewed() {
    let l = Landscape::quick(&labelled());
    assert_eq!(l.apply(&[]).0, 0);
    let (code, _, err) = l.run(&["plan", "--offboard", "beta", "--out", "plan.json"]);
    assert_eq!(code, 2, "{err}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["plan"]["offboarded"], serde_json::json!(["beta"]));
    assert_eq!(saved["plan"]["targets"], serde_json::json!(["beta"]));
    let (code, _, err) = l.run(&["apply", "plan.json", "--no-progress"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(onboarded(&l.sim.export_world()), ["alpha", "gamma"]);
    assert_eq!(keys(&l.sim.export_world()), 2);
}
