//! CF metadata: validation of label keys and values, and PATCH-merge (btp-api.md §2.3 "Metadata").

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Value, json};

use crate::errors;
use crate::world::Metadata;

fn name_ok(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && name.starts_with(alnum)
        && name.ends_with(alnum)
}

/// Why a label/annotation key is invalid, in CC's words; `None` if valid.
pub fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("key cannot be empty string".to_owned());
    }
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if name.contains('/') {
        return Some(format!("'{key}' key has more than one '/'"));
    }
    if let Some(prefix) = prefix {
        let ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            return Some(format!("'{key}' contains invalid characters"));
        }
    }
    if name.len() > 63 {
        return Some(format!("'{key}' is greater than 63 characters"));
    }
    (!name_ok(name)).then(|| format!("'{key}' contains invalid characters"))
}

/// Apply a request's `metadata` to stored metadata: a key with a value sets it, with `null`
/// removes it, an absent key is kept; `"labels": null` changes nothing (observed on create and
/// PATCH, cassette resource_space_crud.yaml).
pub fn merge(stored: &mut Metadata, metadata: Option<&Value>) -> Result<(), Response> {
    let Some(metadata) = metadata.filter(|m| !m.is_null()) else {
        return Ok(());
    };
    let Some(object) = metadata.as_object() else {
        return Err(errors::cf_unprocessable("Metadata must be an object"));
    };
    let mut labels = stored.labels.clone();
    let mut annotations = stored.annotations.clone();
    if let Some(given) = object.get("labels").filter(|v| !v.is_null()) {
        merge_map(&mut labels, given, true)?;
    }
    if let Some(given) = object.get("annotations").filter(|v| !v.is_null()) {
        merge_map(&mut annotations, given, false)?;
    }
    stored.labels = labels;
    stored.annotations = annotations;
    Ok(())
}

fn merge_map(
    target: &mut BTreeMap<String, String>,
    given: &Value,
    labels: bool,
) -> Result<(), Response> {
    let what = if labels { "label" } else { "annotations" };
    let Some(given) = given.as_object() else {
        return Err(errors::cf_unprocessable(format!(
            "Metadata {what} must be an object"
        )));
    };
    for (key, value) in given {
        if let Some(problem) = key_problem(key) {
            return Err(errors::cf_unprocessable(format!(
                "Metadata {what} key error: {problem}"
            )));
        }
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::String(v) => {
                let valid = if labels {
                    v.is_empty() || name_ok(v)
                } else {
                    v.chars().count() <= 5000
                };
                if !valid {
                    let problem = if labels {
                        "contains invalid characters"
                    } else {
                        "is greater than 5000 characters"
                    };
                    return Err(errors::cf_unprocessable(format!(
                        "Metadata {what} value error: '{v}' {problem}"
                    )));
                }
                target.insert(key.clone(), v.clone());
            }
            _ => {
                return Err(errors::cf_unprocessable(format!(
                    "Metadata {what} value error: values must be strings"
                )));
            }
        }
    }
    Ok(())
}

/// Render `{"labels":{..},"annotations":{..}}`.
pub fn render(metadata: &Metadata) -> Value {
    json!({"labels": metadata.labels, "annotations": metadata.annotations})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_merges_sets_and_deletes() {
        let mut m = Metadata::default();
        assert!(merge(&mut m, Some(&json!({"labels": {"landscape": "test", "purpose": "testing"}, "annotations": null}))).is_ok());
        assert!(merge(&mut m, Some(&json!({"labels": {"landscape": null, "purpose": "production", "status": "fine"}}))).is_ok());
        assert_eq!(
            m.labels.get("purpose").map(String::as_str),
            Some("production")
        );
        assert!(!m.labels.contains_key("landscape"));
        assert!(merge(&mut m, Some(&json!({"labels": {"purpose@!": "x"}}))).is_err());
        assert_eq!(
            key_problem("purpose@!").as_deref(),
            Some("'purpose@!' contains invalid characters")
        );
        assert!(key_problem("calmctl.io/managed-by").is_none());
    }
}
