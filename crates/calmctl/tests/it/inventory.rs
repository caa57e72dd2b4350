//! `tenants_from`: tenants from a CSV or YAML inventory next to calm.yaml, with diagnostics that
//! point at the CSV's row and column, and a duplicate across files that names both places.

use std::fmt::Write;
use std::time::{Duration, Instant};

use crate::{calmctl, stderr};

fn validate(case: &str) -> (Option<i32>, String) {
    let path = format!("tests/configs/inventory/{case}/calm.yaml");
    let output = calmctl().args(["validate", "-f", &path]).output().unwrap();
    assert!(output.stdout.is_empty());
    (output.status.code(), stderr(&output))
}

#[test]
fn csv_inventory_merges_with_the_file() {
    let (code, err) = validate("valid");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err,
        "tests/configs/inventory/valid/calm.yaml is valid: 3 tenants\n"
    );
}

#[test]
fn bad_column_is_reported_at_the_header_cell() {
    let (code, err) = validate("bad-column");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("[tests/configs/inventory/bad-column/tenants.csv:1:17]"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn bad_values_are_reported_at_row_and_column() {
    let (code, err) = validate("bad-value");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("[tests/configs/inventory/bad-value/tenants.csv:3:21]"),
        "{err}"
    );
    assert!(
        err.contains("[tests/configs/inventory/bad-value/tenants.csv:3:33]"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn duplicate_across_file_and_inventory_names_both_places() {
    let (code, err) = validate("duplicate");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("[tests/configs/inventory/duplicate/tenants.csv:3:1]"),
        "{err}"
    );
    assert!(
        err.contains("[tests/configs/inventory/duplicate/calm.yaml:10:13]"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn yaml_inventory_is_a_list_of_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let yaml =
        std::fs::read_to_string(crate::root().join("tests/configs/inventory/valid/calm.yaml"))
            .unwrap()
            .replace("tenants.csv", "more/tenants.yaml");
    std::fs::write(dir.path().join("calm.yaml"), yaml).unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(
        dir.path().join("more/tenants.yaml"),
        "- { name: a, subaccount: a }\n- { name: b, subaccount: b, protect: maybe }\n",
    )
    .unwrap();
    let output = calmctl()
        .current_dir(dir.path())
        .args(["validate", "-f", "calm.yaml"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("[more/tenants.yaml:2:38]"), "{err}");
}

/// 10,000 CSV rows validate well within a second (the release build takes a few tens of ms;
/// this debug build gets a looser bound so that a busy machine does not fail it).
#[test]
fn ten_thousand_csv_rows_validate_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("name,subaccount,org,region,runtime,labels.env\n");
    for i in 0..10_000 {
        let (runtime, org) = if i % 2 == 0 {
            ("service-manager", String::new())
        } else {
            ("cloudfoundry", format!("t{i:05}"))
        };
        writeln!(csv, "t{i:05},t{i:05},{org},eu10,{runtime},prod").unwrap();
    }
    std::fs::write(dir.path().join("tenants.csv"), csv).unwrap();
    let yaml =
        std::fs::read_to_string(crate::root().join("tests/configs/inventory/valid/calm.yaml"))
            .unwrap();
    std::fs::write(dir.path().join("calm.yaml"), yaml).unwrap();
    let started = Instant::now();
    let output = calmctl()
        .current_dir(dir.path())
        .args(["validate", "-f", "calm.yaml"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(stderr(&output), "calm.yaml is valid: 10000 tenants\n");
    let bound = if cfg!(debug_assertions) { 3 } else { 1 };
    assert!(took < Duration::from_secs(bound), "took {took:?}");
}
