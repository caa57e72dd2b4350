//! Shared machinery of the fault, crash and lease tests: a config of many tenants, calmctl started
//! as a child process (so that it can be killed), and the check that the simulator's state
//! (`/_sim/state`) is exactly what the config asks for.
//!
//! The matrices are reduced by default so that CI stays short; `CALMCTL_FULL_MATRIX=1` runs the
//! sizes the robustness issue asks for (200 tenants per fault profile, 30 kill trials).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};

use btp_sim::{JobTimings, World};
use calm_core::live::labels;
use serde_json::Value;

use calm_test::Landscape;

/// Whether the full-size matrices were asked for.
pub fn full() -> bool {
    std::env::var("CALMCTL_FULL_MATRIX").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `n` tenants alternating between Cloud Foundry and Service Manager, each with an entitlement,
/// an instance and one key.
pub fn tenants_yaml(n: usize) -> String {
    calm_test::configs::alternating(n)
}

/// A landscape with short async operations.
pub fn landscape(yaml: &str, jobs: JobTimings) -> Landscape {
    let l = Landscape::new(yaml);
    l.sim.update_settings(|s| s.jobs = jobs);
    l
}

/// Job timings short enough for a quick suite.
pub fn quick_jobs() -> JobTimings {
    JobTimings {
        processing_ms: 20,
        polling_ms: 60,
        entitlement_ms: 50,
    }
}

/// `calmctl apply --auto-approve` started in the background; stderr is piped so that callers can
/// watch the progress lines.
pub fn spawn_apply(l: &Landscape, extra: &[&str]) -> Child {
    let mut cmd = l.process();
    cmd.env_remove("RUST_LOG")
        .args(["apply", "--auto-approve", "--no-progress"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("CALMCTL_MATRIX_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::piped()
        });
    cmd.spawn().expect("calmctl starts")
}

/// Runs `calmctl apply` until it exits 0, at most `max` times; returns the runs it took, or the
/// last stderr if it never converged.
pub fn apply_until_converged(l: &Landscape, extra: &[&str], max: usize) -> Result<usize, String> {
    let mut last = String::new();
    for run in 1..=max {
        let output = spawn_apply(l, extra)
            .wait_with_output()
            .expect("calmctl runs");
        if output.status.success() {
            return Ok(run);
        }
        last = String::from_utf8_lossy(&output.stderr).into_owned();
    }
    Err(last)
}

/// What the simulator holds, checked against the config: every tenant has its entitlement,
/// exactly one labelled instance and one labelled key or binding per configured key, nothing
/// labelled by calmctl exists that the config does not ask for, and every delivered credential
/// file is the live credentials of its own key. Returns the problems found (empty: converged).
pub fn check_state(l: &Landscape) -> Vec<String> {
    let state = l.sim.state_json();
    let world: World = match serde_json::from_value(state.clone()) {
        Ok(w) => w,
        Err(e) => return vec![format!("/_sim/state is not a world: {e}")],
    };
    let mut problems = Vec::new();
    // (tenant, instance name) → instance ids; (tenant, key name) → key ids.
    let mut instances: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut keys: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut owner_of_instance: BTreeMap<String, String> = BTreeMap::new();
    for i in world.service_instances.values() {
        if let Some(t) = managed(&i.metadata.labels) {
            owner_of_instance.insert(i.guid.clone(), t.clone());
            instances
                .entry((t, i.name.clone()))
                .or_default()
                .push(i.guid.clone());
        }
    }
    for i in world.sm_instances.values() {
        if let Some(t) = managed_sm(&i.labels) {
            owner_of_instance.insert(i.id.clone(), t.clone());
            instances
                .entry((t, i.name.clone()))
                .or_default()
                .push(i.id.clone());
        }
    }
    for k in world.service_keys.values() {
        if let Some(t) = managed(&k.metadata.labels) {
            let name = k.metadata.labels.get(labels::KEY).unwrap_or(&k.name);
            keys.entry((t, name.clone()))
                .or_default()
                .push(k.guid.clone());
        }
    }
    for b in world.sm_bindings.values() {
        if let Some(t) = managed_sm(&b.labels) {
            let name = b
                .labels
                .get(labels::KEY)
                .and_then(|v| v.first())
                .unwrap_or(&b.name);
            keys.entry((t, name.clone()))
                .or_default()
                .push(b.id.clone());
        }
    }
    let mut wanted_instances = BTreeSet::new();
    let mut wanted_keys = BTreeSet::new();
    for t in &l.desired.tenants {
        for i in &t.instances {
            wanted_instances.insert((t.name.clone(), i.name.clone()));
            for k in &i.keys {
                wanted_keys.insert((t.name.clone(), k.name.clone()));
            }
        }
        let entitled = world.subaccounts.values().any(|s| {
            (s.subdomain == t.subaccount || s.guid == t.subaccount)
                && s.entitlements
                    .iter()
                    .any(|a| a.service == calm_core::SERVICE_OFFERING && a.amount >= 1)
        });
        if !entitled {
            problems.push(format!("{}: no entitlement", t.name));
        }
    }
    for (what, found, wanted) in [
        ("instance", &instances, &wanted_instances),
        ("key", &keys, &wanted_keys),
    ] {
        for w in wanted {
            match found.get(w).map_or(0, Vec::len) {
                1 => {}
                0 => problems.push(format!("{}: {what} {} is missing", w.0, w.1)),
                n => problems.push(format!("{}: {n} copies of {what} {}", w.0, w.1)),
            }
        }
        for f in found.keys().filter(|f| !wanted.contains(*f)) {
            problems.push(format!(
                "{}: labelled {what} {} is not in the config",
                f.0, f.1
            ));
        }
    }
    // Credentials: each configured key's file is its own live key's credentials.
    let live = &state["credentials"];
    for ((tenant, key), ids) in &keys {
        let path = l.path(&format!("credentials/{tenant}/{key}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{tenant}: credentials of {key} were not delivered"));
            continue;
        };
        let mode = std::fs::metadata(&path).map_or(0, |m| m.permissions().mode() & 0o777);
        if mode != 0o600 {
            problems.push(format!("{tenant}: {key}.json has mode {mode:o}"));
        }
        let delivered: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let matches = ids.iter().any(|id| {
            live["service_keys"].get(id) == Some(&delivered)
                || live["sm_bindings"].get(id) == Some(&delivered)
        });
        if !matches {
            problems.push(format!(
                "{tenant}: {key}.json matches no live key of its own"
            ));
        }
    }
    if let Ok(dirs) = std::fs::read_dir(l.path("credentials")) {
        for file in dirs
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        {
            let file = file.path();
            let tenant = file
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = file
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !wanted_keys.contains(&(tenant, key)) {
                problems.push(format!("stray file {}", file.display()));
            }
        }
    }
    problems
}

fn managed(labels: &BTreeMap<String, String>) -> Option<String> {
    (labels.get(labels::MANAGED_BY).map(String::as_str) == Some(labels::MANAGED_BY_VALUE))
        .then(|| labels.get(labels::TENANT).cloned())
        .flatten()
}

fn managed_sm(labels: &BTreeMap<String, Vec<String>>) -> Option<String> {
    let first = |k: &str| labels.get(k).and_then(|v| v.first()).cloned();
    (first(labels::MANAGED_BY).as_deref() == Some(labels::MANAGED_BY_VALUE))
        .then(|| first(labels::TENANT))
        .flatten()
}

/// Tiny deterministic generator (an LCG) for kill moments and seeds.
pub fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}
