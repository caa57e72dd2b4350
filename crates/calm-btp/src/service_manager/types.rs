//! Public Service Manager types.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::auth::{Grant, TokenSource};
use crate::cf::Credentials;
use crate::error::Error;
use crate::http::endpoint;
use crate::operation::{LastOperation, OperationState, OperationType};

/// Service Manager labels: several values per key.
pub type SmLabels = BTreeMap<String, Vec<String>>;

/// Credentials of a Service Manager binding (`subaccount-admin`), from the Accounts API's
/// `serviceManagementBinding` or supplied by the user (btp-api.md §4.1).
#[derive(Clone)]
pub struct ServiceManagerCredentials {
    /// `clientid`.
    pub client_id: String,
    client_secret: SecretString,
    /// `sm_url`: the Service Manager API.
    pub sm_url: Url,
    /// `url` + `/oauth/token`.
    pub token_url: Url,
}

impl fmt::Debug for ServiceManagerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceManagerCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("sm_url", &self.sm_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .finish()
    }
}

#[derive(Deserialize)]
pub(crate) struct CredentialsWire {
    clientid: String,
    clientsecret: SecretString,
    sm_url: String,
    url: String,
}

impl ServiceManagerCredentials {
    /// Parses the binding JSON: `{"clientid","clientsecret","sm_url","url","xsappname"}`.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let wire: CredentialsWire = serde_json::from_str(json).map_err(|_| {
            Error::Credentials(
                "a Service Manager binding needs clientid, clientsecret, sm_url and url",
            )
        })?;
        Self::from_wire(wire)
    }

    pub(crate) fn from_wire(wire: CredentialsWire) -> Result<Self, Error> {
        Ok(ServiceManagerCredentials {
            client_id: wire.clientid,
            client_secret: wire.clientsecret,
            sm_url: endpoint::parse(&wire.sm_url)?,
            token_url: TokenSource::token_url(&wire.url)?,
        })
    }

    pub(crate) fn grant(&self) -> Grant {
        Grant::ClientCredentials {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        }
    }
}

/// A service offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offering {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Catalog name, e.g. `SAPCloudALMAPIs`.
    pub catalog_name: String,
    /// The broker.
    pub broker_id: Option<String>,
    /// Whether instance parameters can be read back.
    pub instances_retrievable: bool,
    /// Whether binding parameters can be read back.
    pub bindings_retrievable: bool,
}

/// A service plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Catalog name, e.g. `standard`.
    pub catalog_name: String,
    /// The offering.
    pub service_offering_id: String,
    /// Free of charge.
    pub free: bool,
}

/// A service instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInstance {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Plan id.
    pub service_plan_id: String,
    /// Whether the last operation finished.
    pub ready: bool,
    /// Whether it can be used.
    pub usable: bool,
    /// Labels.
    pub labels: SmLabels,
    /// The last operation; a failed create shows here with the broker's message.
    pub last_operation: Option<LastOperation>,
    /// The subaccount.
    pub subaccount_id: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update.
    pub updated_at: Option<String>,
}

/// A service binding. `credentials` is only present when read one at a time.
#[derive(Debug, Clone)]
pub struct ServiceBinding {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The instance.
    pub service_instance_id: String,
    /// Whether the last operation finished.
    pub ready: bool,
    /// Labels.
    pub labels: SmLabels,
    /// The last operation.
    pub last_operation: Option<LastOperation>,
    /// The credentials (secret).
    pub credentials: Option<Credentials>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update.
    pub updated_at: Option<String>,
}

/// An asynchronous operation (`GET /v1/{resource}/{id}/operations/{op}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Id.
    pub id: String,
    /// What it does.
    pub kind: OperationType,
    /// How far it got.
    pub state: OperationState,
    /// The platform's or broker's message.
    pub description: Option<String>,
    /// The object.
    pub resource_id: Option<String>,
    /// A path such as `/v1/service_instances` (btp-api.md §4.3 quirks).
    pub resource_type: Option<String>,
    /// The operation's errors, as text.
    pub errors: Option<String>,
    /// Last update.
    pub updated_at: Option<String>,
}

/// The plan of a service instance to create.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanChoice {
    /// By id (see [`ServiceManagerClient::find_plan`](super::ServiceManagerClient::find_plan)).
    Id(String),
    /// By offering and plan name, resolved by Service Manager (btp-api.md §4.3). Saves the two
    /// catalog reads, which Service Manager limits to 100 a minute each (§4.5). A plan that is
    /// not visible to the subaccount answers 404.
    Names {
        /// Offering (`catalog_name`), e.g. `SAPCloudALMAPIs`.
        offering: String,
        /// Plan (`catalog_name`), e.g. `standard`.
        plan: String,
    },
}

/// A service instance to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceInstance {
    /// Name.
    pub name: String,
    /// Plan.
    pub plan: PlanChoice,
    /// Parameters for the broker.
    pub parameters: Option<serde_json::Value>,
    /// Labels.
    pub labels: SmLabels,
}

/// A service binding to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceBinding {
    /// Name.
    pub name: String,
    /// The instance.
    pub service_instance_id: String,
    /// Parameters for the broker.
    pub parameters: Option<serde_json::Value>,
    /// Labels.
    pub labels: SmLabels,
}

/// One label change of an update (`PATCH` takes a list of operations, btp-api.md §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelChange {
    /// Add values to a key.
    Add {
        /// Key.
        key: String,
        /// Values.
        values: Vec<String>,
    },
    /// Remove values from a key (all of them if empty).
    Remove {
        /// Key.
        key: String,
        /// Values.
        values: Vec<String>,
    },
}

/// Changes to a service instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceInstanceUpdate {
    /// New parameters.
    pub parameters: Option<serde_json::Value>,
    /// New plan.
    pub service_plan_id: Option<String>,
    /// Label changes.
    pub labels: Vec<LabelChange>,
}

/// Quotes a value for a `fieldQuery`/`labelQuery`: single quotes, `'` doubled (btp-api.md §4.2).
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_single_quotes() {
        assert_eq!(quote("calm-api"), "'calm-api'");
        assert_eq!(quote("o'brien"), "'o''brien'");
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let json = r#"{"clientid":"sb-x","clientsecret":"shh","sm_url":"https://service-manager.cfapps.eu10.hana.ondemand.com","url":"https://sub.authentication.eu10.hana.ondemand.com","xsappname":"x"}"#;
        let credentials = ServiceManagerCredentials::from_json(json).expect("valid");
        assert!(!format!("{credentials:?}").contains("shh"));
        assert!(credentials.token_url.as_str().ends_with("/oauth/token"));
    }
}
