//! Clients for every connection a config names, built once per run and shared by all tasks, so
//! that each identity keeps one token per token URL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use calm_btp::accounts::AccountsClient;
use calm_btp::auth::{CisGrantType, CisKey, Grant};
use calm_btp::cf::CfClient;
use calm_btp::entitlements::EntitlementsClient;
use calm_btp::provisioning::ProvisioningClient;
use calm_btp::service_manager::ServiceManagerClient;
use calm_btp::{Btp, ClientConfig, ExposeSecret};
use calm_core::{Account, Desired};
use tokio::sync::{Mutex, OnceCell};

use crate::EngineError;
use crate::secrets::{EnvLookup, resolve};

/// The clients of one account (global account).
#[derive(Debug)]
pub struct AccountConnection {
    /// The account's name in calm.yaml.
    pub name: String,
    /// Accounts service client.
    pub accounts: AccountsClient,
    /// Entitlements service client.
    pub entitlements: EntitlementsClient,
    /// Provisioning service client (environment instances), when the `cis` key names the
    /// service.
    pub provisioning: Option<ProvisioningClient>,
    /// The `cis` key is for the password grant (`user_token`): the user's role decides what its
    /// tokens may do. Otherwise the key's plan alone does (client credentials).
    pub password_grant: bool,
    /// The Cloud Foundry login, or why there is none (only a problem if a CF tenant needs it).
    cf_grant: Result<Grant, String>,
    /// One cell per Cloud Foundry API (landscape): landscapes connect at once, and tasks asking
    /// for the same one wait for its one connection (`GET /`; the token is shared per UAA).
    cf: std::sync::Mutex<HashMap<String, Arc<OnceCell<CfClient>>>>,
    service_manager: Mutex<HashMap<String, ServiceManagerClient>>,
}

/// Every connection of a run.
pub struct Connections {
    btp: Btp,
    accounts: BTreeMap<String, AccountConnection>,
}

impl Connections {
    /// Resolves the secrets of every account used by a tenant and prepares its clients. No
    /// request is sent yet.
    pub fn new(
        desired: &Desired,
        config: ClientConfig,
        env: &EnvLookup,
    ) -> Result<Self, EngineError> {
        let btp = Btp::new(config).map_err(EngineError::api("preparing the HTTP client"))?;
        let mut accounts = BTreeMap::new();
        for account in desired
            .accounts
            .iter()
            .filter(|a| desired.tenants.iter().any(|t| t.account == a.name))
        {
            accounts.insert(account.name.clone(), connect(&btp, account, env)?);
        }
        Ok(Connections { btp, accounts })
    }

    /// Prepares the clients of one account only, for commands that start from an account
    /// rather than from tenants (`discover`).
    pub fn for_account(
        account: &Account,
        config: ClientConfig,
        env: &EnvLookup,
    ) -> Result<Self, EngineError> {
        let btp = Btp::new(config).map_err(EngineError::api("preparing the HTTP client"))?;
        let mut accounts = BTreeMap::new();
        accounts.insert(account.name.clone(), connect(&btp, account, env)?);
        Ok(Connections { btp, accounts })
    }

    /// The shared HTTP client.
    pub fn btp(&self) -> &Btp {
        &self.btp
    }

    /// The clients of an account.
    pub fn account(&self, name: &str) -> Result<&AccountConnection, EngineError> {
        self.accounts
            .get(name)
            .ok_or_else(|| EngineError::Connection {
                account: name.to_owned(),
                message: "no connection was prepared for it".into(),
            })
    }

    /// The Cloud Foundry client of the API `api_url` (a landscape's, as a subaccount's
    /// environment instance or calm.yaml names it) for an account, made on first use. Its UAA
    /// comes from the API's `GET /` (`links.uaa`), never from the host name.
    pub async fn cloud_foundry(
        &self,
        account: &str,
        api_url: &str,
    ) -> Result<CfClient, EngineError> {
        let conn = self.account(account)?;
        let cell = conn
            .cf
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(api_url.to_owned())
            .or_default()
            .clone();
        let client = cell
            .get_or_try_init(|| self.connect_cf(conn, account, api_url))
            .await?;
        Ok(client.clone())
    }

    async fn connect_cf(
        &self,
        conn: &AccountConnection,
        account: &str,
        url: &str,
    ) -> Result<CfClient, EngineError> {
        let grant = conn
            .cf_grant
            .clone()
            .map_err(|message| EngineError::Connection {
                account: account.to_owned(),
                message,
            })?;
        self.btp
            .cloud_foundry(url, grant)
            .await
            .map_err(EngineError::api(format!(
                "connecting to the Cloud Foundry API {url}"
            )))
    }

    /// The Service Manager client of a subaccount. With `create`, a missing
    /// `serviceManagementBinding` is created; without, `None` means the subaccount has none (and
    /// so no Service Manager instances calmctl could have made).
    pub async fn service_manager(
        &self,
        account: &str,
        subaccount_guid: &str,
        create: bool,
    ) -> Result<Option<ServiceManagerClient>, EngineError> {
        let conn = self.account(account)?;
        if let Some(client) = conn.service_manager.lock().await.get(subaccount_guid) {
            return Ok(Some(client.clone()));
        }
        let context =
            format!("getting Service Manager credentials of subaccount {subaccount_guid}");
        let credentials = if create {
            Some(
                conn.accounts
                    .service_management_binding(subaccount_guid)
                    .await
                    .map_err(EngineError::api(context))?,
            )
        } else {
            conn.accounts
                .get_service_management_binding(subaccount_guid)
                .await
                .map_err(EngineError::api(context))?
        };
        let Some(credentials) = credentials else {
            return Ok(None);
        };
        let client = self
            .btp
            .service_manager(&credentials)
            .map_err(EngineError::api("preparing the Service Manager client"))?;
        conn.service_manager
            .lock()
            .await
            .insert(subaccount_guid.to_owned(), client.clone());
        Ok(Some(client))
    }

    /// Names of the accounts in use.
    pub fn account_names(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(String::as_str)
    }
}

fn connect(
    btp: &Btp,
    account: &Account,
    env: &EnvLookup,
) -> Result<AccountConnection, EngineError> {
    let what = |field: &str| format!("account `{}` {field}", account.name);
    let key_ref = account
        .cis_key
        .as_ref()
        .ok_or_else(|| EngineError::Connection {
            account: account.name.clone(),
            message: "has no `cis_key` (the Cloud Management service key, plan central)".into(),
        })?;
    let key_json = resolve(key_ref, env, &what("cis_key"))?;
    let key = CisKey::from_json(key_json.expose_secret()).map_err(|e| EngineError::Connection {
        account: account.name.clone(),
        message: format!("cis_key: {e}"),
    })?;
    let user = match (&account.username, &account.password) {
        (Some(u), Some(p)) => Some((
            resolve(u, env, &what("username"))?,
            resolve(p, env, &what("password"))?,
        )),
        _ => None,
    };
    let grant = key
        .grant(user.as_ref().map(|(u, p)| (u.expose_secret(), p.clone())))
        .map_err(|e| EngineError::Connection {
            account: account.name.clone(),
            message: e.to_string(),
        })?;
    let accounts = btp
        .accounts(&key.accounts_service_url, &key.token_url, grant.clone())
        .map_err(EngineError::api("preparing the Accounts client"))?;
    let entitlements = btp
        .entitlements(&key.entitlements_service_url, &key.token_url, grant.clone())
        .map_err(EngineError::api("preparing the Entitlements client"))?;
    let provisioning = key
        .provisioning_service_url
        .as_ref()
        .map(|url| btp.provisioning(url, &key.token_url, grant))
        .transpose()
        .map_err(EngineError::api("preparing the Provisioning client"))?;
    Ok(AccountConnection {
        name: account.name.clone(),
        accounts,
        entitlements,
        provisioning,
        password_grant: key.grant_type == CisGrantType::Password,
        cf_grant: cf_grant(account, env, user),
        cf: std::sync::Mutex::new(HashMap::new()),
        service_manager: Mutex::new(HashMap::new()),
    })
}

/// The Cloud Foundry login: the account's `cloudfoundry` section, else its username/password.
fn cf_grant(
    account: &Account,
    env: &EnvLookup,
    user: Option<(calm_btp::SecretString, calm_btp::SecretString)>,
) -> Result<Grant, String> {
    let what = |field: &str| format!("account `{}` cloudfoundry.{field}", account.name);
    if let Some(cf) = &account.cloudfoundry {
        let origin = cf.origin.as_deref();
        if let Some(assertion) = &cf.assertion {
            let assertion =
                resolve(assertion, env, &what("assertion")).map_err(|e| e.to_string())?;
            return Ok(Grant::cf_jwt_bearer(assertion, origin));
        }
        if let (Some(u), Some(p)) = (&cf.username, &cf.password) {
            let username = resolve(u, env, &what("username")).map_err(|e| e.to_string())?;
            let password = resolve(p, env, &what("password")).map_err(|e| e.to_string())?;
            return Ok(Grant::cf_password(
                username.expose_secret(),
                password,
                origin,
            ));
        }
    }
    match user {
        Some((u, p)) => Ok(Grant::cf_password(u.expose_secret(), p, None)),
        None => Err("no Cloud Foundry login: set `username` and `password`, or `cloudfoundry: { assertion: ... }`".into()),
    }
}
