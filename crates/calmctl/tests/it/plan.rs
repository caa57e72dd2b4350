//! `calmctl plan` end to end against the simulator: every scenario a reviewer meets, in text,
//! Markdown and JSON, and no secret in any of them.

use std::collections::BTreeMap;

use btp_sim::world::RoleType;
use calm_btp::cf::Metadata;
use calm_core::live::labels;
use serde_json::json;

use crate::{stderr, stdout};
use calm_test::configs::{MIXED, cf_only};
use calm_test::landscape::labels_only;
use calm_test::{HandMade, Landscape, entitle, entitled_with_space, scrub};

/// Two Cloud Foundry tenants, the first protected.
pub(crate) fn alpha_beta() -> String {
    cf_only(&[
        "name: alpha, subaccount: alpha, protect: true",
        "name: beta, subaccount: beta",
    ])
}

/// Checks a JSON plan against the checked-in `schemas/plan.schema.json`.
pub(crate) fn assert_matches_schema(value: &serde_json::Value) {
    let text = std::fs::read_to_string(crate::root().join("schemas/plan.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

pub(crate) fn plan(l: &Landscape, args: &[&str]) -> (i32, String, String) {
    let output = l.calmctl().arg("plan").args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

#[test]
fn fresh_mixed_landscape_in_every_format() {
    let l = Landscape::new(MIXED);
    let (code, text, err) = plan(&l, &[]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("fresh_text", scrub(&text));
    let (code, markdown, _) = plan(&l, &["--format", "markdown"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("fresh_markdown", scrub(&markdown));
    let (code, json, _) = plan(&l, &["--format", "json"]);
    assert_eq!(code, 2);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_matches_schema(&value);
    insta::assert_json_snapshot!("fresh_json", value, {".**.guid" => "[guid]"});
}

/// Objects as a previous `calmctl apply` leaves them, with labels and with the roles it gives
/// its own user, for a tenant of `org`.
pub(crate) fn managed(l: &Landscape, org: &str, tenant: &str, authorities: &[&str], protect: bool) {
    let parameters = json!({"xs-security": {
        "xsappname": "calm-api",
        "authorities": authorities.iter().map(|a| format!("$XSMASTERAPPNAME.{a}")).collect::<Vec<_>>(),
        "oauth2-configuration": {"credential-types": ["binding-secret"]},
    }});
    let mut owned = BTreeMap::from([
        (
            labels::MANAGED_BY.to_owned(),
            labels::MANAGED_BY_VALUE.to_owned(),
        ),
        (labels::TENANT.to_owned(), tenant.to_owned()),
    ]);
    if protect {
        owned.insert(labels::PROTECT.to_owned(), "true".to_owned());
    }
    let annotations = BTreeMap::from([
        (
            labels::PARAMETERS_SHA256.to_owned(),
            calm_core::hash::parameters_hash(&parameters),
        ),
        (labels::PARAMETERS.to_owned(), parameters.to_string()),
    ]);
    let mut key_labels = owned.clone();
    key_labels.insert(labels::KEY.to_owned(), "calm-key".to_owned());
    l.make(&HandMade {
        create_space: Some(labels_only(owned.clone())),
        parameters,
        metadata: Metadata {
            labels: owned,
            annotations,
        },
        keys: vec![("calm-key".to_owned(), labels_only(key_labels))],
        ..HandMade::new(org)
    });
}

#[test]
fn drift_removed_tenants_and_protection() {
    let l = Landscape::with_world(&alpha_beta(), |world, _| {
        for sub in ["alpha", "beta"] {
            entitle(world, sub);
        }
        let ga = world.global_accounts.keys().next().unwrap().clone();
        for gone in ["gone", "kept"] {
            let guid = world.add_subaccount(&ga, gone, "eu10", None);
            world.entitle(&guid, "SAPCloudALMAPIs", "standard", 1);
            let org = world.add_org(gone, Some(&guid));
            // calmctl's user managed them while they were in calm.yaml.
            world.add_role(btp_sim::ADMIN_USER, RoleType::OrganizationManager, &org);
        }
    });
    // alpha: converged but with other authorities than calm.yaml asks for (drift).
    managed(&l, "alpha", "alpha", &["imp-cdm-feature-manage-ui"], true);
    // beta: exactly as configured.
    managed(&l, "beta", "beta", &["imp-cdm-feature-display-ui"], false);
    // Tenants removed from calm.yaml; `kept` was protected.
    managed(&l, "gone", "gone", &["imp-cdm-feature-display-ui"], false);
    managed(&l, "kept", "kept", &["imp-cdm-feature-display-ui"], true);

    let (code, withheld, err) = plan(&l, &[]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("drift_removed_protected_text", scrub(&withheld));
    assert!(
        withheld.contains("~ parameters.xs-security.authorities"),
        "{withheld}"
    );
    assert!(withheld.contains("2 deletions withheld"), "{withheld}");

    let (code, allowed, _) = plan(&l, &["--allow-delete", "--format", "markdown"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("drift_removed_protected_markdown", scrub(&allowed));
    assert!(allowed.contains("destructive change"), "{allowed}");
    assert!(
        !allowed.contains("`kept`"),
        "a protected tenant is never deleted: {allowed}"
    );

    let (code, json, _) = plan(&l, &["--allow-delete", "--format", "json"]);
    assert_eq!(code, 2);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_matches_schema(&value);
    insta::assert_json_snapshot!("drift_removed_protected_json", value, {".**.guid" => "[guid]", ".**.version" => "[version]", ".**.metadata_sha256" => "[sha256]"});
}

#[test]
fn partial_plans_say_so_and_unknown_tenants_are_errors() {
    let l = Landscape::new(MIXED);
    let (code, text, _) = plan(&l, &["--tenant", "acme-test"]);
    assert_eq!(code, 2);
    assert!(
        text.starts_with("Partial plan: only tenant(s) acme-test."),
        "{text}"
    );
    assert!(!text.contains("acme-prod"), "{text}");
    let (code, _, err) = plan(&l, &["--tenant", "nope"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--tenant nope: no tenant of that name"),
        "{err}"
    );
}

#[test]
fn long_markdown_is_split_under_the_github_limit() {
    let mut yaml = String::from(alpha_beta().split("tenants:").next().unwrap());
    yaml.push_str("tenants:\n");
    for i in 0..300 {
        yaml.push_str(&format!(
            "  - {{ name: tenant-{i:03}, subaccount: tenant-{i:03} }}\n"
        ));
    }
    let l = Landscape::new(&yaml);
    let dir = l.path("comment");
    let (code, _, err) = plan(
        &l,
        &["--format", "markdown", "--out-dir", dir.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    let mut parts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    assert!(parts.len() > 1, "300 tenants need several parts");
    let first = std::fs::read_to_string(&parts[0]).unwrap();
    assert!(first.chars().count() < 8_000, "part 1 is a summary");
    assert!(first.contains("300 tenant(s) change"), "{first}");
    let mut tenants = 0;
    for part in &parts {
        let text = std::fs::read_to_string(part).unwrap();
        assert!(
            text.chars().count() < 65_536,
            "{} is under GitHub's limit",
            part.display()
        );
        tenants += text.matches("<details>").count();
    }
    assert_eq!(tenants, 300, "every tenant appears exactly once");
}

#[test]
fn no_secret_in_any_plan_output_or_saved_plan() {
    let l = Landscape::with_world(&alpha_beta(), |world, _| entitled_with_space(world, "beta"));
    l.hand_made("beta", &["calm-key", "ABC_100_00"]);
    let mut outputs = Vec::new();
    for format in ["text", "markdown", "json"] {
        let (_, out, err) = plan(&l, &["--format", format, "--out", "plan.json"]);
        outputs.push(out);
        outputs.push(err);
        let saved = std::fs::read_to_string(l.path("plan.json")).unwrap();
        assert_matches_schema(&serde_json::from_str(&saved).unwrap());
        outputs.push(saved);
    }
    let secrets = l.secrets();
    assert!(
        secrets.len() >= 4,
        "the landscape issued secrets: {}",
        secrets.len()
    );
    let found: Vec<&String> = secrets
        .iter()
        .filter(|s| outputs.iter().any(|o| o.contains(s.as_str())))
        .collect();
    // Name the leak by length and first characters only, never the whole secret.
    let hints: Vec<String> = found
        .iter()
        .map(|s| format!("{}… ({} chars)", &s[..4], s.len()))
        .collect();
    assert!(
        found.is_empty(),
        "{} secret(s) leaked: {hints:?}",
        found.len()
    );
}
