//! Reading what retrieval needs: the credentials of one key or binding (by GUID), and the local
//! record of deliveries to an `exec` sink. Shared by planning (mod.rs) and delivery (deliver.rs).

use std::collections::BTreeMap;

use calm_btp::cf::Credentials;
use calm_core::Runtime;
use calm_core::retrieved::RetrieveLine;

use crate::Connections;

/// The local record of deliveries to an `exec` sink: `tenant/instance/key` → record.
pub(crate) type Records = BTreeMap<String, String>;

/// Reads the record ([`calm_core::retrieved::RECORD_PATH`]); a missing or unreadable one is
/// empty, which only makes deliveries due again.
pub(crate) fn read_records() -> Records {
    std::fs::read(calm_core::retrieved::RECORD_PATH)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub(crate) fn record_key(line: &RetrieveLine) -> String {
    format!("{}/{}/{}", line.tenant, line.instance, line.key)
}

/// `GET …/details` of a Cloud Foundry key, or `GET` of a Service Manager binding.
pub(crate) async fn read_credentials(
    conns: &Connections,
    account: &str,
    subaccount_guid: &str,
    cf_api: Option<&str>,
    runtime: Runtime,
    guid: &str,
) -> Result<Credentials, ReadFailure> {
    match runtime {
        Runtime::Cloudfoundry => {
            let api = cf_api.ok_or_else(|| {
                ReadFailure::Other(
                    "the subaccount's Cloud Foundry environment names no API endpoint".to_owned(),
                )
            })?;
            let cf = conns
                .cloud_foundry(account, api)
                .await
                .map_err(|e| ReadFailure::Other(e.to_string()))?;
            cf.service_credential_binding_details(guid)
                .await
                .map_err(|e| ReadFailure::from_api(e, runtime))
        }
        Runtime::ServiceManager => {
            let sm = conns
                .service_manager(account, subaccount_guid, false)
                .await
                .map_err(|e| ReadFailure::Other(e.to_string()))?
                .ok_or_else(|| {
                    ReadFailure::Other(
                        "the subaccount has no Service Manager access binding to read it with"
                            .to_owned(),
                    )
                })?;
            let binding = sm
                .get_service_binding(guid)
                .await
                .map_err(|e| ReadFailure::from_api(e, runtime))?;
            binding
                .credentials
                .ok_or_else(|| ReadFailure::Other("the binding carries no credentials".to_owned()))
        }
    }
}

/// Why credentials could not be read.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The key or binding is gone (404; on Cloud Foundry also what a user who is not a Space
    /// Developer of the key's space gets, btp-api.md §2.11).
    Gone(Runtime),
    /// Anything else, rendered.
    Other(String),
}

impl ReadFailure {
    fn from_api(e: calm_btp::Error, runtime: Runtime) -> Self {
        if e.status() == Some(404) {
            ReadFailure::Gone(runtime)
        } else {
            ReadFailure::Other(e.to_string())
        }
    }
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::Gone(Runtime::ServiceManager) => f.write_str("it no longer exists"),
            ReadFailure::Gone(Runtime::Cloudfoundry) => f.write_str(
                "Cloud Foundry answers 404: the key was deleted, or calmctl's user is not a Space \
                 Developer of its space (Cloud Foundry shows a key's credentials to no one else; \
                 calmctl assigns no role to retrieve)",
            ),
            ReadFailure::Other(m) => f.write_str(m),
        }
    }
}
