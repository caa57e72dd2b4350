//! More plan scenarios in all three formats: a partly onboarded landscape, and adoption with
//! SAP's generated key beside it.

use crate::plan::{alpha_beta, assert_matches_schema, managed, plan};
use calm_test::{Landscape, entitle, entitled_with_space, scrub};

/// Runs `plan` in text, Markdown and JSON with `args`, checks the exit codes and the JSON schema,
/// and snapshots all three under `name`.
fn every_format(l: &Landscape, name: &str, args: &[&str]) -> (String, String, serde_json::Value) {
    let (code, text, err) = plan(l, args);
    assert_eq!(code, 2, "{err}");
    let markdown_args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--format", "markdown"])
        .collect();
    let (code, markdown, err) = plan(l, &markdown_args);
    assert_eq!(code, 2, "{err}");
    let json_args: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
    let (code, json, err) = plan(l, &json_args);
    assert_eq!(code, 2, "{err}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_matches_schema(&value);
    insta::assert_snapshot!(format!("{name}_text"), scrub(&text));
    insta::assert_snapshot!(format!("{name}_markdown"), scrub(&markdown));
    insta::assert_json_snapshot!(format!("{name}_json"), value, {
        ".**.guid" => "[guid]", ".**.version" => "[version]", ".**.metadata_sha256" => "[sha256]",
        ".**.updated_at" => "[time]", ".**.created_at" => "[time]"
    });
    (text, markdown, value)
}

#[test]
fn partly_onboarded_landscape_in_every_format() {
    // alpha was onboarded by an earlier apply; beta got its entitlement (by hand) and nothing else.
    let l = Landscape::with_world(&alpha_beta(), |world, _| {
        for sub in ["alpha", "beta"] {
            entitle(world, sub);
        }
    });
    managed(&l, "alpha", "alpha", &["imp-cdm-feature-display-ui"], true);
    let (text, markdown, value) = every_format(&l, "partly_onboarded", &[]);
    assert!(
        !text.contains("entitlement"),
        "beta's entitlement exists: {text}"
    );
    assert!(text.contains("+ space beta/calm"), "{text}");
    assert!(
        !markdown.contains("<summary>alpha"),
        "alpha has no changes: {markdown}"
    );
    let tenants: Vec<&str> = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tenant"].as_str().unwrap())
        .collect();
    assert!(tenants.iter().all(|t| *t == "beta"), "{tenants:?}");
}

#[test]
fn adoption_and_generated_keys_in_every_format() {
    let l = Landscape::with_world(&alpha_beta(), |world, _| entitled_with_space(world, "beta"));
    l.hand_made("beta", &["calm-key", "ABC_100_00"]);
    let (text, markdown, value) = every_format(&l, "adopt", &["--tenant", "beta"]);
    assert!(text.contains("= space beta/calm"), "{text}");
    assert!(
        text.contains("ABC_100_00"),
        "the generated key is listed as not managed"
    );
    assert!(
        !text.contains("- service_key"),
        "nothing is deleted: {text}"
    );
    assert!(markdown.contains("ABC_100_00"), "{markdown}");
    let actions: Vec<&str> = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    // The colleague made the space: calmctl's user (an Org Manager) gives itself the roles it
    // needs there, Org User before Space Developer.
    assert_eq!(
        actions,
        ["adopt", "create", "create", "adopt", "adopt"],
        "{value}"
    );
    assert!(
        text.contains("+ org_role beta organization_user admin (uaa)")
            && text.contains("+ space_role beta/calm space_developer admin (uaa)"),
        "{text}"
    );
}
