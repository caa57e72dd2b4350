//! Issue 21, hostile servers: one that echoes the credentials it was sent (UAA
//! `error_description`, CF `detail`, Accounts `message`, Service Manager `description`) with
//! escape sequences, and one whose job stays in `PROCESSING`. Nothing echoed reaches a terminal,
//! a log or a report; Ctrl-C ends the wait at once.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use btp_sim::{ADMIN_USER, Api, Faults, Garbage, GarbageKind, JobTimings};

use calm_test::configs::MIXED;
use calm_test::{Landscape, stderr, stdout};
const PASSWORD: &str = "pw-echo-5Hq8-Tz2m-never-shown";

/// Every JWT-looking run of characters in `text`: `eyJ` and at least 16 base64url characters.
fn jwts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(tail.len());
        if len >= 19 {
            out.push(tail[..len.min(24)].to_owned());
        }
        rest = &tail[3..];
    }
    out
}

fn echo(apis: &[Api], rate: f64, methods: &[&str]) -> Faults {
    Faults {
        garbage: Some(Garbage {
            kinds: vec![GarbageKind::EchoCredentials],
            rate,
            apis: apis.to_vec(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
        }),
        ..Faults::default()
    }
}

/// Finding 3: UAA's `error_description` and CF's `detail` went to stderr and into `--report`
/// unredacted (a password, a Basic header holding the Cloud Management secret, a bearer token),
/// and a server's escape sequences reached the terminal. Runs against a server that echoes, at
/// the highest verbosity: 0 hits of the password, the Cloud Management secret or any JWT in
/// every stderr, log and report, and no escape sequence.
#[test]
fn echoed_credentials_never_reach_stderr_logs_or_reports() {
    let l = Landscape::quick_with(MIXED, |world, _| world.add_user(ADMIN_USER, PASSWORD));
    let cis = l.sim.cis_key("acme-ga").unwrap();
    let cis_secret = cis["uaa"]["clientsecret"].as_str().unwrap().to_owned();
    assert!(cis_secret.len() > 8);
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut run = |name: &str, faults: Faults, args: &[&str]| {
        l.sim.set_faults(faults);
        let output = l
            .calmctl()
            .arg("-vvv")
            .args(args)
            .env("RUST_LOG", "trace")
            .timeout(Duration::from_secs(180))
            .output()
            .unwrap();
        let text = format!("{}\n{}", stdout(&output), stderr(&output));
        outputs.push((name.to_owned(), text));
        output.status.code()
    };
    // The token endpoint echoes the password grant and the Cloud Management client's Basic
    // header; Cloud Foundry echoes the bearer token on reads (the plan fails); Accounts,
    // Entitlements and Service Manager echo on reads, then on writes (the apply's report holds
    // the echo); Cloud Foundry on writes; then a third of every API's answers, through whole
    // applies with reports.
    let apply = ["apply", "--auto-approve", "--no-progress", "--report"];
    let uaa = run("uaa", echo(&[Api::Uaa], 1.0, &[]), &["plan"]);
    let cf_reads = run("cf reads", echo(&[Api::Cf], 1.0, &["GET"]), &["plan"]);
    let btp = run(
        "btp",
        echo(
            &[Api::Accounts, Api::Entitlements, Api::ServiceManager],
            1.0,
            &[],
        ),
        &["plan"],
    );
    let writes = ["POST", "PUT", "PATCH"];
    run(
        "btp writes",
        echo(&[Api::Entitlements, Api::ServiceManager], 1.0, &writes),
        &[&apply[..], &["btp.json"]].concat(),
    );
    let cf = run(
        "cf writes",
        echo(&[Api::Cf], 1.0, &["POST"]),
        &[&apply[..], &["cf.json"]].concat(),
    );
    for n in 0..3 {
        run(
            &format!("mixed {n}"),
            echo(&[], 0.3, &[]),
            &[
                "apply",
                "--auto-approve",
                "--no-progress",
                "--report",
                &format!("mixed-{n}.json"),
            ],
        );
    }
    assert_eq!(
        (uaa, cf_reads, cf, btp),
        (Some(1), Some(1), Some(1), Some(1)),
        "the echoes fail those runs"
    );
    for entry in std::fs::read_dir(l.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            outputs.push((path.display().to_string(), text));
        }
    }
    let mut hits = Vec::new();
    for (name, text) in &outputs {
        for (what, secret) in [
            ("password", PASSWORD),
            ("Cloud Management secret", &cis_secret),
        ] {
            if text.contains(secret) {
                hits.push(format!("{name}: the {what}"));
            }
        }
        for jwt in jwts(text) {
            hits.push(format!("{name}: a JWT {jwt}…"));
        }
        for control in ['\u{1b}', '\r', '\u{7}'] {
            if text.contains(control) {
                hits.push(format!("{name}: control character {control:?}"));
            }
        }
    }
    eprintln!(
        "echo hygiene: {} outputs and reports searched, {} hits",
        outputs.len(),
        hits.len()
    );
    assert!(hits.is_empty(), "{hits:#?}");
    // The echoes were shown, redacted: the test is not vacuous.
    let all: String = outputs.iter().map(|(_, t)| t.as_str()).collect();
    for shown in ["unauthorized", "CF-InvalidAuthToken", "[REDACTED]", "TRACE"] {
        assert!(all.contains(shown), "`{shown}` in the output");
    }
    for report in ["cf.json", "btp.json"] {
        let (_, text) = outputs
            .iter()
            .find(|(n, _)| n.ends_with(report))
            .unwrap_or_else(|| panic!("{report} was written"));
        assert!(
            text.contains("[REDACTED]"),
            "{report} holds a redacted echo: {text}"
        );
    }
}

/// Finding 8: a job stuck in `PROCESSING` kept an interrupted apply waiting until the 30-minute
/// operation bound. Ctrl-C now ends the wait at once: the tenant is pending, the report is
/// written and the lease is given back.
#[test]
fn ctrl_c_ends_the_wait_on_a_stuck_job_at_once() {
    let l = Landscape::new(&calm_test::configs::cf_beta());
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 3_600_000,
            polling_ms: 3_600_000,
            entitlement_ms: 50,
        }
    });
    let mut child = l
        .process()
        .args([
            "-v",
            "apply",
            "--auto-approve",
            "--no-progress",
            "--report",
            "report.json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let stuck = line.contains("PROCESSING");
        seen.push(line);
        if stuck {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("PROCESSING")),
        "the instance's job is waited on:\n{}",
        seen.join("\n")
    );
    let interrupted = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    // The rest of stderr, read aside, so that a run that hangs fails the test instead of
    // stalling it.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if interrupted.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Ctrl-C did not end the run within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let waited = interrupted.elapsed();
    seen.extend(rest.join().unwrap());
    let err = seen.join("\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        waited < Duration::from_secs(10),
        "Ctrl-C took {waited:?}:\n{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true, "{report}");
    let tenant = &report["tenants"][0];
    assert_eq!(tenant["status"], "pending", "{report}");
    assert!(
        tenant["remaining"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("create service_instance")),
        "{report}"
    );
    let leases = l.sim.with_world(|w| {
        w.subaccounts
            .values()
            .filter(|s| s.labels.keys().any(|k| k.contains("lease")))
            .count()
    });
    assert_eq!(leases, 0, "the lease was given back:\n{err}");
}
