//! Deliveries are state, not hope: what calmctl records about the delivery of each key, where a
//! `dir` delivery puts it, and when a key is due.
//!
//! **Where the record lives.** On the platform, beside calmctl's other labels: a Cloud Foundry key
//! carries `calmctl.sap/delivery`; a Service Manager binding, which cannot be relabelled, has its
//! record in its instance's `calmctl.sap/delivered-bindings` (`<binding id>@<record>`). Not in a
//! local file: calmctl keeps no state file (the platform is the record), a CI job that plans and
//! the one that applies share no disk, and a record next to the credentials would be lost with
//! them. The record is read with the keys in the same list calls, so knowing it costs no request;
//! writing it costs one label update per delivered key.
//!
//! **What it holds.** Never a secret: `pending` (created, not delivered yet: set when the key is
//! created, so a run killed before delivery leaves a trace), `failed` (the sink refused it),
//! `unverified` (delivered, but no token could be had with it), or `v1-<sink>-<secret>`: 8 hex
//! digits of the SHA-256 of the sink (`dir`, or the `exec` command) and 16 of the SHA-256 of the
//! credentials JSON delivered. A 64-bit prefix of the hash of a document holding a random client
//! secret reveals nothing of it, and lets a plan tell that a `dir` file no longer holds what was
//! delivered, and that the sink changed.
//!
//! **When a key is due** ([`due`]): its record says it was not delivered, failed or is
//! unverified; it was delivered to another sink; its file is missing or holds another secret; or,
//! for keys created before records existed, an `exec` sink (nothing can be checked). A key that is
//! adopted is a new key to calmctl (a key deleted and re-created by hand under the same name is
//! adopted): its credentials are delivered with the adoption.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::hash::sha256_hex;
use crate::live::{LiveKey, labels};
use crate::{Delivery, Tenant};

/// Created; delivery not done (or interrupted).
pub const PENDING: &str = "pending";
/// The sink refused the credentials.
pub const FAILED: &str = "failed";
/// Delivered, but no token could be had with them.
pub const UNVERIFIED: &str = "unverified";

/// The record of a successful delivery of `credentials_json` to `delivery`.
pub fn record(delivery: &Delivery, credentials_json: &str) -> String {
    format!("v1-{}-{}", sink_id(delivery), secret_id(credentials_json))
}

/// 8 hex digits naming the sink: `dir` (the file itself tells where), or the `exec` command.
pub fn sink_id(delivery: &Delivery) -> String {
    let text = match delivery {
        Delivery::Dir(_) => "dir".to_owned(),
        Delivery::Exec(exec) => format!("exec\0{}", exec.command.join("\0")),
    };
    sha256_hex(text.as_bytes())[..8].to_owned()
}

/// 16 hex digits of the SHA-256 of a credentials JSON document.
pub fn secret_id(credentials_json: &str) -> String {
    sha256_hex(credentials_json.as_bytes())[..16].to_owned()
}

/// [`secret_id`] of a credentials file as calmctl writes it (the JSON and a line feed).
pub fn file_secret_id(bytes: &[u8]) -> String {
    secret_id(&String::from_utf8_lossy(
        bytes.strip_suffix(b"\n").unwrap_or(bytes),
    ))
}

/// The key of a `dir` file in [`crate::LiveTenant::files`]: `<instance>/<key>`.
pub fn file_key(instance: &str, key: &str) -> String {
    format!("{instance}/{key}")
}

/// Where a `dir` delivery writes a key: `<dir>/<tenant>/<key>.json`, or
/// `<dir>/<tenant>/<instance>/<key>.json` when another instance of the tenant has a key of the same
/// name, so that two keys never share a file. A tenant with one key of each name keeps the layout
/// of earlier versions.
pub fn credentials_path(dir: &Path, t: &Tenant, instance: &str, key: &str) -> PathBuf {
    let shared = t
        .instances
        .iter()
        .filter(|i| i.keys.iter().any(|k| k.name == key))
        .count()
        > 1;
    let folder = dir.join(&t.name);
    if shared {
        folder.join(instance).join(format!("{key}.json"))
    } else {
        folder.join(format!("{key}.json"))
    }
}

/// Why the credentials of `live` (calm.yaml's `instance`/`key` of `t`) must be delivered, or
/// `None` when the sink has them. `files` is [`crate::LiveTenant::files`].
pub fn due(
    delivery: &Delivery,
    instance: &str,
    key: &str,
    live: &LiveKey,
    files: &BTreeMap<String, String>,
) -> Option<String> {
    let file = || files.get(&file_key(instance, key));
    let reason = match live.metadata.get(labels::DELIVERY).map(String::as_str) {
        Some(PENDING) => "not delivered yet",
        Some(FAILED) => "last delivery failed",
        Some(UNVERIFIED) => "delivered, but not verified yet",
        Some(done) => {
            let mut parts = done.splitn(3, '-');
            let (sink, secret) = match (parts.next(), parts.next(), parts.next()) {
                (Some("v1"), Some(sink), Some(secret)) => (sink, secret),
                _ => return Some("its delivery record is unreadable".into()),
            };
            if sink != sink_id(delivery) {
                "delivered to another sink"
            } else if let Delivery::Dir(_) = delivery {
                match file() {
                    None => "its credentials file is missing",
                    Some(found) if found != secret => {
                        "its credentials file holds other credentials"
                    }
                    Some(_) => return None,
                }
            } else {
                return None;
            }
        }
        // Keys delivered before records existed: a file that is there is taken as delivered; a
        // command's result cannot be checked.
        None => match delivery {
            Delivery::Dir(_) if file().is_some() => return None,
            Delivery::Dir(_) => "its credentials file is missing",
            Delivery::Exec(_) => "no delivery recorded",
        },
    };
    Some(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExecDelivery, Instance, Key};

    fn tenant(instances: &[(&str, &[&str])]) -> Tenant {
        Tenant {
            name: "t".into(),
            span: crate::Span::default(),
            subaccount: "t".into(),
            account: "a".into(),
            region: "eu10".into(),
            runtime: crate::Runtime::Cloudfoundry,
            org: None,
            org_span: None,
            cf_api: None,
            cf_api_span: None,
            entitlement: crate::Entitlement::Amount(1),
            protect: false,
            labels: BTreeMap::new(),
            space_roles: Vec::new(),
            retrieve: Vec::new(),
            instances: instances
                .iter()
                .map(|(name, keys)| Instance {
                    name: (*name).into(),
                    span: crate::Span::default(),
                    space: Some("calm".into()),
                    plan: "standard".into(),
                    parameters: serde_json::json!({}),
                    parameters_stated: false,
                    keys: keys
                        .iter()
                        .map(|k| Key {
                            name: (*k).into(),
                            span: crate::Span::default(),
                            rotate_after_secs: None,
                            retire_after_secs: 1,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn keys_of_one_name_in_two_instances_get_two_files() {
        let dir = Path::new("c");
        let one = tenant(&[("a", &["k"]), ("b", &["other"])]);
        assert_eq!(
            credentials_path(dir, &one, "a", "k"),
            Path::new("c/t/k.json")
        );
        let two = tenant(&[("a", &["k"]), ("b", &["k"])]);
        assert_eq!(
            credentials_path(dir, &two, "a", "k"),
            Path::new("c/t/a/k.json")
        );
        assert_eq!(
            credentials_path(dir, &two, "b", "k"),
            Path::new("c/t/b/k.json")
        );
    }

    #[test]
    fn a_key_is_due_until_its_record_and_file_agree() {
        let dir = Delivery::Dir("c".into());
        let exec = Delivery::Exec(ExecDelivery {
            command: vec!["vault-put".into()],
            env: Vec::new(),
            timeout_secs: 60,
        });
        let json = r#"{"uaa":{"clientsecret":"s"}}"#;
        let key = |record: Option<String>| LiveKey {
            guid: "g".into(),
            name: "k".into(),
            instance_guid: "i".into(),
            created_at: 0,
            last_operation: None,
            metadata: record
                .map(|r| (labels::DELIVERY.to_owned(), r))
                .into_iter()
                .collect(),
        };
        let mut files = BTreeMap::new();
        let due =
            |d: &Delivery, k: &LiveKey, f: &BTreeMap<String, String>| super::due(d, "a", "k", k, f);
        assert_eq!(
            due(&dir, &key(Some(FAILED.into())), &files).as_deref(),
            Some("last delivery failed")
        );
        assert_eq!(
            due(&exec, &key(None), &files).as_deref(),
            Some("no delivery recorded")
        );
        assert_eq!(
            due(&dir, &key(None), &files).as_deref(),
            Some("its credentials file is missing")
        );
        let done = key(Some(record(&dir, json)));
        assert!(due(&dir, &done, &files).is_some(), "no file");
        files.insert(
            file_key("a", "k"),
            file_secret_id(format!("{json}\n").as_bytes()),
        );
        assert_eq!(due(&dir, &done, &files), None);
        assert_eq!(due(&dir, &key(None), &files), None, "an older delivery");
        files.insert(file_key("a", "k"), secret_id("{}"));
        assert_eq!(
            due(&dir, &done, &files).as_deref(),
            Some("its credentials file holds other credentials")
        );
        assert_eq!(
            due(&exec, &done, &files).as_deref(),
            Some("delivered to another sink")
        );
        assert_eq!(due(&exec, &key(Some(record(&exec, json))), &files), None);
    }
}
