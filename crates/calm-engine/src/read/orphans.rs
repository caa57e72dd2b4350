//! Tenants removed from calm.yaml, found through calmctl's own mark on their subaccounts
//! (`calmctl.sap/onboarded`, written with the first lease there, returned by the bulk subaccount
//! list): wherever no tenant of the config leads a read, whatever the runtime and region.
//!
//! ```text
//! marked service-manager, no service-manager tenant of the config in that subaccount
//!     ─▶ its Service Manager (if it has an access binding): calmctl's instances of tenants
//!        not in calm.yaml, and their bindings                      (per such subaccount)
//! marked cloudfoundry, on a landscape where no cloudfoundry tenant of the config is
//!     ─▶ that landscape's Cloud Foundry (the API its environment instance names; the account's
//!        environment instances are read once when no tenant needed them): calmctl's instances
//!        (label selector) of tenants not in calm.yaml, their keys and spaces  (per landscape)
//! ```
//!
//! Landscapes and subaccounts the config's tenants lead to are read by cf.rs and
//! service_manager.rs, which find removed tenants' objects there already.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use calm_btp::cf::{CfClient, ServiceInstanceFilter, ServicePlanFilter, SpaceFilter};
use calm_core::live::{CfLocation, FoundAt, Metadata, Ownership, labels, ownership};
use calm_core::{LiveTenant, Runtime, SERVICE_OFFERING};

use super::cf::{KeyIndex, instance, live_space};
use super::shapes::merge_metadata;
use crate::{Connections, EngineError};

/// A subaccount carrying calmctl's mark.
pub(super) struct Marked {
    pub(super) account: String,
    pub(super) guid: String,
    pub(super) region: String,
    pub(super) runtimes: Vec<String>,
    /// The Cloud Foundry API its environment instance names, when read.
    pub(super) cf_api: Option<String>,
}

impl Marked {
    /// The marked subaccounts of one account's listing.
    pub(super) fn of(account: &str, view: &super::AccountView) -> Vec<Marked> {
        view.subaccounts
            .iter()
            .filter_map(|s| {
                let runtimes = s.labels.get(labels::ONBOARDED)?.clone();
                Some(Marked {
                    account: account.to_owned(),
                    guid: s.guid.clone(),
                    region: s.region.clone(),
                    runtimes,
                    cf_api: view
                        .environments
                        .cloud_foundry(&s.guid)
                        .and_then(|e| e.api_endpoint.clone()),
                })
            })
            .collect()
    }

    fn has(&self, runtime: Runtime) -> bool {
        self.runtimes.iter().any(|r| r == runtime.as_str())
    }
}

/// The removed tenants that the config's own reads do not reach. `live` holds the config's
/// tenants as read (their subaccounts); `names` every tenant name of the config.
pub(super) async fn read(
    conns: &Connections,
    desired: &calm_core::Desired,
    live: &calm_core::Live,
    mut marked: Vec<Marked>,
    names: &BTreeSet<&str>,
    read_already: &BTreeSet<(String, String)>,
) -> Result<Vec<LiveTenant>, EngineError> {
    let sm_tenant_in: BTreeSet<&str> = desired
        .tenants
        .iter()
        .filter(|t| t.runtime == Runtime::ServiceManager)
        .filter_map(|t| live.tenants.get(&t.name)?.subaccount_guid.as_deref())
        .collect();
    let mut out = Vec::new();
    for m in marked
        .iter()
        .filter(|m| m.has(Runtime::ServiceManager) && !sm_tenant_in.contains(m.guid.as_str()))
    {
        out.extend(service_manager(conns, m, names).await?);
    }
    // Accounts whose environment instances no tenant needed: read them now, once each.
    let unlocated: BTreeSet<String> = marked
        .iter()
        .filter(|m| m.has(Runtime::Cloudfoundry) && m.cf_api.is_none())
        .map(|m| m.account.clone())
        .collect();
    for account in unlocated {
        let envs = super::environments::read(conns, &account).await?;
        for m in marked.iter_mut().filter(|m| m.account == account) {
            m.cf_api = envs
                .cloud_foundry(&m.guid)
                .and_then(|e| e.api_endpoint.clone());
        }
    }
    let landscapes: BTreeSet<(String, String)> = marked
        .iter()
        .filter(|m| m.has(Runtime::Cloudfoundry))
        .filter_map(|m| Some((m.account.clone(), m.cf_api.clone()?)))
        .filter(|l| !read_already.contains(l))
        .collect();
    for (account, api) in landscapes {
        let cf = conns.cloud_foundry(&account, &api).await?;
        out.extend(cloud_foundry(&cf, &account, &api, names).await?);
    }
    Ok(out)
}

fn removed<'m>(metadata: &'m Metadata, names: &BTreeSet<&str>) -> Option<&'m str> {
    match (metadata.get(labels::TENANT), ownership(metadata)) {
        (Some(tenant), Ownership::Managed { .. }) if !names.contains(tenant.as_str()) => {
            Some(tenant.as_str())
        }
        _ => None,
    }
}

async fn service_manager(
    conns: &Connections,
    m: &Marked,
    names: &BTreeSet<&str>,
) -> Result<Vec<LiveTenant>, EngineError> {
    let Some(sm) = conns.service_manager(&m.account, &m.guid, false).await? else {
        return Ok(Vec::new());
    };
    let what = format!("subaccount {}", m.guid);
    let wanted = |_: &calm_btp::service_manager::ServiceInstance, labels: &Metadata| {
        removed(labels, names).is_some()
    };
    let (instances, keys) =
        super::service_manager::instances_and_bindings(&sm, &what, wanted).await?;
    let mut by_tenant: BTreeMap<String, LiveTenant> = BTreeMap::new();
    for i in instances {
        let Some(tenant) = removed(&i.metadata, names).map(str::to_owned) else {
            continue;
        };
        let lt = by_tenant
            .entry(tenant.clone())
            .or_insert_with(|| orphan(&tenant, m, Runtime::ServiceManager));
        lt.keys
            .extend(keys.iter().filter(|k| k.instance_guid == i.guid).cloned());
        lt.instances.push(i);
    }
    Ok(by_tenant.into_values().collect())
}

async fn cloud_foundry(
    cf: &CfClient,
    account: &str,
    api: &str,
    names: &BTreeSet<&str>,
) -> Result<Vec<LiveTenant>, EngineError> {
    let ctx = |what: &str| format!("reading {what} in Cloud Foundry {api}");
    let managed = ServiceInstanceFilter {
        label_selector: Some(format!(
            "{}={}",
            labels::MANAGED_BY,
            labels::MANAGED_BY_VALUE
        )),
        ..Default::default()
    };
    let plan_filter = ServicePlanFilter {
        service_offering_names: vec![SERVICE_OFFERING.into()],
        ..Default::default()
    };
    let (instances, plans) = futures::join!(
        cf.list_service_instances(&managed),
        cf.list_service_plans(&plan_filter)
    );
    let instances: Vec<_> = instances
        .map_err(EngineError::api(ctx("calmctl's service instances")))?
        .into_iter()
        .filter(|si| removed(&merge_metadata(&si.metadata), names).is_some())
        .collect();
    if instances.is_empty() {
        return Ok(Vec::new());
    }
    let plan_names: HashMap<String, String> = plans
        .map_err(EngineError::api(ctx("service plans")))?
        .into_iter()
        .map(|p| (p.guid, p.name))
        .collect();
    let keys = super::cf::keys_of(cf, &instances, api).await?;
    let keys = KeyIndex::new(&keys);
    let space_filter = SpaceFilter {
        guids: instances.iter().map(|i| i.space_guid.clone()).collect(),
        ..Default::default()
    };
    let spaces = cf
        .list_spaces(&space_filter)
        .await
        .map_err(EngineError::api(ctx("spaces of removed tenants")))?;
    let at = Marked {
        account: account.to_owned(),
        guid: String::new(),
        region: String::new(),
        runtimes: Vec::new(),
        cf_api: Some(api.to_owned()),
    };
    let mut by_tenant: BTreeMap<String, LiveTenant> = BTreeMap::new();
    for si in &instances {
        let Some(tenant) = removed(&merge_metadata(&si.metadata), names).map(str::to_owned) else {
            continue;
        };
        let lt = by_tenant
            .entry(tenant.clone())
            .or_insert_with(|| orphan(&tenant, &at, Runtime::Cloudfoundry));
        lt.instances.push(instance(si, &plan_names));
        if let Some(s) = spaces.iter().find(|s| s.guid == si.space_guid)
            && !lt.spaces.iter().any(|l| l.guid == s.guid)
        {
            lt.spaces.push(live_space(s));
        }
    }
    let mut out: Vec<LiveTenant> = by_tenant.into_values().collect();
    for lt in &mut out {
        lt.keys = keys.of(lt);
    }
    Ok(out)
}

fn orphan(tenant: &str, m: &Marked, runtime: Runtime) -> LiveTenant {
    LiveTenant {
        name: tenant.to_owned(),
        subaccount_guid: (!m.guid.is_empty()).then(|| m.guid.clone()),
        found_at: Some(FoundAt {
            account: m.account.clone(),
            region: m.region.clone(),
            runtime: runtime.as_str().to_owned(),
        }),
        cf: m.cf_api.as_ref().map(|api| CfLocation {
            api: Some(api.clone()),
            ..CfLocation::default()
        }),
        ..LiveTenant::default()
    }
}
