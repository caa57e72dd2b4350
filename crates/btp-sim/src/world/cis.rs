//! Cloud Management (`cis`) keys of a global account: plans `central` and `central-viewer`, grant
//! types `user_token` (password grant, the default) and `client_credentials`, and the scopes each
//! gives (btp-api.md §3.1, §3.4).
//!
//! - `central` grants the scopes SAP lists for it; `central-viewer` only read scopes, and only to
//!   the client-credentials grant ([S9] `sap-cloud-management-service-service-plans-a508b72.md`,
//!   `getting-an-access-token-for-sap-cloud-management-service-apis-3670474.md`).
//! - A `user_token` key refuses the client-credentials grant, and a `client_credentials` key the
//!   password grant: the doc makes the grant type a choice at instance creation (the stricter
//!   reading: one or the other).
//! - A user's token through a `central` key has the plan's scopes that the user's role collection
//!   allows: all of them for a *Global Account Administrator*, the read scopes for a *Global
//!   Account Viewer* ([S9] `role-collections-and-roles-in-global-accounts-directories-and-subaccounts-0039cf0.md`).
//!
//! Token scopes carry the service's xsappname as prefix (`cis-central!b14.job.read`), as XSUAA
//! writes an application's scopes; the client ids end in `|cis-central!b14` as real ones do.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{GlobalAccount, World};

/// The xsappname of the Cloud Management service's scopes.
pub const CIS_XSAPPNAME: &str = "cis-central!b14";

/// A plan of the `cis` service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CisPlan {
    /// Manage global accounts, subaccounts, directories and entitlements.
    #[default]
    Central,
    /// Read them only.
    CentralViewer,
}

/// The grant a `cis` key is for (its `grant_type` field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CisGrantType {
    /// Password grant with the key's client (the default of `central`).
    #[default]
    UserToken,
    /// Client-credentials grant (an instance created with `{"grantType":"clientCredentials"}`,
    /// and every `*-viewer` key).
    ClientCredentials,
}

/// A `cis` service key beyond the global account's default one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CisKey {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Plan of the instance the key belongs to.
    #[serde(default)]
    pub plan: CisPlan,
    /// Grant type the key is for.
    #[serde(default)]
    pub grant_type: CisGrantType,
}

/// Scopes of plan `central` ([S9] plans page @ 992e5621), named as a real `central` token names them
/// (btp-api.md §3.4 [S14]: the page's `global-account.entitlement` and `cis-central.event.read`
/// are `global-account.entitlement.read` and `event.read` in tokens).
const CENTRAL: &[&str] = &[
    "global-account.read",
    "global-account.update",
    "global-account.subaccount.read",
    "global-account.subaccount.create",
    "global-account.subaccount.update",
    "global-account.subaccount.delete",
    "global-account.account-directory.read",
    "global-account.account-directory.create",
    "global-account.account-directory.update",
    "global-account.account-directory.delete",
    "global-account.entitlement.read",
    "global-account.entitlement.subaccount.update",
    "global-account.region.read",
    "catalog.product.update",
    "catalog.product.delete",
    "directory.entitlement.update",
    "directory.entitlement.read",
    "job.read",
    "event.read",
    "account-automation-request.read",
];

/// Scopes of plan `central-viewer` (same page).
const CENTRAL_VIEWER: &[&str] = &[
    "global-account.read",
    "global-account.subaccount.read",
    "global-account.account-directory.read",
    "global-account.entitlement.read",
    "global-account.region.read",
    "directory.entitlement.read",
    "job.read",
    "automation-module.read",
    "automation-solution.read",
    "automation-request.read",
    "account-automation-request.read",
    "account-automation-solution.read",
];

impl CisPlan {
    /// The plan's name, e.g. `central-viewer`.
    pub fn name(self) -> &'static str {
        match self {
            CisPlan::Central => "central",
            CisPlan::CentralViewer => "central-viewer",
        }
    }

    /// The plan's scopes, without the xsappname prefix.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            CisPlan::Central => CENTRAL,
            CisPlan::CentralViewer => CENTRAL_VIEWER,
        }
    }
}

/// The scopes, prefixed as in tokens, that a token of `plan` gets; `viewer` keeps only the read
/// scopes (a user with the *Global Account Viewer* role collection).
pub fn token_scopes(plan: CisPlan, viewer: bool) -> Vec<String> {
    plan.scopes()
        .iter()
        .filter(|s| !viewer || s.ends_with(".read"))
        .map(|s| format!("{CIS_XSAPPNAME}.{s}"))
        .collect()
}

impl GlobalAccount {
    /// Every `cis` key of the global account: the default one first.
    pub fn all_cis_keys(&self) -> impl Iterator<Item = CisKey> + '_ {
        std::iter::once(CisKey {
            client_id: self.cis_client_id.clone(),
            client_secret: self.cis_client_secret.clone(),
            plan: CisPlan::Central,
            grant_type: CisGrantType::UserToken,
        })
        .chain(self.cis_keys.iter().cloned())
    }

    /// Does `user` hold only the Global Account Viewer role collection here?
    pub fn is_viewer(&self, user: &str) -> bool {
        self.viewers.iter().any(|v| v == user)
    }
}

impl World {
    /// Adds a `cis` key of `plan` for `grant_type` to a global account and returns its client id;
    /// `None` when the global account does not exist or the plan has no such grant (a
    /// `central-viewer` key is for client credentials only).
    pub fn add_cis_key(
        &mut self,
        global_account: &str,
        plan: CisPlan,
        grant_type: CisGrantType,
    ) -> Option<String> {
        if plan == CisPlan::CentralViewer && grant_type == CisGrantType::UserToken {
            return None;
        }
        let ga = self.global_accounts.get(global_account)?.guid.clone();
        let clone = self.guid();
        let n = self.next_id;
        let client_id = format!("sb-ut-{clone}-clone!b{n}|{CIS_XSAPPNAME}");
        let client_secret = self.secret_value();
        let account = self.global_accounts.get_mut(&ga)?;
        account.cis_keys.push(CisKey {
            client_id: client_id.clone(),
            client_secret,
            plan,
            grant_type,
        });
        Some(client_id)
    }

    /// Gives `user` only the Global Account Viewer role collection in a global account.
    pub fn add_global_account_viewer(&mut self, global_account: &str, user: &str) {
        if let Some(ga) = self.global_accounts.get_mut(global_account)
            && !ga.is_viewer(user)
        {
            ga.viewers.push(user.to_owned());
        }
    }

    /// The global account and key of a `cis` client id.
    pub(crate) fn cis_client(&self, client_id: &str) -> Option<(&GlobalAccount, CisKey)> {
        self.global_accounts.values().find_map(|ga| {
            ga.all_cis_keys()
                .find(|k| k.client_id == client_id)
                .map(|k| (ga, k))
        })
    }

    /// The default `cis` key (plan `central`, grant type `user_token`) of a global account, with
    /// every endpoint pointing at `base_url` (btp-api.md §3.1 key shape).
    pub fn cis_key(&self, global_account: &str, base_url: &str) -> Option<Value> {
        let ga = self.global_accounts.get(global_account)?;
        let key = ga.all_cis_keys().next()?;
        Some(render(ga, &key, base_url))
    }

    /// Any `cis` key by its client id.
    pub fn cis_key_of_client(&self, client_id: &str, base_url: &str) -> Option<Value> {
        let (ga, key) = self.cis_client(client_id)?;
        Some(render(ga, &key, base_url))
    }
}

fn render(ga: &GlobalAccount, key: &CisKey, base_url: &str) -> Value {
    let grant_type = match key.grant_type {
        CisGrantType::UserToken => "user_token",
        CisGrantType::ClientCredentials => "client_credentials",
    };
    json!({
        "endpoints": {
            "accounts_service_url": base_url,
            "entitlements_service_url": base_url,
            "events_service_url": base_url,
            "external_provider_registry_url": base_url,
            "order_processing_url": base_url,
            "provisioning_service_url": base_url,
            "saas_registry_service_url": base_url,
        },
        "grant_type": grant_type,
        "sap.cloud.service": "com.sap.core.commercial.service.central",
        "uaa": {
            "clientid": key.client_id,
            "clientsecret": key.client_secret,
            "url": base_url,
            "apiurl": base_url,
            "identityzone": ga.subdomain,
            "identityzoneid": ga.guid,
            "subaccountid": ga.guid,
            "tenantid": ga.guid,
            "tenantmode": "dedicated",
            "uaadomain": crate::credentials::uaa_domain(base_url),
            "verificationkey": crate::auth::signing_key().public_pem(),
            "xsappname": key.client_id.trim_start_matches("sb-"),
            "credential-type": "binding-secret",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_each_plan_and_grant_are_found_by_client_id() {
        let mut world = World::new(3);
        let ga = world.add_global_account("acme-ga", "eu10");
        assert!(
            world
                .add_cis_key(&ga, CisPlan::CentralViewer, CisGrantType::UserToken)
                .is_none(),
            "viewer keys are client credentials only"
        );
        let viewer = world
            .add_cis_key(&ga, CisPlan::CentralViewer, CisGrantType::ClientCredentials)
            .unwrap_or_default();
        assert!(viewer.ends_with("|cis-central!b14"), "{viewer}");
        let (_, key) = world.cis_client(&viewer).unwrap_or_else(|| panic!("found"));
        assert_eq!(key.plan, CisPlan::CentralViewer);
        let json = world
            .cis_key_of_client(&viewer, "http://127.0.0.1:1")
            .unwrap_or_default();
        assert_eq!(json["grant_type"], "client_credentials");
        assert_eq!(json["uaa"]["uaadomain"], "127.0.0.1:1");
        let default = world.cis_key(&ga, "http://127.0.0.1:1").unwrap_or_default();
        assert_eq!(default["grant_type"], "user_token");
    }

    #[test]
    fn viewers_get_the_read_scopes_only() {
        let admin = token_scopes(CisPlan::Central, false);
        let viewer = token_scopes(CisPlan::Central, true);
        let update = "cis-central!b14.global-account.subaccount.update".to_owned();
        assert!(admin.contains(&update));
        assert!(!viewer.contains(&update));
        assert!(viewer.contains(&"cis-central!b14.global-account.subaccount.read".to_owned()));
        assert!(
            !token_scopes(CisPlan::CentralViewer, false)
                .iter()
                .any(|s| s.ends_with(".update"))
        );
    }
}
