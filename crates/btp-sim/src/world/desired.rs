//! Deriving a world from a calm.yaml model: everything the config refers to exists, nothing that
//! calmctl is meant to create does.
//!
//! - one global account per `accounts` entry, with quota for `SAPCloudALMAPIs` and every plan the
//!   tenants use, twice what its tenants ask for (room for changes);
//! - one subaccount per distinct tenant `subaccount`: a GUID keeps that GUID (its subdomain is the
//!   tenant name), a subdomain gets a GUID derived from the seed;
//! - one CF org per `cloudfoundry` tenant (named after `org`, else the tenant), tied to the
//!   subaccount so that entitling the subaccount makes the plan visible there, and so its Cloud
//!   Foundry environment instance; on the landscape `cf_api` names, else the subaccount's region;
//! - the documented login `admin`/`admin`, Org Manager of every org and nothing more: what BTP
//!   gives the user who enables Cloud Foundry in a subaccount (btp-api.md §2.11);
//! - the users `space_roles` names, in their identity providers (no password, no role): the
//!   people calm.yaml means exist;
//! - no entitlements, spaces, instances or keys, except what `retrieve:` entries refer to: the
//!   credentials SAP generated, as its provisioning leaves them (generated.rs).

use calm_core::{Desired, Entitlement, Runtime};

use super::{CALM_OFFERING, Plan, World, now_ms};

fn looks_like_guid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

impl World {
    /// A world in which everything `desired` refers to exists (see the module docs).
    pub fn from_desired(desired: &Desired, seed: u64) -> World {
        let mut world = World::new(seed);
        world.add_user(crate::ADMIN_USER, crate::ADMIN_PASSWORD);
        for account in &desired.accounts {
            let ga = world.add_global_account(&account.subdomain, &account.region);
            let tenants: Vec<_> = desired
                .tenants
                .iter()
                .filter(|t| t.account == account.name)
                .collect();
            let mut plans: Vec<(String, u32)> = Vec::new();
            for tenant in &tenants {
                let amount = match tenant.entitlement {
                    Entitlement::Amount(n) => n,
                    Entitlement::Enable(on) => u32::from(on),
                };
                let mut names: Vec<&str> =
                    tenant.instances.iter().map(|i| i.plan.as_str()).collect();
                names.push(crate::world::CALM_PLAN);
                names.dedup();
                for name in names {
                    match plans.iter_mut().find(|(p, _)| p == name) {
                        Some(entry) => entry.1 += amount.max(1),
                        None => plans.push((name.to_owned(), amount.max(1))),
                    }
                }
            }
            if plans.is_empty() {
                plans.push((crate::world::CALM_PLAN.to_owned(), 1));
            }
            for (plan, amount) in plans {
                world.ensure_calm_plan(&plan);
                world.add_quota(&ga, CALM_OFFERING, &plan, Some(amount * 2));
            }
            for tenant in tenants {
                let existing = world
                    .subaccounts
                    .values()
                    .find(|s| s.guid == tenant.subaccount || s.subdomain == tenant.subaccount)
                    .map(|s| s.guid.clone());
                let subaccount = match existing {
                    Some(guid) => guid,
                    None if looks_like_guid(&tenant.subaccount) => {
                        let subdomain = tenant
                            .name
                            .to_ascii_lowercase()
                            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
                        world.add_subaccount(
                            &ga,
                            &subdomain,
                            &tenant.region,
                            Some(&tenant.subaccount.to_ascii_lowercase()),
                        )
                    }
                    None => world.add_subaccount(&ga, &tenant.subaccount, &tenant.region, None),
                };
                if let Some(s) = world.subaccounts.get_mut(&subaccount) {
                    s.display_name = tenant.name.clone();
                }
                for person in &tenant.space_roles {
                    world.add_person(&person.user, &person.origin);
                }
                if tenant.runtime == Runtime::Cloudfoundry {
                    let org = tenant.org.clone().unwrap_or_else(|| tenant.name.clone());
                    if !world
                        .orgs
                        .values()
                        .any(|o| o.name.eq_ignore_ascii_case(&org))
                    {
                        let guid = world.add_org(&org, Some(&subaccount));
                        // `cf_api` places the org on that landscape (an extension landscape,
                        // China's); else it is on the subaccount's region.
                        if let Some(landscape) = tenant
                            .cf_api
                            .as_deref()
                            .and_then(super::landscapes::landscape_of_url)
                            && let Some(o) = world.orgs.get_mut(&guid)
                        {
                            o.landscape = landscape;
                        }
                        world.add_role(
                            crate::ADMIN_USER,
                            super::RoleType::OrganizationManager,
                            &guid,
                        );
                    }
                }
                if !tenant.retrieve.is_empty() {
                    world.add_retrieved(tenant, &subaccount);
                }
            }
        }
        world
    }

    /// Make sure the Cloud ALM offering has a plan of this name.
    pub fn ensure_calm_plan(&mut self, name: &str) {
        let Some(offering) = self
            .offerings
            .values()
            .find(|o| o.name == CALM_OFFERING)
            .map(|o| o.guid.clone())
        else {
            return;
        };
        if self
            .plans
            .values()
            .any(|p| p.offering == offering && p.name == name)
        {
            return;
        }
        let guid = self.guid();
        let sm_id = self.guid();
        self.plans.insert(
            guid.clone(),
            Plan {
                guid,
                sm_id: sm_id.clone(),
                name: name.to_owned(),
                offering,
                description: format!("{name} plan of the SAP Cloud ALM API"),
                free: true,
                public: false,
                catalog_id: sm_id,
                catalog_metadata: serde_json::json!({}),
                schemas: serde_json::Value::Null,
                created_ms: now_ms(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::RoleType;

    /// `--from-config` places an org on the landscape `cf_api` names, under the `org` name, and
    /// the subaccount's environment instance says so.
    #[test]
    fn cf_api_and_org_place_the_org_and_its_environment_instance() {
        let yaml = "version: 1\n\
            accounts:\n  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: K } }\n\
            defaults:\n  runtime: cloudfoundry\n  space: calm\n  instance: { name: calm-api }\n\
            tenants:\n  - { name: a, subaccount: sub-a, org: Team A, cf_api: https://api.cf.eu10-004.hana.ondemand.com }\n\
            \x20 - { name: c, subaccount: sub-c, region: cn20 }\n";
        let desired = calm_config::load_bytes("calm.yaml", yaml.as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"))
            .desired;
        let world = World::from_desired(&desired, 3);
        let endpoints: Vec<(String, String)> = world
            .environment_instances(None)
            .iter()
            .map(|e| {
                let labels: serde_json::Value =
                    serde_json::from_str(e["labels"].as_str().unwrap_or("{}")).unwrap_or_default();
                (
                    labels["Org Name"].as_str().unwrap_or_default().to_owned(),
                    labels["API Endpoint"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        assert_eq!(
            endpoints,
            [
                (
                    "Team A".to_owned(),
                    "https://api.cf.eu10-004.hana.ondemand.com".to_owned()
                ),
                (
                    "c".to_owned(),
                    "https://api.cf.cn20.platform.sapcloud.cn".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn the_login_user_is_org_manager_of_each_org_and_nothing_more() {
        let yaml = "version: 1\n\
            accounts:\n  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: K } }\n\
            defaults:\n  runtime: cloudfoundry\n  space: calm\n  instance: { name: calm-api }\n\
            \x20 space_roles: [{ user: ops@example.com, origin: sap.ids }]\n\
            tenants:\n  - { name: a, subaccount: a }\n  - { name: b, subaccount: b }\n";
        let desired = calm_config::load_bytes("calm.yaml", yaml.as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"))
            .desired;
        let world = World::from_desired(&desired, 3);
        let admin = world.user_guid(crate::ADMIN_USER).unwrap_or_default();
        let mut held: Vec<(RoleType, String)> = world
            .roles
            .values()
            .filter(|r| r.user == admin)
            .map(|r| (r.kind, r.organization.clone().unwrap_or_default()))
            .collect();
        held.sort_by(|a, b| a.1.cmp(&b.1));
        let mut orgs: Vec<String> = world.orgs.keys().cloned().collect();
        orgs.sort();
        assert_eq!(
            held,
            orgs.into_iter()
                .map(|o| (RoleType::OrganizationManager, o))
                .collect::<Vec<_>>()
        );
        assert_eq!(world.roles.len(), 2, "nobody else holds a role");
        let ops = world.user_by_name("ops@example.com", "sap.ids");
        assert!(
            ops.is_some_and(|u| u.password.is_empty()),
            "the person space_roles names exists and cannot log in"
        );
        assert!(world.spaces.is_empty());
    }
}
