//! The checked-in `schemas/calm.schema.json` must equal what the code generates, and every
//! example must be valid both for calmctl and for the schema (what editors check).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&calm_config::schema::json_schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn checked_in_schema_is_up_to_date() {
    let path = root().join("schemas/calm.schema.json");
    let generated = generated();
    if std::env::var_os("CALMCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/calm.schema.json is out of date; regenerate with \
         `CALMCTL_UPDATE_SCHEMA=1 cargo test -p calm-config --test schema_file` \
         (or `cargo run -p calmctl -- schema > schemas/calm.schema.json`)"
    );
}

#[test]
fn schema_is_draft_07_and_documents_every_field() {
    let schema = calm_config::schema::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let mut objects = vec![&schema];
    objects.extend(schema["definitions"].as_object().unwrap().values());
    for object in objects {
        for (name, property) in object["properties"].as_object().into_iter().flatten() {
            assert!(
                property["description"].is_string(),
                "field `{name}` has a description"
            );
        }
    }
}

fn examples(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            examples(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml")
            && std::fs::read_to_string(&path)
                .unwrap()
                .contains("\ntenants:")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_example_is_valid_for_calmctl_and_for_the_schema() {
    let schema = calm_config::schema::json_schema();
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let mut files = Vec::new();
    examples(&root().join("examples"), &mut files);
    assert!(files.iter().any(|f| f.ends_with("quickstart.yaml")));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} starts with the schema comment",
            file.display()
        );
        let loaded = calm_config::load_file(&file)
            .unwrap_or_else(|e| panic!("{} is valid: {e:?}", file.display()));
        assert!(
            loaded.warnings.is_empty(),
            "{} has no warnings",
            file.display()
        );
        let json: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
}

#[test]
fn quickstart_has_a_tenant_on_each_runtime() {
    let loaded = calm_config::load_file(&root().join("examples/quickstart.yaml")).unwrap();
    let runtimes: Vec<_> = loaded.desired.tenants.iter().map(|t| t.runtime).collect();
    assert!(runtimes.contains(&calm_core::Runtime::Cloudfoundry));
    assert!(runtimes.contains(&calm_core::Runtime::ServiceManager));
}
