//! Stable hashes of desired values. The live platform keeps them as labels or annotations, because
//! Cloud ALM instances cannot return their parameters (`/parameters` answers 400).

use sha2::{Digest, Sha256};

/// SHA-256 (hex) of some bytes, e.g. a config file recorded in a saved plan.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (hex) of the canonical JSON of `value`: object keys sorted, no insignificant white space.
pub fn parameters_hash(value: &serde_json::Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(parameters_hash(&a), parameters_hash(&b));
    }

    #[test]
    fn array_order_and_values_change_the_hash() {
        let a = json!({"a": [1, 2]});
        assert_ne!(parameters_hash(&a), parameters_hash(&json!({"a": [2, 1]})));
        assert_ne!(parameters_hash(&a), parameters_hash(&json!({"a": [1, 3]})));
        assert_eq!(parameters_hash(&a).len(), 64);
    }
}
