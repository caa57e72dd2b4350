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
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("apply") || stderr(&output).contains("unrecognized"));
}

/// Every failure exits 1, usage errors included: 2 means only "plan has changes", so a pipeline
/// that reads 2 as "changes" never goes on after a mistyped flag, a missing or an invalid file.
#[test]
fn every_command_fails_with_1_on_a_bad_flag_a_missing_file_and_an_invalid_file() {
    let invalid = "tests/configs/invalid/duplicate-tenant.yaml";
    for command in [
        "validate", "plan", "apply", "rotate", "offboard", "discover",
    ] {
        let cases: [&[&str]; 3] = [
            &[command, "--bogus"],
            &[command, "-f", "no-such-calm.yaml", "--tenant", "t"],
            &[command, "-f", invalid, "--tenant", "t"],
        ];
        for args in cases {
            let args: Vec<&str> = match (command, args) {
                // validate and discover take no --tenant.
                ("validate" | "discover", [c, "-f", f, ..]) => vec![c, "-f", f],
                (_, a) => a.to_vec(),
            };
            let output = calmctl().args(&args).output().unwrap();
            assert_eq!(
                output.status.code(),
                Some(1),
                "calmctl {}: {}",
                args.join(" "),
                stderr(&output)
            );
        }
    }
    for args in [
        &["schema", "--bogus"][..],
        &["completions", "bash", "--bogus"],
    ] {
        let output = calmctl().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "calmctl {}", args.join(" "));
    }
    let output = calmctl().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let output = calmctl().arg("--version").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
}

/// Each command's `--help` lists its exit codes.
#[test]
fn every_command_help_lists_its_exit_codes() {
    for command in [
        "validate",
        "plan",
        "apply",
        "rotate",
        "offboard",
        "discover",
        "schema",
        "completions",
    ] {
        let output = calmctl().args([command, "--help"]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{command}");
        let text = stdout(&output);
        assert!(
            text.contains("Exit codes:") && text.contains(" 1 "),
            "calmctl {command} --help: {text}"
        );
    }
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
