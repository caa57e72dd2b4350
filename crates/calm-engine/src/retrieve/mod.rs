//! Retrieving credentials that exist already (`retrieve:` in calm.yaml): SAP Cloud ALM's
//! generated keys and bindings, or others named there. Read, checked, delivered and verified;
//! never created, relabelled, rotated or deleted, and no entitlement, space or role is changed.
//!
//! ```text
//! per account:   what `discover` reads (subaccounts, assignments, per CF region: orgs, spaces,
//!                Cloud ALM instances, keys; per subaccount without CF instances: Service
//!                Manager access binding (GET), instances, bindings)
//! per retrieved: GET /v3/service_credential_bindings/{guid}/details, or GET /v1/service_bindings/{id}
//! ```
//!
//! [`plan`] finds what each tenant names, reads the credentials, checks them (check.rs) and lists
//! those whose sink lacks them ([`RetrieveLine`]); [`deliver`] (deliver.rs) reads each again by
//! GUID when it delivers, so a key deleted after the plan fails its tenant, naming key and
//! subaccount.

mod check;
mod deliver;
mod read;

use std::collections::{BTreeSet, HashMap};

use calm_btp::cf::Credentials;
use calm_core::delivered::{credentials_path, file_secret_id, record, secret_id};
use calm_core::retrieved::{RetrieveError, RetrieveLine};
use calm_core::{Delivery, Desired, LiveKey, Retrieve, Tenant, looks_generated};

pub use calm_core::retrieved::RetrieveReport;
pub use deliver::deliver;

use read::{Records, read_credentials, read_records, record_key};

use crate::discover::{DiscoverOptions, Found};
use crate::{Connections, EngineError};

/// The read-only deliveries due for the targeted tenants of `desired` that retrieve, and the
/// tenants whose credentials cannot be retrieved. `force` (`--refresh-credentials`) makes every
/// one due.
pub async fn plan(
    desired: &Desired,
    conns: &Connections,
    targets: Option<&BTreeSet<String>>,
    force: bool,
) -> Result<(Vec<RetrieveLine>, Vec<RetrieveError>), EngineError> {
    let tenants: Vec<&Tenant> = desired
        .tenants
        .iter()
        .filter(|t| !t.retrieve.is_empty())
        .filter(|t| targets.is_none_or(|s| s.contains(&t.name)))
        .collect();
    if tenants.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let accounts: BTreeSet<&str> = tenants.iter().map(|t| t.account.as_str()).collect();
    let mut found: HashMap<String, Found> = HashMap::new();
    for account in accounts {
        let options = DiscoverOptions {
            account: account.to_owned(),
            ..DiscoverOptions::default()
        };
        for f in crate::discover::discover(conns, &options).await? {
            found.insert(
                format!("{account}\0{}", f.subaccount.guid.to_ascii_lowercase()),
                f.clone(),
            );
            found.insert(
                format!("{account}\0{}", f.subaccount.subdomain.to_ascii_lowercase()),
                f,
            );
        }
    }
    let records = read_records();
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut reads = Vec::new();
    for t in tenants {
        let key = format!("{}\0{}", t.account, t.subaccount.to_ascii_lowercase());
        let Some(f) = found.get(&key) else {
            errors.push(RetrieveError {
                tenant: t.name.clone(),
                message: format!(
                    "subaccount `{}` is not in account `{}`",
                    t.subaccount, t.account
                ),
            });
            continue;
        };
        match select(t, f) {
            Ok(keys) => reads.push((t, f, keys)),
            Err(message) => errors.push(RetrieveError {
                tenant: t.name.clone(),
                message,
            }),
        }
    }
    let fetched = futures::future::join_all(reads.iter().map(|(t, f, keys)| async move {
        let mut out = Vec::new();
        for k in keys {
            out.push(fetch(conns, t, f, k).await.map(|c| (*k, c)));
        }
        out
    }))
    .await;
    for ((t, f, _), results) in reads.iter().zip(fetched) {
        let mut tenant_lines = Vec::new();
        let mut failed = None;
        for result in results {
            let (k, credentials) = match result {
                Ok(found) => found,
                Err(message) => {
                    failed = Some(message);
                    break;
                }
            };
            let line = line(desired, t, f, k, "");
            if let Err(rule) = check::landscape_rules(
                credentials.expose_json(),
                &f.subaccount.subdomain,
                line.runtime,
            ) {
                failed = Some(format!(
                    "{} of subaccount `{}` is refused: {rule}",
                    line.label(),
                    f.subaccount.subdomain
                ));
                break;
            }
            if let Some(reason) = due(desired, t, &line, &credentials, &records, force) {
                tenant_lines.push(RetrieveLine { reason, ..line });
            }
        }
        match failed {
            Some(message) => errors.push(RetrieveError {
                tenant: t.name.clone(),
                message,
            }),
            None => lines.extend(tenant_lines),
        }
    }
    lines.sort();
    errors.sort();
    Ok((lines, errors))
}

/// The keys a tenant's `retrieve` entries name, or what was looked for and what exists.
fn select<'f>(t: &Tenant, f: &'f Found) -> Result<Vec<&'f LiveKey>, String> {
    let instance_name = |k: &LiveKey| {
        f.instances
            .iter()
            .find(|(i, _)| i.guid == k.instance_guid)
            .map_or("?", |(i, _)| i.name.as_str())
    };
    let mut out: Vec<&LiveKey> = Vec::new();
    for entry in &t.retrieve {
        let matching: Vec<&LiveKey> = f
            .keys
            .iter()
            .filter(|k| match entry {
                Retrieve::Generated => looks_generated(&k.name),
                Retrieve::Named { instance, key } => {
                    &k.name == key && instance.as_ref().is_none_or(|i| i == instance_name(k))
                }
            })
            .collect();
        if matching.is_empty() {
            let wanted = match entry {
                Retrieve::Generated => "no credentials generated by SAP (a key or binding named \
                                        `<SID>_<client>_<system number>`, like `ABC_100_00`)"
                    .to_owned(),
                Retrieve::Named { .. } => format!("no key or binding `{entry}`"),
            };
            let existing: Vec<String> = f
                .keys
                .iter()
                .map(|k| format!("`{}/{}`", instance_name(k), k.name))
                .collect();
            let holds = if existing.is_empty() {
                "no key or binding of a Cloud ALM API instance".to_owned()
            } else {
                existing.join(", ")
            };
            return Err(format!(
                "found {wanted} in subaccount `{}`; it holds {holds}",
                f.subaccount.subdomain
            ));
        }
        for k in matching {
            if !out.iter().any(|o| o.guid == k.guid) {
                out.push(k);
            }
        }
    }
    Ok(out)
}

/// Where the credentials of `k` are found (runtime) and where they go.
fn line(desired: &Desired, t: &Tenant, f: &Found, k: &LiveKey, reason: &str) -> RetrieveLine {
    let instance = f
        .instances
        .iter()
        .find(|(i, _)| i.guid == k.instance_guid)
        .map_or_else(String::new, |(i, _)| i.name.clone());
    let to = match &desired.delivery {
        Delivery::Dir(dir) => credentials_path(dir, t, &instance, &k.name)
            .display()
            .to_string(),
        Delivery::Exec(exec) => format!("`{}`", exec.command.join(" ")),
    };
    RetrieveLine {
        tenant: t.name.clone(),
        subaccount: f.subaccount.subdomain.clone(),
        subaccount_guid: f.subaccount.guid.clone(),
        region: f.subaccount.region.clone(),
        cf_api: f.cf_api.clone(),
        runtime: f.runtime.unwrap_or(t.runtime),
        instance,
        key: k.name.clone(),
        guid: k.guid.clone(),
        to,
        reason: reason.to_owned(),
    }
}

/// Reads the credentials of one key or binding.
async fn fetch(
    conns: &Connections,
    t: &Tenant,
    f: &Found,
    k: &LiveKey,
) -> Result<Credentials, String> {
    let runtime = f.runtime.unwrap_or(t.runtime);
    read_credentials(
        conns,
        &t.account,
        &f.subaccount.guid,
        f.cf_api.as_deref(),
        runtime,
        &k.guid,
    )
    .await
    .map_err(|e| {
        format!(
            "cannot read the credentials of `{}` in subaccount `{}`: {e}",
            k.name, f.subaccount.subdomain
        )
    })
}

/// Why `line`'s credentials must be delivered, or `None` when the sink has them.
fn due(
    desired: &Desired,
    t: &Tenant,
    line: &RetrieveLine,
    credentials: &Credentials,
    records: &Records,
    force: bool,
) -> Option<String> {
    if force {
        return Some("--refresh-credentials".into());
    }
    let json = credentials.expose_json();
    match &desired.delivery {
        Delivery::Dir(dir) => {
            let path = credentials_path(dir, t, &line.instance, &line.key);
            match std::fs::read(&path) {
                Err(_) => Some("not delivered yet".into()),
                Ok(bytes) if file_secret_id(&bytes) != secret_id(json) => {
                    Some("the file holds other credentials".into())
                }
                Ok(_) => None,
            }
        }
        Delivery::Exec(_) => match records.get(&record_key(line)) {
            None => Some("not delivered yet".into()),
            Some(r) if *r != record(&desired.delivery, json) => {
                Some("the credentials or the command changed".into())
            }
            Some(_) => None,
        },
    }
}
