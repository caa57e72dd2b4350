//! Cloud Foundry landscapes and the environment instances that place orgs on them.
//!
//! On BTP a subaccount's Cloud Foundry environment instance names the landscape its org lives on,
//! the org's name and GUID and the landscape's API endpoint (btp-api.md §3.6). A region may have
//! several landscapes (`eu10`, `eu10-004`, …), and China uses its own domain
//! (`api.cf.cn20.platform.sapcloud.cn`; btp-api.md §1). Each landscape is its own Cloud Controller
//! with its own UAA: an org exists on one landscape only, and a token from one landscape's UAA is
//! not accepted by another's Cloud Controller.
//!
//! The simulator serves every landscape from one address and tells them apart by the `Host` a
//! request names (crates/btp-sim/README.md, "Landscapes"). Here: the host names, the landscape of
//! an org, and the environment instances derived from the orgs (an org tied to a subaccount is that
//! subaccount's Cloud Foundry environment instance).

use serde_json::{Value, json};

use super::{Org, World};

/// The landscape of an org without a subaccount or region.
pub const DEFAULT_LANDSCAPE: &str = "eu10";

/// What a landscape host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// `api.cf.<landscape>.<domain>`: the Cloud Controller.
    Api,
    /// `uaa.cf.<landscape>.<domain>` or `login.cf.<landscape>.<domain>`: the landscape's UAA.
    Uaa,
}

/// The domain of a landscape: China's regions (`cn…`) have their own (btp-api.md §1).
fn domain(landscape: &str) -> &'static str {
    if landscape.starts_with("cn") {
        "platform.sapcloud.cn"
    } else {
        "hana.ondemand.com"
    }
}

/// `api.cf.<landscape>.<domain>`.
pub fn api_host(landscape: &str) -> String {
    format!("api.cf.{landscape}.{}", domain(landscape))
}

/// `uaa.cf.<landscape>.<domain>`.
pub fn uaa_host(landscape: &str) -> String {
    format!("uaa.cf.{landscape}.{}", domain(landscape))
}

/// `login.cf.<landscape>.<domain>`.
pub fn login_host(landscape: &str) -> String {
    format!("login.cf.{landscape}.{}", domain(landscape))
}

/// The issuer of the user tokens a landscape's UAA signs.
pub fn uaa_issuer(landscape: &str) -> String {
    format!("https://{}/oauth/token", uaa_host(landscape))
}

/// The landscape a `Host` header names, and what it serves there; `None` for any other host
/// (the simulator's own address).
pub fn parse_host(host: &str) -> Option<(HostKind, String)> {
    let host = host.trim().to_ascii_lowercase();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name.to_owned(),
        _ => host,
    };
    let (kind, rest) = if let Some(rest) = host.strip_prefix("api.cf.") {
        (HostKind::Api, rest)
    } else if let Some(rest) = host
        .strip_prefix("uaa.cf.")
        .or_else(|| host.strip_prefix("login.cf."))
    {
        (HostKind::Uaa, rest)
    } else {
        return None;
    };
    let (landscape, domain_part) = rest.split_once('.')?;
    let valid = !landscape.is_empty()
        && landscape
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && domain_part == domain(landscape);
    valid.then(|| (kind, landscape.to_owned()))
}

/// The landscape part of an API endpoint URL (`https://api.cf.eu10-004.hana.ondemand.com`).
pub fn landscape_of_url(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    match parse_host(host) {
        Some((HostKind::Api, landscape)) => Some(landscape),
        _ => None,
    }
}

impl World {
    /// The landscape serving an org: its own, else its subaccount's region.
    pub fn org_landscape(&self, org: &Org) -> String {
        if !org.landscape.is_empty() {
            return org.landscape.clone();
        }
        org.subaccount
            .as_ref()
            .and_then(|s| self.subaccounts.get(s))
            .map_or_else(|| DEFAULT_LANDSCAPE.to_owned(), |s| s.region.clone())
    }

    /// Is the org (by GUID) served by `landscape`?
    pub fn org_on(&self, org: &str, landscape: &str) -> bool {
        self.orgs
            .get(org)
            .is_some_and(|o| self.org_landscape(o) == landscape)
    }

    /// The Cloud Foundry environment instances of a global account's subaccounts, as the
    /// Provisioning service renders them (shape: btp-api.md §3.6, cassette
    /// `datasource_subaccount_environment_instances.yaml`).
    pub fn environment_instances(&self, global_account: Option<&str>) -> Vec<Value> {
        let mut out = Vec::new();
        for org in self.orgs.values() {
            let Some(subaccount) = org
                .subaccount
                .as_ref()
                .and_then(|s| self.subaccounts.get(s))
            else {
                continue;
            };
            if global_account.is_some_and(|ga| ga != subaccount.global_account) {
                continue;
            }
            let landscape = self.org_landscape(org);
            let labels = json!({
                "API Endpoint": format!("https://{}", api_host(&landscape)),
                "Org Name": org.name,
                "Org ID": org.guid,
                "Org Memory Limit": "102,400MB",
            });
            out.push(json!({
                // The environment instance's own id (upper-case GUID in the recordings); the
                // simulator derives it from the org's.
                "id": org.guid.to_ascii_uppercase(),
                "name": org.name,
                "brokerId": "1101E504-06B5-49B3-88E9-A21F1FEE35A2",
                "globalAccountGUID": subaccount.global_account,
                "subaccountGUID": subaccount.guid,
                "tenantId": subaccount.guid,
                "serviceId": "fa31b750-375f-4268-bee1-604811a89fd9",
                "planId": "fc5abe63-2a7d-4848-babf-f63a5d316df1",
                "operation": "provision",
                "parameters": json!({"instance_name": org.name, "status": "ACTIVE"}).to_string(),
                // A JSON document in a string, as recorded.
                "labels": labels.to_string(),
                "customLabels": {},
                "type": "Provision",
                "status": "Processed",
                "environmentType": "cloudfoundry",
                "landscapeLabel": format!("cf-{landscape}"),
                "platformId": org.guid,
                "createdDate": org.created_ms,
                "modifiedDate": org.updated_ms,
                "state": "OK",
                "stateMessage": "Environment instance created.",
                "serviceName": "cloudfoundry",
                "planName": "standard",
            }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_their_landscape_and_domain() {
        assert_eq!(
            parse_host("api.cf.eu10-004.hana.ondemand.com"),
            Some((HostKind::Api, "eu10-004".into()))
        );
        assert_eq!(
            parse_host("uaa.cf.cn20.platform.sapcloud.cn:443"),
            Some((HostKind::Uaa, "cn20".into()))
        );
        // China's landscapes are not on the global domain, and the others not on China's.
        assert_eq!(parse_host("api.cf.cn20.hana.ondemand.com"), None);
        assert_eq!(parse_host("api.cf.eu10.platform.sapcloud.cn"), None);
        assert_eq!(parse_host("127.0.0.1:8080"), None);
        assert_eq!(
            landscape_of_url("https://api.cf.us10.hana.ondemand.com/"),
            Some("us10".into())
        );
    }
}
