//! The calmctl binary with a clean environment, and its output as text.

use std::path::{Path, PathBuf};
use std::process::Output;

/// The workspace root: commands run there so that paths in diagnostics are short and stable.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// `calmctl` with a clean, deterministic environment, run from the workspace root.
pub fn calmctl() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("calmctl").expect("calmctl is built");
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

/// Drops the `HH:MM:SS ` prefix of progress lines.
pub fn untimed(text: &str) -> String {
    text.lines()
        .map(|line| {
            let b = line.as_bytes();
            let timed = b.len() > 9
                && b[2] == b':'
                && b[5] == b':'
                && b[8] == b' '
                && line[..8].chars().all(|c| c.is_ascii_digit() || c == ':');
            if timed { &line[9..] } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces GUIDs so that snapshots are stable.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && text.is_char_boundary(i + 36) && is_guid(&text[i..i + 36]) {
            out.push_str("[guid]");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8().max(1);
        }
    }
    out
}

fn is_guid(s: &str) -> bool {
    s.char_indices().all(|(i, c)| {
        if [8, 13, 18, 23].contains(&i) {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}
