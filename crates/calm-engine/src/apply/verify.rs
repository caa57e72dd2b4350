//! Verifying a delivered key: a `client_credentials` token from its `uaa.url` (btp-api.md §5.4).
//! The token is dropped at once; only success or the UAA's error name is kept.

use std::time::Duration;

use calm_btp::cf::Credentials;
use calm_btp::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

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

#[derive(Deserialize)]
struct UaaError {
    error: Option<String>,
}

/// Token requests sent before a key is called broken.
const ATTEMPTS: u32 = 5;

/// Gets a token with the key's client credentials.
pub(crate) async fn token(credentials: &Credentials) -> Result<(), String> {
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
    let base = Url::parse(&uaa.url).map_err(|_| "uaa.url is not a URL".to_owned())?;
    let loopback = matches!(base.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if base.scheme() != "https" && !loopback {
        return Err(format!("refusing to send a secret to {}", base.as_str()));
    }
    let url = format!("{}/oauth/token", uaa.url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot set up HTTP: {e}"))?;
    // A rate limit, a 5xx or a broken connection says nothing about the key: ask again a few
    // times (Retry-After in seconds is honoured up to 10 s) before calling the key broken.
    let mut attempt = 0u32;
    let response = loop {
        attempt += 1;
        let sent = client
            .post(&url)
            .basic_auth(&uaa.clientid, Some(secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        let transient = match &sent {
            Ok(r) => r.status().as_u16() == 429 || r.status().is_server_error(),
            Err(e) => !e.is_builder(),
        };
        if !transient || attempt >= ATTEMPTS {
            break sent.map_err(|e| {
                format!(
                    "{}: {}",
                    base.host_str().unwrap_or_default(),
                    e.without_url()
                )
            })?;
        }
        let hinted = sent
            .ok()
            .and_then(|r| r.headers().get(reqwest::header::RETRY_AFTER).cloned())
            .and_then(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()))
            .map(|secs| Duration::from_secs(secs.min(10)));
        let backoff = Duration::from_millis(250 << attempt.min(5));
        tokio::time::sleep(hinted.unwrap_or(backoff)).await;
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.bytes().await.unwrap_or_default();
    let name = serde_json::from_slice::<UaaError>(&body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    Err(format!(
        "{} answered HTTP {} {name}",
        base.host_str().unwrap_or_default(),
        status.as_u16()
    ))
}
