//! Service Manager labels: their syntax on create, and the label change objects of a PATCH
//! (FIDELITY.md §4).
//!
//! - Keys and each value are 1 to 255 characters; keys contain no whitespace, values no new-line
//!   (Peripli/service-manager `docs/usage/labels.md`; the `key varchar(255)`/`val varchar(255)`
//!   columns of its schema). Counted here in UTF-8 bytes, never fewer than characters: the
//!   stricter reading.
//! - A PATCH's changes are not applied in the order sent: Service Manager stores every added
//!   value first and then deletes every removed key or value (`storage/postgres/storage.go`
//!   `updateLabels`). So `remove k` + `add k v` in one PATCH leaves no `k`, which is why SAP's
//!   service operator sends such a change as two requests ("no replace label and remove+add not
//!   supported in the same request", `client/sm/client.go` `RenameBinding`).
//! - `add_values`/`remove_values` need values; an `add` without values would store an empty value,
//!   which the documented 1-character minimum forbids (the stricter reading of
//!   `LabelOperation.RequiresValues`).
//!
//! Refusals are 400 `{"error":"BadRequest","description":…}` (Peripli `util.validate`), with its
//! texts where it has one.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::errors;
use crate::world::SmLabels;

/// The longest key or value, in bytes.
pub(crate) const MAX_LEN: usize = 255;

fn bad(description: impl Into<String>) -> Response {
    errors::sm(StatusCode::BAD_REQUEST, "BadRequest", description)
}

/// The syntax of one key.
fn check_key(key: &str) -> Result<(), Response> {
    if key.is_empty() || key.len() > MAX_LEN {
        return Err(bad(format!(
            "label key \"{key}\" is {} bytes long; keys must be between 1 and {MAX_LEN} characters long",
            key.len()
        )));
    }
    if key.chars().any(char::is_whitespace) {
        return Err(bad(format!(
            "label key \"{key}\" cannot contain whitespaces"
        )));
    }
    Ok(())
}

/// The syntax of one value of `key`.
fn check_value(key: &str, value: &str) -> Result<(), Response> {
    if value.is_empty() || value.len() > MAX_LEN {
        return Err(bad(format!(
            "label with key \"{key}\" has a value of {} bytes; values must be between 1 and {MAX_LEN} characters long",
            value.len()
        )));
    }
    if value.contains('\n') {
        return Err(bad(format!(
            "label with key \"{key}\" has value \"{value}\" contaning forbidden new line character"
        )));
    }
    Ok(())
}

/// The `labels` of a create: `{"key": ["value", …]}`, every key and value checked.
pub(crate) fn parse(value: Option<&Value>) -> Result<SmLabels, Response> {
    let labels: SmLabels = match value {
        None | Some(Value::Null) => return Ok(SmLabels::new()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| bad("labels must map keys to lists of strings"))?,
    };
    for (key, values) in &labels {
        check_key(key)?;
        for v in values {
            check_value(key, v)?;
        }
    }
    Ok(labels)
}

/// One label change object `{"op","key","values"}`.
struct Change {
    add: bool,
    /// `remove` without values removes the whole key.
    whole_key: bool,
    key: String,
    values: Vec<String>,
}

fn parse_change(change: &Value) -> Result<Change, Response> {
    let shape = || bad("labels must be a list of {op, key, values}");
    let op = change.get("op").and_then(Value::as_str).unwrap_or_default();
    let key = change
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if op.is_empty() || key.is_empty() {
        return Err(bad(
            "both key and operation are missing but are required for label change",
        ));
    }
    let values: Vec<String> = match change.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(shape))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(shape()),
    };
    let (add, needs_values) = match op {
        "add" | "add_values" => (true, true),
        "remove_values" => (false, true),
        "remove" => (false, false),
        other => return Err(bad(format!("unsupported label operation {other}"))),
    };
    if needs_values && values.is_empty() {
        return Err(bad(format!(
            "operation {op} requires values to be provided"
        )));
    }
    check_key(key)?;
    for v in &values {
        check_value(key, v)?;
    }
    Ok(Change {
        add,
        whole_key: !add && values.is_empty(),
        key: key.to_owned(),
        values,
    })
}

/// Applies a PATCH's label changes as Service Manager stores them: every change is checked
/// first (nothing changes on a refusal), then all additions, then all removals.
pub(crate) fn apply_changes(labels: &mut SmLabels, changes: &Value) -> Result<(), Response> {
    let list = changes
        .as_array()
        .ok_or_else(|| bad("labels must be a list of {op, key, values}"))?;
    let parsed: Vec<Change> = list.iter().map(parse_change).collect::<Result<_, _>>()?;
    let mut added: Vec<(&str, &str)> = Vec::new();
    for c in parsed.iter().filter(|c| c.add) {
        for v in &c.values {
            if added.contains(&(c.key.as_str(), v.as_str())) {
                return Err(bad(format!(
                    "duplicate label with key {} and value {v}",
                    c.key
                )));
            }
            added.push((&c.key, v));
        }
    }
    for c in parsed.iter().filter(|c| c.add) {
        let entry = labels.entry(c.key.clone()).or_default();
        for v in &c.values {
            if !entry.contains(v) {
                entry.push(v.clone());
            }
        }
    }
    for c in parsed.iter().filter(|c| !c.add) {
        if c.whole_key {
            labels.remove(&c.key);
        } else if let Some(entry) = labels.get_mut(&c.key) {
            entry.retain(|v| !c.values.contains(v));
            if entry.is_empty() {
                labels.remove(&c.key);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn additions_are_stored_before_removals() {
        let mut labels = SmLabels::new();
        labels.insert("k".into(), vec!["old".into()]);
        let changes = json!([
            {"op": "remove", "key": "k"},
            {"op": "add", "key": "k", "values": ["new"]},
            {"op": "add_values", "key": "j", "values": ["1", "2"]},
            {"op": "remove_values", "key": "j", "values": ["1"]},
        ]);
        assert!(apply_changes(&mut labels, &changes).is_ok());
        assert!(!labels.contains_key("k"), "{labels:?}");
        assert_eq!(labels.get("j"), Some(&vec!["2".to_owned()]));
    }

    #[test]
    fn a_refused_change_changes_nothing() {
        let mut labels = SmLabels::new();
        labels.insert("k".into(), vec!["v".into()]);
        let changes = json!([
            {"op": "remove", "key": "k"},
            {"op": "add", "key": "x", "values": ["a".repeat(256)]},
        ]);
        assert!(apply_changes(&mut labels, &changes).is_err());
        assert_eq!(labels.get("k"), Some(&vec!["v".to_owned()]));
        let twice = json!([
            {"op": "add", "key": "k", "values": ["w"]},
            {"op": "add_values", "key": "k", "values": ["w"]},
        ]);
        assert!(
            apply_changes(&mut labels, &twice).is_err(),
            "a value added twice"
        );
        assert_eq!(labels.get("k"), Some(&vec!["v".to_owned()]));
    }
}
