//! Two `calmctl apply` runs on the same config at once: the subaccount lease makes the second wait
//! (or refuse with `--lease-wait 0`), nothing is duplicated, and a stale lease is taken over.

use std::time::{Duration, Instant};

use btp_sim::JobTimings;

use crate::landscape::Landscape;
use crate::matrix;

const LEASE: &str = "calmctl.sap/lease";

fn slow_jobs() -> JobTimings {
    JobTimings {
        processing_ms: 300,
        polling_ms: 1_500,
        entitlement_ms: 1_000,
    }
}

fn leases(l: &Landscape) -> Vec<String> {
    l.sim.with_world(|w| {
        w.subaccounts
            .values()
            .filter_map(|s| s.labels.get(LEASE).and_then(|v| v.first()).cloned())
            .collect()
    })
}

fn wait_for_lease(l: &Landscape) {
    let started = Instant::now();
    while leases(l).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no lease was taken"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finish(child: std::process::Child) -> (bool, String) {
    let output = child.wait_with_output().expect("calmctl runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn two_applies_at_once_one_waits_and_nothing_is_duplicated() {
    let l = matrix::landscape(&matrix::tenants_yaml(30), slow_jobs());
    let first = matrix::spawn_apply(&l, &["--parallelism", "16"]);
    let second = matrix::spawn_apply(&l, &["--parallelism", "16"]);
    let (ok1, err1) = finish(first);
    let (ok2, err2) = finish(second);
    assert!(ok1 && ok2, "both runs succeed:\n{err1}\n---\n{err2}");
    let waited = [&err1, &err2]
        .iter()
        .filter(|e| e.contains("waiting for another calmctl run ("))
        .count();
    assert!(
        waited >= 1,
        "one run waited for the other:\n{err1}\n---\n{err2}"
    );
    let created = [&err1, &err2]
        .iter()
        .filter(|e| e.contains("create service_instance"))
        .count();
    assert_eq!(created, 1, "only one run created instances");
    let problems = matrix::check_state(&l);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(leases(&l).is_empty(), "both runs gave their leases back");
}

#[test]
fn with_lease_wait_0_the_second_run_refuses_and_names_the_holder() {
    let l = matrix::landscape(&matrix::tenants_yaml(6), slow_jobs());
    let first = matrix::spawn_apply(&l, &[]);
    wait_for_lease(&l);
    let holder = leases(&l)[0].clone();
    let holder = holder.rsplit_once('@').map(|(h, _)| h.to_owned()).unwrap();
    let output = l
        .calmctl()
        .args([
            "apply",
            "--auto-approve",
            "--no-progress",
            "--lease-wait",
            "0",
        ])
        .output()
        .unwrap();
    let err = crate::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "another calmctl run ({holder}) is applying to 6 of these subaccounts"
        )),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    let (ok, err) = finish(first);
    assert!(ok, "{err}");
    assert!(matrix::check_state(&l).is_empty());
}

#[test]
fn a_stale_lease_is_taken_over_and_a_live_one_of_another_host_is_not() {
    let l = matrix::landscape(&matrix::tenants_yaml(2), matrix::quick_jobs());
    let set = |value: String| {
        l.sim.with_world(|w| {
            for s in w.subaccounts.values_mut() {
                s.labels.insert(LEASE.into(), vec![value.clone()]);
                s.labels.insert("cost-center".into(), vec!["4711".into()]);
            }
        })
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Live, on another machine: refused.
    set(format!("build-agent-7-4242-beef@{}", now + 300));
    let output = l
        .calmctl()
        .args([
            "apply",
            "--auto-approve",
            "--no-progress",
            "--lease-wait",
            "0",
        ])
        .output()
        .unwrap();
    let err = crate::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("(build-agent-7-4242-beef)"), "{err}");
    assert!(l.sim.export_world().service_instances.is_empty());
    // Expired: taken over, and given back at the end; other labels are kept.
    set(format!("build-agent-7-4242-beef@{}", now - 1));
    let output = l
        .calmctl()
        .args([
            "apply",
            "--auto-approve",
            "--no-progress",
            "--lease-wait",
            "0",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", crate::stderr(&output));
    assert!(leases(&l).is_empty());
    let kept = l.sim.with_world(|w| {
        w.subaccounts
            .values()
            .all(|s| s.labels.get("cost-center") == Some(&vec!["4711".to_owned()]))
    });
    assert!(kept, "the subaccounts' own labels are kept");
    assert!(matrix::check_state(&l).is_empty());
}

/// With a 3 s lease, a run of several seconds renews it: another run started after the first
/// lease would have expired still finds it held.
#[test]
fn a_long_apply_renews_its_lease() {
    let jobs = JobTimings {
        processing_ms: 500,
        polling_ms: 8_000,
        entitlement_ms: 1_000,
    };
    let l = matrix::landscape(&matrix::tenants_yaml(4), jobs);
    let first = matrix::spawn_apply(&l, &["--lease-ttl", "3"]);
    wait_for_lease(&l);
    let taken = leases(&l)[0].clone();
    std::thread::sleep(Duration::from_secs(5));
    let later = leases(&l);
    assert!(!later.is_empty(), "the lease is still there");
    assert_ne!(later[0], taken, "and its expiry moved on");
    let output = l
        .calmctl()
        .args([
            "apply",
            "--auto-approve",
            "--no-progress",
            "--lease-wait",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", crate::stderr(&output));
    let (ok, err) = finish(first);
    assert!(ok, "{err}");
}

/// Two chunks (32 and 48 tenants) worked four tenants at a time, with the lease renewed three
/// times a second while subaccounts are given back one by one: the run ends, converged, and no
/// lease label is left.
#[test]
fn a_chunked_run_with_fast_renewal_gives_every_lease_back() {
    let l = matrix::landscape(&matrix::tenants_yaml(80), JobTimings::instant());
    let mut child = matrix::spawn_apply(&l, &["--parallelism", "4", "--lease-ttl", "1"]);
    // Read stderr while waiting: a full pipe would stop calmctl at its next progress line.
    let reader = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("calmctl runs") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("the run did not end within 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    assert!(status.success(), "{err}");
    let problems = matrix::check_state(&l);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        leases(&l),
        Vec::<String>::new(),
        "every lease was given back"
    );
}
