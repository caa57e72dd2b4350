//! Reading live state in bulk: the number of requests grows with accounts, regions and pages,
//! not with tenants (except for Service Manager, which is scoped to one subaccount per token).
//!
//! ```text
//! per account:  GET subaccounts (1, unpaged)      GET entitlement assignments (1)
//!                GET environment instances (1, when it has Cloud Foundry tenants)
//! per CF landscape (the API its tenants' environment instances name): GET service_plans · orgs?names= · spaces?organization_guids= ·
//!                service_instances?space_guids= · service_instances?label_selector=managed ·
//!                service_credential_bindings?service_instance_guids= ·
//!                roles?organization_guids= · roles?space_guids= (· users?usernames= when
//!                calm.yaml has space_roles)            (lists split to stay < 8 KB)
//! per SM tenant: serviceManagementBinding · instances · bindings
//! removed tenants (full plans): through calmctl's mark on their subaccounts (orphans.rs)
//! ```

mod cf;
pub(crate) mod environments;
mod orphans;
mod roles;
mod service_manager;
mod shapes;
mod sink;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use calm_btp::accounts::{Subaccount, SubaccountFilter};
use calm_btp::entitlements::{Assignment, AssignmentFilter, Assignments};
use calm_core::{Desired, Live, LiveEntitlement, LiveTenant, Runtime, SERVICE_OFFERING, Tenant};
use futures::future::try_join_all;

pub(crate) use service_manager::{PLAN_LABEL, alm_instances};

pub(crate) use cf::{instances_in, keys_of};
pub(crate) use shapes::{last_operation, live_key, merge_metadata};

use crate::{Connections, EngineError};
use environments::Environments;

/// What one global account holds: its subaccounts and Cloud ALM entitlements.
pub(crate) struct AccountView {
    pub(crate) subaccounts: Vec<Subaccount>,
    pub(crate) assignments: Assignments,
    /// The Cloud Foundry environment instances (read only when Cloud Foundry tenants need them).
    pub(crate) environments: Environments,
    /// Subaccount positions by lowercased GUID and subdomain: a scan per tenant cost tenants ×
    /// subaccounts comparisons (10⁸ at 10,000 tenants).
    by_reference: HashMap<String, usize>,
}

impl AccountView {
    fn new(subaccounts: Vec<Subaccount>, assignments: Assignments) -> Self {
        let mut by_reference = HashMap::new();
        // GUIDs first, so that a subdomain that looks like another subaccount's GUID loses.
        for (i, s) in subaccounts.iter().enumerate().rev() {
            by_reference.insert(s.subdomain.to_ascii_lowercase(), i);
        }
        for (i, s) in subaccounts.iter().enumerate().rev() {
            by_reference.insert(s.guid.to_ascii_lowercase(), i);
        }
        AccountView {
            subaccounts,
            assignments,
            environments: Environments::default(),
            by_reference,
        }
    }

    /// The subaccount a tenant names, by GUID or subdomain.
    pub(crate) fn subaccount(&self, reference: &str) -> Option<&Subaccount> {
        self.by_reference
            .get(&reference.to_ascii_lowercase())
            .map(|&i| &self.subaccounts[i])
    }

    /// The assignments of the Cloud ALM API plan, by subaccount GUID (the first of each).
    fn alm_assignments(&self) -> HashMap<&str, &Assignment> {
        let mut out = HashMap::new();
        for a in self
            .assignments
            .of_plan(SERVICE_OFFERING, calm_core::DEFAULT_PLAN)
        {
            out.entry(a.entity_id.as_str()).or_insert(a);
        }
        out
    }
}

/// Reads what exists for the targeted tenants of `desired`.
pub async fn read_live(
    desired: &Desired,
    conns: &Connections,
    targets: Option<&BTreeSet<String>>,
) -> Result<Live, EngineError> {
    let tenants: Vec<&Tenant> = desired
        .tenants
        .iter()
        .filter(|t| targets.is_none_or(|set| set.contains(&t.name)))
        .collect();
    let names: Vec<&str> = conns.account_names().collect();
    tracing::debug!(
        tenants = tenants.len(),
        accounts = names.len(),
        "reading live state"
    );
    let all_names: BTreeSet<&str> = desired.tenants.iter().map(|t| t.name.as_str()).collect();
    // A target not in the config (a removed tenant being offboarded) is looked for, like any
    // removed tenant, among calmctl's instances on every landscape the config's tenants use.
    let removed_targeted =
        targets.is_some_and(|set| set.iter().any(|n| !all_names.contains(n.as_str())));
    let cf_scope: Vec<&Tenant> = desired
        .tenants
        .iter()
        .filter(|t| removed_targeted || targets.is_none_or(|set| set.contains(&t.name)))
        .filter(|t| t.runtime == Runtime::Cloudfoundry)
        .collect();
    // Environment instances are read only for accounts with Cloud Foundry tenants.
    let cf_accounts: BTreeSet<&str> = cf_scope.iter().map(|t| t.account.as_str()).collect();
    let views = try_join_all(
        names
            .iter()
            .map(|name| account_view(conns, name, cf_accounts.contains(name))),
    )
    .await?;
    let views: BTreeMap<&str, AccountView> = names.into_iter().zip(views).collect();
    let (mut live, env_orgs) = live_tenants(&views, &tenants)?;
    // Each Cloud Foundry tenant as located: org and API from calm.yaml or its environment.
    let located = located(&views, &live, &cf_scope);
    let cf: Vec<&Tenant> = located.iter().collect();
    let sm: Vec<&Tenant> = tenants
        .iter()
        .copied()
        .filter(|t| t.runtime == Runtime::ServiceManager)
        .collect();
    let (cf_result, sm_result) = futures::join!(
        cf::read(conns, &cf, &all_names, targets),
        service_manager::read(conns, &sm, &live),
    );
    let cf_result = cf_result?;
    for (name, part) in cf_result.tenants {
        if let Some(lt) = live.tenants.get_mut(&name) {
            lt.org_guid = part.org_guid;
            lt.spaces = part.spaces;
            lt.instances = part.instances;
            lt.keys = part.keys;
            lt.cf_user = part.cf_user;
            lt.roles = part.roles;
        }
    }
    // calm.yaml's own org, not on the landscape where the environment names another: say so.
    for t in &cf {
        let Some(lt) = live.tenants.get_mut(&t.name) else {
            continue;
        };
        let env_org = env_orgs.get(t.name.as_str());
        if let (None, Some(env_org), Some(cf)) = (&lt.org_guid, env_org, lt.cf.as_mut())
            && desired_org_differs(desired, t, env_org)
        {
            let api = cf.api.clone().unwrap_or_default();
            cf.problem = Some(environments::wrong_org(t, &api, env_org));
            cf.org_not_found = true;
        }
    }
    live.orphans.extend(cf_result.orphans);
    for (name, part) in sm_result? {
        if let Some(lt) = live.tenants.get_mut(&name) {
            lt.instances = part.instances;
            lt.keys = part.keys;
            lt.service_manager_unread = part.unread;
        }
    }
    // Removed tenants where no tenant of the config leads: through calmctl's marks. A partial
    // plan plans no deletions of removed tenants.
    if targets.is_none() {
        let marked: Vec<orphans::Marked> = views
            .iter()
            .flat_map(|(name, view)| orphans::Marked::of(name, view))
            .collect();
        let landscapes: BTreeSet<(String, String)> = located
            .iter()
            .filter_map(|t| Some((t.account.clone(), t.cf_api.clone()?)))
            .collect();
        let found = orphans::read(conns, desired, &live, marked, &all_names, &landscapes).await?;
        add_orphans(&mut live, found);
    }
    sink::read_files(desired, &mut live);
    Ok(live)
}

/// The Cloud Foundry tenants in scope with their org and API as located (calm.yaml's own values,
/// else their environment instance's); those that cannot be located are left out (their live
/// tenant says why).
fn located(views: &BTreeMap<&str, AccountView>, live: &Live, scope: &[&Tenant]) -> Vec<Tenant> {
    scope
        .iter()
        .filter_map(|t| {
            let cf = match live.tenants.get(&t.name) {
                Some(lt) => lt.cf.clone()?,
                None => {
                    let view = views.get(t.account.as_str())?;
                    let subaccount = view.subaccount(&t.subaccount)?;
                    environments::locate(t, subaccount, &view.environments).0
                }
            };
            if cf.problem.is_some() {
                return None;
            }
            let mut located = (*t).clone();
            located.org = cf.org;
            located.cf_api = cf.api;
            Some(located)
        })
        .collect()
}

/// Adds removed tenants' objects not read already (a landscape or subaccount may be reached both
/// ways): each object is planned once.
fn add_orphans(live: &mut Live, found: Vec<LiveTenant>) {
    let known: BTreeSet<String> = live
        .tenants
        .values()
        .chain(live.orphans.iter())
        .flat_map(|lt| lt.instances.iter().map(|i| i.guid.clone()))
        .collect();
    for mut lt in found {
        lt.instances.retain(|i| !known.contains(&i.guid));
        let kept: BTreeSet<&str> = lt.instances.iter().map(|i| i.guid.as_str()).collect();
        lt.keys.retain(|k| kept.contains(k.instance_guid.as_str()));
        if !lt.instances.is_empty() {
            live.orphans.push(lt);
        }
    }
}

/// Did calm.yaml itself name an org other than the environment's?
fn desired_org_differs(desired: &Desired, t: &Tenant, env_org: &str) -> bool {
    desired
        .tenants
        .iter()
        .find(|d| d.name == t.name)
        .and_then(|d| d.org.as_deref())
        .is_some_and(|o| !o.eq_ignore_ascii_case(env_org))
}

/// The live tenants made from the accounts' subaccounts and entitlements, each Cloud Foundry
/// tenant located (environments.rs), and the org each one's environment instance names.
fn live_tenants<'a>(
    views: &BTreeMap<&str, AccountView>,
    tenants: &[&'a Tenant],
) -> Result<(Live, HashMap<&'a str, String>), EngineError> {
    let alm: BTreeMap<&str, HashMap<&str, &Assignment>> = views
        .iter()
        .map(|(name, view)| (*name, view.alm_assignments()))
        .collect();
    let mut live = Live::default();
    let mut env_orgs = HashMap::new();
    for t in tenants {
        let view = &views[t.account.as_str()];
        let subaccount =
            view.subaccount(&t.subaccount)
                .ok_or_else(|| EngineError::SubaccountNotFound {
                    tenant: t.name.clone(),
                    subaccount: t.subaccount.clone(),
                    account: t.account.clone(),
                })?;
        let entitlement = alm[t.account.as_str()]
            .get(subaccount.guid.as_str())
            .map(|a| LiveEntitlement {
                amount: a.amount.filter(|n| *n >= 1.0).map(|n| n as u32),
                enabled: a.amount.is_none_or(|n| n > 0.0),
                state: a.entity_state.clone().unwrap_or_else(|| "OK".into()),
            });
        let cf = (t.runtime == Runtime::Cloudfoundry).then(|| {
            let (location, env_org) = environments::locate(t, subaccount, &view.environments);
            if let Some(org) = env_org {
                env_orgs.insert(t.name.as_str(), org);
            }
            location
        });
        live.tenants.insert(
            t.name.clone(),
            LiveTenant {
                name: t.name.clone(),
                subaccount_guid: Some(subaccount.guid.clone()),
                entitlement,
                cf,
                ..LiveTenant::default()
            },
        );
    }
    Ok((live, env_orgs))
}

async fn account_view(
    conns: &Connections,
    name: &str,
    with_environments: bool,
) -> Result<AccountView, EngineError> {
    let conn = conns.account(name)?;
    let filter = AssignmentFilter {
        subaccount_guid: None,
        service_name: Some(SERVICE_OFFERING.to_owned()),
        plan_name: Some(calm_core::DEFAULT_PLAN.to_owned()),
    };
    let all = SubaccountFilter::default();
    let envs = async {
        if with_environments {
            environments::read(conns, name).await
        } else {
            Ok(Environments::default())
        }
    };
    let (subaccounts, assignments, envs) = futures::join!(
        conn.accounts.list_subaccounts(&all),
        conn.entitlements.list_assignments(&filter),
        envs,
    );
    let mut view = AccountView::new(
        subaccounts.map_err(EngineError::api(format!(
            "listing the subaccounts of account `{name}`"
        )))?,
        assignments.map_err(EngineError::api(format!(
            "listing the entitlements of account `{name}`"
        )))?,
    );
    view.environments = envs?;
    Ok(view)
}
