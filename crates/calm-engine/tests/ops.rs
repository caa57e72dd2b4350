//! The engine's operations against btp-sim, through the crate's API (no binary): apply converges
//! and a second plan is empty, a declined plan writes nothing, a saved plan that no longer fits is
//! refused before any write, and targeting picks what it says.

use std::collections::BTreeSet;
use std::sync::Arc;

use calm_core::plan::PlanSource;
use calm_core::{Desired, PlanOptions, SavedPlan};
use calm_engine::apply::NoopReporter;
use calm_engine::apply::lease::LeaseOptions;
use calm_engine::ops::{self, ApplyOutcome, ApplyRequest, Saved};
use calm_engine::{ApplyOptions, Connections, EngineError};
use calm_test::configs::{MIXED, cf_only};
use calm_test::{Landscape, entitled_with_space};

fn connections(l: &Landscape) -> Connections {
    Connections::new(&l.desired, l.client_config(), &l.env_lookup()).unwrap()
}

fn request(desired: &Desired) -> ApplyRequest<'_> {
    ApplyRequest {
        desired,
        saved: None,
        targets: None,
        allow_delete: false,
        rotate: BTreeSet::new(),
        enforce_parameters: false,
        offboard: BTreeSet::new(),
        options: ApplyOptions {
            parallelism: 8,
            ..ApplyOptions::default()
        },
        lease: LeaseOptions {
            settle: std::time::Duration::from_millis(50),
            ..LeaseOptions::default()
        },
    }
}

/// Requests that change something (everything but GET), counted by the simulator.
fn writes(l: &Landscape) -> u64 {
    l.sim
        .stats()
        .routes
        .iter()
        .filter(|(route, _)| !route.starts_with("GET ") && !route.contains("/oauth/token"))
        .map(|(_, n)| n)
        .sum()
}

/// The config with its delivery folder inside the landscape's folder.
fn desired_in(l: &Landscape) -> Desired {
    let mut desired = l.desired.clone();
    desired.delivery = calm_core::Delivery::Dir(l.path("credentials"));
    desired
}

fn plan_options() -> PlanOptions {
    PlanOptions {
        allow_delete: false,
        targets: None,
        now_unix: ApplyOptions::default().now_unix,
        rotate: BTreeSet::new(),
        enforce_parameters: false,
        offboard: BTreeSet::new(),
    }
}

#[test]
fn apply_converges_both_runtimes_and_a_second_plan_is_empty() {
    let l = Landscape::quick(MIXED);
    let conns = connections(&l);
    let desired = desired_in(&l);
    let outcome = l
        .runtime
        .block_on(ops::apply(
            &conns,
            request(&desired),
            |plan| !plan.is_empty(),
            Arc::new(NoopReporter),
        ))
        .unwrap();
    let ApplyOutcome::Applied(leased) = outcome else {
        panic!("the plan was approved");
    };
    assert!(leased.report.converged(), "{:?}", leased.report);
    assert_eq!(leased.unreleased, 0);
    let (_, again) = l
        .runtime
        .block_on(ops::plan(&desired, &conns, &plan_options()))
        .unwrap();
    assert!(again.is_empty(), "{:?}", again.changes);
    // Every lease was given back.
    let world = l.sim.export_world();
    assert!(
        world.subaccounts.values().all(|s| !s
            .labels
            .contains_key(calm_engine::apply::lease::LEASE_LABEL)),
        "no lease label is left"
    );
}

#[test]
fn a_declined_plan_changes_nothing() {
    let l = Landscape::quick(MIXED);
    let conns = connections(&l);
    let desired = desired_in(&l);
    let mut shown = 0;
    let outcome = l
        .runtime
        .block_on(ops::apply(
            &conns,
            request(&desired),
            |plan| {
                shown = plan.changes.len();
                false
            },
            Arc::new(NoopReporter),
        ))
        .unwrap();
    assert!(matches!(outcome, ApplyOutcome::Declined));
    assert!(shown > 0, "the plan had changes to decline");
    assert_eq!(writes(&l), 0, "{:?}", l.sim.stats().routes);
}

#[test]
fn a_saved_plan_is_refused_when_its_config_or_its_objects_changed() {
    let yaml = cf_only(&["name: beta, subaccount: beta"]);
    let l = Landscape::quick_with(&yaml, |world, _| entitled_with_space(world, "beta"));
    let conns = connections(&l);
    let desired = desired_in(&l);
    let options = plan_options();
    let (_, plan) = l
        .runtime
        .block_on(ops::plan(&desired, &conns, &options))
        .unwrap();
    let source = |sha: &str| PlanSource {
        path: "calm.yaml".into(),
        sha256: sha.into(),
    };
    let saved = |sha: &str| Saved {
        plan: SavedPlan {
            format_version: calm_core::plan::PLAN_FORMAT_VERSION,
            calmctl_version: env!("CARGO_PKG_VERSION").into(),
            created_at: options.now_unix,
            config_sha256: "made-from".into(),
            sources: vec![source("made-from")],
            allow_delete: false,
            enforce_parameters: false,
            plan: plan.clone(),
        },
        config_sha256: sha.into(),
        sources: vec![source(sha)],
        max_age_secs: 3600,
    };
    let run = |saved: Saved| {
        let mut r = request(&desired);
        r.saved = Some(saved);
        l.runtime
            .block_on(ops::apply(&conns, r, |_| true, Arc::new(NoopReporter)))
    };
    let other_config = run(saved("edited-since"));
    assert!(
        matches!(other_config, Err(EngineError::SavedPlan(ref m)) if m.contains("different calm.yaml")),
        "{:?}",
        other_config.err()
    );
    // Someone makes the instance by hand after the review: the plan's create no longer fits.
    l.hand_made("beta", &[]);
    let stale = run(saved("made-from"));
    assert!(
        matches!(stale, Err(EngineError::StalePlan { ref changes }) if changes.iter().any(|c| c.contains("calm-api"))),
        "{:?}",
        stale.err()
    );
    assert_eq!(writes(&l), 1, "only the hand-made instance was written");
}

#[test]
fn targeting_picks_tenants_by_name_and_label_and_rotation_names_their_keys() {
    let yaml = cf_only(&[
        "name: alpha, subaccount: alpha, labels: { env: prod }",
        "name: beta, subaccount: beta, labels: { env: test }",
        "name: gamma, subaccount: gamma, labels: { env: prod }",
    ]);
    let desired = calm_config::load_bytes("calm.yaml", yaml.as_bytes())
        .unwrap()
        .desired;
    let chosen = ops::select(&desired, &[], &["env=prod".into()])
        .unwrap()
        .unwrap();
    assert_eq!(
        chosen,
        BTreeSet::from(["alpha".to_owned(), "gamma".to_owned()])
    );
    assert_eq!(ops::select(&desired, &[], &[]).unwrap(), None);
    assert!(matches!(
        ops::select(&desired, &["delta".into()], &[]),
        Err(EngineError::Targets(_))
    ));
    let keys = ops::rotation_keys(&desired, &chosen, None).unwrap();
    assert_eq!(
        keys,
        BTreeSet::from([
            ("alpha".to_owned(), "calm-key".to_owned()),
            ("gamma".to_owned(), "calm-key".to_owned())
        ])
    );
    assert!(ops::rotation_keys(&desired, &chosen, Some("other")).is_err());
    assert!(ops::rotation_keys(&desired, &BTreeSet::new(), None).is_err());
}
