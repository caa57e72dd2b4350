//! The crash matrix: `calmctl apply` killed with SIGKILL at chosen points of a run, then run
//! again; every trial must end in the state a clean run gives (exactly the configured objects, no
//! duplicate, every key's credentials delivered) with nothing left to change.
//!
//! Kill points are targeted by watching the simulator's world, not guessed from time: during the
//! entitlement job, while an instance's create job runs, and between a key's creation and the
//! delivery of its file, plus some random moments. Each trial draws its point and an extra delay
//! from a seed. CI runs 6 trials; `CALMCTL_FULL_MATRIX=1` runs 30.

use std::io::Read;
use std::time::{Duration, Instant};

use btp_sim::{JobTimings, World};

use crate::matrix;
use calm_test::Landscape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    EntitlementJob,
    InstanceJob,
    KeyNotDelivered,
    Random,
}

const POINTS: [Point; 4] = [
    Point::EntitlementJob,
    Point::InstanceJob,
    Point::KeyNotDelivered,
    Point::Random,
];

fn entitlement_running(w: &World) -> bool {
    w.entitlement_jobs
        .values()
        .any(|j| j.status == "IN_PROGRESS")
}

fn instance_job_running(w: &World) -> bool {
    w.service_instances
        .values()
        .any(|i| i.last_operation.kind == "create" && i.last_operation.state == "in progress")
        || w.sm_instances.values().any(|i| !i.ready)
}

fn keys_in(w: &World) -> usize {
    w.service_keys.len() + w.sm_bindings.len()
}

fn files(l: &Landscape) -> usize {
    std::fs::read_dir(l.path("credentials"))
        .map(|dirs| {
            dirs.flatten()
                .map(|d| {
                    std::fs::read_dir(d.path()).map_or(0, |f| {
                        f.flatten()
                            .filter(|f| f.path().extension().is_some_and(|e| e == "json"))
                            .count()
                    })
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Whether the run is at `point` now.
fn reached(l: &Landscape, point: Point) -> bool {
    match point {
        Point::EntitlementJob => l.sim.with_world(|w| entitlement_running(w)),
        Point::InstanceJob => l.sim.with_world(|w| instance_job_running(w)),
        Point::KeyNotDelivered => {
            let keys = l.sim.with_world(|w| keys_in(w));
            keys > files(l)
        }
        Point::Random => true,
    }
}

fn one_trial(trial: usize, tenants: usize, seed: &mut u64) -> String {
    let point = POINTS[trial % POINTS.len()];
    let l = matrix::landscape(
        &matrix::tenants_yaml(tenants),
        JobTimings {
            processing_ms: 300,
            polling_ms: 900,
            entitlement_ms: 1_500,
        },
    );
    let extra = match point {
        // Keys are delivered within milliseconds of their creation: no extra delay.
        Point::KeyNotDelivered => 0,
        Point::Random => 100 + matrix::next(seed) % 9_000,
        _ => matrix::next(seed) % 300,
    };
    let mut child = matrix::spawn_apply(&l, &["--parallelism", "16"]);
    // Read stderr while watching: a full pipe would stop calmctl at its next progress line.
    let reader = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    let started = Instant::now();
    let mut seen = false;
    while started.elapsed() < Duration::from_secs(60) {
        if reached(&l, point) {
            seen = true;
            break;
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        seen,
        "trial {trial}: the run ended before reaching {point:?}"
    );
    std::thread::sleep(Duration::from_millis(extra));
    let at = started.elapsed();
    let (keys, delivered) = (l.sim.with_world(|w| keys_in(w)), files(&l));
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    let status = child.wait().expect("killed");
    let err = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    assert!(
        status.code().is_none(),
        "trial {trial}: calmctl finished before the kill at {point:?}:\n{err}"
    );
    let output = matrix::spawn_apply(&l, &["--parallelism", "16"])
        .wait_with_output()
        .expect("calmctl runs");
    assert!(
        output.status.success(),
        "trial {trial} ({point:?}, killed after {} ms): the next run failed:\n{}",
        at.as_millis(),
        String::from_utf8_lossy(&output.stderr)
    );
    let problems = matrix::check_state(&l);
    assert!(
        problems.is_empty(),
        "trial {trial} ({point:?}, killed after {} ms): {}",
        at.as_millis(),
        problems.join("\n")
    );
    let plan = l.calmctl().arg("plan").output().expect("plan runs");
    assert_eq!(
        plan.status.code(),
        Some(0),
        "trial {trial}: changes left after the re-run"
    );
    format!(
        "trial {trial}: killed at {point:?} after {} ms ({keys} keys, {delivered} files): converged",
        at.as_millis()
    )
}

#[test]
fn crash_matrix_sigkill_then_rerun_converges() {
    let (trials, tenants) = if matrix::full() { (30, 40) } else { (6, 16) };
    let mut seed = 20_261_123_u64;
    let started = Instant::now();
    let mut passed = 0;
    for trial in 0..trials {
        let line = one_trial(trial, tenants, &mut seed);
        eprintln!("crash matrix: {line}");
        passed += 1;
    }
    eprintln!(
        "crash matrix: {passed}/{trials} trials converged ({tenants} tenants each), {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
