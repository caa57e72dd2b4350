//! Service Manager tenants whose parameters are longer than a label value may be (255
//! characters): calmctl splits its record of them, and changes its marks without ever removing
//! and adding one key in a request (btp-sim FIDELITY.md §4).

use calm_core::live::labels;

use calm_test::Landscape;

/// 32 characters, the longest instance name Cloud ALM allows (btp-api.md §5.3).
const NAME: &str = "calm-api-landscape-management-01";

const FIVE: [&str; 5] = [
    "imp-cdm-feature-display-ui",
    "imp-cdm-feature-manage-ui",
    "calm-api.landscape.read",
    "calm-api.subscriptions.read",
    "ops-im-display-ui",
];

fn config(authorities: &[&str]) -> String {
    format!(
        "\
version: 1
accounts:
  acme: {{ subdomain: acme-ga, region: eu10, cis_key: {{ env: ACME_CIS_KEY }}, username: {{ env: BTP_USERNAME }}, password: {{ env: BTP_PASSWORD }} }}
defaults:
  runtime: service-manager
  instance: {{ name: {NAME}, authorities: [{}] }}
  keys: [{{ name: calm-key }}]
tenants:
  - {{ name: delta, subaccount: delta }}
",
        authorities.join(", ")
    )
}

/// The values of the instance's `calmctl.sap/parameters` label.
fn parameter_values(l: &Landscape) -> Vec<String> {
    l.sim.with_world(|w| {
        let instance = w
            .sm_instances
            .values()
            .find(|i| i.name == NAME)
            .expect("the instance exists");
        assert!(
            instance.labels.values().flatten().all(|v| v.len() <= 255),
            "every label value fits: {:?}",
            instance.labels
        );
        instance
            .labels
            .get(labels::PARAMETERS)
            .cloned()
            .unwrap_or_default()
    })
}

/// The JSON calmctl recorded, from its parts `<i>/<n>:<text>`.
fn recorded(values: &[String]) -> serde_json::Value {
    let mut parts: Vec<(usize, &str)> = values
        .iter()
        .map(|v| {
            let (head, text) = v.split_once(':').unwrap();
            (head.split_once('/').unwrap().0.parse().unwrap(), text)
        })
        .collect();
    parts.sort();
    let text: String = parts.into_iter().map(|(_, t)| t).collect();
    serde_json::from_str(&text).unwrap()
}

fn authorities(parameters: &serde_json::Value) -> Vec<String> {
    parameters["xs-security"]["authorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

fn assert_no_changes(l: &Landscape, after: &str) {
    let (code, out, err) = l.run(&["plan"]);
    assert_eq!(
        code, 0,
        "plan after {after} shows no changes:\n{out}\n{err}"
    );
}

#[test]
fn five_authorities_and_a_32_character_name_converge_change_and_rotate_on_service_manager() {
    let l = Landscape::quick(&config(&FIVE));
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let values = parameter_values(&l);
    assert!(values.len() >= 2, "the JSON is split: {values:?}");
    let parameters = recorded(&values);
    assert_eq!(authorities(&parameters).len(), 5, "{parameters}");
    assert_eq!(parameters["xs-security"]["xsappname"], NAME);
    assert_no_changes(&l, "the first apply");

    // One authority fewer: the plan shows what it was (the JSON is read back from its parts),
    // and the marks are replaced.
    std::fs::write(l.path("calm.yaml"), config(&FIVE[..4])).unwrap();
    let (code, out, _) = l.run(&["plan"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ops-im-display-ui"), "{out}");
    assert!(!out.contains("current value cannot be read"), "{out}");
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let parameters = recorded(&parameter_values(&l));
    assert_eq!(authorities(&parameters).len(), 4, "{parameters}");
    let hash = l.sim.with_world(|w| {
        w.sm_instances
            .values()
            .find(|i| i.name == NAME)
            .and_then(|i| i.labels.get(labels::PARAMETERS_SHA256).cloned())
    });
    assert_eq!(
        hash.map(|h| h.len()),
        Some(1),
        "one hash, not the old one beside the new one"
    );
    assert_no_changes(&l, "removing an authority");

    let (code, _, err) = l.run(&[
        "rotate",
        "--tenant",
        "delta",
        "--key",
        "calm-key",
        "--auto-approve",
        "--no-progress",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_no_changes(&l, "the rotation");
}

#[test]
fn an_instance_labelled_by_an_earlier_version_is_read_the_same() {
    let l = Landscape::quick(&config(&FIVE[..1]));
    assert_eq!(l.apply(&[]).0, 0);
    // Earlier versions wrote the whole JSON as one value.
    l.sim.with_world(|w| {
        for i in w.sm_instances.values_mut() {
            let whole = recorded(&i.labels[labels::PARAMETERS]).to_string();
            i.labels.insert(labels::PARAMETERS.into(), vec![whole]);
        }
    });
    assert_no_changes(&l, "relabelling as an earlier version");
    let (code, out, _) = l.run(&["discover", "--account", "acme"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(FIVE[0]),
        "discover reads the authorities: {out}"
    );

    std::fs::write(l.path("calm.yaml"), config(&FIVE[..2])).unwrap();
    let (code, out, _) = l.run(&["plan"]);
    assert_eq!(code, 2, "{out}");
    assert!(!out.contains("current value cannot be read"), "{out}");
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let values = parameter_values(&l);
    let parts = values.iter().all(|v| {
        v.split_once(':')
            .is_some_and(|(head, _)| head.split_once('/').is_some())
    });
    assert!(parts, "written as parts again: {values:?}");
    assert_no_changes(&l, "the update");
}
