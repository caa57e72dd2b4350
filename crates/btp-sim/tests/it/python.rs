//! Third-party client test: the Python `cloudfoundry-client` 1.40.4 from PyPI runs its normal flows
//! against the simulator (script: tests/cf_python_client.py). The virtualenv lives in the cargo
//! target directory and is reused. Without python3/pip the test skips, except when `CI` is set:
//! then it fails.

use std::path::PathBuf;
use std::process::Command;

use crate::{small_world, start};

fn venv_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("btp-sim-python-venv")
}

fn unavailable(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "the third-party client test cannot run in CI: {why}"
    );
    eprintln!("skipping the cloudfoundry-client test: {why}");
}

fn prepare() -> Option<PathBuf> {
    let venv = venv_dir();
    let python = venv.join("bin/python");
    let ready = venv.join(".cloudfoundry-client-1.40.4");
    if ready.exists() {
        return Some(python);
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    if !created.is_ok_and(|s| s.success()) {
        unavailable("python3 -m venv failed");
        return None;
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "cloudfoundry-client==1.40.4"])
        .status();
    if !installed.is_ok_and(|s| s.success()) {
        unavailable("pip install cloudfoundry-client==1.40.4 failed");
        return None;
    }
    std::fs::write(&ready, b"").ok()?;
    Some(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfoundry_client_flows_work_against_the_simulator() {
    let Some(python) = tokio::task::spawn_blocking(prepare).await.ok().flatten() else {
        return;
    };
    let (mut world, sub, org) = small_world();
    world.entitle(&sub, "SAPCloudALMAPIs", "standard", 1);
    if let Some(o) = world.orgs.get_mut(&org) {
        o.name = "python-org".to_owned();
    }
    let sim = start(world).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cf_python_client.py");
    let url = sim.url().to_owned();
    let output =
        tokio::task::spawn_blocking(move || Command::new(python).arg(script).arg(url).output())
            .await
            .unwrap_or_else(|e| panic!("join: {e}"))
            .unwrap_or_else(|e| panic!("python: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cloudfoundry-client flows failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("cloudfoundry-client flows passed"),
        "{stdout}"
    );
    let stats = sim.stats();
    assert!(
        stats
            .routes
            .keys()
            .any(|r| r.contains("/v3/service_credential_bindings/{guid}/details")),
        "{stats:?}"
    );
}
