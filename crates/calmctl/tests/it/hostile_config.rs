//! Issue 21, hostile configs: a delivery that cannot work, an inventory that is a FIFO or a
//! device, and an inventory exported twice into one file. Each was accepted, hung or took minutes
//! before; each is now refused or reported at once, with a bounded output.

use std::time::{Duration, Instant};

use crate::{calmctl, stderr};

const HEAD: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
defaults: { instance: { name: calm-api }, keys: [{ name: calm-key }] }
";

fn validate_text(yaml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calm.yaml");
    std::fs::write(&path, yaml).unwrap();
    let output = calmctl()
        .args(["validate", "-f"])
        .arg(&path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (output.status.code(), stderr(&output))
}

/// Finding 2: `exec: []`, `dir: ''` and a delivery with both `exec` and `dir` passed `validate`
/// (the last silently ignored `dir`), and nothing stopped a delivery command from being handed a
/// variable that holds calmctl's own password.
#[test]
fn a_delivery_that_cannot_work_is_refused() {
    let tenants = "tenants: [{ name: a, subaccount: a }]\n";
    for (delivery, says) in [
        ("{ exec: [] }", "`exec` is empty"),
        ("{ exec: [''] }", "the program of `exec` is empty"),
        ("{ dir: '' }", "`dir` is empty"),
        (
            "{ dir: ./credentials, exec: [vault-put] }",
            "`delivery` has both `dir` and `exec`",
        ),
        (
            "{ exec: [vault-put], env: [BTP_PASSWORD] }",
            "`BTP_PASSWORD` holds one of calmctl's own credentials",
        ),
        (
            "{ exec: [vault-put], env: ['VAULT ADDR'] }",
            "`VAULT ADDR` is not an environment variable name",
        ),
        (
            "{ exec: [vault-put], timeout: soon }",
            "`soon` is not a duration",
        ),
        (
            "{ dir: ./credentials, timeout: 5m }",
            "`timeout` applies to `exec` only",
        ),
    ] {
        let (code, err) = validate_text(&format!("{HEAD}delivery: {delivery}\n{tenants}"));
        assert_eq!(code, Some(1), "{delivery} must be refused:\n{err}");
        assert!(
            err.contains(says),
            "{delivery}: expected `{says}` in:\n{err}"
        );
        assert!(
            err.contains("help:"),
            "{delivery} says how to fix it:\n{err}"
        );
    }
    let (code, err) = validate_text(&format!(
        "{HEAD}delivery: {{ exec: [vault-put, secret/calm], env: [VAULT_ADDR, VAULT_TOKEN], timeout: 90s }}\n{tenants}"
    ));
    assert_eq!(code, Some(0), "{err}");
}

/// Finding 10: a FIFO as `tenants_from` hung `validate` (opening it waits for a writer), and
/// `/dev/zero` was read until memory ran out. Both are refused at once, as are folders.
#[test]
fn an_inventory_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.csv");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.csv")).unwrap();
    std::fs::create_dir(dir.path().join("folder.csv")).unwrap();
    for (file, kind) in [
        ("fifo.csv", "a FIFO"),
        ("zero.csv", "a device"),
        ("folder.csv", "a folder"),
    ] {
        let path = dir.path().join(format!("{file}.yaml"));
        std::fs::write(&path, format!("{HEAD}tenants_from: {file}\n")).unwrap();
        let started = Instant::now();
        let output = calmctl()
            .args(["validate", "-f"])
            .arg(&path)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{file}:\n{err}");
        assert!(
            err.contains(&format!("it is not a regular file ({kind})")),
            "{file}:\n{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{file} took {:?}",
            started.elapsed()
        );
    }
    // calm.yaml itself, too.
    let output = calmctl()
        .args(["validate", "-f"])
        .arg(&fifo)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is not a regular file (a FIFO)"),
        "{}",
        stderr(&output)
    );
}

/// Finding 10: an inventory exported twice into one file made `validate` report every duplicate
/// with a rendered snippet, quadratic in the file (16,000 duplicates: 52 s and 18 MB). A name is
/// now reported once with its count, after 20 names the rest are counted, and the run is quick.
#[test]
fn duplicated_tenants_are_reported_once_per_name_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let tenants = 3000;
    let mut csv = String::from("name,subaccount\n");
    for round in 0..2 {
        for n in 0..tenants {
            csv.push_str(&format!("t{n},sub-{n}\n"));
            if round == 1 && n == 0 {
                csv.push_str("t0,sub-0\n");
            }
        }
    }
    std::fs::write(dir.path().join("tenants.csv"), csv).unwrap();
    let path = dir.path().join("calm.yaml");
    std::fs::write(&path, format!("{HEAD}tenants_from: tenants.csv\n")).unwrap();
    let started = Instant::now();
    let output = calmctl()
        .args(["validate", "-f"])
        .arg(&path)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("tenant `t0` is defined 3 times"), "{err}");
    assert!(err.contains("tenant `t1` is defined twice"), "{err}");
    assert!(
        err.contains("2980 more tenant names are used more than once (the first 20 are listed)"),
        "{err}"
    );
    assert!(
        err.contains("2980 more subaccounts are used more than once"),
        "{err}"
    );
    assert_eq!(err.matches("calm::duplicate_tenant").count(), 21, "{err}");
    assert!(err.len() < 64 * 1024, "{} bytes of output", err.len());
    assert!(
        elapsed < Duration::from_secs(20),
        "validate took {elapsed:?}"
    );
}
