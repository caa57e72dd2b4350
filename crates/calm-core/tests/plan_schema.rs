//! `schemas/plan.schema.json` must equal what the code generates.

use std::path::Path;

#[test]
fn checked_in_plan_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/plan.schema.json");
    let mut generated = serde_json::to_string_pretty(&calm_core::plan::json_schema()).unwrap();
    generated.push('\n');
    if std::env::var_os("CALMCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/plan.schema.json is out of date; regenerate with \
         `CALMCTL_UPDATE_SCHEMA=1 cargo test -p calm-core --test plan_schema`"
    );
}
