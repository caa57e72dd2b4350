//! Who holds a lease, written so that it fits a subaccount label value (at most 63 characters,
//! btp-sim FIDELITY.md §5) on any host name, and when a lease of another run no longer counts.
//!
//! A lease value is `<host>-<pid>-<nonce>.<namespace>@<expiry, Unix seconds>`:
//! - `host` is the host name, cut and ended with a hash of the whole name when it is long;
//! - `namespace` names the process's PID namespace on this boot (a hash of the kernel's boot id
//!   and the namespace's inode), so that a pid is only ever judged where it means something.
//!
//! A lease of another run counts until it expires, unless it was taken in this very PID
//! namespace on this host and its process is gone. Two runs that share a host name but not a PID
//! namespace (containers, `docker --network host`, CI runners) never judge each other's pid. A
//! lease without a namespace (written by earlier versions) counts until it expires.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The label that holds the lease.
pub const LEASE_LABEL: &str = "calmctl.sap/lease";

/// The longest subaccount label value.
pub(super) const MAX_VALUE: usize = 63;
/// The longest expiry written: one year, so that the value keeps its length.
const MAX_TTL_SECS: u64 = 365 * 24 * 3600;
/// Characters of the hashes in a value.
const HASH_CHARS: usize = 8;

/// Where a run runs: its host name and its PID namespace on this boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The host name.
    pub host: String,
    /// The PID namespace on this boot, or `None` when it cannot be told (then no other run's
    /// lease is taken over before it expires).
    pub namespace: Option<String>,
}

impl Identity {
    /// This process's identity: `/etc/hostname` (or `HOSTNAME`), and on Linux a hash of
    /// `/proc/sys/kernel/random/boot_id` and the `/proc/self/ns/pid` link.
    pub fn of_this_process() -> Identity {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "host".into());
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok();
        let pid_ns = std::fs::read_link("/proc/self/ns/pid").ok();
        let namespace = match (boot, pid_ns) {
            (Some(boot), Some(ns)) if cfg!(target_os = "linux") => {
                Some(hash(&format!("{}/{}", boot.trim(), ns.display())))
            }
            _ => None,
        };
        Identity {
            host: host.trim().to_owned(),
            namespace,
        }
    }
}

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

/// The lease in a subaccount's labels, if there is one that parses.
pub(super) fn parse(labels: &BTreeMap<String, Vec<String>>) -> Option<Found> {
    let value = labels.get(LEASE_LABEL)?.first()?;
    let (holder, expires) = value.rsplit_once('@')?;
    Some(Found {
        holder: holder.to_owned(),
        expires: expires.parse().ok()?,
    })
}

/// This run in the lease labels.
#[derive(Debug, Clone)]
pub(super) struct Me {
    pub(super) holder: String,
    identity: Identity,
}

impl Me {
    pub(super) fn new(identity: &Identity) -> Me {
        Me {
            holder: holder(identity, std::process::id(), nonce()),
            identity: identity.clone(),
        }
    }

    /// Whether a lease found on a subaccount is another run's and still counts ([`alive`]).
    pub(super) fn blocked_by(&self, found: &Found) -> bool {
        found.holder != self.holder
            && alive(
                &found.holder,
                found.expires,
                now(),
                &self.identity,
                &self.holder,
            )
    }

    /// This run's lease value for `ttl` from now.
    pub(super) fn value(&self, ttl: Duration) -> String {
        value(&self.holder, now(), ttl.as_secs())
    }
}

fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(HASH_CHARS)
        .collect()
}

/// The host name as written in a holder: letters, digits, `-` and `.`, cut to `room` characters
/// and ended with a hash of the whole name when it is longer.
fn host_part(host: &str, room: usize) -> String {
    let clean: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    let clean = if clean.is_empty() {
        "host".to_owned()
    } else {
        clean
    };
    if clean.len() <= room {
        return clean;
    }
    let keep = room.saturating_sub(HASH_CHARS + 1);
    format!("{}-{}", &clean[..keep], hash(host))
}

/// This run in the lease labels: `<host>-<pid>-<nonce>.<namespace>` (no `.<namespace>` when it is
/// unknown), short enough that `<holder>@<expiry>` fits [`MAX_VALUE`].
fn holder(identity: &Identity, pid: u32, nonce: u16) -> String {
    let tail = match &identity.namespace {
        Some(ns) => format!("-{pid}-{nonce:04x}.{ns}"),
        None => format!("-{pid}-{nonce:04x}"),
    };
    // `@` and an expiry of ten digits (until the year 2286).
    let room = MAX_VALUE.saturating_sub(11 + tail.len());
    format!("{}{tail}", host_part(&identity.host, room))
}

/// A fresh nonce for this run's holder name.
fn nonce() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos ^ (std::process::id().rotate_left(16))) as u16
}

/// The lease value of `holder` for `ttl_secs` from `now`.
fn value(holder: &str, now: u64, ttl_secs: u64) -> String {
    format!("{holder}@{}", now + ttl_secs.min(MAX_TTL_SECS))
}

/// A holder's parts: host, pid and namespace (if it wrote one).
struct Parts<'h> {
    host: &'h str,
    pid: Option<u32>,
    namespace: Option<&'h str>,
}

fn parts(holder: &str) -> Option<Parts<'_>> {
    let mut it = holder.rsplitn(3, '-');
    let (last, pid, host) = (it.next()?, it.next()?, it.next()?);
    let namespace = last.split_once('.').map(|(_, ns)| ns);
    Some(Parts {
        host,
        pid: pid.parse().ok(),
        namespace,
    })
}

/// Whether `holder`'s lease, expiring at `expires`, still counts for a run with `identity` (whose
/// own holder name is `me`): not expired, and not provably gone. Gone is only ever judged by a pid
/// of this very PID namespace: the lease names this host and this namespace, and on Linux
/// `/proc/<pid>` does not exist.
fn alive(holder: &str, expires: u64, now: u64, identity: &Identity, me: &str) -> bool {
    if expires <= now {
        return false;
    }
    let (Some(theirs), Some(mine)) = (parts(holder), parts(me)) else {
        return true;
    };
    let same_namespace = theirs.host == mine.host
        && theirs.namespace.is_some()
        && theirs.namespace == identity.namespace.as_deref();
    match theirs.pid {
        Some(pid) if same_namespace && cfg!(target_os = "linux") => {
            std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(host: &str, ns: Option<&str>) -> Identity {
        Identity {
            host: host.into(),
            namespace: ns.map(str::to_owned),
        }
    }

    #[test]
    fn a_value_fits_63_characters_on_any_host_name() {
        let long = "build-agent-with-a-very-long-name.eu-central-1.compute.internal.example";
        for host in ["ci", long, &"x".repeat(300), "ünïcode-hôst"] {
            let h = holder(&id(host, Some("0123abcd")), u32::MAX, 0xffff);
            let v = value(&h, 4_102_444_800, 600);
            assert!(v.len() <= MAX_VALUE, "{v} is {} long", v.len());
            assert!(v.ends_with(".0123abcd@4102445400"), "{v}");
        }
        let a = holder(&id(&format!("{long}-a"), None), 1, 1);
        let b = holder(&id(&format!("{long}-b"), None), 1, 1);
        assert_ne!(a, b, "long names that differ stay apart");
    }

    #[test]
    fn only_a_lease_of_this_pid_namespace_is_judged_by_its_pid() {
        let now = 1_000;
        let here = id("ci", Some("aaaa1111"));
        let me = holder(&here, std::process::id(), 1);
        let gone = 4_294_967_000u32;
        let same = holder(&here, gone, 2);
        assert_eq!(
            alive(&same, now + 600, now, &here, &me),
            !cfg!(target_os = "linux")
        );
        let living = holder(&here, std::process::id(), 3);
        assert!(alive(&living, now + 600, now, &here, &me));
        let other_namespace = holder(&id("ci", Some("bbbb2222")), gone, 4);
        assert!(alive(&other_namespace, now + 600, now, &here, &me));
        let unknown_namespace = format!("ci-{gone}-0005");
        assert!(alive(&unknown_namespace, now + 600, now, &here, &me));
        let nowhere = id("ci", None);
        let me_nowhere = holder(&nowhere, std::process::id(), 6);
        let theirs = holder(&nowhere, gone, 7);
        assert!(alive(&theirs, now + 600, now, &nowhere, &me_nowhere));
        assert!(!alive(&other_namespace, now, now, &here, &me), "expired");
    }
}
