//! One run reports every problem of a file, duplicates included, and each label points at the
//! offending value.

use calm_config::ConfigError;

const YAML: &str = "version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: K }, username: { env: U }, password: { env: P } }
defaults:
  runtime: service-manager
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui] }
  keys: [{ name: calm-key }]
tenants:
  - { name: alpha, subaccount: alpha }
  - { name: alpha, subaccount: alpha-two, account: nowhere, instance: { name: calm.api } }
  - { name: beta, subaccount: beta, instance: { name: beta-api, parameters: { xs-security: { xsappname: other-name } } } }
  - { name: gamma, subaccount: gamma, keys: [{ name: this-key-name-is-far-too-long-for-a-key-of-cloud-alm-api }] }
";

fn text(span: calm_core::Span) -> &'static str {
    &YAML[span.offset..span.offset + span.len]
}

#[test]
fn every_problem_is_reported_in_one_run_with_labels_on_the_values() {
    let Err(ConfigError::Invalid { problems, .. }) =
        calm_config::load_bytes("calm.yaml", YAML.as_bytes())
    else {
        panic!("the file is invalid");
    };
    let codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
    for code in [
        "calm::duplicate_tenant",
        "calm::instance_name",
        "calm::xsappname",
        "calm::key_name",
        "calm::unknown_account",
    ] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    let label = |code: &str| {
        let p = problems.iter().find(|p| p.code == code).unwrap();
        text(p.labels[0].0)
    };
    assert_eq!(
        label("calm::xsappname"),
        "other-name",
        "the mismatch labels the xsappname value, not the `xs-security` key"
    );
    assert_eq!(label("calm::instance_name"), "calm.api");
    assert_eq!(
        label("calm::key_name"),
        "this-key-name-is-far-too-long-for-a-key-of-cloud-alm-api"
    );
    let duplicate = problems
        .iter()
        .find(|p| p.code == "calm::duplicate_tenant")
        .unwrap();
    assert_eq!(
        duplicate
            .labels
            .iter()
            .map(|(s, _)| text(*s))
            .collect::<Vec<_>>(),
        ["alpha", "alpha"],
        "both places of the duplicate, though the second entry has an error of its own"
    );
}
