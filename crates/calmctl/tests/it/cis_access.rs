//! calmctl with a Cloud Management key that may only read: `plan` works as usual; `apply` stops
//! before its first write with a message naming the plan the key needs (`central`), and the
//! simulator sees no write at all. The same for a password-grant key whose user holds only the
//! Global Account Viewer role collection. A client-credentials key of plan `central` applies.

use btp_sim::{CisGrantType, CisPlan, StatsSnapshot};
use serde_json::Value;

use calm_test::Landscape;
use calm_test::configs::MIXED;

/// Requests that could change something: every method but GET, except token requests.
fn writes(stats: &StatsSnapshot) -> u64 {
    stats
        .routes
        .iter()
        .filter(|(route, _)| !route.starts_with("GET ") && route.as_str() != "POST /oauth/token")
        .map(|(_, n)| n)
        .sum()
}

/// Points the config's `ACME_CIS_KEY` at `key`.
fn use_key(l: &mut Landscape, key: &Value) {
    for (name, value) in &mut l.env {
        if name == "ACME_CIS_KEY" {
            *value = key.to_string();
        }
    }
}

/// `plan` shows the changes (exit 2); `apply` refuses (exit 1) with `expected` in its message,
/// and neither wrote anything.
fn plans_but_refuses_to_apply(l: &Landscape, expected: &[&str]) {
    let before = l.sim.export_world();
    let (code, out, err) = l.run(&["plan"]);
    assert_eq!(code, 2, "plan works with a read-only key: {err}");
    assert!(
        out.contains("create") || err.contains("create"),
        "{out}\n{err}"
    );
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 1, "{err}");
    eprintln!("APPLY STDERR:\n{err}");
    for text in expected {
        assert!(err.contains(text), "missing `{text}` in:\n{err}");
    }
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(writes(&l.sim.stats()), 0, "{:?}", l.sim.stats().routes);
    assert_eq!(l.sim.export_world(), before, "the world is unchanged");
    assert!(!l.path("credentials").exists(), "nothing was delivered");
    for secret in l.secrets() {
        assert!(!err.contains(&secret), "a secret reached stderr");
    }
}

#[test]
fn a_central_viewer_key_plans_but_apply_stops_before_any_write() {
    let mut l = Landscape::quick(MIXED);
    let key = l
        .sim
        .new_cis_key(
            "acme-ga",
            CisPlan::CentralViewer,
            CisGrantType::ClientCredentials,
        )
        .unwrap();
    use_key(&mut l, &key);
    plans_but_refuses_to_apply(
        &l,
        &[
            "account `acme`: its cis key may only read",
            "global-account.subaccount.update",
            "global-account.entitlement.subaccount.update",
            "plan `central`",
            "help: create a key of the `cis` service with plan `central`",
        ],
    );
}

#[test]
fn a_global_account_viewer_user_plans_but_apply_stops_before_any_write() {
    let l = Landscape::with_world(MIXED, |world, _| {
        let ga = world.global_accounts.keys().next().cloned().unwrap();
        world.add_global_account_viewer(&ga, btp_sim::ADMIN_USER);
    });
    plans_but_refuses_to_apply(
        &l,
        &[
            "the user of its cis key may only read in the global account",
            "plan `central` and a user with the Global Account Administrator role collection",
        ],
    );
}

#[test]
fn a_central_client_credentials_key_applies() {
    let mut l = Landscape::quick(MIXED);
    let key = l
        .sim
        .new_cis_key("acme-ga", CisPlan::Central, CisGrantType::ClientCredentials)
        .unwrap();
    use_key(&mut l, &key);
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    crate::apply::assert_converged(&l, 2);
}
