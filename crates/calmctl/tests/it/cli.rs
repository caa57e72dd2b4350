//! The command line itself: help, schema, completions, colour.

use crate::{calmctl, root, stderr, stdout};

#[test]
fn help_shows_examples_and_exit_codes() {
    let output = calmctl().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.contains("Examples:\n  calmctl validate -f calm.yaml"),
        "{text}"
    );
    assert!(text.contains("Exit codes:"), "{text}");
    let output = calmctl().args(["validate", "--help"]).output().unwrap();
    assert!(stdout(&output).contains("Examples:\n  calmctl validate\n"));
}

#[test]
fn schema_prints_the_checked_in_schema() {
    let output = calmctl().arg("schema").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let checked_in = std::fs::read_to_string(root().join("schemas/calm.schema.json")).unwrap();
    assert_eq!(stdout(&output), checked_in);
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef calmctl"),
        ("fish", "complete -c calmctl"),
    ] {
        let output = calmctl().args(["completions", shell]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(
            stdout(&output).contains(marker),
            "{shell} completions contain {marker:?}"
        );
    }
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let output = calmctl().arg("aply").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("apply") || stderr(&output).contains("unrecognized"));
}

/// Diagnostics carry no ANSI escapes when stderr is not a terminal, even without NO_COLOR.
#[test]
fn no_colour_when_stderr_is_not_a_terminal() {
    let output = calmctl()
        .env_remove("NO_COLOR")
        .args([
            "validate",
            "-f",
            "tests/configs/invalid/duplicate-tenant.yaml",
        ])
        .output()
        .unwrap();
    assert!(!stderr(&output).contains('\u{1b}'), "{}", stderr(&output));
}
