//! `calmctl validate` on valid, broken and hostile files: exit codes and the exact diagnostics.

use std::fs;

use crate::{calmctl, root, stderr};

/// Every file in tests/configs/invalid gives exit 1 and a diagnostic with a location; the
/// rendered output is snapshotted so that message, `file:line:column`, label and help are checked.
#[test]
fn invalid_configs_are_rejected_with_located_diagnostics() {
    let dir = root().join("tests/configs/invalid");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 40, "the corpus has {} files", names.len());
    for name in names {
        let path = format!("tests/configs/invalid/{name}");
        let output = calmctl()
            .args(["validate", "-f", &path])
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{name} exits 1:\n{err}");
        assert!(output.stdout.is_empty(), "{name} prints nothing on stdout");
        assert!(
            err.contains(&format!("[{path}:")),
            "{name} names file:line:column:\n{err}"
        );
        assert!(!err.contains("panicked"), "{name} does not panic:\n{err}");
        insta::assert_snapshot!(name.trim_end_matches(".yaml"), err);
    }
}

#[test]
fn quickstart_is_valid() {
    let output = calmctl()
        .args(["validate", "-f", "examples/quickstart.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stderr(&output),
        "examples/quickstart.yaml is valid: 2 tenants\n"
    );
}

#[test]
fn warnings_do_not_fail_validation() {
    let output = calmctl()
        .args([
            "validate",
            "-f",
            "tests/configs/warnings/unknown-region-and-authority.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!(stderr(&output));
}

#[test]
fn default_file_is_calm_yaml_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    let output = calmctl()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: cannot read calm.yaml: "),
        "{}",
        stderr(&output)
    );
}

/// A file far larger than any real calm.yaml is refused before it is parsed.
#[test]
fn huge_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calm.yaml");
    let file = fs::File::create(&path).unwrap();
    file.set_len(calm_config::MAX_FILE_BYTES + 1).unwrap();
    let output = calmctl()
        .args(["validate", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("more than the 67108864 calmctl reads"));
}
