//! Verifying a delivered key: a `client_credentials` token from its `uaa.url` (btp-api.md §5.4),
//! requested through calm-btp like every other call (its pacing, retries and transport rules).
//! The token is dropped at once; only success or the UAA's error is kept.

use calm_btp::cf::Credentials;
use calm_btp::{Btp, SecretString};
use serde::Deserialize;

#[derive(Deserialize)]
struct Uaa {
    url: String,
    clientid: String,
    clientsecret: Option<SecretString>,
}

#[derive(Deserialize)]
struct Key {
    uaa: Option<Uaa>,
}

/// Gets a token with the key's client credentials.
pub(crate) async fn token(btp: &Btp, credentials: &Credentials) -> Result<(), String> {
    let json = credentials.expose_json();
    // Cloud ALM keys nest `uaa`; plain xsuaa keys have its fields at the top level.
    let uaa = match serde_json::from_str::<Key>(json) {
        Ok(Key { uaa: Some(uaa) }) => uaa,
        _ => serde_json::from_str::<Uaa>(json)
            .map_err(|_| "the credentials have no uaa.url and uaa.clientid".to_owned())?,
    };
    let Some(secret) = uaa.clientsecret else {
        return Err("the key has no client secret (X.509 keys are not verified)".into());
    };
    calm_btp::auth::check_client_credentials(btp, &uaa.url, &uaa.clientid, secret)
        .await
        .map_err(|e| e.to_string())
}
