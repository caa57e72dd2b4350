//! Issue 21, deliveries: an `exec` sink that leaks calmctl's secrets or hangs, a delivery that
//! fails, two instances whose keys share a name, and a key re-created by hand. Each lost or
//! exposed a credential before.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use calm_btp::cf::{Metadata, NewServiceKey, ServiceCredentialBindingFilter};
use calm_test::Landscape;
use calm_test::configs::{ACCOUNT, cf_beta};
use serde_json::Value;

/// `cf_beta` delivered through `exec: [sh, <script>]`, with `extra` delivery fields.
fn with_exec(l: &Landscape, script: &str, extra: &str) -> std::path::PathBuf {
    let path = l.path("sink.sh");
    std::fs::write(&path, script).unwrap();
    let yaml = format!(
        "{}delivery: {{ exec: [sh, '{}']{extra} }}\n",
        cf_beta(),
        path.display()
    );
    std::fs::write(l.path("calm.yaml"), yaml).unwrap();
    path
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to `limit` for `file` to appear; returns its trimmed content.
fn wait_for(file: &Path, limit: Duration) -> String {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(text) = std::fs::read_to_string(file)
            && !text.trim().is_empty()
        {
            return text.trim().to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} did not appear", file.display());
}

/// Waits for `child` at most `limit`; kills it and fails the test if it is still running then (a
/// hang must fail the test, not stall the suite).
fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("calmctl still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A sink that starts a helper in the background, writes both pids and hangs.
const HANGING: &str = "sleep 600 &\necho $! > helper.pid\necho $$ > sink.pid\nwait\n";

/// Finding 1: a delivery that failed once was never retried: the next apply said complete and
/// `plan` said no changes while nothing had been delivered. Now the failure is recorded on the
/// key: `plan` shows it due, and the next apply delivers it.
#[test]
fn a_failed_delivery_is_due_in_the_next_plan_and_delivered_by_the_next_apply() {
    let l = Landscape::quick(&cf_beta());
    with_exec(
        &l,
        "if [ ! -e tried ]; then : > tried; echo 'vault unavailable' >&2; exit 3; fi\ncat > delivered.json\n",
        "",
    );
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("exited with exit status: 3"), "{err}");
    let (code, plan, err) = l.run(&["plan"]);
    assert_eq!(code, 2, "the key is due: {plan}{err}");
    assert!(
        plan.contains("~ deliver service_key calm-api/calm-key  (last delivery failed)"),
        "{plan}"
    );
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let delivered: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("delivered.json")).unwrap()).unwrap();
    assert!(
        l.live_credentials().contains(&delivered),
        "the live key's credentials"
    );
    assert_eq!(l.run(&["plan"]).0, 0, "delivered and recorded");
}

/// Finding 2: the sink inherited calmctl's environment (BTP_PASSWORD, the whole Cloud Management
/// key). It now gets PATH, HOME, its CALMCTL_* variables and what `delivery.env` names, nothing
/// else.
#[test]
fn the_sink_sees_none_of_calmctls_credentials() {
    let mut l = Landscape::quick(&cf_beta());
    l.env
        .push(("VAULT_ADDR".into(), "https://vault.example".into()));
    l.env
        .push(("UNNAMED_SECRET".into(), "not-for-the-sink".into()));
    // Without `env`: none of calmctl's credentials.
    with_exec(&l, "env > sink.env\ncat > /dev/null\n", "");
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let env = std::fs::read_to_string(l.path("sink.env")).unwrap();
    for (name, value) in &l.env {
        assert!(
            !env.contains(value.as_str()),
            "the value of {name} reached the sink"
        );
    }
    // With `env: [VAULT_ADDR]`: that one too, and still nothing else.
    with_exec(
        &l,
        "env > sink.env\ncat > /dev/null\n",
        ", env: [VAULT_ADDR]",
    );
    let (code, _, err) = l.apply(&["--refresh-credentials"]);
    assert_eq!(code, 0, "{err}");
    let env = std::fs::read_to_string(l.path("sink.env")).unwrap();
    let names: Vec<&str> = env
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| *name != "PWD" && *name != "SHLVL" && *name != "_")
        .collect();
    for wanted in [
        "PATH",
        "CALMCTL_TENANT",
        "CALMCTL_INSTANCE",
        "CALMCTL_KEY",
        "VAULT_ADDR",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    for (name, value) in &l.env {
        if name != "VAULT_ADDR" {
            assert!(
                !env.contains(value.as_str()),
                "the value of {name} reached the sink"
            );
        }
    }
    assert!(
        names
            .iter()
            .all(|n| ["PATH", "HOME", "VAULT_ADDR"].contains(n) || n.starts_with("CALMCTL_")),
        "{names:?}"
    );
    assert!(env.contains("CALMCTL_TENANT=beta") && env.contains("CALMCTL_KEY=calm-key"));
}

/// Finding 2: a hanging sink stalled apply for ever. After `delivery.timeout` it is killed with
/// everything it started, the delivery fails, and the next plan shows the key due.
#[test]
fn a_hanging_sink_is_killed_with_its_children_after_the_timeout() {
    let l = Landscape::quick(&cf_beta());
    with_exec(&l, HANGING, ", timeout: 2s");
    let output = l
        .calmctl()
        .args(["apply", "--auto-approve", "--no-progress"])
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    let err = calm_test::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("did not finish within 2 s"), "{err}");
    for pid in ["sink.pid", "helper.pid"] {
        let pid = wait_for(&l.path(pid), Duration::from_secs(1));
        assert!(gone(&pid), "{pid} is still running");
    }
    let (code, plan, _) = l.run(&["plan"]);
    assert_eq!(code, 2);
    assert!(plan.contains("(last delivery failed)"), "{plan}");
}

/// Finding 2: Ctrl-C was ignored while a sink hung. Now the sink and its children are killed at
/// once, the tenant is pending and the report written.
#[test]
fn ctrl_c_kills_a_hanging_sink_at_once() {
    let l = Landscape::quick(&cf_beta());
    with_exec(&l, HANGING, "");
    let mut child = l
        .process()
        .args([
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
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(err)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let sink = wait_for(&l.path("sink.pid"), Duration::from_secs(60));
    let helper = wait_for(&l.path("helper.pid"), Duration::from_secs(5));
    let interrupted = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let code = wait_at_most(&mut child, Duration::from_secs(20));
    let lines = reader.join().unwrap().join("\n");
    assert!(interrupted.elapsed() < Duration::from_secs(10), "{lines}");
    assert_eq!(code, Some(1), "{lines}");
    assert!(gone(&sink) && gone(&helper), "the sink's group was killed");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true, "{report}");
    assert_eq!(report["tenants"][0]["status"], "pending", "{report}");
}

/// Finding 2: kill -9 of calmctl left the sink running. The guard calmctl runs it under sees
/// calmctl go and kills the sink's group.
#[test]
fn kill_9_of_calmctl_takes_the_sink_with_it() {
    let l = Landscape::quick(&cf_beta());
    with_exec(&l, HANGING, "");
    let mut child = l
        .process()
        .args(["apply", "--auto-approve", "--no-progress"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sink = wait_for(&l.path("sink.pid"), Duration::from_secs(60));
    let helper = wait_for(&l.path("helper.pid"), Duration::from_secs(5));
    child.kill().unwrap();
    child.wait().unwrap();
    let started = Instant::now();
    while !(gone(&sink) && gone(&helper)) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone(&sink) && gone(&helper), "orphaned sink processes");
}

/// Finding 4: two instances of one tenant with the same key name shared one credentials file:
/// one secret overwrote the other, and the report said both were delivered. Each key now has its
/// own file (`<tenant>/<instance>/<key>.json`).
#[test]
fn keys_of_one_name_in_two_instances_get_a_file_each() {
    let yaml = format!(
        "{ACCOUNT}defaults:\n  runtime: cloudfoundry\n  space: calm\n  keys: [{{ name: calm-key }}]\ntenants:\n  - {{ name: beta, subaccount: beta, instances: [{{ name: calm-a }}, {{ name: calm-b }}] }}\n"
    );
    let l = Landscape::quick(&yaml);
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let read = |instance: &str| -> Value {
        let path = l.path(&format!("credentials/beta/{instance}/calm-key.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (a, b) = (read("calm-a"), read("calm-b"));
    assert_ne!(a, b, "two keys, two secrets");
    let live = l.live_credentials();
    assert!(live.contains(&a) && live.contains(&b));
    assert!(!l.path("credentials/beta/calm-key.json").exists());
    assert_eq!(l.run(&["plan"]).0, 0);
}

/// Finding 5: a key deleted and re-created by hand under the same name was adopted while the
/// credentials file kept the dead key's secret. An adopted key is now delivered like a new one.
#[test]
fn a_key_recreated_by_hand_is_adopted_and_delivered_again() {
    let l = Landscape::quick(&cf_beta());
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let dead = l.delivered("beta", "calm-key");
    let cf = l.cf();
    l.runtime.block_on(async {
        let keys = cf
            .list_service_keys(&ServiceCredentialBindingFilter {
                names: vec!["calm-key".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let old = &keys[0];
        cf.delete_service_credential_binding(&old.guid)
            .await
            .unwrap();
        cf.create_service_key(&NewServiceKey {
            name: "calm-key".into(),
            service_instance_guid: old.service_instance_guid.clone(),
            parameters: None,
            metadata: Metadata::default(),
        })
        .await
        .unwrap();
    });
    let (code, plan, _) = l.run(&["plan"]);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("= service_key calm-api/calm-key"), "{plan}");
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let now = l.delivered("beta", "calm-key");
    assert_ne!(now, dead, "the file no longer holds the dead key's secret");
    assert!(
        l.live_credentials().contains(&now),
        "it holds the new key's"
    );
    let (code, plan, err) = l.run(&["plan"]);
    assert_eq!(code, 0, "{plan}{err}");
}
