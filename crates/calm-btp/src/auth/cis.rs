//! Service keys of the Cloud Management service (`cis`), which grant access to the Accounts and
//! Entitlements APIs (btp-api.md §3.1).

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::Grant;
use crate::error::Error;
use crate::http::endpoint;

/// The scope of the Accounts writes calmctl makes: subaccount labels (its lease) and the Service
/// Manager access binding (`PUT`/`DELETE …/labels`, `POST …/serviceManagementBinding`; btp-api.md
/// §3.4). Plan `central` grants it; `central-viewer` does not.
pub const SUBACCOUNT_UPDATE: &str = "global-account.subaccount.update";

/// The scope of `PUT /entitlements/v1/subaccountServicePlans` (btp-api.md §3.4).
pub const ENTITLEMENT_UPDATE: &str = "global-account.entitlement.subaccount.update";

/// Which grant a `cis` key is meant for, from its `grant_type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CisGrantType {
    /// `user_token` (the default of plan `central`): password grant with the key's client.
    Password,
    /// `client_credentials`: only for instances created with `{"grantType":"clientCredentials"}`
    /// and for the `*-viewer` plans.
    ClientCredentials,
}

/// A parsed `cis` service key.
#[derive(Debug, Clone)]
pub struct CisKey {
    /// `endpoints.accounts_service_url`.
    pub accounts_service_url: Url,
    /// `endpoints.entitlements_service_url`.
    pub entitlements_service_url: Url,
    /// `endpoints.provisioning_service_url` (environment instances, btp-api.md §3.6), when the
    /// key names one.
    pub provisioning_service_url: Option<Url>,
    /// `uaa.url` + `/oauth/token`.
    pub token_url: Url,
    /// `uaa.clientid`.
    pub client_id: String,
    client_secret: SecretString,
    /// From `grant_type`.
    pub grant_type: CisGrantType,
}

#[derive(Deserialize)]
struct KeyWire {
    endpoints: EndpointsWire,
    #[serde(default)]
    grant_type: Option<String>,
    uaa: UaaWire,
}

#[derive(Deserialize)]
struct EndpointsWire {
    accounts_service_url: String,
    entitlements_service_url: String,
    #[serde(default)]
    provisioning_service_url: Option<String>,
}

#[derive(Deserialize)]
struct UaaWire {
    clientid: String,
    clientsecret: SecretString,
    url: String,
}

impl CisKey {
    /// Parses the key's JSON as the cockpit or `btp create services/binding` shows it.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let wire: KeyWire = serde_json::from_str(json).map_err(|_| {
            Error::Credentials(
                "a cis key needs endpoints.accounts_service_url, endpoints.entitlements_service_url, uaa.url, uaa.clientid and uaa.clientsecret",
            )
        })?;
        let grant_type = match wire.grant_type.as_deref() {
            Some(kind) if kind.to_ascii_lowercase().contains("client") => {
                CisGrantType::ClientCredentials
            }
            _ => CisGrantType::Password,
        };
        Ok(CisKey {
            accounts_service_url: endpoint::parse(&wire.endpoints.accounts_service_url)?,
            entitlements_service_url: endpoint::parse(&wire.endpoints.entitlements_service_url)?,
            provisioning_service_url: wire
                .endpoints
                .provisioning_service_url
                .as_deref()
                .map(endpoint::parse)
                .transpose()?,
            token_url: super::TokenSource::token_url(&wire.uaa.url)?,
            client_id: wire.uaa.clientid,
            client_secret: wire.uaa.clientsecret,
            grant_type,
        })
    }

    /// The grant the key's `grant_type` asks for. A password key needs the user's name and
    /// password; a client-credentials key ignores them.
    pub fn grant(&self, user: Option<(&str, SecretString)>) -> Result<Grant, Error> {
        match (self.grant_type, user) {
            (CisGrantType::ClientCredentials, _) => Ok(Grant::ClientCredentials {
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
            }),
            (CisGrantType::Password, Some((username, password))) => Ok(Grant::Password {
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                username: username.to_owned(),
                password,
                origin: None,
            }),
            (CisGrantType::Password, None) => Err(Error::Credentials(
                "this cis key uses the password grant (grant_type user_token): a username and password are needed",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = r#"{"endpoints":{"accounts_service_url":"https://accounts-service.cfapps.eu10.hana.ondemand.com","entitlements_service_url":"https://entitlements-service.cfapps.eu10.hana.ondemand.com"},
        "grant_type":"user_token","uaa":{"clientid":"sb-cis","clientsecret":"top-secret","url":"https://ga.authentication.eu10.hana.ondemand.com"}}"#;

    #[test]
    fn parses_a_key_and_keeps_the_secret_out_of_debug() {
        let key = CisKey::from_json(KEY).expect("valid key");
        assert_eq!(
            key.token_url.as_str(),
            "https://ga.authentication.eu10.hana.ondemand.com/oauth/token"
        );
        assert_eq!(key.grant_type, CisGrantType::Password);
        assert!(!format!("{key:?}").contains("top-secret"));
        assert!(key.grant(None).is_err());
        let grant = key
            .grant(Some(("me@example.com", SecretString::from("pw"))))
            .expect("ok");
        assert!(!format!("{grant:?}").contains("\"pw\""));
    }

    #[test]
    fn client_credentials_key() {
        let key =
            CisKey::from_json(&KEY.replace("user_token", "client_credentials")).expect("valid key");
        assert!(matches!(
            key.grant(None),
            Ok(Grant::ClientCredentials { .. })
        ));
    }

    #[test]
    fn malformed_keys_are_errors() {
        assert!(CisKey::from_json("{}").is_err());
        assert!(CisKey::from_json(&KEY.replace("https://ga", "http://ga")).is_err());
    }
}
