//! The runtime seam: one [`Client`] per tenant, Cloud Foundry or Service Manager, with the same
//! operations on both (create, update and delete an instance; create, adopt, retire and delete a
//! key or binding; read its credentials). The steps (steps.rs, rotate.rs, deliver.rs) are written
//! once over these; cf.rs and sm.rs hold what differs.

mod cf;
mod sm;

use calm_btp::cf::{CfClient, Credentials};
use calm_btp::service_manager::ServiceManagerClient;
use calm_core::{Instance, LiveTenant, Runtime, Tenant};

use super::ids::Ids;
use super::run::{Fail, Run};

/// The client a tenant's steps go through.
pub(crate) enum Client {
    /// Cloud Foundry: spaces, instances and service keys in the tenant's org.
    Cf(CfClient),
    /// Service Manager: instances and bindings of the tenant's subaccount.
    Sm(ServiceManagerClient),
}

/// What an instance update changes besides calmctl's labels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InstanceUpdate {
    /// The service plan.
    pub(crate) plan: bool,
    /// The parameters (sent to the broker).
    pub(crate) parameters: bool,
}

/// A role to assign, as the plan names it.
pub(crate) struct RoleChange<'c> {
    /// The space's name, for a space role.
    pub(crate) space: Option<&'c str>,
    /// The role type.
    pub(crate) role: &'c str,
    /// The user name.
    pub(crate) user: &'c str,
    /// The user's origin.
    pub(crate) origin: &'c str,
}

/// A key or binding just created.
pub(crate) struct NewKey {
    pub(crate) guid: String,
    /// Service Manager returns the credentials with the binding.
    pub(crate) credentials: Option<Credentials>,
}

impl Client {
    /// The runtime's name, for messages.
    pub(crate) fn runtime(&self) -> &'static str {
        match self {
            Client::Cf(_) => "Cloud Foundry",
            Client::Sm(_) => "Service Manager",
        }
    }

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

    /// Creates a space in the tenant's org (Cloud Foundry only); returns its GUID.
    pub(crate) async fn create_space(
        &self,
        t: &Tenant,
        ids: &Ids,
        name: &str,
    ) -> Result<String, Fail> {
        match self {
            Client::Cf(cf) => cf::create_space(cf, t, ids, name).await,
            Client::Sm(_) => Err(self.unsupported("a space")),
        }
    }

    /// Puts calmctl's labels on an existing space (Cloud Foundry only).
    pub(crate) async fn adopt_space(&self, t: &Tenant, guid: &str) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf::adopt_space(cf, t, guid).await,
            Client::Sm(_) => Err(self.unsupported("a space")),
        }
    }

    /// Gives a user a Cloud Foundry role in the tenant's org or in one of its spaces (Cloud
    /// Foundry only); a role the user holds already is no error.
    pub(crate) async fn assign_role(
        &self,
        ids: &Ids,
        me: Option<&calm_core::CfUser>,
        role: &RoleChange<'_>,
    ) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf::assign_role(cf, ids, me, role).await,
            Client::Sm(_) => Err(self.unsupported("a role")),
        }
    }

    /// Creates an instance (in `space` on Cloud Foundry); returns its GUID once its operation
    /// was accepted.
    pub(crate) async fn create_instance(
        &self,
        run: &Run<'_>,
        t: &Tenant,
        i: &Instance,
        space: Option<&str>,
        ids: &Ids,
    ) -> Result<String, Fail> {
        match self {
            Client::Cf(cf) => cf::create_instance(run, cf, t, i, space, ids).await,
            Client::Sm(sm) => sm::create_instance(run, sm, t, i).await,
        }
    }

    /// Updates an instance: calmctl's labels always, the plan and parameters when asked.
    pub(crate) async fn update_instance(
        &self,
        run: &Run<'_>,
        t: &Tenant,
        i: &Instance,
        ids: &Ids,
        guid: &str,
        update: InstanceUpdate,
    ) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf::update_instance(run, cf, t, i, ids, guid, update).await,
            Client::Sm(sm) => sm::update_instance(run, sm, t, i, ids, guid, update).await,
        }
    }

    /// Waits for an instance's running operation to end.
    pub(crate) async fn wait_instance(&self, guid: &str) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => {
                cf.wait_for_service_instance(guid).await?;
            }
            Client::Sm(sm) => {
                sm.wait_for_service_instance(guid).await?;
            }
        }
        Ok(())
    }

    /// Deletes an instance (and, by the platform, its keys).
    pub(crate) async fn delete_instance(&self, guid: &str) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf.delete_service_instance(guid).await?,
            Client::Sm(sm) => sm.delete_service_instance(guid).await?,
        }
        Ok(())
    }

    /// Creates a key named `name` that stands for calm.yaml's `calm_name` (they differ for a
    /// rotation). `replacing` is a failed key of the same name to clear first.
    pub(crate) async fn create_key(
        &self,
        t: &Tenant,
        instance_guid: &str,
        name: &str,
        calm_name: &str,
        replacing: Option<&str>,
    ) -> Result<NewKey, Fail> {
        match self {
            Client::Cf(cf) => cf::create_key(cf, t, instance_guid, name, calm_name).await,
            Client::Sm(sm) => {
                sm::create_key(sm, t, instance_guid, name, calm_name, replacing).await
            }
        }
    }

    /// Records calmctl's ownership of an existing key.
    pub(crate) async fn adopt_key(
        &self,
        t: &Tenant,
        ids: &mut Ids,
        instance: &str,
        name: &str,
        guid: &str,
    ) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf::adopt_key(cf, t, name, guid).await,
            Client::Sm(sm) => sm::adopt_key(sm, ids, instance, guid).await,
        }
    }

    /// Records the outcome of a key's delivery (calm_core::delivered): on the key (Cloud
    /// Foundry), or as a mark on its instance (Service Manager bindings cannot be relabelled).
    pub(crate) async fn record_delivery(
        &self,
        ids: &mut Ids,
        instance: &str,
        guid: &str,
        record: &str,
    ) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf::record_delivery(cf, guid, record).await?,
            Client::Sm(sm) => sm::record_delivery(sm, ids, instance, guid, record).await?,
        }
        ids.records.insert(guid.to_owned(), record.to_owned());
        Ok(())
    }

    /// Marks a key replaced by a rotation as retired at `now` (Unix seconds).
    pub(crate) async fn retire_key(
        &self,
        ids: &Ids,
        instance: &str,
        guid: &str,
        now: i64,
    ) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf::retire_key(cf, guid, now).await,
            Client::Sm(sm) => sm::retire_key(sm, ids, instance, guid, now).await,
        }
    }

    /// Deletes a key, and what its instance recorded about it.
    pub(crate) async fn delete_key(
        &self,
        ids: &Ids,
        instance: &str,
        guid: &str,
    ) -> Result<(), Fail> {
        match self {
            Client::Cf(cf) => cf.delete_service_credential_binding(guid).await?,
            Client::Sm(sm) => sm::delete_key(sm, ids, instance, guid).await?,
        }
        Ok(())
    }

    fn unsupported(&self, what: &str) -> Fail {
        Fail::Other(format!("{what} is not a {} object", self.runtime()))
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
        Some(t) if t.runtime == Runtime::Cloudfoundry => {
            let location = live.cf.as_ref();
            if let Some(problem) = location.and_then(|c| c.problem.as_ref()) {
                return Err(Fail::Other(problem.clone()));
            }
            let api = location
                .and_then(|c| c.api.as_deref())
                .or(t.cf_api.as_deref())
                .ok_or_else(|| {
                    Fail::Other(format!(
                        "where the Cloud Foundry org of tenant `{}` is was not read: plan again",
                        t.name
                    ))
                })?;
            Ok(Client::Cf(
                run.conns
                    .cloud_foundry(&t.account, api)
                    .await
                    .map_err(engine)?,
            ))
        }
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

/// A removed tenant's objects: in its subaccount's Service Manager (found through calmctl's mark,
/// `found_at`), or on the Cloud Foundry API (landscape) they were found on, with the login of the
/// account whose read found them.
async fn orphan_client(run: &Run<'_>, live: &LiveTenant) -> Result<Client, Fail> {
    let engine = |e: crate::EngineError| Fail::Other(e.to_string());
    if let Some(at) = live
        .found_at
        .as_ref()
        .filter(|at| at.runtime == Runtime::ServiceManager.as_str())
    {
        let guid = live
            .subaccount_guid
            .as_deref()
            .ok_or_else(|| Fail::Other("the subaccount was not found".into()))?;
        return run
            .conns
            .service_manager(&at.account, guid, false)
            .await
            .map_err(engine)?
            .map(Client::Sm)
            .ok_or_else(|| Fail::Other("no Service Manager access".into()));
    }
    let api = live
        .cf
        .as_ref()
        .and_then(|c| c.api.as_deref())
        .ok_or_else(|| Fail::Other("where the removed tenant's objects are is not known".into()))?;
    if let Some(at) = &live.found_at {
        let cf = run.conns.cloud_foundry(&at.account, api).await;
        return cf.map(Client::Cf).map_err(engine);
    }
    let mut accounts: Vec<&str> = run
        .desired
        .tenants
        .iter()
        .filter(|t| t.runtime == Runtime::Cloudfoundry)
        .map(|t| t.account.as_str())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let probe = live.instances.first();
    for account in accounts {
        let Ok(cf) = run.conns.cloud_foundry(account, api).await else {
            continue;
        };
        match probe {
            Some(p) if cf.get_service_instance(&p.guid).await.is_err() => continue,
            _ => return Ok(Client::Cf(cf)),
        }
    }
    Err(Fail::Other(format!(
        "no account of the config reaches the removed tenant's objects on {api}"
    )))
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
