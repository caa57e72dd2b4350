//! The credentials SAP Cloud ALM generates while provisioning a tenant, as they sit in a
//! subaccount afterwards: a `SAPCloudALMAPIs` / `standard` instance and one key (Cloud Foundry) or
//! binding (Service Manager) named `<SID>_<client>_<system number>` (btp-api.md §5.4).
//!
//! What is known, with its source (btp-api.md §5.4, §10 item 8):
//! - "On or after October 16, 2023: the required service credentials have already been generated
//!   automatically as part of the provisioning of your SAP Cloud ALM tenant" (SAP Cloud ALM
//!   "Retrieving Service Credentials").
//! - Names follow `<SID>_<client>_<system number>` (`ABC_100_00`), which SAP tells people to avoid
//!   for their own keys because they collide with the generated ones.
//! - Landscape Management accepts such credentials when `uaa.identityzone` is the tenant's,
//!   `uaa.clientid` and `uaa.clientsecret` are present and `uaa.credential-type` is
//!   `instance-secret` (with Cloud Foundry) or `binding-secret` (without).
//!
//! Not documented, so chosen here and marked [U] in btp-api.md: the instance's name (the caller
//! gives it), and that SAP's objects carry no labels or annotations at all (certainly none of
//! calmctl's). The identity zone is the subaccount's subdomain, as for every key the simulator
//! renders (credentials.rs).

use calm_core::{Retrieve, Runtime, Tenant};
use serde_json::json;

use super::{
    CALM_OFFERING, CALM_PLAN, ClientCredentials, CredentialsStyle, LastOperation, RoleType,
    ServiceInstance, ServiceKey, SmBinding, SmInstance, World, now_ms,
};
use crate::credentials;

/// Where SAP put a tenant's generated credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCredentials {
    /// The instance's GUID (CF) or id (Service Manager).
    pub instance: String,
    /// The key's GUID (CF) or the binding's id (Service Manager).
    pub key: String,
}

impl World {
    fn calm_plan(&self) -> Option<(String, String)> {
        let offering = self.offerings.values().find(|o| o.name == CALM_OFFERING)?;
        self.plans
            .values()
            .find(|p| p.offering == offering.guid && p.name == CALM_PLAN)
            .map(|p| (p.guid.clone(), p.sm_id.clone()))
    }

    /// SAP's generated credentials "with Cloud Foundry": an instance named `instance` in the space
    /// `space` (a GUID) and its key `key`, credential type `instance-secret`. The subaccount must
    /// be entitled to the Cloud ALM plan for the instance to make sense; this helper does not check
    /// (SAP's provisioning does it). `None` when the space or the Cloud ALM plan is missing.
    pub fn add_generated_cf(
        &mut self,
        space: &str,
        instance: &str,
        key: &str,
    ) -> Option<GeneratedCredentials> {
        self.spaces.get(space)?;
        let (plan, _) = self.calm_plan()?;
        let parameters = json!({"xs-security": {"xsappname": instance,
            "oauth2-configuration": {"credential-types": ["instance-secret"]}}});
        let client =
            credentials::new_client(self, CredentialsStyle::CloudAlm, instance, &parameters);
        let now = now_ms();
        let instance_guid = self.guid();
        let secret = client.instance_secret.clone();
        self.service_instances.insert(
            instance_guid.clone(),
            ServiceInstance {
                guid: instance_guid.clone(),
                name: instance.to_owned(),
                space: space.to_owned(),
                plan: Some(plan),
                instance_type: "managed".to_owned(),
                tags: Vec::new(),
                parameters,
                metadata: Default::default(),
                last_operation: LastOperation::succeeded("create", now),
                client,
                dashboard_url: None,
                maintenance_info: serde_json::Value::Null,
                created_ms: now,
                updated_ms: now,
            },
        );
        let key_guid = self.guid();
        self.service_keys.insert(
            key_guid.clone(),
            ServiceKey {
                guid: key_guid.clone(),
                name: key.to_owned(),
                instance: instance_guid.clone(),
                parameters: json!({}),
                metadata: Default::default(),
                last_operation: LastOperation::succeeded("create", now),
                client_secret: secret,
                credential_type: "instance-secret".to_owned(),
                identity_zone: None,
                created_ms: now,
                updated_ms: now,
            },
        );
        Some(GeneratedCredentials {
            instance: instance_guid,
            key: key_guid,
        })
    }

    /// SAP's generated credentials "without Cloud Foundry": a Service Manager instance named
    /// `instance` in the subaccount (a GUID) and its binding `key`, credential type
    /// `binding-secret`. `None` when the subaccount or the Cloud ALM plan is missing.
    pub fn add_generated_sm(
        &mut self,
        subaccount: &str,
        instance: &str,
        key: &str,
    ) -> Option<GeneratedCredentials> {
        self.subaccounts.get(subaccount)?;
        let (_, plan) = self.calm_plan()?;
        let parameters = json!({"xs-security": {"xsappname": instance,
            "oauth2-configuration": {"credential-types": ["binding-secret"]}}});
        let client =
            credentials::new_client(self, CredentialsStyle::CloudAlm, instance, &parameters);
        let now = now_ms();
        let id = self.guid();
        self.sm_instances.insert(
            id.clone(),
            SmInstance {
                id: id.clone(),
                name: instance.to_owned(),
                subaccount: subaccount.to_owned(),
                plan,
                parameters,
                labels: Default::default(),
                ready: true,
                usable: true,
                last_operation: None,
                client,
                created_by: "sap-cloud-alm-provisioning".to_owned(),
                created_ms: now,
                updated_ms: now,
            },
        );
        let binding = self.guid();
        let secret = self.secret_value();
        self.sm_bindings.insert(
            binding.clone(),
            SmBinding {
                id: binding.clone(),
                name: key.to_owned(),
                instance: id.clone(),
                subaccount: subaccount.to_owned(),
                parameters: json!({}),
                labels: Default::default(),
                ready: true,
                last_operation: None,
                client_secret: secret,
                credential_type: "binding-secret".to_owned(),
                identity_zone: None,
                created_by: "sap-cloud-alm-provisioning".to_owned(),
                created_ms: now,
                updated_ms: now,
            },
        );
        Some(GeneratedCredentials {
            instance: id,
            key: binding,
        })
    }

    /// What a config's `retrieve:` entries refer to, as SAP's provisioning would have left it
    /// (World::from_desired: everything the config refers to exists). The subaccount `subaccount`
    /// (a GUID) is entitled; a Cloud Foundry tenant gets a space `cloud-alm` in its org holding the
    /// instance and key, with calmctl's user an Org User and Space Developer there (only a Space
    /// Developer may read a key's credentials, btp-api.md §2.11); a Service Manager tenant gets the
    /// instance and binding, and the subaccount a Service Manager access binding. `generated`
    /// becomes `ABC_100_00`; a named entry its name, on its instance or on `SAPCloudALM`.
    pub(super) fn add_retrieved(&mut self, tenant: &Tenant, subaccount: &str) {
        let wanted: Vec<(String, String)> = tenant
            .retrieve
            .iter()
            .map(|r| match r {
                Retrieve::Generated => (GENERATED_INSTANCE.to_owned(), "ABC_100_00".to_owned()),
                Retrieve::Named { instance, key } => (
                    instance
                        .clone()
                        .unwrap_or_else(|| GENERATED_INSTANCE.to_owned()),
                    key.clone(),
                ),
            })
            .collect();
        self.entitle(subaccount, CALM_OFFERING, CALM_PLAN, 1);
        match tenant.runtime {
            Runtime::Cloudfoundry => {
                let org_name = tenant.org.clone().unwrap_or_else(|| tenant.name.clone());
                let Some(org) = self
                    .orgs
                    .values()
                    .find(|o| o.name.eq_ignore_ascii_case(&org_name))
                    .map(|o| o.guid.clone())
                else {
                    return;
                };
                let space = self.add_space(&org, "cloud-alm");
                self.add_role(crate::ADMIN_USER, RoleType::OrganizationUser, &org);
                self.add_role(crate::ADMIN_USER, RoleType::SpaceDeveloper, &space);
                for (instance, key) in wanted {
                    self.add_generated_cf(&space, &instance, &key);
                }
            }
            Runtime::ServiceManager => {
                for (instance, key) in wanted {
                    self.add_generated_sm(subaccount, &instance, &key);
                }
                let secret = self.secret_value();
                if let Some(s) = self.subaccounts.get_mut(subaccount)
                    && s.service_manager_binding.is_none()
                {
                    s.service_manager_binding = Some(ClientCredentials {
                        client_id: format!(
                            "sb-{}!b1|service-manager!b1",
                            &subaccount[..8.min(subaccount.len())]
                        ),
                        client_secret: secret,
                    });
                }
            }
        }
    }
}

/// The instance name the simulator gives SAP's generated credentials (SAP's is not documented,
/// btp-api.md §5.4).
pub const GENERATED_INSTANCE: &str = "SAPCloudALM";
