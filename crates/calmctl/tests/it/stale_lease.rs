//! A run killed with SIGKILL leaves its lease labels behind; the next apply removes them, even
//! one with nothing to change, and `plan` lists them in the meantime with their holder.

use std::process::Stdio;
use std::time::{Duration, Instant};

use btp_sim::JobTimings;
use calm_engine::apply::lease::LEASE_LABEL;
use calm_test::Landscape;

use crate::matrix;

fn leased(l: &Landscape) -> usize {
    l.sim.with_world(|w| {
        w.subaccounts
            .values()
            .filter(|s| s.labels.contains_key(LEASE_LABEL))
            .count()
    })
}

#[test]
fn a_killed_runs_leases_are_listed_by_plan_and_removed_by_an_apply_with_nothing_to_change() {
    // Eight tenants onboarded; eight more being onboarded when the run is killed.
    let l = matrix::landscape(&matrix::tenants_yaml(16), matrix::quick_jobs());
    let first = matrix::tenants_yaml(8);
    std::fs::write(l.path("calm.yaml"), &first).unwrap();
    assert_eq!(l.apply(&[]).0, 0);
    std::fs::write(l.path("calm.yaml"), matrix::tenants_yaml(16)).unwrap();
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 2_000,
            polling_ms: 4_000,
            entitlement_ms: 300,
        }
    });
    let before = l
        .sim
        .with_world(|w| w.service_instances.len() + w.sm_instances.len());
    let mut child = l
        .process()
        .env_remove("RUST_LOG")
        .args(["apply", "--auto-approve", "--no-progress"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("calmctl starts");
    let started = Instant::now();
    let working = || {
        l.sim
            .with_world(|w| w.service_instances.len() + w.sm_instances.len() > before)
    };
    while !(leased(&l) > 0 && working()) && started.elapsed() < Duration::from_secs(60) {
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("killed");
    assert!(status.code().is_none(), "killed mid-apply");
    let left = leased(&l);
    assert!(left > 0, "the killed run left its leases");

    let (_, _, err) = l.run(&["plan"]);
    assert!(
        err.contains(&format!("Leases held on {left} subaccount(s)")),
        "{err}"
    );
    assert!(err.contains("its run is gone"), "{err}");

    // Nothing to change: the eight tenants that were onboarded before.
    std::fs::write(l.path("calm.yaml"), &first).unwrap();
    assert_eq!(l.run(&["plan"]).0, 0, "nothing to change");
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(leased(&l), 0, "no lease label is left");
}
