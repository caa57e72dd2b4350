//! Building worlds in code: small helpers that keep every cross-reference right.

use super::{Assignment, GlobalAccount, Org, Quota, Space, Subaccount, User, World, now_ms};

impl World {
    /// Add a user of origin `uaa` for the password grant, or change the password of the user of
    /// that name (who keeps GUID and roles). A new user has no role anywhere: see
    /// [`World::add_role`].
    pub fn add_user(&mut self, username: &str, password: &str) {
        if let Some(user) = self.users.iter_mut().find(|u| u.username == username) {
            user.password = password.to_owned();
            return;
        }
        let mut user = User {
            username: username.to_owned(),
            password: password.to_owned(),
            origin: "uaa".to_owned(),
            guid: String::new(),
            metadata: Default::default(),
            created_ms: now_ms(),
        };
        user.guid = user.derived_id();
        self.users.push(user);
    }

    /// The GUID of the (first) user of this name.
    pub fn user_guid(&self, username: &str) -> Option<String> {
        self.users
            .iter()
            .find(|u| u.username == username)
            .map(|u| u.guid.clone())
    }

    /// Add a global account with a `cis` client; returns its GUID.
    pub fn add_global_account(&mut self, subdomain: &str, region: &str) -> String {
        let guid = self.guid();
        let n = self.next_id;
        let client_secret = self.secret_value();
        self.global_accounts.insert(
            guid.clone(),
            GlobalAccount {
                guid: guid.clone(),
                subdomain: subdomain.to_owned(),
                display_name: subdomain.to_owned(),
                region: region.to_owned(),
                quotas: Vec::new(),
                cis_client_id: format!("sb-{subdomain}!b{n}|{}", super::CIS_XSAPPNAME),
                cis_client_secret: client_secret,
                cis_keys: Vec::new(),
                viewers: Vec::new(),
                created_ms: now_ms(),
            },
        );
        guid
    }

    /// Give a global account quota of a plan (`None` = unlimited).
    pub fn add_quota(
        &mut self,
        global_account: &str,
        service: &str,
        plan: &str,
        amount: Option<u32>,
    ) {
        if let Some(ga) = self.global_accounts.get_mut(global_account) {
            ga.quotas
                .retain(|q| !(q.service == service && q.plan == plan));
            ga.quotas.push(Quota {
                service: service.to_owned(),
                plan: plan.to_owned(),
                amount,
            });
        }
    }

    /// Add a subaccount; `guid` keeps a given GUID, else one is generated. Returns the GUID.
    pub fn add_subaccount(
        &mut self,
        global_account: &str,
        subdomain: &str,
        region: &str,
        guid: Option<&str>,
    ) -> String {
        let guid = guid.map_or_else(|| self.guid(), str::to_owned);
        let now = now_ms();
        self.subaccounts.insert(
            guid.clone(),
            Subaccount {
                guid: guid.clone(),
                global_account: global_account.to_owned(),
                subdomain: subdomain.to_owned(),
                display_name: subdomain.to_owned(),
                description: String::new(),
                region: region.to_owned(),
                directory: None,
                labels: Default::default(),
                used_for_production: "UNSET".to_owned(),
                state: "OK".to_owned(),
                entitlements: Vec::new(),
                service_manager_binding: None,
                created_ms: now,
                modified_ms: now,
            },
        );
        guid
    }

    /// Entitle a subaccount at once (state `OK`), bypassing the async API.
    pub fn entitle(&mut self, subaccount: &str, service: &str, plan: &str, amount: u32) {
        let now = now_ms();
        if let Some(s) = self.subaccounts.get_mut(subaccount) {
            s.entitlements
                .retain(|a| !(a.service == service && a.plan == plan));
            s.entitlements.push(Assignment {
                service: service.to_owned(),
                plan: plan.to_owned(),
                amount,
                state: "OK".to_owned(),
                state_message: "Succeeded to update assignment of service plan.".to_owned(),
                created_ms: now,
                modified_ms: now,
            });
        }
    }

    /// Add a CF org tied to a subaccount; returns its GUID.
    pub fn add_org(&mut self, name: &str, subaccount: Option<&str>) -> String {
        let guid = self.guid();
        let quota_guid = self.guid();
        let now = now_ms();
        self.orgs.insert(
            guid.clone(),
            Org {
                guid: guid.clone(),
                name: name.to_owned(),
                subaccount: subaccount.map(str::to_owned),
                landscape: String::new(),
                suspended: false,
                quota_guid,
                metadata: Default::default(),
                created_ms: now,
                updated_ms: now,
            },
        );
        guid
    }

    /// Add a CF space; returns its GUID.
    pub fn add_space(&mut self, org: &str, name: &str) -> String {
        let guid = self.guid();
        let now = now_ms();
        self.spaces.insert(
            guid.clone(),
            Space {
                guid: guid.clone(),
                name: name.to_owned(),
                org: org.to_owned(),
                metadata: Default::default(),
                created_ms: now,
                updated_ms: now,
            },
        );
        guid
    }
}
