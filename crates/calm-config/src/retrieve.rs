//! `retrieve:`: existing credentials a tenant delivers without calmctl managing them.
//!
//! ```yaml
//! defaults:
//!   retrieve: generated               # the credentials SAP Cloud ALM generated (ABC_100_00)
//! tenants:
//!   - { name: a, subaccount: a }                           # inherits `retrieve: generated`
//!   - { name: b, subaccount: b, retrieve: ABC_100_00 }     # one key or binding by name
//!   - { name: c, subaccount: c, retrieve: [calm-api/ops] } # `instance/key`
//!   - { name: d, subaccount: d, retrieve: generated, keys: [{ name: calm-key }] }  # beside
//!   - { name: e, subaccount: e, retrieve: [] }             # managed only
//! ```
//!
//! A tenant's own list replaces `defaults.retrieve`. A tenant that retrieves and writes no
//! `instance`, `instances` or `keys` of its own is retrieve-only: calmctl plans nothing else for it
//! (no entitlement, space, role, instance or key), so that delivering SAP's credentials needs no
//! write to BTP at all.

use calm_core::Retrieve;

use crate::diagnostic::Problems;
use crate::schema::{TenantDefaults, TenantSpec};

/// The word that selects SAP's generated credentials.
pub const GENERATED: &str = "generated";

/// The tenant's `retrieve` entries (its own, else `defaults.retrieve`), checked.
pub(crate) fn entries(
    problems: &mut Problems,
    defaults: &TenantDefaults,
    spec: &TenantSpec,
) -> Vec<Retrieve> {
    let Some(list) = spec.retrieve.as_ref().or(defaults.retrieve.as_ref()) else {
        return Vec::new();
    };
    let mut out: Vec<Retrieve> = Vec::new();
    for entry in &list.entries {
        let text = entry.value.trim();
        let parsed = if text == GENERATED {
            Some(Retrieve::Generated)
        } else {
            let (instance, key) = match text.split_once('/') {
                Some((i, k)) => (Some(i), k),
                None => (None, text),
            };
            let bad = |s: &str| {
                s.is_empty() || s.len() > 255 || s.chars().any(|c| c.is_whitespace() || c == '/')
            };
            if bad(key) || instance.is_some_and(bad) {
                None
            } else {
                Some(Retrieve::Named {
                    instance: instance.map(str::to_owned),
                    key: key.to_owned(),
                })
            }
        };
        match parsed {
            Some(r) if !out.contains(&r) => out.push(r),
            Some(_) => {}
            None => problems
                .error(
                    "calm::retrieve",
                    format!("`{}` does not name credentials to retrieve", entry.value),
                )
                .label(entry.span, "not `generated`, a key name or `instance/key`")
                .help(
                    "write `retrieve: generated` for the credentials SAP generated, or the name of \
                     an existing key or binding (`ABC_100_00`, or `calm-api/ABC_100_00`)",
                )
                .push(),
        }
    }
    out
}

/// Whether the tenant only retrieves: it retrieves something and names no instance or key.
pub(crate) fn only(spec: &TenantSpec, retrieve: &[Retrieve]) -> bool {
    !retrieve.is_empty()
        && spec.instance.is_none()
        && spec.instances.is_none()
        && spec.keys.is_none()
}
