//! Two `calmctl apply` runs on the same config at once: the subaccount lease makes the second wait
//! (or refuse with `--lease-wait 0`), nothing is duplicated, and a stale lease is taken over.

use std::time::{Duration, Instant};

use btp_sim::JobTimings;

use crate::matrix;
use calm_test::Landscape;

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
    let (code, _, err) = l.apply(&["--lease-wait", "0"]);
    assert_eq!(code, 1, "{err}");
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
    let (code, _, err) = l.apply(&["--lease-wait", "0"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("(build-agent-7-4242-beef)"), "{err}");
    assert!(l.sim.export_world().service_instances.is_empty());
    // Expired: taken over, and given back at the end; other labels are kept.
    set(format!("build-agent-7-4242-beef@{}", now - 1));
    let (code, _, err) = l.apply(&["--lease-wait", "0"]);
    assert_eq!(code, 0, "{err}");
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
    let (code, _, err) = l.apply(&["--lease-wait", "0"]);
    assert_eq!(code, 1, "{err}");
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

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A pid that runs nowhere: above the largest `pid_max` Linux allows (2^22).
const GONE: u32 = 4_294_967;

fn labels_of(l: &Landscape) -> Vec<std::collections::BTreeMap<String, Vec<String>>> {
    l.sim
        .with_world(|w| w.subaccounts.values().map(|s| s.labels.clone()).collect())
}

fn apply_without_waiting(l: &Landscape, extra: &[&str]) -> (Option<i32>, String) {
    let output = l
        .calmctl()
        .args([
            "apply",
            "--auto-approve",
            "--no-progress",
            "--lease-wait",
            "0",
        ])
        .args(extra)
        .output()
        .unwrap();
    (output.status.code(), crate::stderr(&output))
}

/// Labels the subaccounts had before, and one someone sets while calmctl works (after it listed
/// the labels), are all there when it is done: every write reads the labels first and keeps
/// what it did not set.
#[test]
fn labels_of_others_are_kept_even_when_set_while_the_run_works() {
    let jobs = JobTimings {
        processing_ms: 500,
        polling_ms: 3_000,
        entitlement_ms: 1_000,
    };
    let l = matrix::landscape(&matrix::tenants_yaml(2), jobs);
    l.sim.with_world(|w| {
        for s in w.subaccounts.values_mut() {
            s.labels.insert("cost-center".into(), vec!["4711".into()]);
            s.labels
                .insert("tags".into(), vec!["green".into(), "audited".into()]);
        }
    });
    let run = matrix::spawn_apply(&l, &[]);
    wait_for_lease(&l);
    // After the lease was written, settled (2 s) and read back; before the run ends.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!leases(&l).is_empty(), "the run still works");
    l.sim.with_world(|w| {
        for s in w.subaccounts.values_mut() {
            s.labels.insert("owner".into(), vec!["team-x".into()]);
        }
    });
    let (ok, err) = finish(run);
    assert!(ok, "{err}");
    for labels in labels_of(&l) {
        assert_eq!(labels.get("cost-center"), Some(&vec!["4711".to_owned()]));
        assert_eq!(
            labels.get("tags"),
            Some(&vec!["green".to_owned(), "audited".to_owned()])
        );
        assert_eq!(
            labels.get("owner"),
            Some(&vec!["team-x".to_owned()]),
            "a label set during the run survives: {labels:?}"
        );
        assert!(!labels.contains_key(LEASE), "{labels:?}");
    }
    assert!(matrix::check_state(&l).is_empty());
}

/// A subaccount whose 10 label keys are all someone else's cannot take the lease: the run
/// refuses before changing anything and names the subaccount and its label count.
#[test]
fn a_subaccount_with_10_foreign_label_keys_is_refused_by_name() {
    let l = matrix::landscape(&matrix::tenants_yaml(2), matrix::quick_jobs());
    let guid = l.sim.with_world(|w| {
        let s = w
            .subaccounts
            .values_mut()
            .find(|s| s.subdomain == "t001")
            .unwrap();
        for i in 0..10 {
            s.labels.insert(format!("key-{i}"), vec![format!("{i}")]);
        }
        s.guid.clone()
    });
    let (code, err) = apply_without_waiting(&l, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "subaccount `t001` ({guid}) has 10 labels, the most the Accounts API allows"
        )),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(
        err.contains("help: a subaccount takes at most 10 label keys"),
        "{err}"
    );
    let world = l.sim.export_world();
    assert!(world.service_instances.is_empty() && world.sm_instances.is_empty());
    assert!(leases(&l).is_empty(), "no lease is left anywhere");
    let kept = labels_of(&l).iter().map(|labels| labels.len()).max();
    assert_eq!(kept, Some(10), "the 10 labels are untouched");
}

/// On a host name of 70 characters the lease value still fits the Accounts API's 63.
#[test]
fn the_lease_fits_63_characters_on_a_long_host_name() {
    let host = "build-agent-with-a-very-long-name.eu-central-1.compute.internal.example";
    let jobs = JobTimings {
        processing_ms: 200,
        polling_ms: 1_500,
        entitlement_ms: 500,
    };
    let l = matrix::landscape(&matrix::tenants_yaml(2), jobs);
    let run = matrix::spawn_apply(&l, &["--lease-host", host]);
    wait_for_lease(&l);
    let value = leases(&l)[0].clone();
    let (ok, err) = finish(run);
    assert!(ok, "{err}");
    assert!(value.len() <= 63, "{value} is {} long", value.len());
    assert!(value.starts_with("build-agent-with"), "{value}");
    assert!(matrix::check_state(&l).is_empty());
}

/// Issue 21: two runs that share a host name but not a PID namespace (containers, `docker
/// --network host`, CI runners) cannot see each other's pid, so a lease is only ever taken over
/// by pid from a run in the same namespace. Before, a run took over a live lease of another
/// namespace because its pid did not exist in its own, and both runs wrote at once.
#[test]
fn a_live_lease_from_another_pid_namespace_on_this_host_is_not_taken_over() {
    let l = matrix::landscape(&matrix::tenants_yaml(2), matrix::quick_jobs());
    let set = |value: String| {
        l.sim.with_world(|w| {
            for s in w.subaccounts.values_mut() {
                s.labels.insert(LEASE.into(), vec![value.clone()]);
            }
        })
    };
    let here = ["--lease-host", "ci-runner", "--lease-namespace", "aaaa1111"];
    let until = now() + 300;
    for (holder, why) in [
        (
            format!("ci-runner-{GONE}-beef.bbbb2222"),
            "another namespace",
        ),
        (
            format!("ci-runner-{GONE}-beef"),
            "no namespace (an earlier version)",
        ),
    ] {
        set(format!("{holder}@{until}"));
        let (code, err) = apply_without_waiting(&l, &here);
        assert_eq!(code, Some(1), "{why}: {err}");
        assert!(err.contains(&format!("({holder})")), "{why}: {err}");
        assert!(l.sim.export_world().service_instances.is_empty(), "{why}");
    }
    // The same namespace, and its process is gone: taken over at once.
    set(format!("ci-runner-{GONE}-beef.aaaa1111@{until}"));
    let (code, err) = apply_without_waiting(&l, &here);
    assert_eq!(code, Some(0), "{err}");
    assert!(leases(&l).is_empty());
    assert!(matrix::check_state(&l).is_empty());
}

/// The same on this machine's own host name, without any test parameter: a lease naming this
/// host and a pid that does not run here, but no PID namespace, belongs to a run this one cannot
/// judge, and counts until it expires.
#[test]
fn a_lease_naming_this_host_and_a_pid_not_running_here_counts_until_it_expires() {
    let l = matrix::landscape(&matrix::tenants_yaml(2), matrix::quick_jobs());
    let host: String = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into())
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(40)
        .collect();
    let holder = format!("{host}-{GONE}-beef");
    l.sim.with_world(|w| {
        for s in w.subaccounts.values_mut() {
            s.labels
                .insert(LEASE.into(), vec![format!("{holder}@{}", now() + 300)]);
        }
    });
    let (code, err) = apply_without_waiting(&l, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("({holder})")), "{err}");
    assert!(l.sim.export_world().service_instances.is_empty());
}
