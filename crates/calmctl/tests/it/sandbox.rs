//! The built-in sandbox keeps its world between runs in `--sandbox-state`, a file holding the
//! simulated secrets: mode 0600, also when an older file had another mode.

use std::os::unix::fs::PermissionsExt;

use crate::{calmctl, root, stderr};

#[test]
fn sandbox_state_is_written_0600_and_kept_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("examples/quickstart.yaml");
    let config = config.to_str().unwrap();
    let state = dir.path().join("sandbox.json");
    let run = |args: &[&str]| {
        let o = calmctl()
            .current_dir(dir.path())
            .env_remove("CI")
            .args(args)
            .args(["--sandbox", "--sandbox-state", "sandbox.json", "-f", config])
            .output()
            .unwrap();
        (o.status.code().unwrap_or(-1), stderr(&o))
    };
    let (code, err) = run(&["apply", "--auto-approve", "--no-progress"]);
    assert_eq!(code, 0, "{err}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o600);
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = run(&["plan"]);
    assert_eq!(code, 0, "the saved world is converged: {err}");
    assert_eq!(mode(&state), 0o600, "an older file is narrowed");
}
