//! Where each Cloud Foundry tenant's org is: the subaccount's Cloud Foundry environment instance
//! names its landscape's API endpoint and the org (btp-api.md §3.6), read in one request per
//! global account; calm.yaml's explicit `cf_api` and `org` win, and a difference is noted.
//!
//! Nothing is guessed from the region: a subaccount in `eu10` may have its org on `eu10-004`,
//! China's landscapes have their own domain, and the org's name is chosen when Cloud Foundry is
//! enabled.

use std::collections::HashMap;

use calm_btp::accounts::Subaccount;
use calm_btp::provisioning::EnvironmentInstance;
use calm_core::{CfLocation, Tenant};

use crate::{Connections, EngineError};

/// The environment instances of one global account, by subaccount GUID.
#[derive(Default)]
pub(crate) struct Environments {
    by_subaccount: HashMap<String, Vec<EnvironmentInstance>>,
}

impl Environments {
    pub(crate) fn new(list: Vec<EnvironmentInstance>) -> Self {
        let mut by_subaccount: HashMap<String, Vec<EnvironmentInstance>> = HashMap::new();
        for e in list {
            by_subaccount
                .entry(e.subaccount_guid.to_ascii_lowercase())
                .or_default()
                .push(e);
        }
        Environments { by_subaccount }
    }

    /// The subaccount's Cloud Foundry environment instance (a subaccount has at most one).
    pub(crate) fn cloud_foundry(&self, subaccount_guid: &str) -> Option<&EnvironmentInstance> {
        self.by_subaccount
            .get(&subaccount_guid.to_ascii_lowercase())?
            .iter()
            .find(|e| e.is_cloud_foundry())
    }
}

/// Reads the environment instances of an account's global account (one request).
pub(crate) async fn read(conns: &Connections, account: &str) -> Result<Environments, EngineError> {
    let conn = conns.account(account)?;
    let client = conn
        .provisioning
        .as_ref()
        .ok_or_else(|| EngineError::Connection {
            account: account.to_owned(),
            message: "its `cis_key` names no `endpoints.provisioning_service_url`, which calmctl \
                      needs to find where the Cloud Foundry orgs of its tenants are: use a key of \
                      the Cloud Management service (plan central) as the cockpit shows it"
                .into(),
        })?;
    let list = client
        .list_environment_instances()
        .await
        .map_err(EngineError::api(format!(
            "listing the environment instances of account `{account}`"
        )))?;
    Ok(Environments::new(list))
}

/// Compares URLs as Cloud Foundry API base URLs: scheme and host without case, no trailing `/`.
fn same_api(a: &str, b: &str) -> bool {
    a.trim()
        .trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
}

/// Where the tenant's org is, and the org the environment instance names (for a later error
/// when calm.yaml's own `org` is not found there).
pub(crate) fn locate(
    t: &Tenant,
    subaccount: &Subaccount,
    envs: &Environments,
) -> (CfLocation, Option<String>) {
    let env = envs.cloud_foundry(&subaccount.guid);
    let env_api = env.and_then(|e| e.api_endpoint.clone());
    let env_org = env.and_then(|e| e.org_name.clone());
    let api = t.cf_api.clone().or_else(|| env_api.clone());
    let org = t.org.clone().or_else(|| env_org.clone());
    let place = format!(
        "subaccount `{}` ({})",
        subaccount.subdomain, subaccount.guid
    );
    let mut disagreements = Vec::new();
    if let (Some(mine), Some(theirs)) = (&t.cf_api, &env_api)
        && !same_api(mine, theirs)
    {
        disagreements.push(format!(
            "calm.yaml's `cf_api` {mine} differs from {theirs}, the API endpoint of the Cloud \
             Foundry environment of {place}; calmctl uses {mine}"
        ));
    }
    if let (Some(mine), Some(theirs)) = (&t.org, &env_org)
        && !mine.eq_ignore_ascii_case(theirs)
    {
        disagreements.push(format!(
            "calm.yaml's `org` `{mine}` differs from `{theirs}`, the org of the Cloud Foundry \
             environment of {place}; calmctl uses `{mine}`"
        ));
    }
    let problem = match (&api, &org, env) {
        (Some(_), Some(_), _) => None,
        (_, _, None) => Some(format!(
            "{place} has no Cloud Foundry environment, so tenant `{}` (runtime: cloudfoundry) has \
             no org to use: give the tenant `runtime: service-manager` (SAP's recommended path, no \
             Cloud Foundry needed), or enable Cloud Foundry in the subaccount (BTP cockpit: the \
             subaccount's Overview, \"Enable Cloud Foundry\") and plan again",
            t.name
        )),
        (_, _, Some(e)) => Some(format!(
            "the Cloud Foundry environment of {place} is in state {} and names no {}: plan again \
             once it is OK, or set `cf_api` and `org` for tenant `{}` in calm.yaml",
            if e.state.is_empty() {
                "unknown"
            } else {
                &e.state
            },
            if api.is_none() { "API endpoint" } else { "org" },
            t.name
        )),
    };
    (
        CfLocation {
            api,
            org,
            problem,
            org_not_found: false,
            disagreements,
        },
        env_org,
    )
}

/// The error for calm.yaml's explicit org when it is not on the landscape but the environment
/// instance names another.
pub(crate) fn wrong_org(t: &Tenant, api: &str, env_org: &str) -> String {
    format!(
        "org `{}`, which calm.yaml names for tenant `{}`, was not found on {api}; the \
         subaccount's Cloud Foundry environment names org `{env_org}` there: correct the \
         tenant's `org` in calm.yaml, or remove it to use `{env_org}`",
        t.org.as_deref().unwrap_or_default(),
        t.name
    )
}
