//! OAuth tokens from UAA (CF) and XSUAA (Accounts, Entitlements, Service Manager).
//!
//! A [`TokenSource`] exists once per identity and token URL and is shared by every task that uses
//! it ([`Btp::token_source`]). Its mutex makes a refresh single-flight: the first task that finds
//! the token stale fetches a new one while the others wait for it, instead of all asking UAA at
//! once. Tokens are renewed before they expire (a fifth of their lifetime early, at most a minute)
//! and after a 401, once per token generation. Hand-rolled rather than the `oauth2` crate, which
//! pulls a second reqwest and has no jwt-bearer grant.

mod cis;
mod claims;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

pub use cis::{CisGrantType, CisKey, ENTITLEMENT_UPDATE, SUBACCOUNT_UPDATE};
pub use claims::TokenUser;

use crate::error::{Api, Error};
use crate::http::endpoint::{self, Endpoint};
use crate::http::{Auth, Body, Btp, Replay, Request};
use crate::observer::Event;

/// The public UAA client of the cf CLI: id `cf`, empty secret (btp-api.md §2.2).
pub const CF_CLIENT_ID: &str = "cf";

/// How to obtain a token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Grant {
    /// Resource-owner password grant. `origin` selects a custom identity provider and is sent as
    /// `login_hint={"origin":"…"}` on the token URL (btp-api.md §2.2).
    Password {
        /// OAuth client id (`cf` for CF).
        client_id: String,
        /// OAuth client secret (empty for CF).
        client_secret: SecretString,
        /// User name, usually an e-mail address.
        username: String,
        /// Password.
        password: SecretString,
        /// Identity provider origin key.
        origin: Option<String>,
    },
    /// Client-credentials grant, client authenticated with HTTP Basic.
    ClientCredentials {
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: SecretString,
    },
    /// A refresh token obtained elsewhere (e.g. from `cf oauth-token`).
    RefreshToken {
        /// Client id (`cf` for CF).
        client_id: String,
        /// Client secret (empty for CF).
        client_secret: SecretString,
        /// The refresh token.
        refresh_token: SecretString,
    },
    /// JWT bearer assertion (RFC 7523), e.g. a GitHub Actions OIDC token. The client id goes in the
    /// form body, without an `Authorization` header (observed in `provider.assertion_token.yaml`).
    JwtBearer {
        /// Client id (`cf` for CF).
        client_id: String,
        /// The signed JWT.
        assertion: SecretString,
        /// Identity provider origin key.
        origin: Option<String>,
    },
}

impl Grant {
    /// The CF password grant: client `cf`, empty secret.
    pub fn cf_password(username: &str, password: SecretString, origin: Option<&str>) -> Self {
        Grant::Password {
            client_id: CF_CLIENT_ID.into(),
            client_secret: SecretString::from(""),
            username: username.into(),
            password,
            origin: origin.map(str::to_owned),
        }
    }

    /// The CF jwt-bearer grant for an OIDC token from CI.
    pub fn cf_jwt_bearer(assertion: SecretString, origin: Option<&str>) -> Self {
        Grant::JwtBearer {
            client_id: CF_CLIENT_ID.into(),
            assertion,
            origin: origin.map(str::to_owned),
        }
    }

    /// The CF refresh-token grant.
    pub fn cf_refresh_token(refresh_token: SecretString) -> Self {
        Grant::RefreshToken {
            client_id: CF_CLIENT_ID.into(),
            client_secret: SecretString::from(""),
            refresh_token,
        }
    }

    fn identity(&self) -> (&'static str, &str, &str) {
        match self {
            Grant::Password {
                client_id,
                username,
                ..
            } => ("password", client_id, username),
            Grant::ClientCredentials { client_id, .. } => ("client_credentials", client_id, ""),
            Grant::RefreshToken { client_id, .. } => ("refresh_token", client_id, ""),
            Grant::JwtBearer {
                client_id, origin, ..
            } => ("jwt_bearer", client_id, origin.as_deref().unwrap_or("")),
        }
    }

    fn client(&self) -> (&str, Option<&SecretString>) {
        match self {
            Grant::Password {
                client_id,
                client_secret,
                ..
            }
            | Grant::ClientCredentials {
                client_id,
                client_secret,
            }
            | Grant::RefreshToken {
                client_id,
                client_secret,
                ..
            } => (client_id, Some(client_secret)),
            Grant::JwtBearer { client_id, .. } => (client_id, None),
        }
    }

    /// Tells the redaction of server text about this grant's secrets (a server may echo them).
    fn remember_secrets(&self) {
        let (client_id, client_secret) = self.client();
        let secrets: [Option<&SecretString>; 4] = match self {
            Grant::Password { password, .. } => [client_secret, Some(password), None, None],
            Grant::ClientCredentials { .. } => [client_secret, None, None, None],
            Grant::RefreshToken { refresh_token, .. } => {
                [client_secret, Some(refresh_token), None, None]
            }
            Grant::JwtBearer { assertion, .. } => [Some(assertion), None, None, None],
        };
        for secret in secrets.into_iter().flatten() {
            crate::http::redact::remember(secret.expose_secret());
        }
        if let Some(secret) = client_secret {
            // The Basic header value, as a server that echoes headers would show it.
            let pair = format!("{client_id}:{}", secret.expose_secret());
            crate::http::redact::remember(&base64::engine::general_purpose::STANDARD.encode(pair));
        }
    }

    fn origin(&self) -> Option<&str> {
        match self {
            Grant::Password { origin, .. } | Grant::JwtBearer { origin, .. } => origin.as_deref(),
            _ => None,
        }
    }
}

/// Gets one token with a client's own credentials and drops it at once: the proof that a
/// delivered key works (btp-api.md §5.4). The request goes through the same policy as every other
/// (pacing, 429 and 5xx retries, https except to loopback, no redirects); the token is neither
/// cached nor shared.
pub async fn check_client_credentials(
    btp: &Btp,
    uaa_url: &str,
    client_id: &str,
    client_secret: SecretString,
) -> Result<(), Error> {
    let endpoint = Endpoint::new(&TokenSource::token_url(uaa_url)?, btp.route())?;
    let source = TokenSource {
        token_url: endpoint.url(""),
        endpoint,
        grant: Grant::ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret,
        },
        state: tokio::sync::Mutex::new(None),
        generation: AtomicU64::new(0),
        invalidated: AtomicU64::new(0),
    };
    source.request(btp, None).await.map(drop)
}

/// Identifies a shared token source: the token URL and who asks (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    token_url: String,
    grant: &'static str,
    client_id: String,
    user: String,
}

impl TokenKey {
    pub(crate) fn new(token_url: &Url, grant: &Grant) -> Self {
        let (kind, client_id, user) = grant.identity();
        TokenKey {
            token_url: token_url.to_string(),
            grant: kind,
            client_id: client_id.into(),
            user: user.into(),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    refresh_token: Option<SecretString>,
    #[serde(default)]
    expires_in: Option<u64>,
    /// The granted scopes, space-separated (UAA and XSUAA send them; btp-api.md §3.1).
    #[serde(default)]
    scope: Option<String>,
}

struct Token {
    access: SecretString,
    refresh: Option<SecretString>,
    scopes: Vec<String>,
    expires_at: Instant,
    renew_at: Instant,
    generation: u64,
}

/// The scopes a token grants: the token response's `scope`, else the JWT's `scope` claim (both
/// are what UAA granted; neither is secret).
fn granted_scopes(response_scope: Option<&str>, access_token: &str) -> Vec<String> {
    if let Some(scope) = response_scope {
        return scope.split_whitespace().map(str::to_owned).collect();
    }
    let claims = access_token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok());
    match claims.as_ref().and_then(|c| c.get("scope")) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Does `scopes` hold `scope`, as is or prefixed with an application's xsappname
/// (`cis-central!b14.global-account.subaccount.update`)? XSUAA prefixes an application's scopes with
/// its xsappname, which has no period (btp-api.md §3.4).
pub fn grants(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| {
        s == scope
            || s.strip_suffix(scope)
                .and_then(|prefix| prefix.strip_suffix('.'))
                .is_some_and(|app| !app.is_empty() && !app.contains('.'))
    })
}

/// A cached, shared, self-renewing token for one identity at one token URL.
pub struct TokenSource {
    endpoint: Endpoint,
    token_url: Url,
    grant: Grant,
    state: tokio::sync::Mutex<Option<Token>>,
    generation: AtomicU64,
    invalidated: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url.as_str())
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The shared source for `grant` at `token_url` (the full URL, ending in `/oauth/token`).
    pub(crate) fn shared(
        btp: &Btp,
        token_url: &Url,
        grant: Grant,
    ) -> Result<std::sync::Arc<TokenSource>, Error> {
        let endpoint = Endpoint::new(token_url, btp.route())?;
        let key = TokenKey::new(token_url, &grant);
        grant.remember_secrets();
        Ok(btp.token_source(key, || TokenSource {
            token_url: endpoint.url(""),
            endpoint,
            grant,
            state: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            invalidated: AtomicU64::new(0),
        }))
    }

    /// `uaa_base` + `/oauth/token`.
    pub(crate) fn token_url(uaa_base: &str) -> Result<Url, Error> {
        endpoint::parse(&format!(
            "{}/oauth/token",
            uaa_base.trim().trim_end_matches('/')
        ))
    }

    /// A valid access token and its generation, fetching or renewing it if needed.
    pub(crate) async fn access_token(&self, btp: &Btp) -> Result<(SecretString, u64), Error> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let invalidated = self.invalidated.load(Ordering::Acquire);
        if let Some(token) = state.as_ref()
            && token.generation > invalidated
            && now < token.renew_at
        {
            return Ok((token.access.clone(), token.generation));
        }
        let refresh = state.as_ref().and_then(|t| t.refresh.clone());
        let response = match refresh {
            Some(refresh_token) => match self.request(btp, Some(&refresh_token)).await {
                Ok(response) => response,
                // An expired or revoked refresh token: start over with the grant itself, as
                // go-cfclient does (btp-api.md §2.2).
                Err(e) if matches!(e.status(), Some(400 | 401)) => self.request(btp, None).await?,
                Err(e) => return Err(e),
            },
            None => self.request(btp, None).await?,
        };
        // Tokens that are not JWTs (opaque tokens) are redacted by value; JWTs are recognised by
        // their shape wherever they appear.
        for token in std::iter::once(&response.access_token).chain(&response.refresh_token) {
            if !token.expose_secret().starts_with("eyJ") {
                crate::http::redact::remember(token.expose_secret());
            }
        }
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let lifetime = Duration::from_secs(response.expires_in.unwrap_or(300));
        let early = (lifetime / 5).min(Duration::from_secs(60));
        let now = Instant::now();
        let scopes = granted_scopes(
            response.scope.as_deref(),
            response.access_token.expose_secret(),
        );
        let token = Token {
            access: response.access_token,
            scopes,
            // UAA returns the same refresh token again (btp-api.md §2.2); keep the old one if none.
            refresh: response
                .refresh_token
                .or_else(|| state.as_ref().and_then(|t| t.refresh.clone())),
            expires_at: now + lifetime,
            renew_at: now + lifetime - early,
            generation,
        };
        btp.emit(Event::TokenRefreshed {
            host: endpoint::host_key(self.endpoint.logical()),
            expires_in: token.expires_at.saturating_duration_since(now).as_secs(),
        });
        let access = token.access.clone();
        *state = Some(token);
        Ok((access, generation))
    }

    /// The scopes of the current token, fetching one if needed.
    pub(crate) async fn scopes(&self, btp: &Btp) -> Result<Vec<String>, Error> {
        self.access_token(btp).await?;
        Ok(self
            .state
            .lock()
            .await
            .as_ref()
            .map(|t| t.scopes.clone())
            .unwrap_or_default())
    }

    /// Marks the token of `generation` as rejected; the next caller fetches a new one. Later
    /// generations are unaffected, so a burst of 401s causes one refresh.
    pub(crate) fn invalidate(&self, generation: u64) {
        self.invalidated.fetch_max(generation, Ordering::AcqRel);
    }

    async fn request(
        &self,
        btp: &Btp,
        refresh_token: Option<&SecretString>,
    ) -> Result<TokenResponse, Error> {
        // Built in a block: the serializer is not `Send` and must not live across an await.
        let grant = &self.grant;
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            match (refresh_token, grant) {
                (Some(token), _)
                | (
                    None,
                    Grant::RefreshToken {
                        refresh_token: token,
                        ..
                    },
                ) => {
                    form.append_pair("grant_type", "refresh_token");
                    form.append_pair("refresh_token", token.expose_secret());
                }
                (
                    None,
                    Grant::Password {
                        username, password, ..
                    },
                ) => {
                    form.append_pair("grant_type", "password");
                    form.append_pair("username", username);
                    form.append_pair("password", password.expose_secret());
                }
                (None, Grant::ClientCredentials { .. }) => {
                    form.append_pair("grant_type", "client_credentials");
                }
                (
                    None,
                    Grant::JwtBearer {
                        client_id,
                        assertion,
                        ..
                    },
                ) => {
                    form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
                    form.append_pair("assertion", assertion.expose_secret());
                    form.append_pair("client_id", client_id);
                }
            }
            form.finish()
        };
        let mut url = self.token_url.clone();
        if let Some(origin) = grant.origin() {
            let hint = serde_json::json!({ "origin": origin }).to_string();
            url.query_pairs_mut().append_pair("login_hint", &hint);
        }
        let (client_id, client_secret) = grant.client();
        let auth = match client_secret {
            Some(secret) => {
                let pair = format!("{client_id}:{}", secret.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                Auth::Basic(SecretString::from(format!("Basic {encoded}")))
            }
            None => Auth::None,
        };
        let mut request = Request::new(Api::Uaa, Method::POST, url, auth)
            .replay(Replay::Safe)
            .routed_for(&self.endpoint);
        request.body = Body::Form(SecretString::from(form));
        let response = btp.execute(&request).await?;
        response.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_come_from_the_response_else_from_the_token() {
        let listed = granted_scopes(Some("a.read  cis-central!b14.job.read"), "x.y.z");
        assert_eq!(listed, ["a.read", "cis-central!b14.job.read"]);
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"scope":["cis-central!b14.global-account.subaccount.update"]}"#);
        let from_claim = granted_scopes(None, &format!("h.{payload}.s"));
        assert!(grants(&from_claim, SUBACCOUNT_UPDATE));
        assert!(granted_scopes(None, "not-a-jwt").is_empty());
    }

    #[test]
    fn a_scope_is_granted_exactly_or_behind_one_xsappname() {
        let scopes = vec!["cis-central!b14.global-account.subaccount.read".to_owned()];
        assert!(grants(&scopes, "global-account.subaccount.read"));
        assert!(!grants(&scopes, "subaccount.read"), "whole names only");
        assert!(!grants(&scopes, SUBACCOUNT_UPDATE));
        assert!(grants(&["job.read".to_owned()], "job.read"));
    }
}
