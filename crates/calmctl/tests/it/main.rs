//! calmctl's integration tests: the binary, driven as a user drives it. One test binary for the
//! whole crate keeps link time down on small machines.

mod adopt;
mod apply;
mod cli;
mod crash;
mod discover;
mod faults;
mod garbage;
mod interrupt;
mod inventory;
mod landscape;
mod lease;
mod matrix;
mod plan;
mod plan_scenarios;
mod roles;
mod rotate;
mod secrets;
mod umask;
mod validate;

use std::path::{Path, PathBuf};
use std::process::Output;

/// The workspace root: commands run there so that paths in diagnostics are short and stable.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `calmctl` with a clean, deterministic environment.
pub fn calmctl() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("calmctl").unwrap();
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
    cmd
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
