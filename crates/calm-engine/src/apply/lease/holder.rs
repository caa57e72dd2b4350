//! Who holds a lease, and whether that holder still counts: the lease label's value
//! `<holder>@<expiry, Unix seconds>` and the holder id `<host>-<pid>-<nonce>`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The label that holds the lease.
pub const LEASE_LABEL: &str = "calmctl.sap/lease";

/// A lease found on a subaccount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub(super) holder: String,
    pub(super) expires: u64,
}

pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `<host>-<pid>-<nonce>`: who holds a lease, readable in the cockpit.
pub(super) fn holder_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into());
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(40)
        .collect();
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        % 0x10000;
    format!("{host}-{}-{nonce:04x}", std::process::id())
}

pub(super) fn parse(labels: &BTreeMap<String, Vec<String>>) -> Option<Found> {
    let value = labels.get(LEASE_LABEL)?.first()?;
    let (holder, expires) = value.rsplit_once('@')?;
    Some(Found {
        holder: holder.to_owned(),
        expires: expires.parse().ok()?,
    })
}

/// Whether a lease of another holder still counts: not expired, and, when it was taken on this
/// host, its process still runs (a killed run's lease is taken over at once by the next run on
/// the same machine).
pub(super) fn alive(found: &Found, me: &str) -> bool {
    if found.expires <= now() {
        return false;
    }
    let mut parts = found.holder.rsplitn(3, '-');
    let (_nonce, pid, host) = (parts.next(), parts.next(), parts.next());
    let my_host = me.rsplitn(3, '-').nth(2);
    match (host, pid.and_then(|p| p.parse::<u32>().ok())) {
        (Some(host), Some(pid)) if Some(host) == my_host && cfg!(target_os = "linux") => {
            std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_label_round_trips_and_expires() {
        let mut labels = BTreeMap::new();
        labels.insert(
            LEASE_LABEL.to_owned(),
            vec!["ci-7-1-00ff@4102444800".to_owned()],
        );
        let found = parse(&labels).expect("a lease");
        assert_eq!(found.holder, "ci-7-1-00ff");
        assert!(
            alive(&found, "elsewhere-1-abcd"),
            "another host's lease counts"
        );
        let old = Found {
            holder: found.holder.clone(),
            expires: 1,
        };
        assert!(
            !alive(&old, "elsewhere-1-abcd"),
            "an expired lease does not"
        );
        labels.insert(LEASE_LABEL.to_owned(), vec!["no expiry".to_owned()]);
        assert_eq!(parse(&labels), None);
    }

    #[test]
    fn a_dead_process_on_this_host_holds_nothing() {
        let me = holder_id();
        let host = me.rsplitn(3, '-').nth(2).unwrap_or_default().to_owned();
        let dead = Found {
            holder: format!("{host}-4294967-0001"),
            expires: now() + 600,
        };
        assert_eq!(alive(&dead, &me), !cfg!(target_os = "linux"));
        let living = Found {
            holder: format!("{host}-{}-0002", std::process::id()),
            expires: now() + 600,
        };
        assert!(alive(&living, &me));
    }
}
