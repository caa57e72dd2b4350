//! `discover`: what already exists in a global account, for writing a first calm.yaml.
//!
//! ```text
//! GET subaccounts?directoryGUID=&labelSelector=   (1)       GET entitlement assignments (1)
//! GET environment instances (1)
//! per CF landscape: orgs?names=<orgs of its environments> · spaces?organization_guids= ·
//!                service_instances?space_guids=&service_plan_guids= · service_credential_bindings
//!                (· where keys named like SAP's generated ones are: the acting user, and its
//!                space_developer roles in their spaces: Cloud Foundry shows a key's credentials
//!                to Space Developers only, btp-api.md §2.11)
//! per subaccount without a CF org: serviceManagementBinding (GET only) · instances · bindings
//! ```
//!
//! A subaccount's Cloud Foundry org is the one its Cloud Foundry environment instance names, on
//! the landscape whose API endpoint it names (read/environments.rs), as `plan` finds it: so the
//! calm.yaml written needs no `org` or `cf_api`. Only lists are
//! read: a key's or binding's credentials are never requested, and no Service Manager binding is
//! created. A subaccount without one may still hold Service Manager instances (made by hand or
//! by SAP) that nobody can list yet: it is marked unread, and the first apply reads it before
//! creating anything there.

mod draft;
mod found;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use calm_btp::accounts::SubaccountFilter;
use calm_btp::cf::{CfClient, OrganizationFilter, RoleFilter, ServicePlanFilter, SpaceFilter};
use calm_btp::entitlements::AssignmentFilter;
use calm_core::plan::roles::SPACE_DEVELOPER;
use calm_core::{
    LiveEntitlement, LiveInstance, LiveKey, Runtime, SERVICE_OFFERING, looks_generated,
};
use futures::StreamExt;
use futures::future::try_join_all;

pub use draft::draft;
pub use found::Found;

use crate::read::{last_operation, live_key, merge_metadata};
use crate::{Connections, EngineError};

/// Which subaccounts to look at.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// The account (connection) to read.
    pub account: String,
    /// Only subaccounts in this directory.
    pub directory: Option<String>,
    /// Only subaccounts with all these labels (`labelSelector`).
    pub labels: Vec<(String, String)>,
    /// Only subaccounts in this region.
    pub region: Option<String>,
}

/// Reads what exists for the subaccounts `options` selects, sorted by subdomain.
pub async fn discover(
    conns: &Connections,
    options: &DiscoverOptions,
) -> Result<Vec<Found>, EngineError> {
    let conn = conns.account(&options.account)?;
    let filter = SubaccountFilter {
        directory_guid: options.directory.clone(),
        labels: options.labels.clone(),
    };
    let assignment_filter = AssignmentFilter {
        subaccount_guid: None,
        service_name: Some(SERVICE_OFFERING.to_owned()),
        plan_name: Some(calm_core::DEFAULT_PLAN.to_owned()),
    };
    let (subaccounts, assignments, environments) = futures::join!(
        conn.accounts.list_subaccounts(&filter),
        conn.entitlements.list_assignments(&assignment_filter),
        crate::read::environments::read(conns, &options.account),
    );
    let environments = environments?;
    let account = &options.account;
    let mut subaccounts = subaccounts.map_err(EngineError::api(format!(
        "listing the subaccounts of account `{account}`"
    )))?;
    let assignments = assignments.map_err(EngineError::api(format!(
        "listing the entitlements of account `{account}`"
    )))?;
    subaccounts.retain(|s| options.region.as_ref().is_none_or(|r| &s.region == r));
    subaccounts.sort_by(|a, b| a.subdomain.cmp(&b.subdomain));
    let mut found: Vec<Found> = subaccounts
        .into_iter()
        .map(|s| Found {
            entitlement: assignments
                .find(&s.guid, SERVICE_OFFERING, calm_core::DEFAULT_PLAN)
                .map(|a| LiveEntitlement {
                    amount: a.amount.filter(|n| *n >= 1.0).map(|n| n as u32),
                    enabled: a.amount.is_none_or(|n| n > 0.0),
                    state: a.entity_state.clone().unwrap_or_else(|| "OK".into()),
                }),
            subaccount: s,
            org: None,
            cf_api: None,
            runtime: None,
            instances: Vec::new(),
            keys: Vec::new(),
            unreadable_keys: Vec::new(),
            service_manager_unread: false,
        })
        .collect();
    // Each subaccount's org, on the landscape its Cloud Foundry environment names.
    let mut landscapes: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    for (i, f) in found.iter().enumerate() {
        let Some(env) = environments.cloud_foundry(&f.subaccount.guid) else {
            continue;
        };
        if let (Some(api), Some(org)) = (&env.api_endpoint, &env.org_name) {
            landscapes
                .entry(api.clone())
                .or_default()
                .push((i, org.clone()));
        }
    }
    let regions = landscapes;
    let reads = regions.iter().map(|(api, members)| async move {
        let cf = conns.cloud_foundry(account, api).await?;
        let orgs: Vec<&str> = members.iter().map(|(_, org)| org.as_str()).collect();
        cf_region(&cf, api, &orgs).await
    });
    let parts = try_join_all(reads).await?;
    for ((api, members), part) in regions.iter().zip(parts) {
        for ((i, _), cf) in members.iter().zip(part) {
            let f = &mut found[*i];
            f.org = cf.org;
            f.cf_api = Some(api.clone());
            if !cf.instances.is_empty() {
                f.runtime = Some(Runtime::Cloudfoundry);
                f.instances = cf.instances;
                f.keys = cf.keys;
                f.unreadable_keys = cf.unreadable_keys;
            }
        }
    }
    service_manager(conns, account, &mut found).await?;
    Ok(found)
}

/// The Cloud Foundry part of one subaccount.
#[derive(Default)]
struct CfPart {
    org: Option<(String, String)>,
    instances: Vec<(LiveInstance, Option<String>)>,
    keys: Vec<LiveKey>,
    unreadable_keys: Vec<String>,
}

/// The spaces, of those holding keys named like SAP's generated ones, in which the acting user
/// is a Space Developer: only there does Cloud Foundry show it a key's credentials. Nothing is
/// read when no such key is in the landscape.
async fn readable_spaces(
    cf: &CfClient,
    region: &str,
    instances: &[calm_btp::cf::ServiceInstance],
    keys: &[calm_btp::cf::ServiceCredentialBinding],
) -> Result<HashSet<String>, EngineError> {
    let spaces: BTreeSet<String> = keys
        .iter()
        .filter(|k| looks_generated(&k.name))
        .filter_map(|k| instances.iter().find(|i| i.guid == k.service_instance_guid))
        .map(|i| i.space_guid.clone())
        .collect();
    if spaces.is_empty() {
        return Ok(HashSet::new());
    }
    let ctx = |what: &str| format!("reading {what} in Cloud Foundry {region}");
    let me = cf
        .current_user()
        .await
        .map_err(EngineError::api(ctx("the user calmctl acts as")))?;
    let roles = cf
        .list_roles(&RoleFilter {
            types: vec![SPACE_DEVELOPER.to_owned()],
            user_guids: vec![me.user_id],
            space_guids: spaces.into_iter().collect(),
            ..Default::default()
        })
        .await
        .map_err(EngineError::api(ctx("the acting user's space roles")))?;
    Ok(roles.into_iter().filter_map(|r| r.space_guid).collect())
}

async fn cf_region(
    cf: &CfClient,
    region: &str,
    org_names: &[&str],
) -> Result<Vec<CfPart>, EngineError> {
    let ctx = |what: &str| format!("reading {what} in Cloud Foundry {region}");
    let orgs = cf
        .list_organizations(&OrganizationFilter {
            names: org_names.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        })
        .await
        .map_err(EngineError::api(ctx("organizations")))?;
    let plans = cf
        .list_service_plans(&ServicePlanFilter {
            service_offering_names: vec![SERVICE_OFFERING.into()],
            ..Default::default()
        })
        .await
        .map_err(EngineError::api(ctx("service plans")))?;
    let plan_names: HashMap<String, String> = plans.into_iter().map(|p| (p.guid, p.name)).collect();
    let spaces = if orgs.is_empty() {
        Vec::new()
    } else {
        let filter = SpaceFilter {
            organization_guids: orgs.iter().map(|o| o.guid.clone()).collect(),
            ..Default::default()
        };
        cf.list_spaces(&filter)
            .await
            .map_err(EngineError::api(ctx("spaces")))?
    };
    let instances = crate::read::instances_in(cf, &spaces, plan_names.keys(), region).await?;
    let keys = crate::read::keys_of(cf, &instances, region).await?;
    let readable = readable_spaces(cf, region, &instances, &keys).await?;
    let mut out = Vec::with_capacity(org_names.len());
    for org_name in org_names {
        let mut part = CfPart::default();
        let Some(org) = orgs.iter().find(|o| o.name.eq_ignore_ascii_case(org_name)) else {
            out.push(part);
            continue;
        };
        part.org = Some((org.guid.clone(), org.name.clone()));
        let space_names: HashMap<&str, &str> = spaces
            .iter()
            .filter(|s| s.organization_guid == org.guid)
            .map(|s| (s.guid.as_str(), s.name.as_str()))
            .collect();
        for si in instances
            .iter()
            .filter(|si| space_names.contains_key(si.space_guid.as_str()))
        {
            let plan = si
                .service_plan_guid
                .as_ref()
                .and_then(|g| plan_names.get(g));
            let live = LiveInstance {
                guid: si.guid.clone(),
                name: si.name.clone(),
                space_guid: Some(si.space_guid.clone()),
                plan: plan.cloned().unwrap_or_default(),
                updated_at: si.updated_at.clone().unwrap_or_default(),
                last_operation: si.last_operation.as_ref().map(last_operation),
                metadata: merge_metadata(&si.metadata),
            };
            let space = space_names
                .get(si.space_guid.as_str())
                .map(|s| (*s).to_owned());
            part.instances.push((live, space));
        }
        part.keys = keys
            .iter()
            .filter(|k| {
                part.instances
                    .iter()
                    .any(|(i, _)| i.guid == k.service_instance_guid)
            })
            .map(live_key)
            .collect();
        part.unreadable_keys = keys
            .iter()
            .filter(|k| looks_generated(&k.name))
            .filter(|k| {
                instances.iter().any(|i| {
                    i.guid == k.service_instance_guid
                        && space_names.contains_key(i.space_guid.as_str())
                        && !readable.contains(&i.space_guid)
                })
            })
            .map(|k| k.name.clone())
            .collect();
        out.push(part);
    }
    Ok(out)
}

/// How many subaccounts' Service Manager is read at once.
const CONCURRENCY: usize = 16;

/// Service Manager instances of the subaccounts where Cloud Foundry had none.
async fn service_manager(
    conns: &Connections,
    account: &str,
    found: &mut [Found],
) -> Result<(), EngineError> {
    let todo: Vec<(usize, String)> = found
        .iter()
        .enumerate()
        .filter(|(_, f)| f.runtime.is_none())
        .map(|(i, f)| (i, f.subaccount.guid.clone()))
        .collect();
    let results: Vec<Result<(usize, Option<SmPart>), EngineError>> =
        futures::stream::iter(todo.into_iter().map(|(i, guid)| async move {
            let Some(sm) = conns.service_manager(account, &guid, false).await? else {
                return Ok((i, Some(SmPart::unread())));
            };
            let what = format!("subaccount {guid}");
            crate::read::alm_instances(&sm, &what)
                .await
                .map(|(instances, keys)| {
                    let unread = false;
                    (
                        i,
                        Some(SmPart {
                            instances,
                            keys,
                            unread,
                        }),
                    )
                })
        }))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for result in results {
        let (i, part) = result?;
        if let Some(part) = &part {
            found[i].service_manager_unread = part.unread;
        }
        if let Some(part) = part.filter(|p| !p.instances.is_empty()) {
            let f = &mut found[i];
            f.runtime = Some(Runtime::ServiceManager);
            f.instances = part.instances.into_iter().map(|i| (i, None)).collect();
            f.keys = part.keys;
        }
    }
    Ok(())
}

struct SmPart {
    instances: Vec<LiveInstance>,
    keys: Vec<LiveKey>,
    unread: bool,
}

impl SmPart {
    /// A Service Manager without an access binding: nothing read.
    fn unread() -> SmPart {
        SmPart {
            instances: Vec::new(),
            keys: Vec::new(),
            unread: true,
        }
    }
}
