//! CF list queries: filters, `label_selector`, page-based pagination (btp-api.md §2.3).
//!
//! Values are percent-decoded *before* splitting on commas: the Python client encodes a list
//! `["a","b"]` as `names=a%2Cb` (clients.md §3 "Query encoding").

use std::collections::{HashMap, HashSet};

use axum::response::Response;
use serde_json::{Value, json};

use crate::errors;

/// A parsed query string of a list endpoint.
#[derive(Debug, Default)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
    /// `page` (≥ 1).
    pub page: usize,
    /// `per_page` (1..=5000, default 50).
    pub per_page: usize,
    /// `label_selector`, parsed.
    pub selector: Vec<Requirement>,
    /// Each list parameter's values, lowercased, made once: splitting the list again for every
    /// object made a page of 1,000 objects against 100 GUIDs cost the simulator tens of ms.
    lists: HashMap<String, HashSet<String>>,
}

/// One requirement of a `label_selector`.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    /// `key`
    Exists(String),
    /// `!key`
    NotExists(String),
    /// `key=v`, `key==v`, `key in (a,b)`
    In(String, Vec<String>),
    /// `key!=v`, `key notin (a,b)`
    NotIn(String, Vec<String>),
}

impl ListQuery {
    /// Parse, refusing parameters the endpoint does not know (CF answers 400 10005 for those).
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, Response> {
        Self::checked(raw, allowed).map_err(errors::cf_bad_query)
    }

    /// Parse for the endpoints whose controllers answer a bad query with 422 10008 instead
    /// (`/v3/roles`, `/v3/users`: `unprocessable!(message.errors.full_messages)` in CC).
    pub fn parse_or_unprocessable(raw: Option<&str>, allowed: &[&str]) -> Result<Self, Response> {
        Self::checked(raw, allowed).map_err(errors::cf_unprocessable)
    }

    fn checked(raw: Option<&str>, allowed: &[&str]) -> Result<Self, String> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let common = ["page", "per_page", "order_by", "label_selector"];
        let unknown: Vec<&str> = pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !common.contains(k) && !allowed.contains(k))
            .filter(|k| !(k.starts_with("fields[") && allowed.contains(&"fields")))
            .collect();
        if !unknown.is_empty() {
            let list = unknown
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!("Unknown query parameter(s): {list}"));
        }
        let mut lists: HashMap<String, HashSet<String>> = HashMap::new();
        for (k, v) in pairs.iter().rev() {
            if !lists.contains_key(k) {
                let values = v.split(',').map(str::to_ascii_lowercase).collect();
                lists.insert(k.clone(), values);
            }
        }
        let mut query = ListQuery {
            pairs,
            page: 1,
            per_page: 50,
            selector: Vec::new(),
            lists,
        };
        if let Some(page) = query.one("page") {
            query.page = page
                .parse()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| "Page must be greater than 0".to_owned())?;
        }
        if let Some(per_page) = query.one("per_page") {
            query.per_page = per_page
                .parse()
                .ok()
                .filter(|p| (1..=5000).contains(p))
                .ok_or_else(|| "Per page must be between 1 and 5000".to_owned())?;
        }
        if let Some(order) = query.one("order_by")
            && ![
                "created_at",
                "-created_at",
                "updated_at",
                "-updated_at",
                "name",
                "-name",
            ]
            .contains(&order)
        {
            return Err("Order by can only be: 'created_at', 'updated_at', 'name'".to_owned());
        }
        if let Some(selector) = query.one("label_selector") {
            query.selector = parse_selector(selector)
                .ok_or_else(|| "Invalid label_selector value".to_owned())?;
        }
        Ok(query)
    }

    /// A single-valued parameter.
    pub fn one(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A list filter: `None` when absent.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.one(key)
            .map(|v| v.split(',').map(str::to_owned).collect())
    }

    /// Does `value` pass the list filter `key` (case-insensitive when `ci`)?
    pub fn passes(&self, key: &str, value: &str, ci: bool) -> bool {
        match self.one(key) {
            None => true,
            // The lowercased set answers "no" for sure; "yes" is checked exactly unless `ci`.
            Some(list) => {
                let lower = value.to_ascii_lowercase();
                self.lists.get(key).is_some_and(|set| set.contains(&lower))
                    && (ci || list.split(',').any(|v| v == value))
            }
        }
    }

    /// Does a label map satisfy the `label_selector`?
    pub fn selects(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.selector.iter().all(|r| match r {
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        })
    }

    /// Sort (by `order_by`, creation order by default) and cut one page, with absolute hrefs.
    /// `items` are `(name, created_ms, updated_ms, rendered)`.
    pub fn page_of(
        &self,
        base_url: &str,
        path: &str,
        mut items: Vec<(String, u64, u64, Value)>,
    ) -> Value {
        match self.one("order_by").unwrap_or("created_at") {
            "name" => items.sort_by(|a, b| a.0.cmp(&b.0)),
            "-name" => items.sort_by(|a, b| b.0.cmp(&a.0)),
            "updated_at" => items.sort_by_key(|i| i.2),
            "-updated_at" => items.sort_by_key(|i| std::cmp::Reverse(i.2)),
            "-created_at" => items.sort_by_key(|i| std::cmp::Reverse(i.1)),
            _ => items.sort_by_key(|i| i.1),
        }
        let total = items.len();
        let pages = total.div_ceil(self.per_page).max(1);
        let resources: Vec<Value> = items
            .into_iter()
            .skip((self.page - 1) * self.per_page)
            .take(self.per_page)
            .map(|i| i.3)
            .collect();
        let href = |page: usize| json!({"href": self.href(base_url, path, page)});
        json!({
            "pagination": {
                "total_results": total,
                "total_pages": pages,
                "first": href(1),
                "last": href(pages),
                "next": if self.page < pages { href(self.page + 1) } else { Value::Null },
                "previous": if self.page > 1 { href(self.page - 1) } else { Value::Null },
            },
            "resources": resources,
        })
    }

    /// The URL of another page: parameters sorted by name, `page` and `per_page` included
    /// (observed: `?names=..&page=1&per_page=50&space_guids=..`).
    fn href(&self, base_url: &str, path: &str, page: usize) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .cloned()
            .collect();
        pairs.push(("page".to_owned(), page.to_string()));
        pairs.push(("per_page".to_owned(), self.per_page.to_string()));
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{base_url}{path}?{query}")
    }
}

/// Parse a `label_selector`: comma-separated requirements (AND), where `in (a,b)` lists contain
/// commas of their own.
pub fn parse_selector(text: &str) -> Option<Vec<Requirement>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(|p| parse_requirement(p.trim()))
        .collect()
}

fn parse_requirement(text: &str) -> Option<Requirement> {
    let valid_key = |k: &str| !k.is_empty() && crate::cf::metadata::key_problem(k).is_none();
    if let Some(key) = text.strip_prefix('!') {
        return valid_key(key.trim()).then(|| Requirement::NotExists(key.trim().to_owned()));
    }
    for (op, negate) in [(" notin ", true), (" in ", false)] {
        if let Some((key, rest)) = text.split_once(op) {
            let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
            let values: Vec<String> = inner.split(',').map(|v| v.trim().to_owned()).collect();
            let key = key.trim();
            if !valid_key(key) || values.iter().any(|v| v.is_empty()) {
                return None;
            }
            return Some(if negate {
                Requirement::NotIn(key.to_owned(), values)
            } else {
                Requirement::In(key.to_owned(), values)
            });
        }
    }
    for (op, negate) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((key, value)) = text.split_once(op) {
            let key = key.trim();
            if !valid_key(key) {
                return None;
            }
            let values = vec![value.trim().to_owned()];
            return Some(if negate {
                Requirement::NotIn(key.to_owned(), values)
            } else {
                Requirement::In(key.to_owned(), values)
            });
        }
    }
    valid_key(text).then(|| Requirement::Exists(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_all_six_forms() {
        let parsed = parse_selector("a=1,b!=2,c in (x,y),d notin (z),e,!f").unwrap_or_default();
        assert_eq!(
            parsed,
            vec![
                Requirement::In("a".into(), vec!["1".into()]),
                Requirement::NotIn("b".into(), vec!["2".into()]),
                Requirement::In("c".into(), vec!["x".into(), "y".into()]),
                Requirement::NotIn("d".into(), vec!["z".into()]),
                Requirement::Exists("e".into()),
                Requirement::NotExists("f".into()),
            ]
        );
        assert!(parse_selector("a in (x").is_none());
        assert!(parse_selector("bad@key=1").is_none());
    }

    #[test]
    fn comma_encoded_lists_are_split_after_decoding() {
        let q = ListQuery::parse(Some("names=a%2Cb%20c&per_page=2"), &["names"])
            .map_err(|_| ())
            .unwrap_or_default();
        assert_eq!(
            q.list("names"),
            Some(vec!["a".to_owned(), "b c".to_owned()])
        );
        assert!(q.passes("names", "b c", false));
        assert!(
            !q.passes("names", "B C", false),
            "exact unless told otherwise"
        );
        assert!(q.passes("names", "B C", true));
        assert!(!q.passes("names", "a,b c", true), "one value, not the list");
        assert!(
            q.passes("guids", "anything", false),
            "an absent filter passes all"
        );
        assert!(ListQuery::parse(Some("per_page=5001"), &[]).is_err());
        assert!(ListQuery::parse(Some("bogus=1"), &[]).is_err());
    }
}
