//! The BTP Accounts service: subaccounts and their Service Manager binding (btp-api.md §3.2).

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use crate::auth::{Grant, TokenSource};
use crate::error::{Api, Error};
use crate::http::endpoint::{self, Endpoint};
use crate::http::send::{Created, create_or_find};
use crate::http::{Auth, Btp, Request};
use crate::service_manager::{CredentialsWire, ServiceManagerCredentials};

/// A subaccount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subaccount {
    /// GUID.
    pub guid: String,
    /// Display name.
    pub display_name: String,
    /// Subdomain (immutable; part of its XSUAA URL).
    pub subdomain: String,
    /// Region, e.g. `eu10`.
    pub region: String,
    /// State, e.g. `OK`, `CREATING`, `DELETING`.
    pub state: String,
    /// The global account.
    pub global_account_guid: String,
    /// The parent directory or global account.
    pub parent_guid: Option<String>,
    /// Labels: up to 10 values per key.
    pub labels: BTreeMap<String, Vec<String>>,
    /// Description.
    pub description: Option<String>,
}

/// Filter for [`AccountsClient::list_subaccounts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubaccountFilter {
    /// Only subaccounts in this directory.
    pub directory_guid: Option<String>,
    /// Only subaccounts having all these labels (key=value, one value per key).
    pub labels: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubaccountWire {
    guid: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    subdomain: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    state: String,
    #[serde(rename = "globalAccountGUID", default)]
    global_account_guid: String,
    #[serde(rename = "parentGUID", default)]
    parent_guid: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    description: Option<String>,
    // createdDate/modifiedDate are epoch-ms integers on REST but formatted strings through the
    // CLI server (btp-api.md §3.2 quirk); calmctl does not need them, so they are not read.
}

impl From<SubaccountWire> for Subaccount {
    fn from(w: SubaccountWire) -> Self {
        Subaccount {
            guid: w.guid,
            display_name: w.display_name,
            subdomain: w.subdomain,
            region: w.region,
            state: w.state,
            global_account_guid: w.global_account_guid,
            parent_guid: w.parent_guid,
            labels: w.labels.unwrap_or_default(),
            description: w.description.filter(|d| !d.is_empty()),
        }
    }
}

#[derive(Deserialize)]
struct SubaccountList {
    #[serde(default)]
    value: Vec<SubaccountWire>,
}

#[derive(Deserialize)]
struct LabelsWire {
    #[serde(default)]
    labels: BTreeMap<String, Vec<String>>,
}

/// A client for the Accounts service of one global account.
#[derive(Clone, Debug)]
pub struct AccountsClient {
    btp: Btp,
    endpoint: Endpoint,
    token: Arc<TokenSource>,
}

impl Btp {
    /// An Accounts client for `accounts_service_url` with a token from `token_url` (usually both
    /// from a [`CisKey`](crate::auth::CisKey)).
    pub fn accounts(
        &self,
        accounts_service_url: &Url,
        token_url: &Url,
        grant: Grant,
    ) -> Result<AccountsClient, Error> {
        endpoint::check_scheme(accounts_service_url)?;
        let endpoint = Endpoint::new(accounts_service_url, self.route())?;
        let token = TokenSource::shared(self, token_url, grant)?;
        Ok(AccountsClient {
            btp: self.clone(),
            endpoint,
            token,
        })
    }
}

impl AccountsClient {
    /// The scopes the client's token grants (fetching a token if none is cached): what the
    /// Cloud Management key's plan, and for a password grant the user's role, allow.
    pub async fn granted_scopes(&self) -> Result<Vec<String>, Error> {
        self.token.scopes(&self.btp).await
    }

    fn request(&self, method: Method, path: &str) -> Request {
        let url = self.endpoint.url(path);
        Request::new(Api::Accounts, method, url, Auth::Bearer(self.token.clone()))
    }

    /// Lists subaccounts in one call (the list is not paged).
    pub async fn list_subaccounts(
        &self,
        filter: &SubaccountFilter,
    ) -> Result<Vec<Subaccount>, Error> {
        let mut request = self.request(Method::GET, "/accounts/v1/subaccounts");
        {
            let mut pairs = request.url.query_pairs_mut();
            if let Some(directory) = &filter.directory_guid {
                pairs.append_pair("directoryGUID", directory);
            }
            if !filter.labels.is_empty() {
                let selector: Vec<String> = filter
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                pairs.append_pair("labelSelector", &selector.join(" AND "));
            }
        }
        let list: SubaccountList = self.btp.execute(&request).await?.json()?;
        Ok(list.value.into_iter().map(Into::into).collect())
    }

    /// Reads one subaccount.
    pub async fn get_subaccount(&self, guid: &str) -> Result<Subaccount, Error> {
        let request = self.request(Method::GET, &format!("/accounts/v1/subaccounts/{guid}"));
        let subaccount: SubaccountWire = self.btp.execute(&request).await?.json()?;
        Ok(subaccount.into())
    }

    /// A subaccount's labels.
    pub async fn subaccount_labels(
        &self,
        guid: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let path = format!("/accounts/v1/subaccounts/{guid}/labels");
        let labels: LabelsWire = self
            .btp
            .execute(&self.request(Method::GET, &path))
            .await?
            .json()?;
        Ok(labels.labels)
    }

    /// Replaces all of a subaccount's labels (`PUT .../labels`, btp-api.md §3.2); returns them as
    /// stored. There is no compare-and-set: read, change and put back.
    pub async fn put_subaccount_labels(
        &self,
        guid: &str,
        labels: &BTreeMap<String, Vec<String>>,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        #[derive(serde::Serialize)]
        struct Put<'a> {
            labels: &'a BTreeMap<String, Vec<String>>,
        }
        let path = format!("/accounts/v1/subaccounts/{guid}/labels");
        let request = self.request(Method::PUT, &path).json(&Put { labels });
        let stored: LabelsWire = self.btp.execute(&request).await?.json()?;
        Ok(stored.labels)
    }

    /// Removes all of a subaccount's labels (`DELETE .../labels`, btp-api.md §3.2): what a label
    /// set that became empty is written as, since `PUT` assigns labels.
    pub async fn delete_subaccount_labels(&self, guid: &str) -> Result<(), Error> {
        let path = format!("/accounts/v1/subaccounts/{guid}/labels");
        self.btp
            .execute(&self.request(Method::DELETE, &path))
            .await
            .map(|_| ())
    }

    /// The subaccount's Service Manager binding, if it has one.
    pub async fn get_service_management_binding(
        &self,
        subaccount_guid: &str,
    ) -> Result<Option<ServiceManagerCredentials>, Error> {
        let path = format!("/accounts/v1/subaccounts/{subaccount_guid}/serviceManagementBinding");
        match self.btp.execute(&self.request(Method::GET, &path)).await {
            Ok(response) => {
                let wire: CredentialsWire = response.json()?;
                ServiceManagerCredentials::from_wire(wire).map(Some)
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Returns the subaccount's Service Manager binding, creating it if there is none. It is
    /// created first and read only when BTP answers 409 (one exists, btp-api.md §3) or the answer
    /// is lost: callers ask for it when a read found none, so creating first saves a request.
    pub async fn service_management_binding(
        &self,
        subaccount_guid: &str,
    ) -> Result<ServiceManagerCredentials, Error> {
        let path = format!("/accounts/v1/subaccounts/{subaccount_guid}/serviceManagementBinding");
        let request = self.request(Method::POST, &path);
        let outcome = create_or_find(
            &self.btp,
            Api::Accounts,
            || async {
                match self.btp.execute(&request).await {
                    Ok(response) => Ok(Some(response.json::<CredentialsWire>()?)),
                    Err(e) if e.status() == Some(409) => Ok(None),
                    Err(e) => Err(e),
                }
            },
            || self.get_service_management_binding(subaccount_guid),
        )
        .await?;
        match outcome {
            Created::Created(Some(wire)) => ServiceManagerCredentials::from_wire(wire),
            Created::Found(found) => Ok(found),
            Created::Created(None) => self
                .get_service_management_binding(subaccount_guid)
                .await?
                .ok_or(Error::Credentials(
                    "the Service Manager binding exists but cannot be read",
                )),
        }
    }
}

/// Decoders of single bodies for the fixture tests ([`crate::decode`]).
pub(crate) mod decoders {
    use std::collections::BTreeMap;

    use super::{LabelsWire, Subaccount, SubaccountList, SubaccountWire};
    use crate::decode::{as_type, context};
    use crate::error::{Api, Error};
    use crate::http;

    pub(crate) fn subaccounts(body: &[u8]) -> Result<Vec<Subaccount>, Error> {
        let list: SubaccountList = http::decode(&context(Api::Accounts), 200, body)?;
        Ok(list.value.into_iter().map(Into::into).collect())
    }
    pub(crate) fn subaccount(body: &[u8]) -> Result<Subaccount, Error> {
        as_type::<SubaccountWire, _>(Api::Accounts, body)
    }
    pub(crate) fn labels(body: &[u8]) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let labels: LabelsWire = http::decode(&context(Api::Accounts), 200, body)?;
        Ok(labels.labels)
    }
}
