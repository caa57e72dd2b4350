//! Hostile answers through the CLI (issue 8 part 3): `plan` and `apply` render a clear error that
//! names the API, host and status, exit 1, print no secret, and a clean re-run converges without
//! a duplicate.

use btp_sim::{Api, Faults, Garbage, GarbageKind, JobTimings};

use crate::{stderr, stdout};
use calm_test::configs::cf_beta;
use calm_test::{Landscape, scrub};

fn run(l: &Landscape, args: &[&str]) -> (i32, String, String) {
    let output = l.calmctl().args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

/// Replaces the simulator's port and the clock of progress lines.
fn stable(l: &Landscape, text: &str) -> String {
    let host = l.sim.url().trim_start_matches("http://");
    let text = scrub(text).replace(host, "127.0.0.1:[port]");
    text.lines()
        .map(|line| {
            let b = line.as_bytes();
            let timed = b.len() > 9 && b[2] == b':' && b[5] == b':' && b[8] == b' ';
            if timed { &line[9..] } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn garbage(l: &Landscape, kind: GarbageKind, method: &str) {
    l.sim.set_faults(Faults {
        garbage: Some(Garbage {
            kinds: vec![kind],
            rate: 1.0,
            apis: vec![Api::Cf],
            methods: vec![method.to_owned()],
        }),
        ..Faults::default()
    });
}

fn assert_no_secret(l: &Landscape, text: &str) {
    for secret in l.sim.issued_secrets() {
        assert!(!text.contains(&secret), "a secret reached the output");
    }
}

#[test]
fn plan_and_apply_name_host_and_status_of_garbage_and_a_clean_rerun_converges() {
    let l = Landscape::new(&cf_beta());
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 20,
            polling_ms: 60,
            entitlement_ms: 50,
        }
    });

    garbage(&l, GarbageKind::RedirectForeign, "GET");
    let (code, out, err) = run(&l, &["plan"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "", "no plan on stdout");
    assert_no_secret(&l, &err);
    insta::assert_snapshot!("garbage_plan_redirect", stable(&l, &err));

    garbage(&l, GarbageKind::LocationForeign, "POST");
    let (code, out, err) = run(&l, &["apply", "--auto-approve", "--no-progress"]);
    assert_eq!(code, 1, "{err}");
    assert_no_secret(&l, &format!("{out}{err}"));
    assert!(err.contains("evil.example.com"), "{err}");
    insta::assert_snapshot!("garbage_apply_foreign_location", stable(&l, &err));

    l.sim.set_faults(Faults::default());
    let (code, _, err) = run(&l, &["apply", "--auto-approve", "--no-progress"]);
    assert_eq!(code, 0, "{err}");
    let world = l.sim.export_world();
    assert_eq!(world.service_instances.len(), 1, "no duplicate instance");
    assert_eq!(world.service_keys.len(), 1, "no duplicate key");
    assert!(l.path("credentials/beta/calm-key.json").exists());
    let (code, _, err) = run(&l, &["plan"]);
    assert_eq!(code, 0, "converged: {err}");
}
