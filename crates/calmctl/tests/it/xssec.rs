//! SAP's own token library accepts what calmctl delivers: `@sap/xssec` 4.15.0 from npm (installed
//! by this test into the cargo target directory and reused) fetches a client-credentials token
//! with each key `calmctl apply` delivered, one of Cloud Foundry and one of Service Manager, and
//! validates it: expiry, audience, and the RS256 signature against the keys it fetches from
//! `https://<uaa.uaadomain>/token_keys` (the simulator answers https on its port; Node trusts its
//! test CA through `NODE_EXTRA_CA_CERTS`). A copy of the token with a changed claim must be refused.
//! Script: tests/xssec_validate.js. Without node/npm the test skips, except when `CI` is set: then
//! it fails.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use calm_test::Landscape;
use calm_test::configs::MIXED;

const XSSEC: &str = "@sap/xssec@4.15.0";

fn install_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("calmctl-xssec-node")
}

fn unavailable(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "the @sap/xssec test cannot run in CI: {why}"
    );
    eprintln!("skipping the @sap/xssec test: {why}");
}

/// `node_modules` with @sap/xssec, installed once.
fn prepare() -> Option<PathBuf> {
    let dir = install_dir();
    let modules = dir.join("node_modules");
    let ready = dir.join(".xssec-4.15.0");
    if ready.exists() {
        return Some(modules);
    }
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        unavailable("node is not installed");
        return None;
    }
    std::fs::create_dir_all(&dir).ok()?;
    let installed = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(XSSEC)
        .status();
    if !installed.is_ok_and(|s| s.success()) {
        unavailable("npm install @sap/xssec@4.15.0 failed");
        return None;
    }
    std::fs::write(&ready, b"").ok()?;
    Some(modules)
}

/// The JSON lines the script printed.
fn validate(modules: &PathBuf, ca: &std::path::Path, key: &std::path::Path) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/xssec_validate.js");
    let output = Command::new("node")
        .arg(script)
        .arg(key)
        .env("NODE_PATH", modules)
        .env("NODE_EXTRA_CA_CERTS", ca)
        .output()
        .unwrap_or_else(|e| panic!("node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "@sap/xssec refused a delivered key's token:\n{stdout}\n{stderr}"
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn sap_xssec_validates_the_token_of_every_delivered_key_and_refuses_a_forged_one() {
    let Some(modules) = prepare() else {
        return;
    };
    let l = Landscape::quick(MIXED);
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let ca = l.path("sim-ca.pem");
    std::fs::write(
        &ca,
        btp_sim::ca_certificate_pem().unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap();
    let world = l.sim.export_world();
    for (tenant, subdomain) in [("acme-prod", "acme-prod"), ("acme-test", "acme-test")] {
        let key_path = l.path(&format!("credentials/{tenant}/calm-key.json"));
        let key = l.delivered(tenant, "calm-key");
        let lines = validate(&modules, &ca, &key_path);
        let ok = &lines[0];
        assert_eq!(ok["validated"], true, "{tenant}: {lines:?}");
        assert_eq!(ok["clientId"], key["uaa"]["clientid"], "{tenant}");
        assert_eq!(ok["grantType"], "client_credentials");
        let subaccount = world
            .subaccounts
            .values()
            .find(|s| s.subdomain == subdomain)
            .map(|s| s.guid.clone())
            .unwrap_or_default();
        assert_eq!(ok["zid"], subaccount.as_str(), "{tenant}: the token's zone");
        assert_eq!(ok["subaccountId"], subaccount.as_str());
        assert!(ok["serviceInstanceId"].is_string(), "{ok}");
        assert_eq!(
            lines[1]["forgedRefused"], true,
            "{tenant}: a changed claim must fail the signature check: {lines:?}"
        );
    }
}
