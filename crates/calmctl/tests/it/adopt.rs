//! Adoption end to end: objects with the configured names but no calmctl labels, made by hand, are
//! labelled and managed from then on, on Cloud Foundry and on Service Manager.

use calm_btp::service_manager::NewServiceBinding;
use calm_core::live::labels;

use calm_test::configs::cf_beta;
use calm_test::{Landscape, entitled_with_space};

#[test]
fn an_unlabelled_instance_is_adopted_and_the_generated_key_left_alone() {
    let l = Landscape::quick_with(&cf_beta(), |world, _| entitled_with_space(world, "beta"));
    l.hand_made("beta", &["ABC_100_00"]);
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("adopt service_instance calm/calm-api: ok"),
        "{err}"
    );
    let world = l.sim.export_world();
    assert_eq!(world.service_instances.len(), 1, "adopted, not recreated");
    let instance = world.service_instances.values().next().unwrap();
    assert_eq!(
        instance
            .metadata
            .labels
            .get(labels::TENANT)
            .map(String::as_str),
        Some("beta")
    );
    // Its parameters cannot be read, so they are kept: labels only, no parameter marks.
    assert!(
        !instance
            .metadata
            .annotations
            .contains_key(labels::PARAMETERS_SHA256),
        "{:?}",
        instance.metadata
    );
    assert_eq!(
        instance.parameters,
        serde_json::json!({"xs-security": {"xsappname": "calm-api"}}),
        "the colleague's parameters stay"
    );
    let generated = world
        .service_keys
        .values()
        .find(|k| k.name == "ABC_100_00")
        .unwrap();
    assert!(
        generated.metadata.labels.is_empty(),
        "SAP's key is untouched"
    );
    assert_eq!(
        world.service_keys.len(),
        2,
        "the generated key and calmctl's"
    );
    assert_eq!(l.run(&["plan"]).0, 0);
}

/// Overwriting parameters calmctl could not read takes `--enforce-parameters`: the plan says it
/// overwrites them, apply writes calm.yaml's and records their hash, and from then on drift is
/// detected as for any instance calmctl made.
#[test]
fn enforce_parameters_overwrites_unknown_parameters_and_says_so() {
    let l = Landscape::quick_with(&cf_beta(), |world, _| entitled_with_space(world, "beta"));
    l.hand_made("beta", &[]);
    let (code, plan, _) = l.run(&["plan", "--enforce-parameters"]);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("--enforce-parameters: overwrites parameters calmctl could not read"),
        "{plan}"
    );
    assert!(plan.contains("(current value cannot be read)"), "{plan}");
    let (code, _, err) = l.apply(&["--enforce-parameters"]);
    assert_eq!(code, 0, "{err}");
    let world = l.sim.export_world();
    let instance = world.service_instances.values().next().unwrap();
    assert_eq!(
        instance.parameters["xs-security"]["authorities"],
        serde_json::json!(["$XSMASTERAPPNAME.imp-cdm-feature-display-ui"]),
        "calm.yaml's parameters were written"
    );
    assert!(
        instance
            .metadata
            .annotations
            .contains_key(labels::PARAMETERS_SHA256)
    );
    // Known now: no change without the flag, and a changed calm.yaml is drift again.
    assert_eq!(l.run(&["plan"]).0, 0);
    let yaml = std::fs::read_to_string(l.path("calm.yaml"))
        .unwrap()
        .replace("imp-cdm-feature-display-ui", "imp-cdm-feature-manage-ui");
    std::fs::write(l.path("calm.yaml"), yaml).unwrap();
    let (code, plan, _) = l.run(&["plan"]);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("~ service_instance"), "{plan}");
}

const SM_ONLY: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
defaults:
  runtime: service-manager
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui] }
  keys: [{ name: calm-key }]
tenants:
  - { name: gamma, subaccount: gamma }
";

/// A binding cannot be relabelled after its creation, so adopting one records its id on the
/// managed instance; from then on the binding is calmctl's: delivered, in no plan, and deleted
/// like any managed key once calm.yaml drops it.
#[test]
fn a_hand_made_service_manager_binding_is_adopted_through_its_instance() {
    let l = Landscape::quick(SM_ONLY);
    assert_eq!(l.apply(&[]).0, 0);
    // By hand: a second binding of the managed instance, without labels.
    let sm = l.sm("gamma");
    let instance_id = l
        .sim
        .export_world()
        .sm_instances
        .keys()
        .next()
        .unwrap()
        .clone();
    let made = l
        .runtime
        .block_on(sm.create_service_binding(&NewServiceBinding {
            name: "ops-key".into(),
            service_instance_id: instance_id.clone(),
            parameters: None,
            labels: Default::default(),
        }));
    let binding_id = made.unwrap().id;
    let with_ops = SM_ONLY.replace(
        "keys: [{ name: calm-key }]",
        "keys: [{ name: calm-key }, { name: ops-key }]",
    );
    std::fs::write(l.path("calm.yaml"), &with_ops).unwrap();
    let (code, text, err) = l.run(&["plan"]);
    assert_eq!(code, 2, "{err}");
    assert!(text.contains("= service_key calm-api/ops-key"), "{text}");

    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("gamma: adopt service_key calm-api/ops-key: ok"),
        "{err}"
    );
    let world = l.sim.export_world();
    assert_eq!(world.sm_bindings.len(), 2, "adopted, not recreated");
    assert!(
        world.sm_bindings[&binding_id].labels.is_empty(),
        "the binding itself is unchanged"
    );
    assert_eq!(
        world.sm_instances[&instance_id]
            .labels
            .get(labels::ADOPTED_BINDINGS),
        Some(&vec![binding_id.clone()]),
        "ownership is recorded on the instance"
    );
    assert!(
        l.live_credentials()
            .contains(&l.delivered("gamma", "ops-key")),
        "the adopted binding's credentials were delivered"
    );
    let (code, _, err) = l.run(&["plan"]);
    assert_eq!(code, 0, "adopted once, then no changes: {err}");

    // Dropped from calm.yaml, the adopted binding is deleted like any managed key, and its mark
    // leaves the instance with it.
    std::fs::write(l.path("calm.yaml"), SM_ONLY).unwrap();
    let (code, _, err) = l.apply(&["--allow-delete"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("gamma: delete service_key calm-api/ops-key: ok"),
        "{err}"
    );
    let world = l.sim.export_world();
    assert!(!world.sm_bindings.contains_key(&binding_id));
    assert!(
        !world.sm_instances[&instance_id]
            .labels
            .contains_key(labels::ADOPTED_BINDINGS)
    );
    assert_eq!(l.run(&["plan"]).0, 0);
}
