//! Secret hygiene, end to end (issue 8 part 4): `calmctl plan` and `apply` at the highest
//! verbosity (`-vvv`, `RUST_LOG=trace`): a clean apply, then faults, a failed job, failed
//! verifications and garbage answers. Every stdout, stderr, saved plan and report is searched for
//! every secret the simulator issued or accepted (passwords, client secrets, private keys, the
//! signing secret, access, refresh and id tokens). The count must be zero. Only the credential
//! files, whose job is to hold a key's secret, are left out of the search.

use std::path::Path;

use btp_sim::{ADMIN_USER, Api, Faults, Garbage, GarbageKind, JobTimings};

use crate::{stderr, stdout};
use calm_test::Landscape;
use calm_test::configs::MIXED;

const PASSWORD: &str = "pw-7Kq2-Zx9v-never-printed";

/// What one run left behind: its exit code and its two streams.
struct Run {
    code: i32,
    text: String,
}

fn run(l: &Landscape, args: &[&str]) -> Run {
    let output = l
        .calmctl()
        .arg("-vvv")
        .args(args)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        text: format!("{}\n{}", stdout(&output), stderr(&output)),
    }
}

/// Every file under `dir` except credential files, as text.
fn files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "credentials") {
                files(&path, out);
            }
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path.display().to_string(), text));
        }
    }
}

/// The pieces of a secret to look for: the whole value, and for a JWT its payload and signature
/// on their own (a cut token must not leak either; the header is the same for every token).
fn pieces(secret: &str) -> Vec<&str> {
    let parts: Vec<&str> = secret.split('.').collect();
    if parts.len() == 3 && secret.starts_with("eyJ") {
        vec![secret, parts[1], parts[2]]
    } else {
        vec![secret]
    }
}

#[test]
fn no_secret_reaches_output_plans_reports_or_logs_at_the_highest_verbosity() {
    let l = Landscape::with_world(MIXED, |world, _| world.add_user(ADMIN_USER, PASSWORD));
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 20,
            polling_ms: 60,
            entitlement_ms: 50,
        }
    });
    let mut runs = Vec::new();
    runs.push(run(&l, &["plan", "--out", "plan.json", "--format", "json"]));
    runs.push(run(
        &l,
        &["plan", "--format", "markdown", "--out-dir", "md"],
    ));
    // A clean apply of the saved plan: keys are created, delivered and verified.
    let clean = run(&l, &["apply", "--no-progress", "plan.json"]);
    assert_eq!(clean.code, 0, "{}", clean.text);
    runs.push(clean);

    // A second key whose create job fails, under the flaky profile.
    let yaml = MIXED.replace(
        "    - name: calm-key\n",
        "    - name: calm-key\n    - name: calm-key-2\n",
    );
    assert_ne!(yaml, MIXED);
    std::fs::write(l.path("calm.yaml"), yaml).unwrap();
    let mut flaky = Faults::profile("flaky").unwrap();
    flaky.fail_names = vec!["calm-key-2".into()];
    l.sim.set_faults(flaky);
    runs.push(run(
        &l,
        &[
            "apply",
            "--auto-approve",
            "--no-progress",
            "--report",
            "r1.json",
        ],
    ));

    // Garbage on the token endpoint (cut token responses, empty answers): logins and key
    // verifications fail. Then garbage on every API.
    let garbage = |kinds: Vec<GarbageKind>, rate: f64, apis: Vec<Api>| Faults {
        garbage: Some(Garbage {
            kinds,
            rate,
            apis,
            methods: Vec::new(),
        }),
        ..Faults::default()
    };
    l.sim.set_faults(garbage(
        vec![GarbageKind::TruncatedJson, GarbageKind::Empty200],
        0.2,
        vec![Api::Uaa],
    ));
    // Which requests get garbage is random, and a run whose logins fail stops before it writes
    // a report; repeat (bounded) until one run got far enough to write one.
    for attempt in 0..10 {
        let report = format!("r2-{attempt}.json");
        runs.push(run(
            &l,
            &[
                "apply",
                "--auto-approve",
                "--no-progress",
                "--refresh-credentials",
                "--report",
                &report,
            ],
        ));
        if l.dir.path().join(&report).exists() {
            break;
        }
    }
    l.sim.set_faults(garbage(
        vec![
            GarbageKind::TruncatedJson,
            GarbageKind::HtmlErrorPage,
            GarbageKind::LocationForeign,
            GarbageKind::RedirectForeign,
        ],
        0.3,
        Vec::new(),
    ));
    runs.push(run(
        &l,
        &[
            "apply",
            "--auto-approve",
            "--no-progress",
            "--report",
            "r4.json",
        ],
    ));
    runs.push(run(&l, &["plan", "--out", "plan2.json"]));
    l.sim.set_faults(Faults::default());
    runs.push(run(&l, &["plan"]));
    assert!(
        runs.iter().filter(|r| r.code == 1).count() >= 2,
        "the faults made runs fail: {:?}",
        runs.iter().map(|r| r.code).collect::<Vec<_>>()
    );
    assert!(
        runs.iter().any(|r| r.text.contains("TRACE")),
        "-vvv with RUST_LOG=trace logs at trace level"
    );

    let mut searched: Vec<(String, String)> = runs
        .into_iter()
        .enumerate()
        .map(|(n, r)| (format!("run {n} stdout+stderr"), r.text))
        .collect();
    files(l.dir.path(), &mut searched);
    assert!(searched.iter().any(|(name, _)| name.ends_with("plan.json")));
    let names: Vec<&str> = searched.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in ["plan.json", "plan-1.md", "r1.json"] {
        assert!(
            names.iter().any(|n| n.ends_with(wanted)),
            "{wanted} in {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.contains("/r2-")),
        "a report of a run under token garbage: {names:?}"
    );

    let secrets = l.sim.issued_secrets();
    assert!(secrets.iter().any(|s| s == PASSWORD));
    assert!(
        secrets.len() > 10,
        "tokens and keys were issued: {}",
        secrets.len()
    );
    let mut found = Vec::new();
    for secret in &secrets {
        for piece in pieces(secret) {
            for (name, text) in &searched {
                if text.contains(piece) {
                    found.push(format!(
                        "{name} contains a secret starting {:?}",
                        &piece[..6.min(piece.len())]
                    ));
                }
            }
        }
    }
    let bytes: usize = searched.iter().map(|(_, t)| t.len()).sum();
    eprintln!(
        "secret hygiene: {} secrets searched in {} outputs and files ({bytes} bytes): {} found",
        secrets.len(),
        searched.len(),
        found.len()
    );
    assert!(found.is_empty(), "{found:#?}");
}
