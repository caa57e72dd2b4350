//! The fault matrix: many tenants of both runtimes applied under each fault profile of the
//! simulator, `calmctl apply` repeated until it exits 0 (at most 3 runs), then the simulator's
//! state checked object by object (see [`matrix::check_state`]).
//!
//! CI runs 40 tenants per profile; `CALMCTL_FULL_MATRIX=1` runs 200.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use btp_sim::{Faults, JobTimings, Storm};

use crate::matrix;

const MAX_RUNS: usize = 3;

fn tenants() -> usize {
    if matrix::full() { 200 } else { 40 }
}

/// Applies under `faults` until converged and checks the state; returns the runs it took.
fn survive(
    profile: &str,
    faults: Faults,
    jobs: JobTimings,
    during: impl FnOnce(&Arc<AtomicBool>, &btp_sim::SimHandle) + Send,
) -> usize {
    let n = tenants();
    let l = matrix::landscape(&matrix::tenants_yaml(n), jobs);
    l.sim.set_faults(faults);
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let runs = std::thread::scope(|scope| {
        scope.spawn(|| during(&done, &l.sim));
        let runs = matrix::apply_until_converged(&l, &["--parallelism", "40"], MAX_RUNS);
        done.store(true, Ordering::SeqCst);
        runs
    });
    let stats = l.sim.stats();
    let runs = runs.unwrap_or_else(|err| {
        panic!(
            "{profile}: not converged after {MAX_RUNS} runs: {}\nlast stderr:\n{err}",
            matrix::check_state(&l).join("\n")
        )
    });
    let problems = matrix::check_state(&l);
    assert!(
        problems.is_empty(),
        "{profile}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "fault matrix: {profile}: {n} tenants converged in {runs} run(s), {:.0} s, {} requests ({} tokens), {} throttled, {} other faults",
        started.elapsed().as_secs_f64(),
        stats.total,
        stats.routes.get("POST /oauth/token").copied().unwrap_or(0),
        stats.throttled,
        stats.faults
    );
    runs
}

fn nothing(_: &Arc<AtomicBool>, _: &btp_sim::SimHandle) {}

#[test]
fn fault_matrix_flaky() {
    let faults = Faults::profile("flaky").unwrap();
    survive("flaky", faults, matrix::quick_jobs(), nothing);
}

#[test]
fn fault_matrix_chaos() {
    let faults = Faults::profile("chaos").unwrap();
    survive("chaos", faults, matrix::quick_jobs(), nothing);
}

/// Storms of 429s on every API while calmctl runs: for two seconds every request is refused, then
/// four seconds of calm, then the next storm. (A storm counted in requests would last for ever
/// against a client that slows down, as calmctl's limiter does.)
#[test]
fn fault_matrix_429_storms() {
    survive(
        "429 storms",
        Faults::default(),
        matrix::quick_jobs(),
        |done, sim| {
            let mut storms = 0;
            while !done.load(Ordering::SeqCst) {
                sim.update_settings(|s| {
                    s.faults.storm = Some(Storm {
                        apis: Vec::new(),
                        requests: u32::MAX,
                    })
                });
                storms += 1;
                std::thread::sleep(Duration::from_secs(2));
                sim.update_settings(|s| s.faults.storm = None);
                for _ in 0..40 {
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            eprintln!("fault matrix: 429 storms: {storms} storm(s) of 2 s raised");
        },
    );
}

/// Tokens live 30 s; jobs are slow enough that a run outlives them (the token count printed
/// shows the renewals).
#[test]
fn fault_matrix_tokens_expire_every_30_s() {
    let faults = Faults {
        token_ttl_secs: Some(30),
        ..Faults::default()
    };
    let jobs = JobTimings {
        processing_ms: 2_000,
        polling_ms: 12_000,
        entitlement_ms: 5_000,
    };
    survive("tokens expiring every 30 s", faults, jobs, nothing);
}

#[test]
fn fault_matrix_20_percent_of_jobs_fail() {
    let faults = Faults {
        job_failure_rate: 0.2,
        ..Faults::default()
    };
    survive("20% of jobs fail", faults, matrix::quick_jobs(), nothing);
}
