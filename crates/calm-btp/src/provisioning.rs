//! The Provisioning service of the Cloud Management service (`cis`): the environment instances of
//! a global account's subaccounts (btp-api.md §3.6). A Cloud Foundry environment instance says
//! where a subaccount's org is: its landscape's API endpoint, the org's name and its GUID.

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use crate::auth::{Grant, TokenSource};
use crate::error::{Api, Error};
use crate::http::endpoint::{self, Endpoint};
use crate::http::{Auth, Btp, Request};

/// The `environmentType` of a Cloud Foundry environment instance.
pub const CLOUD_FOUNDRY: &str = "cloudfoundry";

/// One environment instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentInstance {
    /// Its id.
    pub id: String,
    /// The subaccount it belongs to.
    pub subaccount_guid: String,
    /// `cloudfoundry`, `kyma`, …
    pub environment_type: String,
    /// `OK`, `CREATING`, `DELETING`, …
    pub state: String,
    /// `landscapeLabel`, e.g. `cf-eu10-004`.
    pub landscape_label: Option<String>,
    /// The `API Endpoint` label: the Cloud Foundry API of the org's landscape.
    pub api_endpoint: Option<String>,
    /// The `Org Name` label.
    pub org_name: Option<String>,
    /// The `Org ID` label (falls back to `platformId`, which holds the same GUID).
    pub org_guid: Option<String>,
}

impl EnvironmentInstance {
    /// Is it a Cloud Foundry environment?
    pub fn is_cloud_foundry(&self) -> bool {
        self.environment_type.eq_ignore_ascii_case(CLOUD_FOUNDRY)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceWire {
    #[serde(default)]
    id: String,
    #[serde(rename = "subaccountGUID", default)]
    subaccount_guid: String,
    #[serde(default)]
    environment_type: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    landscape_label: Option<String>,
    #[serde(default)]
    platform_id: Option<String>,
    /// A JSON object in a string (recorded), or an object.
    #[serde(default)]
    labels: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceList {
    #[serde(default)]
    environment_instances: Vec<InstanceWire>,
}

/// A label's value by name. Recordings spell the names with and without a trailing colon
/// (`"API Endpoint:"` in older answers, `"API Endpoint"` in newer ones; btp-api.md §3.6).
fn label(labels: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    labels
        .iter()
        .find(|(k, _)| k.trim().trim_end_matches(':').trim() == name)
        .and_then(|(_, v)| v.as_str())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl From<InstanceWire> for EnvironmentInstance {
    fn from(w: InstanceWire) -> Self {
        let labels = match w.labels {
            Some(serde_json::Value::String(text)) => serde_json::from_str(&text).ok(),
            Some(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        }
        .unwrap_or_default();
        EnvironmentInstance {
            id: w.id,
            subaccount_guid: w.subaccount_guid,
            environment_type: w.environment_type,
            state: w.state,
            landscape_label: w.landscape_label,
            api_endpoint: label(&labels, "API Endpoint"),
            org_name: label(&labels, "Org Name"),
            org_guid: label(&labels, "Org ID").or(w.platform_id),
        }
    }
}

/// A client for the Provisioning service of one global account.
#[derive(Clone, Debug)]
pub struct ProvisioningClient {
    btp: Btp,
    endpoint: Endpoint,
    token: Arc<TokenSource>,
}

impl Btp {
    /// A Provisioning client for `provisioning_service_url` with a token from `token_url` (both
    /// from a [`CisKey`](crate::auth::CisKey)).
    pub fn provisioning(
        &self,
        provisioning_service_url: &Url,
        token_url: &Url,
        grant: Grant,
    ) -> Result<ProvisioningClient, Error> {
        endpoint::check_scheme(provisioning_service_url)?;
        let endpoint = Endpoint::new(provisioning_service_url, self.route())?;
        let token = TokenSource::shared(self, token_url, grant)?;
        Ok(ProvisioningClient {
            btp: self.clone(),
            endpoint,
            token,
        })
    }
}

impl ProvisioningClient {
    /// Every environment instance the token's global account holds, in one request
    /// (`GET /provisioning/v1/environments`, unpaged).
    pub async fn list_environment_instances(&self) -> Result<Vec<EnvironmentInstance>, Error> {
        let url = self.endpoint.url("/provisioning/v1/environments");
        let request = Request::new(
            Api::Accounts,
            Method::GET,
            url,
            Auth::Bearer(self.token.clone()),
        );
        let list: InstanceList = self.btp.execute(&request).await?.json()?;
        Ok(list
            .environment_instances
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bodies of SAP/terraform-provider-btp's `datasource_subaccount_environment_instance*`
    /// cassettes (tests/fixtures/recorded/btp-cli-terraform): labels as a JSON string, with and
    /// without the trailing colon.
    #[test]
    fn recorded_labels_give_endpoint_org_and_guid() {
        let body = r#"{"environmentInstances":[{"id":"DA2883C7-0FAF-4D4A-80BB-A0B54AC9743D","subaccountGUID":"77395f6a-a601-4c9e-8cd0-c1fcefc7f60f","labels":"{\"API Endpoint\":\"https://api.cf.eu12.hana.ondemand.com\",\"Org Name\":\"terraform-integration-canary_integration-test-acc-static-cf\",\"Org ID\":\"6ac4ae39-670d-4d2f-957a-8fc0856037ef\",\"Org Memory Limit\":\"204,800MB\"}","environmentType":"cloudfoundry","landscapeLabel":"cf-eu12","platformId":"6ac4ae39-670d-4d2f-957a-8fc0856037ef","state":"OK"},
            {"id":"2C71C5DD","subaccountGUID":"f78e0bdb","labels":"{\"Org Name:\":\"8fe7efd4trial\",\"API Endpoint:\":\"https://api.cf.eu10.hana.ondemand.com\",\"Org ID:\":\"d7706871\"}","environmentType":"cloudfoundry","landscapeLabel":"cf-eu10","state":"OK"}]}"#;
        let list: InstanceList = serde_json::from_str(body).expect("decodes");
        let all: Vec<EnvironmentInstance> = list
            .environment_instances
            .into_iter()
            .map(Into::into)
            .collect();
        assert_eq!(
            all[0].api_endpoint.as_deref(),
            Some("https://api.cf.eu12.hana.ondemand.com")
        );
        assert_eq!(
            all[0].org_name.as_deref(),
            Some("terraform-integration-canary_integration-test-acc-static-cf")
        );
        assert_eq!(
            all[0].org_guid.as_deref(),
            Some("6ac4ae39-670d-4d2f-957a-8fc0856037ef")
        );
        assert!(all[0].is_cloud_foundry());
        assert_eq!(all[1].org_name.as_deref(), Some("8fe7efd4trial"));
        assert_eq!(
            all[1].api_endpoint.as_deref(),
            Some("https://api.cf.eu10.hana.ondemand.com")
        );
    }
}
