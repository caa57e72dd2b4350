//! Delivering retrieved credentials: each planned line's credentials read again by GUID (a key
//! deleted since the plan fails its tenant, naming key and subaccount), checked again, written
//! to the sink, verified with a token, and for an `exec` sink recorded locally
//! ([`calm_core::retrieved::RECORD_PATH`]). Nothing is written to BTP: SAP's objects are not
//! calmctl's to label, so the record of what was delivered stays on this side.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use calm_core::delivered::record;
use calm_core::retrieved::{RECORD_PATH, RetrieveError, RetrieveLine, RetrieveReport};
use calm_core::{Delivery, Desired};
use futures::StreamExt;

use super::check;
use super::read::{ReadFailure, read_credentials, read_records, record_key};
use crate::Connections;
use crate::apply::{ExecSetup, Sink};

/// One tenant's deliveries (each with its record) and its failure, if any.
type TenantResult = (Vec<(RetrieveLine, String)>, Option<RetrieveError>);

/// Delivers `lines` (from [`super::plan`]), at most `parallelism` tenants at once.
pub async fn deliver(
    desired: &Desired,
    conns: &Connections,
    lines: &[RetrieveLine],
    setup: &ExecSetup,
    verify: bool,
    parallelism: usize,
) -> RetrieveReport {
    let mut by_tenant: BTreeMap<&str, Vec<&RetrieveLine>> = BTreeMap::new();
    for l in lines {
        by_tenant.entry(l.tenant.as_str()).or_default().push(l);
    }
    let sink = Sink::from(&desired.delivery);
    let results: Vec<TenantResult> =
        futures::stream::iter(by_tenant.into_iter().map(|(tenant, lines)| {
            let sink = &sink;
            async move {
                let mut done = Vec::new();
                for line in lines {
                    match one(desired, conns, sink, setup, verify, line).await {
                        Ok(rec) => done.push((line.clone(), rec)),
                        Err(message) => {
                            let error = RetrieveError {
                                tenant: tenant.to_owned(),
                                message,
                            };
                            return (done, Some(error));
                        }
                    }
                }
                (done, None)
            }
        }))
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    let mut report = RetrieveReport::default();
    let mut records = read_records();
    for (done, error) in results {
        for (line, rec) in done {
            records.insert(record_key(&line), rec);
            report.delivered.push(line);
        }
        report.failed.extend(error);
    }
    if matches!(desired.delivery, Delivery::Exec(_))
        && !report.delivered.is_empty()
        && let Err(message) = write_records(&records)
    {
        report.failed.push(RetrieveError {
            tenant: report.delivered[0].tenant.clone(),
            message,
        });
    }
    report.delivered.sort();
    report.failed.sort();
    report
}

/// One line: read, check, put, verify. Returns the record of what was delivered.
async fn one(
    desired: &Desired,
    conns: &Connections,
    sink: &Sink,
    setup: &ExecSetup,
    verify: bool,
    line: &RetrieveLine,
) -> Result<String, String> {
    let what = || format!("{} of subaccount `{}`", line.label(), line.subaccount);
    let Some(t) = desired.tenants.iter().find(|t| t.name == line.tenant) else {
        return Err(format!("tenant `{}` is not in calm.yaml", line.tenant));
    };
    let account = &t.account;
    let credentials = read_credentials(
        conns,
        account,
        &line.subaccount_guid,
        line.cf_api.as_deref(),
        line.runtime,
        &line.guid,
    )
    .await
    .map_err(|e| match &e {
        ReadFailure::Gone(_) => format!(
            "{} is gone since the plan was made ({e}); nothing was delivered for it",
            what()
        ),
        ReadFailure::Other(m) => format!("cannot read the credentials of {}: {m}", what()),
    })?;
    check::landscape_rules(credentials.expose_json(), &line.subaccount, line.runtime)
        .map_err(|rule| format!("{} is refused: {rule}", what()))?;
    let cancel = &conns.btp().config().cancel;
    sink.put(setup, cancel, t, &line.instance, &line.key, &credentials)
        .await
        .map_err(|e| format!("delivering {}: {e}", what()))?;
    if verify {
        crate::apply::verify_token(conns.btp(), &credentials)
            .await
            .map_err(|e| {
                format!(
                    "{} was delivered, but no token could be had with it: {e}",
                    what()
                )
            })?;
    }
    Ok(record(&desired.delivery, credentials.expose_json()))
}

/// Writes the record file atomically, 0600 in a 0700 folder.
fn write_records(records: &BTreeMap<String, String>) -> Result<(), String> {
    let path = Path::new(RECORD_PATH);
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let json = serde_json::to_vec_pretty(records).map_err(|e| e.to_string())?;
    let mut file = tempfile::Builder::new()
        .prefix(".calmctl-")
        .tempfile_in(folder)
        .map_err(|e| format!("cannot write in {}: {e}", folder.display()))?;
    file.write_all(&json)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot protect {}: {e}", path.display()))?;
    file.persist(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
