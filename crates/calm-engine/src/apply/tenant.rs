//! One tenant's run: its changes in dependency order, then delivery of the keys that are due.
//! A create whose job fails is tried again (up to four times in all); any other failing step
//! ends the tenant (later steps depend on it); other tenants go on.

use std::future::Future;
use std::time::Duration;

use calm_btp::cf::{CfClient, Credentials};
use calm_btp::service_manager::ServiceManagerClient;
use calm_btp::{Api, Event};
use calm_core::plan::Observed;
use calm_core::{Action, Change, Instance, Live, LiveTenant, Plan, Resource, Runtime, Tenant};

use super::ids::Ids;
use super::{ApplyEvent, Failure, Run, TenantReport, TenantStatus, cf, deliver, rotate, sm};

/// Why a step failed, before it is named.
pub(crate) enum Fail {
    /// The API said no.
    Api(calm_btp::Error),
    /// Anything else.
    Other(String),
}

impl From<calm_btp::Error> for Fail {
    fn from(e: calm_btp::Error) -> Self {
        Fail::Api(e)
    }
}

impl Fail {
    pub(crate) fn named(self, step: &str) -> Failure {
        match self {
            Fail::Api(e) => Failure::api(step, &e),
            Fail::Other(message) => Failure::other(step, message),
        }
    }
}

/// The GUID the plan observed: updates, adoptions, replacements and deletions name their object.
pub(crate) fn guid_of(c: &Change) -> Result<&str, Fail> {
    c.observed
        .as_ref()
        .map(|o| o.guid.as_str())
        .ok_or_else(|| Fail::Other("the plan does not name the object's GUID".into()))
}

pub(crate) fn instance_of<'t>(t: &'t Tenant, name: &str) -> Result<&'t Instance, Fail> {
    t.instances
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| Fail::Other(format!("instance {name} is not in the config")))
}

/// Polls `probe` until it finds something, reporting each wait; gives up after five minutes.
pub(crate) async fn until_visible<T, F, Fut>(
    run: &Run<'_>,
    api: Api,
    what: &str,
    mut probe: F,
) -> Result<T, Fail>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, calm_btp::Error>>,
{
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(Fail::Other(format!(
                "{what} did not become visible within 5 minutes"
            )));
        }
        let event = Event::Waiting {
            api,
            what: what.to_owned(),
            state: "not visible yet".into(),
            wait,
        };
        run.reporter.on_event(&ApplyEvent::Client(&event));
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// The client a tenant's steps go through.
pub(crate) enum Client {
    Cf(CfClient),
    Sm(ServiceManagerClient),
}

impl Client {
    /// The credentials of a key or binding. Secret: they go to the sink and nowhere else.
    pub(crate) async fn credentials(&self, ids: &mut Ids, guid: &str) -> Result<Credentials, Fail> {
        if let Some(c) = ids.credentials.remove(guid) {
            return Ok(c);
        }
        match self {
            Client::Cf(cf) => Ok(cf.service_credential_binding_details(guid).await?),
            Client::Sm(sm) => sm
                .get_service_binding(guid)
                .await?
                .credentials
                .ok_or_else(|| Fail::Other("the binding returned no credentials".into())),
        }
    }
}

async fn connect(
    run: &Run<'_>,
    t: Option<&Tenant>,
    live: &LiveTenant,
    ids: &Ids,
) -> Result<Client, Fail> {
    let engine = |e: crate::EngineError| Fail::Other(e.to_string());
    match t {
        Some(t) if t.runtime == Runtime::Cloudfoundry => Ok(Client::Cf(
            run.conns
                .cloud_foundry(&t.account, &t.region)
                .await
                .map_err(engine)?,
        )),
        Some(t) => {
            let guid = ids
                .subaccount
                .clone()
                .ok_or_else(|| Fail::Other("the subaccount was not found".into()))?;
            run.conns
                .service_manager(&t.account, &guid, true)
                .await
                .map_err(engine)?
                .map(Client::Sm)
                .ok_or_else(|| Fail::Other("no Service Manager access".into()))
        }
        None => orphan_client(run, live).await,
    }
}

/// A removed tenant's objects were found in one of the config's CF regions: find which one.
async fn orphan_client(run: &Run<'_>, live: &LiveTenant) -> Result<Client, Fail> {
    let probe = live
        .instances
        .first()
        .ok_or_else(|| Fail::Other("nothing left to delete".into()))?;
    let mut places: Vec<(&str, &str)> = run
        .desired
        .tenants
        .iter()
        .filter(|t| t.runtime == Runtime::Cloudfoundry)
        .map(|t| (t.account.as_str(), t.region.as_str()))
        .collect();
    places.sort_unstable();
    places.dedup();
    for (account, region) in places {
        let Ok(cf) = run.conns.cloud_foundry(account, region).await else {
            continue;
        };
        if cf.get_service_instance(&probe.guid).await.is_ok() {
            return Ok(Client::Cf(cf));
        }
    }
    Err(Fail::Other(
        "the removed tenant's instance is in no Cloud Foundry region of the config".into(),
    ))
}

pub(crate) fn step_of(c: &Change) -> String {
    format!("{} {}", c.action.verb(), c.resource.label())
}

/// Runs one tenant. `gate` is the outcome of its entitlement change, if it had one.
pub(crate) async fn apply(
    run: &Run<'_>,
    name: &str,
    live: &Live,
    plan: &Plan,
    gate: Option<Result<String, Failure>>,
) -> TenantReport {
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.tenant == name && !matches!(c.resource, Resource::Entitlement { .. }))
        .collect();
    let steps: Vec<String> = changes.iter().map(|c| step_of(c)).collect();
    let t = run.desired.tenants.iter().find(|t| t.name == name);
    let empty = LiveTenant::default();
    let lt = live
        .tenants
        .get(name)
        .or_else(|| live.orphans.iter().find(|o| o.name == name))
        .unwrap_or(&empty);
    let mut report = TenantReport {
        tenant: name.to_owned(),
        status: TenantStatus::Done,
        done: Vec::new(),
        remaining: Vec::new(),
        delivered: Vec::new(),
        error: None,
        warnings: Vec::new(),
    };
    match gate {
        Some(Err(failure)) => {
            report.status = TenantStatus::Failed;
            report.error = Some(failure);
            report.remaining = steps;
            return report;
        }
        Some(Ok(step)) => report.done.push(step),
        None if run.cancelled() => {
            report.status = TenantStatus::Skipped;
            report.remaining = steps;
            return report;
        }
        None => {}
    }
    let mut ids = Ids::from_live(lt);
    let mut client: Option<Client> = None;
    for (n, c) in changes.iter().enumerate() {
        if run.cancelled() {
            report.status = if report.done.is_empty() {
                TenantStatus::Skipped
            } else {
                TenantStatus::Pending
            };
            report.remaining = steps[n..].to_vec();
            return report;
        }
        let step = &steps[n];
        tracing::debug!(tenant = %name, step = %step, "step started");
        run.reporter
            .on_event(&ApplyEvent::StepStarted { tenant: name, step });
        let mut result = step_once(run, t, lt, &mut ids, &mut client, c, &mut report).await;
        let mut attempt = 1;
        while attempt < STEP_ATTEMPTS && !run.cancelled() {
            let Some(again) = retry_of(c, &result) else {
                break;
            };
            attempt += 1;
            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            result = step_once(run, t, lt, &mut ids, &mut client, &again, &mut report).await;
        }
        if let Err(fail) = result {
            let failure = fail.named(step);
            tracing::debug!(tenant = %name, step = %step, error = %failure.message, "step failed");
            run.reporter.on_event(&ApplyEvent::StepFinished {
                tenant: name,
                step,
                error: Some(&failure.message),
            });
            report.status = TenantStatus::Failed;
            report.error = Some(failure);
            report.remaining = steps[n + 1..].to_vec();
            return report;
        }
        tracing::debug!(tenant = %name, step = %step, "step done");
        run.reporter.on_event(&ApplyEvent::StepFinished {
            tenant: name,
            step,
            error: None,
        });
        report.done.push(step.clone());
    }
    if let Some(t) = t {
        deliver::tenant(run, t, lt, &mut ids, &mut client, &mut report).await;
    }
    report
}

/// Times a create whose asynchronous job failed is tried in one run.
const STEP_ATTEMPTS: u32 = 4;

/// The change to try again after `result`, if it is a create (or replacement) of an instance or
/// key whose job or operation failed: the broker failed, not the request, and the same create
/// usually succeeds a moment later. It becomes a replacement of the failed object (a new create
/// replaces a failed record on Cloud Foundry and for Service Manager instances, btp-api.md §2.7;
/// a failed Service Manager binding is deleted first, see sm.rs).
fn retry_of(c: &Change, result: &Result<(), Fail>) -> Option<Change> {
    let failed_id = match result {
        Err(Fail::Api(calm_btp::Error::JobFailed { resource_guid, .. })) => resource_guid.clone(),
        Err(Fail::Api(calm_btp::Error::OperationFailed { resource_id, .. })) => {
            Some(resource_id.clone())
        }
        _ => return None,
    };
    let creates = matches!(c.action, Action::Create | Action::Replace)
        && matches!(
            c.resource,
            Resource::ServiceInstance { .. } | Resource::ServiceKey { .. }
        );
    if !creates {
        return None;
    }
    let mut again = c.clone();
    again.action = Action::Replace;
    again.observed = failed_id.map(|guid| Observed {
        guid,
        version: String::new(),
        metadata_sha256: String::new(),
    });
    Some(again)
}

async fn step_once(
    run: &Run<'_>,
    t: Option<&Tenant>,
    lt: &LiveTenant,
    ids: &mut Ids,
    client: &mut Option<Client>,
    c: &Change,
    report: &mut TenantReport,
) -> Result<(), Fail> {
    {
        let client = ensure(run, t, lt, ids, client).await?;
        match (client, t) {
            (Client::Cf(cf), _) => cf::change(run, cf, t, ids, c).await?,
            (Client::Sm(sm), Some(t)) => sm::change(run, sm, t, ids, c).await?,
            (Client::Sm(_), None) => {
                return Err(Fail::Other("the tenant is not in the config".into()));
            }
        }
    }
    let Resource::ServiceKey {
        instance,
        rotates: Some(key),
        ..
    } = &c.resource
    else {
        return Ok(());
    };
    match (c.action, t) {
        (Action::Rotate, Some(t)) => {
            let warning = rotate::finish(run, t, lt, ids, client, c).await?;
            report.warnings.extend(warning);
            report.delivered.push(format!("{instance}/{key}"));
        }
        (Action::DeleteRetired, _) => {
            // A key left by an interrupted rotation may be what the sink holds: deliver the
            // current key again.
            if let Some(current) = ids.keys.get(&(instance.clone(), key.clone())) {
                ids.fresh.insert(current.clone());
            }
        }
        _ => {}
    }
    Ok(())
}

/// The tenant's client, connected on first use (a tenant with nothing to do sends nothing).
pub(crate) async fn ensure<'c>(
    run: &Run<'_>,
    t: Option<&Tenant>,
    lt: &LiveTenant,
    ids: &Ids,
    client: &'c mut Option<Client>,
) -> Result<&'c Client, Fail> {
    if client.is_none() {
        *client = Some(connect(run, t, lt, ids).await?);
    }
    client
        .as_ref()
        .ok_or_else(|| Fail::Other("no client".into()))
}
