//! Cloud Foundry state of the cloudfoundry tenants, one batch of list calls per landscape (the
//! Cloud Foundry API the tenants were located on, environments.rs), with the
//! roles of the acting user and of the users `space_roles` names (roles.rs).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use calm_btp::cf::{
    CfClient, OrganizationFilter, ServiceCredentialBinding, ServiceCredentialBindingFilter,
    ServiceInstance, ServiceInstanceFilter, ServicePlanFilter, Space, SpaceFilter,
};
use calm_core::live::{labels, ownership};
use calm_core::{
    LiveInstance, LiveKey, LiveSpace, LiveTenant, Ownership, SERVICE_OFFERING, Tenant,
};
use futures::future::try_join_all;

use super::roles::{self, People, RoleIndex};
use super::shapes::{last_operation, live_key, merge_metadata};
use crate::{Connections, EngineError};

/// CF parts of live tenants, by tenant name, and orphans found in the regions read.
#[derive(Default)]
pub(super) struct CfState {
    pub(super) tenants: BTreeMap<String, LiveTenant>,
    pub(super) orphans: Vec<LiveTenant>,
}

pub(super) async fn read(
    conns: &Connections,
    tenants: &[&Tenant],
    all_names: &BTreeSet<&str>,
    targets: Option<&BTreeSet<String>>,
) -> Result<CfState, EngineError> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Tenant>> = BTreeMap::new();
    for t in tenants {
        let Some(api) = t.cf_api.as_deref() else {
            continue;
        };
        groups.entry((t.account.as_str(), api)).or_default().push(t);
    }
    let parts = try_join_all(
        groups
            .into_iter()
            .map(|((account, api), group)| async move {
                let cf = conns.cloud_foundry(account, api).await?;
                region_state(&cf, api, &group, all_names, targets).await
            }),
    )
    .await?;
    let mut out = CfState::default();
    // An object is listed once, even when two accounts' users both see its landscape.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for part in parts {
        out.tenants.extend(part.tenants);
        for mut orphan in part.orphans {
            orphan.instances.retain(|i| seen.insert(i.guid.clone()));
            if !orphan.instances.is_empty() {
                out.orphans.push(orphan);
            }
        }
    }
    Ok(out)
}

async fn region_state(
    cf: &CfClient,
    region: &str,
    tenants: &[&Tenant],
    all_names: &BTreeSet<&str>,
    targets: Option<&BTreeSet<String>>,
) -> Result<CfState, EngineError> {
    let ctx = |what: &str| format!("reading {what} in Cloud Foundry {region}");
    let org_names: BTreeSet<String> = tenants.iter().filter_map(|t| t.org.clone()).collect();
    let plan_filter = ServicePlanFilter {
        service_offering_names: vec![SERVICE_OFFERING.into()],
        ..Default::default()
    };
    let managed = Some(format!(
        "{}={}",
        labels::MANAGED_BY,
        labels::MANAGED_BY_VALUE
    ));
    let org_filter = OrganizationFilter {
        names: org_names.into_iter().collect(),
        ..Default::default()
    };
    let managed_filter = ServiceInstanceFilter {
        label_selector: managed,
        ..Default::default()
    };
    let named = roles::named(tenants);
    let people_lookup = async {
        match &named {
            Some(filter) => cf.list_users(filter).await,
            None => Ok(Vec::new()),
        }
    };
    let (orgs, plans, managed_instances, me, found) = futures::join!(
        cf.list_organizations(&org_filter),
        cf.list_service_plans(&plan_filter),
        cf.list_service_instances(&managed_filter),
        cf.current_user(),
        people_lookup,
    );
    let me = me.map_err(EngineError::api(ctx("the user calmctl acts as")))?;
    let found = found.map_err(EngineError::api(ctx("the users `space_roles` names")))?;
    let people = People::new(roles::acting(me), found, tenants);
    let orgs = orgs.map_err(EngineError::api(ctx("organizations")))?;
    let plans = plans.map_err(EngineError::api(ctx("service plans")))?;
    let managed_instances =
        managed_instances.map_err(EngineError::api(ctx("calmctl's service instances")))?;
    let plan_names: HashMap<String, String> = plans.into_iter().map(|p| (p.guid, p.name)).collect();

    let org_of: HashMap<String, String> = orgs
        .iter()
        .map(|o| (o.name.to_ascii_lowercase(), o.guid.clone()))
        .collect();
    let space_names: BTreeSet<String> = tenants
        .iter()
        .flat_map(|t| t.spaces())
        .map(str::to_owned)
        .collect();
    let spaces = async {
        if org_of.is_empty() || space_names.is_empty() {
            return Ok(Vec::new());
        }
        let filter = SpaceFilter {
            names: space_names.into_iter().collect(),
            organization_guids: org_of.values().cloned().collect(),
            ..Default::default()
        };
        cf.list_spaces(&filter).await
    };
    let org_roles = roles::list(cf, people.org_filter(org_of.values().cloned().collect()));
    let (spaces, org_roles) = futures::join!(spaces, org_roles);
    let spaces = spaces.map_err(EngineError::api(ctx("spaces")))?;
    let org_roles = org_roles.map_err(EngineError::api(ctx("org roles")))?;
    let space_guids = spaces.iter().map(|s| s.guid.clone()).collect();
    let space_roles = roles::list(cf, people.space_filter(tenants, space_guids));
    let (instances, space_roles) = futures::join!(
        instances_in(cf, &spaces, plan_names.keys(), region),
        space_roles
    );
    let mut instances = instances?;
    let space_roles = space_roles.map_err(EngineError::api(ctx("space roles")))?;
    let role_index = RoleIndex::new(&people, &org_roles, &space_roles);
    // calmctl-labelled instances outside the spaces read above belong to removed tenants or moved
    // spaces; they are needed to plan their deletion.
    let listed: BTreeSet<String> = instances.iter().map(|i| i.guid.clone()).collect();
    instances.extend(
        managed_instances
            .into_iter()
            .filter(|si| !listed.contains(&si.guid)),
    );
    let keys = keys_of(cf, &instances, region).await?;

    // Indexes made once per region: matching every tenant against every object instead cloned
    // label maps tenants × objects times (0.8 s of CPU for 1,000 tenants in 3 regions, perf).
    let owner: Vec<Option<String>> = instances
        .iter()
        .map(|si| match ownership(&merge_metadata(&si.metadata)) {
            Ownership::Managed { tenant } => Some(tenant),
            Ownership::Unmanaged => None,
        })
        .collect();
    let mut in_space: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut owned_by: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, si) in instances.iter().enumerate() {
        in_space.entry(&si.space_guid).or_default().push(i);
        if let Some(tenant) = &owner[i] {
            owned_by.entry(tenant).or_default().push(i);
        }
    }
    let mut spaces_in: HashMap<&str, Vec<&Space>> = HashMap::new();
    for s in &spaces {
        spaces_in.entry(&s.organization_guid).or_default().push(s);
    }
    let keys = KeyIndex::new(&keys);

    let mut out = CfState::default();
    let mut claimed: BTreeSet<usize> = BTreeSet::new();
    for t in tenants {
        let org_guid = t
            .org
            .as_ref()
            .and_then(|o| org_of.get(&o.to_ascii_lowercase()))
            .cloned();
        let mut lt = LiveTenant {
            name: t.name.clone(),
            org_guid: org_guid.clone(),
            cf_user: Some(people.me.clone()),
            ..LiveTenant::default()
        };
        for s in org_guid
            .as_deref()
            .and_then(|o| spaces_in.get(o))
            .into_iter()
            .flatten()
        {
            lt.spaces.push(live_space(s));
        }
        lt.roles = role_index.of(
            org_guid.as_deref(),
            lt.spaces.iter().map(|s| s.guid.as_str()),
        );
        // An instance belongs to a tenant when it is in one of the tenant's spaces, or carries
        // the tenant's label (it may sit in a space the config no longer names).
        let mut mine: Vec<usize> = lt
            .spaces
            .iter()
            .filter_map(|s| in_space.get(s.guid.as_str()))
            .chain(owned_by.get(t.name.as_str()))
            .flatten()
            .copied()
            .collect();
        mine.sort_unstable();
        mine.dedup();
        claimed.extend(&mine);
        lt.instances = mine
            .iter()
            .map(|&i| instance(&instances[i], &plan_names))
            .collect();
        lt.keys = keys.of(&lt);
        out.tenants.insert(t.name.clone(), lt);
    }
    // Orphans: managed instances whose tenant is not in calm.yaml at all.
    let mut orphans: BTreeMap<String, LiveTenant> = BTreeMap::new();
    for (i, si) in instances.iter().enumerate() {
        let Some(tenant) = owner[i].clone().filter(|_| !claimed.contains(&i)) else {
            continue;
        };
        if all_names.contains(tenant.as_str()) || targets.is_some_and(|t| !t.contains(&tenant)) {
            continue;
        }
        let lt = orphans.entry(tenant.clone()).or_insert_with(|| LiveTenant {
            name: tenant,
            // Where its objects are, for deleting them.
            cf: Some(calm_core::CfLocation {
                api: Some(region.to_owned()),
                ..Default::default()
            }),
            ..LiveTenant::default()
        });
        lt.instances.push(instance(si, &plan_names));
    }
    // The spaces of orphans are outside the spaces read above; name them in one more call.
    let orphan_spaces: BTreeSet<String> = orphans
        .values()
        .flat_map(|lt| lt.instances.iter().filter_map(|i| i.space_guid.clone()))
        .collect();
    let named = if orphan_spaces.is_empty() {
        Vec::new()
    } else {
        let filter = SpaceFilter {
            guids: orphan_spaces.into_iter().collect(),
            ..Default::default()
        };
        cf.list_spaces(&filter)
            .await
            .map_err(EngineError::api(ctx("spaces of removed tenants")))?
    };
    for mut lt in orphans.into_values() {
        lt.keys = keys.of(&lt);
        for s in named.iter().filter(|s| {
            lt.instances
                .iter()
                .any(|i| i.space_guid.as_ref() == Some(&s.guid))
        }) {
            lt.spaces.push(live_space(s));
        }
        out.orphans.push(lt);
    }
    Ok(out)
}

pub(super) fn live_space(s: &Space) -> LiveSpace {
    LiveSpace {
        guid: s.guid.clone(),
        name: s.name.clone(),
        updated_at: s.updated_at.clone().unwrap_or_default(),
        metadata: merge_metadata(&s.metadata),
    }
}

pub(super) fn instance(si: &ServiceInstance, plan_names: &HashMap<String, String>) -> LiveInstance {
    let plan = si
        .service_plan_guid
        .as_ref()
        .map(|g| plan_names.get(g).cloned().unwrap_or_else(|| g.clone()));
    LiveInstance {
        guid: si.guid.clone(),
        name: si.name.clone(),
        space_guid: Some(si.space_guid.clone()),
        plan: plan.unwrap_or_default(),
        updated_at: si.updated_at.clone().unwrap_or_default(),
        last_operation: si.last_operation.as_ref().map(last_operation),
        metadata: merge_metadata(&si.metadata),
    }
}

/// The keys of a region, by the GUID of their instance.
pub(super) struct KeyIndex<'k> {
    keys: &'k [ServiceCredentialBinding],
    by_instance: HashMap<&'k str, Vec<usize>>,
}

impl<'k> KeyIndex<'k> {
    pub(super) fn new(keys: &'k [ServiceCredentialBinding]) -> Self {
        let mut by_instance: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            by_instance
                .entry(&k.service_instance_guid)
                .or_default()
                .push(i);
        }
        KeyIndex { keys, by_instance }
    }

    /// The keys of the tenant's instances, in the order they were listed.
    pub(super) fn of(&self, lt: &LiveTenant) -> Vec<LiveKey> {
        let mut mine: Vec<usize> = lt
            .instances
            .iter()
            .filter_map(|i| self.by_instance.get(i.guid.as_str()))
            .flatten()
            .copied()
            .collect();
        mine.sort_unstable();
        mine.dedup();
        mine.into_iter().map(|i| live_key(&self.keys[i])).collect()
    }
}

/// The instances of the given plans in `spaces`, in one list call; none without spaces or plans.
pub(crate) async fn instances_in<'p>(
    cf: &CfClient,
    spaces: &[calm_btp::cf::Space],
    plans: impl Iterator<Item = &'p String>,
    region: &str,
) -> Result<Vec<ServiceInstance>, EngineError> {
    let plans: Vec<String> = plans.cloned().collect();
    if spaces.is_empty() || plans.is_empty() {
        return Ok(Vec::new());
    }
    let filter = ServiceInstanceFilter {
        space_guids: spaces.iter().map(|s| s.guid.clone()).collect(),
        service_plan_guids: plans,
        ..Default::default()
    };
    cf.list_service_instances(&filter)
        .await
        .map_err(EngineError::api(format!(
            "reading service instances in Cloud Foundry {region}"
        )))
}

/// The service keys of `instances`, in one list call (split by the client where the URL would be
/// too long); none without instances.
pub(crate) async fn keys_of(
    cf: &CfClient,
    instances: &[calm_btp::cf::ServiceInstance],
    region: &str,
) -> Result<Vec<calm_btp::cf::ServiceCredentialBinding>, EngineError> {
    if instances.is_empty() {
        return Ok(Vec::new());
    }
    let filter = ServiceCredentialBindingFilter {
        service_instance_guids: instances.iter().map(|i| i.guid.clone()).collect(),
        ..Default::default()
    };
    cf.list_service_keys(&filter)
        .await
        .map_err(EngineError::api(format!(
            "reading service keys in Cloud Foundry {region}"
        )))
}
