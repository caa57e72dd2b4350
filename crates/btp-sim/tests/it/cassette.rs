//! go-vcr v2 cassettes (tests/fixtures/recorded/SOURCES.md) and the JSON shape comparison.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct Cassette {
    pub interactions: Vec<Interaction>,
}

#[derive(Debug, Deserialize)]
pub struct Interaction {
    pub id: u64,
    pub request: Request,
    pub response: Response,
}

#[derive(Debug, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub headers: BTreeMap<String, Vec<String>>,
    pub url: String,
    pub method: String,
}

#[derive(Debug, Deserialize)]
pub struct Response {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub headers: BTreeMap<String, Vec<String>>,
    pub code: u16,
}

impl Response {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// `tests/fixtures/recorded/<dir>` of the workspace.
pub fn fixtures(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/recorded")
        .join(dir)
}

pub fn load(path: &std::path::Path) -> Cassette {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `https://api.x.x.x.x.com/v3/x?y` → `/v3/x?y`.
pub fn path_and_query(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match without_scheme.find('/') {
        Some(i) => without_scheme[i..].to_owned(),
        None => "/".to_owned(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compare the JSON shape of `actual` with `recorded`: same keys, same JSON types, recursively.
/// Values are compared by type only, except error `code`/`title` (machine-readable, never GUIDs
/// or times). `exempt(path)` skips a path and everything under it.
pub fn shape_diff(
    recorded: &Value,
    actual: &Value,
    path: &str,
    exempt: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) {
    if exempt(path) {
        return;
    }
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for key in r.keys() {
                let sub = format!("{path}.{key}");
                match a.get(key) {
                    Some(av) => shape_diff(&r[key], av, &sub, exempt, out),
                    None if !exempt(&sub) => {
                        out.push(format!("{sub}: missing in the simulator's answer"))
                    }
                    None => {}
                }
            }
            for key in a.keys().filter(|k| !r.contains_key(*k)) {
                let sub = format!("{path}.{key}");
                if !exempt(&sub) {
                    out.push(format!("{sub}: not in the recording"));
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if r.len() != a.len() && !exempt(&format!("{path}.length")) {
                out.push(format!(
                    "{path}: {} items recorded, {} served",
                    r.len(),
                    a.len()
                ));
            }
            for (i, (rv, av)) in r.iter().zip(a).enumerate() {
                shape_diff(rv, av, &format!("{path}[{i}]"), exempt, out);
            }
        }
        (r, a) if kind(r) != kind(a) => {
            out.push(format!("{path}: recorded {}, served {}", kind(r), kind(a)))
        }
        (r, a)
            if (path.ends_with(".code") || path.ends_with(".title"))
                && path.contains("errors")
                && r != a =>
        {
            out.push(format!("{path}: recorded {r}, served {a}"));
        }
        _ => {}
    }
}

/// Is this a GUID-looking string?
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Learn which recorded GUIDs the simulator answered with other GUIDs, at the same JSON paths.
pub fn learn_guids(recorded: &Value, actual: &Value, map: &mut BTreeMap<String, String>) {
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for (k, rv) in r {
                if let Some(av) = a.get(k) {
                    learn_guids(rv, av, map);
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => r
            .iter()
            .zip(a)
            .for_each(|(rv, av)| learn_guids(rv, av, map)),
        (Value::String(r), Value::String(a)) if r != a => {
            for (rg, ag) in guids_in(r).into_iter().zip(guids_in(a)) {
                if rg != ag {
                    map.entry(rg).or_insert(ag);
                }
            }
        }
        _ => {}
    }
}

/// Every GUID inside a string (e.g. in an href).
pub fn guids_in(s: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        if let Some(candidate) = s.get(i..i + 36)
            && is_guid(candidate)
        {
            found.push(candidate.to_owned());
            i += 36;
            continue;
        }
        i += 1;
    }
    found
}
