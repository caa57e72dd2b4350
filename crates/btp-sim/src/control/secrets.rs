//! Every secret the simulator issued or accepts, for tests that prove none of them leaks: user
//! passwords, client secrets (`cis` keys, Service Manager bindings, instance clients, service keys
//! and bindings), private keys of X.509 credentials, the token-signing secret, and every access,
//! refresh and id token and assertion handed out.

use serde_json::Value;

use crate::server::AppState;

/// The secrets in the state JSON (see [`super::admin::state_json`]) plus the issued tokens,
/// sorted and without duplicates.
pub fn issued(state: &AppState, state_json: &Value) -> Vec<String> {
    let mut out = state.issued();
    collect(state_json, &mut out);
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}

/// Values of fields named like a secret (`…secret`, `…password`, `…token`, `…assertion`), and PEM
/// values of `key` / `private_key` (elsewhere in the state `key` names records).
fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = k.to_ascii_lowercase();
                let pem = v.as_str().is_some_and(|s| s.contains("-----BEGIN"));
                let secret_field = ((key == "key" || key == "private_key") && pem)
                    || ["secret", "password", "token", "assertion"]
                        .iter()
                        .any(|s| key.ends_with(s));
                match v {
                    Value::String(s) if secret_field && !s.starts_with("http") => {
                        out.push(s.clone());
                    }
                    other => collect(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_nested_secrets_and_pem_keys_only() {
        let mut out = Vec::new();
        collect(
            &json!({
                "users": [{"username": "alice", "password": "pw-1"}],
                "keys": {"k": {"key": "record-name", "credentials": {"uaa": {"clientsecret": "cs-2", "url": "https://x"}}}},
                "cert": {"key": "-----BEGIN PRIVATE KEY-----\nabc", "certificate": "-----BEGIN CERTIFICATE-----"},
                "client_secret": "http://not-a-secret"
            }),
            &mut out,
        );
        out.sort();
        assert_eq!(out, ["-----BEGIN PRIVATE KEY-----\nabc", "cs-2", "pw-1"]);
    }
}
