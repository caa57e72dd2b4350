//! Which tenants a run covers (`--tenant`, `--select`) and which keys `rotate` renews: the same
//! rules for every operation.

use std::collections::BTreeSet;

use calm_core::live::{Ownership, is_protected, ownership};
use calm_core::{Desired, Live};

use crate::EngineError;

/// The tenants named (`--tenant NAME`) or selected by label (`--select KEY=VALUE`, all must
/// match); `None` when neither is given (every tenant).
pub fn select(
    desired: &Desired,
    tenants: &[String],
    select: &[String],
) -> Result<Option<BTreeSet<String>>, EngineError> {
    if tenants.is_empty() && select.is_empty() {
        return Ok(None);
    }
    let mut set = BTreeSet::new();
    for name in tenants {
        if !desired.tenants.iter().any(|t| &t.name == name) {
            return Err(EngineError::Targets(format!(
                "--tenant {name}: no tenant of that name in the config"
            )));
        }
        set.insert(name.clone());
    }
    let mut pairs = Vec::new();
    for s in select {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| EngineError::Targets(format!("--select {s}: write KEY=VALUE")))?;
        pairs.push((k.to_owned(), v.to_owned()));
    }
    if !pairs.is_empty() {
        set.extend(
            desired
                .tenants
                .iter()
                .filter(|t| pairs.iter().all(|(k, v)| t.labels.get(k) == Some(v)))
                .map(|t| t.name.clone()),
        );
    }
    Ok(Some(set))
}

/// The keys `calmctl rotate` renews whatever their age, as (tenant, key name in calm.yaml): every
/// key of the chosen tenants, or only `key`.
pub fn rotation_keys(
    desired: &Desired,
    targets: &BTreeSet<String>,
    key: Option<&str>,
) -> Result<BTreeSet<(String, String)>, EngineError> {
    if targets.is_empty() {
        return Err(EngineError::Targets(
            "no tenant chosen: name one with --tenant NAME or --select KEY=VALUE".into(),
        ));
    }
    let mut keys = BTreeSet::new();
    for t in desired.tenants.iter().filter(|t| targets.contains(&t.name)) {
        let names: BTreeSet<&str> = t
            .instances
            .iter()
            .flat_map(|i| i.keys.iter().map(|k| k.name.as_str()))
            .collect();
        match key {
            Some(key) if names.contains(key) => {
                keys.insert((t.name.clone(), key.to_owned()));
            }
            Some(key) => {
                return Err(EngineError::Targets(format!(
                    "--key {key}: tenant {} has no key of that name in the config",
                    t.name
                )));
            }
            None => keys.extend(names.iter().map(|k| (t.name.clone(), (*k).to_owned()))),
        }
    }
    Ok(keys)
}

/// The tenants `calmctl offboard` removes: those named (`--tenant NAME`, which may name a tenant
/// no longer in calm.yaml) and those selected by label (`--select KEY=VALUE`, from calm.yaml).
pub fn offboard_targets(
    desired: &Desired,
    tenants: &[String],
    select: &[String],
) -> Result<BTreeSet<String>, EngineError> {
    let mut set: BTreeSet<String> = tenants.iter().cloned().collect();
    if !select.is_empty() {
        // By label: only tenants in calm.yaml carry labels.
        set.extend(self::select(desired, &[], select)?.unwrap_or_default());
    }
    if set.is_empty() {
        return Err(EngineError::Targets(
            "no tenant chosen: name one with --tenant NAME or --select KEY=VALUE".into(),
        ));
    }
    Ok(set)
}

/// Refuses to offboard a tenant that is protected (`protect: true` in calm.yaml, or the
/// `calmctl.sap/protect` label on one of its objects), or of which neither calm.yaml nor BTP
/// knows anything. Nothing is changed.
pub fn check_offboard(
    desired: &Desired,
    live: &Live,
    offboard: &BTreeSet<String>,
) -> Result<(), EngineError> {
    for name in offboard {
        let configured = desired.tenants.iter().find(|t| &t.name == name);
        let found = live
            .tenants
            .get(name)
            .filter(|_| configured.is_some())
            .or_else(|| live.orphans.iter().find(|o| &o.name == name));
        if configured.is_none() && found.is_none() {
            return Err(EngineError::Targets(format!(
                "--tenant {name}: not in the config, and no object calmctl made for a tenant of that name was found"
            )));
        }
        let labelled = found.is_some_and(|lt| {
            lt.instances
                .iter()
                .map(|i| &i.metadata)
                .chain(lt.keys.iter().map(|k| &k.metadata))
                .any(|m| ownership(m) != Ownership::Unmanaged && is_protected(m))
        });
        if configured.is_some_and(|t| t.protect) || labelled {
            let how = if configured.is_some_and(|t| t.protect) {
                "remove `protect: true` from the tenant in calm.yaml and run `calmctl apply`, then offboard it"
            } else {
                "its objects carry `calmctl.sap/protect=true`: list the tenant in calm.yaml without `protect`, run `calmctl apply --tenant NAME`, then offboard it"
            };
            return Err(EngineError::Targets(format!(
                "tenant `{name}` is protected and cannot be offboarded; {how}; nothing was changed"
            )));
        }
    }
    Ok(())
}
