//! Key rotation end to end: age-triggered (`rotate_after`) and asked for (`calmctl rotate`), on
//! Cloud Foundry service keys and Service Manager bindings; the new key is delivered and verified
//! before the old one is retired, and the retired key is deleted after its grace period.

use std::time::{SystemTime, UNIX_EPOCH};

use btp_sim::Faults;
use calm_core::live::labels;
use serde_json::Value;

use calm_test::Landscape;
use calm_test::configs::{MIXED, cf_beta};

const DAY_MS: u64 = 86_400_000;

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn secret(credentials: &Value) -> &str {
    credentials["uaa"]["clientsecret"].as_str().unwrap()
}

/// Makes every live key and binding `days` older.
fn age(l: &Landscape, days: u64) {
    l.sim.with_world(|w| {
        for k in w.service_keys.values_mut() {
            k.created_ms -= days * DAY_MS;
        }
        for b in w.sm_bindings.values_mut() {
            b.created_ms -= days * DAY_MS;
        }
    });
}

#[test]
fn rotate_after_rotates_both_runtimes_then_retired_keys_go_after_their_grace_period() {
    let l = Landscape::quick(MIXED);
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let old_prod = l.delivered("acme-prod", "calm-key");
    let old_test = l.delivered("acme-test", "calm-key");
    let before = l.sim.export_world();
    let old_key = before.service_keys.keys().next().unwrap().clone();
    let old_binding = before.sm_bindings.keys().next().unwrap().clone();

    age(&l, 89);
    assert_eq!(
        l.run(&["plan"]).0,
        0,
        "89 days old: rotate_after 90d is not reached"
    );
    age(&l, 2);
    let (code, text, err) = l.run(&["plan"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        text.matches("+/- service_key calm-api/calm-key-").count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("calm-key is 91d old, rotate_after is 90d"),
        "{text}"
    );
    assert!(text.contains("+ retires = \"calm-key\""), "{text}");
    assert!(text.contains("2 to rotate"), "{text}");
    let (_, json, _) = l.run(&["plan", "--format", "json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    crate::plan::assert_matches_schema(&json);
    assert_eq!(json["changes"][0]["action"], "rotate");
    let (_, markdown, _) = l.run(&["plan", "--format", "markdown"]);
    assert!(markdown.contains("| rotate |"), "{markdown}");

    let (code, _, err) = l.apply(&["--report", "report.json"]);
    assert_eq!(code, 0, "{err}");
    for tenant in ["acme-prod", "acme-test"] {
        assert!(
            err.contains(&format!("{tenant}: rotate service_key calm-api/calm-key-")),
            "{err}"
        );
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    for t in report["tenants"].as_array().unwrap() {
        assert_eq!(t["status"], "done");
        assert_eq!(t["delivered"][0], "calm-api/calm-key");
        assert!(
            t.get("warnings").is_none(),
            "binding-secret keys differ: {t}"
        );
    }
    // The new keys were delivered (and verified, or apply would have failed) ...
    let (new_prod, new_test) = (
        l.delivered("acme-prod", "calm-key"),
        l.delivered("acme-test", "calm-key"),
    );
    assert_ne!(secret(&new_prod), secret(&old_prod));
    assert_ne!(secret(&new_test), secret(&old_test));
    let live = l.live_credentials();
    assert!(live.contains(&new_prod) && live.contains(&new_test));
    // ... and only then were the old ones retired, not deleted.
    let world = l.sim.export_world();
    assert_eq!(world.service_keys.len(), 2);
    assert_eq!(world.sm_bindings.len(), 2);
    assert!(
        world.service_keys[&old_key]
            .metadata
            .labels
            .contains_key(labels::RETIRED_AT)
    );
    let new_key = world
        .service_keys
        .values()
        .find(|k| k.guid != old_key)
        .unwrap();
    assert!(new_key.name.starts_with("calm-key-"));
    assert_eq!(
        new_key.metadata.labels.get(labels::KEY).map(String::as_str),
        Some("calm-key")
    );
    assert!(!new_key.metadata.labels.contains_key(labels::RETIRED_AT));
    let instance = world.sm_instances.values().next().unwrap();
    let marks = &instance.labels[labels::RETIRED_BINDINGS];
    assert!(
        marks.len() == 1 && marks[0].starts_with(&format!("{old_binding}@")),
        "{marks:?}"
    );
    assert_eq!(
        l.run(&["plan"]).0,
        0,
        "retired keys wait for their grace period"
    );

    // Seven days later (retire_after's default) the retired keys are deleted, with no
    // --allow-delete, and even where CI sets --max-delete to 0.
    let later = (now() + 7 * 86_400 + 60).to_string();
    let at = |args: &[&str]| {
        let o = l
            .calmctl()
            .env("CALMCTL_NOW", &later)
            .env("CI", "true")
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            crate::stdout(&o),
            crate::stderr(&o),
        )
    };
    let (code, text, _) = at(&["plan"]);
    assert_eq!(code, 2);
    assert_eq!(
        text.matches("  - service_key calm-api/calm-key  (retired 7d ago")
            .count(),
        2,
        "{text}"
    );
    assert!(text.contains("2 to delete retired"), "{text}");
    let (code, _, err) = at(&["apply", "--auto-approve", "--no-progress"]);
    assert_eq!(code, 0, "{err}");
    let world = l.sim.export_world();
    assert_eq!(world.service_keys.len(), 1);
    assert_eq!(world.sm_bindings.len(), 1);
    assert!(!world.service_keys.contains_key(&old_key));
    assert!(!world.sm_bindings.contains_key(&old_binding));
    assert!(
        !world
            .sm_instances
            .values()
            .next()
            .unwrap()
            .labels
            .contains_key(labels::RETIRED_BINDINGS)
    );
    assert_eq!(at(&["plan"]).0, 0);
    assert_eq!(
        l.delivered("acme-prod", "calm-key"),
        new_prod,
        "the sink keeps the new key"
    );
}

#[test]
fn calmctl_rotate_keeps_the_old_key_when_the_new_one_gets_no_token() {
    let l = Landscape::quick(&cf_beta());
    assert_eq!(l.apply(&[]).0, 0);
    let old = l.delivered("beta", "calm-key");
    let (code, _, err) = l.run(&["rotate", "--tenant", "nope", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--tenant nope: no tenant of that name"),
        "{err}"
    );
    let (code, _, err) = l.run(&[
        "rotate",
        "--tenant",
        "beta",
        "--key",
        "nope",
        "--auto-approve",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--key nope: tenant beta has no key of that name"),
        "{err}"
    );

    // The UAA refuses the new key: it is deleted, the old one stays as it was, in the sink too.
    l.sim.set_faults(Faults {
        reject_token_prefixes: vec!["calm-key-".into()],
        ..Faults::default()
    });
    let rotate = [
        "rotate",
        "--tenant",
        "beta",
        "--auto-approve",
        "--no-progress",
    ];
    let (code, _, err) = l.run(&rotate);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("delivered, but the key does not work"),
        "{err}"
    );
    assert!(
        err.contains("the old key is kept and not retired; the new key was deleted"),
        "{err}"
    );
    let world = l.sim.export_world();
    assert_eq!(world.service_keys.len(), 1);
    let key = world.service_keys.values().next().unwrap();
    assert_eq!(key.name, "calm-key");
    assert!(
        !key.metadata.labels.contains_key(labels::RETIRED_AT),
        "untouched"
    );
    assert_eq!(
        l.delivered("beta", "calm-key"),
        old,
        "the old key is back in the sink"
    );
    assert_eq!(l.run(&["plan"]).0, 0, "nothing is left over");

    l.sim.set_faults(Faults::default());
    let (code, _, err) = l.run(&rotate);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("beta: rotate service_key calm-api/calm-key-"),
        "{err}"
    );
    let world = l.sim.export_world();
    assert_eq!(world.service_keys.len(), 2);
    let retired: Vec<_> = world
        .service_keys
        .values()
        .filter(|k| k.metadata.labels.contains_key(labels::RETIRED_AT))
        .collect();
    assert_eq!(retired.len(), 1);
    assert_eq!(retired[0].name, "calm-key");
    assert_ne!(secret(&l.delivered("beta", "calm-key")), secret(&old));
}

#[test]
fn rotating_an_instance_secret_binding_warns_that_the_secret_is_shared() {
    let yaml = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
defaults:
  runtime: service-manager
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui], credential_types: [instance-secret] }
  keys: [{ name: calm-key }]
tenants:
  - { name: gamma, subaccount: gamma }
";
    let l = Landscape::quick(yaml);
    assert_eq!(l.apply(&[]).0, 0);
    let (code, _, err) = l.run(&[
        "rotate",
        "--tenant",
        "gamma",
        "--key",
        "calm-key",
        "--auto-approve",
        "--no-progress",
        "--report",
        "report.json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: calm-api/calm-key: the new key has the same client secret"),
        "{err}"
    );
    assert!(err.contains("credential_types: [binding-secret]"), "{err}");
    let report = std::fs::read_to_string(l.path("report.json")).unwrap();
    assert!(report.contains("instance-secret"), "{report}");
    for secret in l.secrets() {
        assert!(
            !err.contains(&secret) && !report.contains(&secret),
            "a secret leaked"
        );
    }
}
