//! calmctl's marks on Service Manager instances, within Service Manager's label rules
//! (FIDELITY.md §4, btp-api.md §10 item 2).
//!
//! - Every value is at most 255 characters (counted here in UTF-8 bytes, never fewer). The
//!   parameters' canonical JSON passes that with four or five authorities, so it is **split**:
//!   `calmctl.sap/parameters` holds one value per part, `<i>/<n>:<text>` (part `i` of `n`, from
//!   0), each at most 255 bytes. Service Manager keeps a label's values as a set without order,
//!   hence the numbers. The JSON stays on the instance because `plan` shows what changed in the
//!   parameters and `discover` drafts calm.yaml from it; the SHA-256 label alone decides drift.
//!   A single value holding the whole JSON, as calmctl wrote before, is read as it is.
//! - One update never removes and adds the same key: Service Manager stores the additions of a
//!   PATCH before its removals, so `remove k` + `add k` leaves no `k`. A changed mark is removed
//!   with the parameters' update and added again by a second request once that update
//!   succeeded ([`changes`]), so a mark never claims parameters that were not applied.

use std::collections::BTreeMap;

use calm_btp::service_manager::{LabelChange, SmLabels};
use calm_core::live::{Metadata, labels};

/// The longest label value Service Manager stores, in bytes.
pub(crate) const MAX_VALUE: usize = 255;

/// Room left for `<i>/<n>:` in a part (five-digit part counts).
const PREFIX_ROOM: usize = 12;

/// The values of `calmctl.sap/parameters` for a canonical JSON text.
pub(crate) fn split(json: &str) -> Vec<String> {
    let budget = MAX_VALUE - PREFIX_ROOM;
    let mut parts: Vec<&str> = Vec::new();
    let mut rest = json;
    while !rest.is_empty() {
        let mut end = rest.len().min(budget);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        parts.push(&rest[..end]);
        rest = &rest[end..];
    }
    let n = parts.len();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| format!("{i}/{n}:{part}"))
        .collect()
}

/// The JSON text back from the values of `calmctl.sap/parameters`, in any order; `None` if a part
/// is missing or repeated. One value that is not a part is the whole text (written that way by
/// earlier versions).
pub(crate) fn join(values: &[String]) -> Option<String> {
    let part = |v: &str| -> Option<(usize, usize, String)> {
        let (head, text) = v.split_once(':')?;
        let (i, n) = head.split_once('/')?;
        Some((i.parse().ok()?, n.parse().ok()?, text.to_owned()))
    };
    let parsed: Option<Vec<(usize, usize, String)>> = values.iter().map(|v| part(v)).collect();
    let Some(mut parts) = parsed else {
        return match values {
            [whole] => Some(whole.clone()),
            _ => None,
        };
    };
    parts.sort_by_key(|(i, _, _)| *i);
    let n = parts.len();
    let complete = parts
        .iter()
        .enumerate()
        .all(|(at, (i, total, _))| *i == at && *total == n);
    complete.then(|| parts.into_iter().map(|(_, _, text)| text).collect())
}

/// An instance's labels as calmctl reads them: the first value of each key, the parameters'
/// parts joined into their JSON text.
pub(crate) fn read(tags: &BTreeMap<String, Vec<String>>) -> Metadata {
    let mut metadata: Metadata = tags
        .iter()
        .filter_map(|(k, v)| v.first().map(|v| (k.clone(), v.clone())))
        .collect();
    if let Some(values) = tags.get(labels::PARAMETERS) {
        match join(values) {
            Some(json) => metadata.insert(labels::PARAMETERS.into(), json),
            None => metadata.remove(labels::PARAMETERS),
        };
    }
    metadata
}

/// calmctl's one-value marks as labels: the parameters split, the rest as they are.
pub(crate) fn write(marks: BTreeMap<String, String>) -> SmLabels {
    marks
        .into_iter()
        .map(|(k, v)| {
            let values = if k == labels::PARAMETERS {
                split(&v)
            } else {
                vec![v]
            };
            (k, values)
        })
        .collect()
}

/// The two label updates that turn an instance's marks, as `live` read them (`None`: not
/// known), into `desired`: first the removals of marks that change or go (`drop` names marks
/// that go when present), then the additions of marks that are new or changed. No key is in
/// both; each list holds a key once.
pub(crate) fn changes(
    live: Option<&Metadata>,
    desired: &BTreeMap<String, String>,
    drop: &[&str],
) -> (Vec<LabelChange>, Vec<LabelChange>) {
    let mut removals = Vec::new();
    let mut additions = Vec::new();
    for (key, value) in desired {
        let current = live.map(|l| l.get(key));
        if current == Some(Some(value)) {
            continue;
        }
        if current != Some(None) {
            removals.push(LabelChange::Remove {
                key: key.clone(),
                values: Vec::new(),
            });
        }
        let values = write(BTreeMap::from([(key.clone(), value.clone())]))
            .remove(key)
            .unwrap_or_default();
        additions.push(LabelChange::Add {
            key: key.clone(),
            values,
        });
    }
    for key in drop {
        if !desired.contains_key(*key) && live.is_none_or(|l| l.contains_key(*key)) {
            removals.push(LabelChange::Remove {
                key: (*key).to_owned(),
                values: Vec::new(),
            });
        }
    }
    (removals, additions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_fit_and_join_back_in_any_order() {
        let json = format!("{{\"a\":\"{}é{}\"}}", "x".repeat(400), "y".repeat(300));
        let mut parts = split(&json);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() <= MAX_VALUE), "{parts:?}");
        parts.reverse();
        assert_eq!(join(&parts).as_deref(), Some(json.as_str()));
        parts.pop();
        assert_eq!(join(&parts), None, "a missing part");
        assert_eq!(
            join(&["{\"old\":1}".to_owned()]).as_deref(),
            Some("{\"old\":1}")
        );
        assert_eq!(split(""), Vec::<String>::new());
    }

    #[test]
    fn a_changed_mark_is_removed_first_and_added_after() {
        let mut live = Metadata::new();
        live.insert("same".into(), "1".into());
        live.insert("changed".into(), "old".into());
        live.insert(labels::PROTECT.into(), "true".into());
        let mut desired = BTreeMap::new();
        desired.insert("same".to_owned(), "1".to_owned());
        desired.insert("changed".to_owned(), "new".to_owned());
        desired.insert("new".to_owned(), "n".to_owned());
        let (removals, additions) = changes(Some(&live), &desired, &[labels::PROTECT]);
        let keys = |l: &[LabelChange]| -> Vec<String> {
            l.iter()
                .map(|c| match c {
                    LabelChange::Add { key, .. } | LabelChange::Remove { key, .. } => key.clone(),
                })
                .collect()
        };
        assert_eq!(keys(&removals), ["changed", labels::PROTECT]);
        assert_eq!(keys(&additions), ["changed", "new"]);
    }
}
