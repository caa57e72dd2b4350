//! Field-by-field differences between two JSON values, with masking of redacted paths.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a masked value is shown as.
pub const REDACTED: &str = "(redacted)";

/// One field that differs. `before`/`after` are `None` when the field is absent on that side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// Dotted path, e.g. `parameters.xs-security.authorities`.
    pub path: String,
    /// The value now (`None`: absent, or unknown when `unknown_before` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// The current value cannot be read (Cloud ALM instances do not return their parameters).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unknown_before: bool,
}

/// Differences between `before` and `after` under `prefix`, leaves and lists compared whole.
/// Values at paths listed in `redact` (relative to `prefix`'s root, e.g.
/// `xs-security.authorities`) are replaced by [`REDACTED`].
pub fn json_diff(
    prefix: &str,
    before: &Value,
    after: &Value,
    redact: &[String],
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(prefix, "", Some(before), Some(after), redact, &mut out);
    out
}

fn walk(
    prefix: &str,
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    redact: &[String],
    out: &mut Vec<FieldChange>,
) {
    // Objects, or an object against nothing, are compared key by key, so that a reader sees
    // each field that changes rather than one opaque blob.
    let empty = serde_json::Map::new();
    let object = |v: Option<&'_ Value>| -> Option<serde_json::Map<String, Value>> {
        match v {
            Some(Value::Object(map)) => Some(map.clone()),
            None => Some(empty.clone()),
            Some(_) => None,
        }
    };
    let either_object =
        matches!(before, Some(Value::Object(_))) || matches!(after, Some(Value::Object(_)));
    if either_object && let (Some(b), Some(a)) = (object(before), object(after)) {
        let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            walk(prefix, &child, b.get(key), a.get(key), redact, out);
        }
        return;
    }
    if before == after {
        return;
    }
    let masked = redact
        .iter()
        .any(|r| path == r || path.starts_with(&format!("{r}.")));
    let show = |v: Option<&Value>| {
        v.map(|v| {
            if masked {
                Value::String(REDACTED.into())
            } else {
                v.clone()
            }
        })
    };
    out.push(FieldChange {
        path: if path.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{path}")
        },
        before: show(before),
        after: show(after),
        unknown_before: false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_each_changed_leaf_by_path() {
        let before = json!({"xs-security": {"xsappname": "a", "authorities": ["x"]}});
        let after = json!({"xs-security": {"xsappname": "a", "authorities": ["x", "y"], "new": 1}});
        let diff = json_diff("parameters", &before, &after, &[]);
        let paths: Vec<&str> = diff.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "parameters.xs-security.authorities",
                "parameters.xs-security.new"
            ]
        );
        assert_eq!(diff[1].before, None);
        assert_eq!(diff[1].after, Some(json!(1)));
    }

    #[test]
    fn masks_redacted_paths_on_both_sides() {
        let diff = json_diff(
            "parameters",
            &json!({"a": {"b": "old"}}),
            &json!({"a": {"b": "new"}}),
            &["a".to_owned()],
        );
        assert_eq!(diff[0].before, Some(json!(REDACTED)));
        assert_eq!(diff[0].after, Some(json!(REDACTED)));
    }
}
