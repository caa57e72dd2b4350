//! Credential files are 0600 in 0700 folders even under `umask 000` (issue 8 part 4). An existing
//! file with a wider mode is narrowed; an existing folder with a wider mode is refused with a
//! message that says how to fix it, and the next run after the fix delivers.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use btp_sim::JobTimings;

use crate::stderr;
use calm_test::Landscape;
use calm_test::configs::MIXED;

/// `calmctl apply` started by `sh` after `umask 000`.
fn apply_with_open_umask(l: &Landscape, extra: &[&str]) -> (i32, String) {
    let binary = assert_cmd::cargo::cargo_bin("calmctl");
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(binary)
        .args(["apply", "--auto-approve", "--no-progress"])
        .args(extra)
        .current_dir(l.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("CI");
    for (k, v) in &l.env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    (output.status.code().unwrap_or(-1), stderr(&output))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn credentials_stay_private_under_an_open_umask() {
    let l = Landscape::new(MIXED);
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 20,
            polling_ms: 60,
            entitlement_ms: 50,
        }
    });
    // A private folder holding a stale world-readable file, and a tenant folder others can read.
    let credentials = l.path("credentials");
    std::fs::create_dir_all(credentials.join("acme-prod")).unwrap();
    std::fs::create_dir_all(credentials.join("acme-test")).unwrap();
    set_mode(&credentials, 0o700);
    set_mode(&credentials.join("acme-prod"), 0o700);
    set_mode(&credentials.join("acme-test"), 0o755);
    let prod_file = credentials.join("acme-prod/calm-key.json");
    std::fs::write(&prod_file, "{}\n").unwrap();
    set_mode(&prod_file, 0o644);

    let (code, err) = apply_with_open_umask(&l, &[]);
    assert_eq!(code, 1, "the open tenant folder is refused: {err}");
    let folder = credentials.join("acme-test");
    let refusal = "credentials/acme-test can be read by group or others (mode 755); \
                   run `chmod 700 credentials/acme-test`";
    assert!(err.contains(refusal), "{err}");
    assert!(
        !folder.join("calm-key.json").exists(),
        "nothing written into it"
    );
    assert_eq!(
        mode(&prod_file),
        0o600,
        "the stale file was replaced privately"
    );
    let written = std::fs::read_to_string(&prod_file).unwrap();
    assert!(
        written.contains("clientsecret"),
        "the key's credentials were written"
    );

    // A file made readable again by hand is narrowed by a run that does not rewrite it; the
    // fixed folder gets its key.
    set_mode(&prod_file, 0o644);
    set_mode(&folder, 0o700);
    let (code, err) = apply_with_open_umask(&l, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&prod_file), 0o600);
    assert_eq!(mode(&folder.join("calm-key.json")), 0o600);

    // A fresh delivery folder under umask 000: 0700 folders, 0600 files.
    std::fs::remove_dir_all(&credentials).unwrap();
    let (code, err) = apply_with_open_umask(&l, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&credentials), 0o700);
    for tenant in ["acme-prod", "acme-test"] {
        assert_eq!(mode(&credentials.join(tenant)), 0o700, "{tenant}");
        assert_eq!(
            mode(&credentials.join(tenant).join("calm-key.json")),
            0o600,
            "{tenant}"
        );
    }
}
