//! `POST /oauth/token` and `GET /token_keys`: the UAA of CF and the XSUAA of every client the world
//! issued.
//!
//! Grants (btp-api.md §2.2, §3.1, clients.md §3): `password` (client `cf` with an empty secret via
//! `Authorization: Basic Y2Y6`, or a Cloud Management key of grant type `user_token`),
//! `refresh_token` (returns the same refresh token, as observed), `client_credentials` (Cloud
//! Management keys of grant type `client_credentials`, Service Manager and service key clients;
//! Basic or form parameters) and `urn:ietf:params:oauth:grant-type:jwt-bearer` (client id `cf` in
//! the form, no Basic header). A client asking for a grant it is not for gets 401 `invalid_client`
//! "Unauthorized grant type: …", as UAA answers. Failures use RFC 6749 bodies.
//!
//! Tokens are minted in tokens.rs; this module decides who asks and what they get.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::auth::{self, Claims, signing_key};
use crate::errors;
use crate::server::{AppState, Shared};
use crate::tokens::{self, Client};
use crate::world::{CisGrantType, User, World, landscapes, now_ms};

/// `GET /token_keys`: the keys that verify the simulator's tokens (no login needed, as on UAA).
pub async fn token_keys() -> Response {
    errors::json_response(StatusCode::OK, signing_key().jwks())
}

/// The token endpoint. Who asks and what they get is decided with the world locked; the tokens are
/// signed after it is unlocked (an RSA signature takes about a millisecond).
pub async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    form.extend(url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned());
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic);
    match decide(&state, basic, &form) {
        Ok(Outcome::User {
            mut access,
            keep_refresh,
        }) => {
            // Each landscape's UAA issues its own tokens (world/landscapes.rs).
            let landscape = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(landscapes::parse_host);
            if let Some((landscapes::HostKind::Uaa, landscape)) = landscape {
                access.iss = landscapes::uaa_issuer(&landscape);
            }
            tokens::user_response(&state, access, keep_refresh)
        }
        Ok(Outcome::Client(access)) => tokens::client_response(&state, access),
        Err(refusal) => refusal,
    }
}

/// What a token request gets.
enum Outcome {
    /// A user's access token (with id and refresh tokens); the refresh grant keeps its token.
    User {
        access: Claims,
        keep_refresh: Option<String>,
    },
    /// A client's access token.
    Client(Claims),
}

fn decide(
    state: &AppState,
    basic: Option<(String, String)>,
    form: &[(String, String)],
) -> Result<Outcome, Response> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (client_id, client_secret) = match (&basic, field("client_id")) {
        (Some((id, secret)), _) => (Some(id.clone()), Some(secret.clone())),
        (None, Some(id)) => (
            Some(id.to_owned()),
            field("client_secret").map(str::to_owned),
        ),
        (None, None) => (None, None),
    };
    let grant = field("grant_type").unwrap_or_default();
    let secret = state.secret();
    let world = state.world();
    let unauthorized = || errors::uaa(StatusCode::UNAUTHORIZED, "unauthorized", "Bad credentials");
    let Some(client_id) = client_id else {
        return Err(errors::uaa(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Full authentication is required to access this resource",
        ));
    };
    // jwt-bearer is sent by public clients without a secret (observed: `client_id=cf` in the form).
    let client = if grant.ends_with(":jwt-bearer") && client_id == "cf" {
        Some(Client::Cf)
    } else {
        let rejected = state.settings().faults.reject_token_prefixes;
        authenticate_client(
            &world,
            &client_id,
            client_secret.as_deref().unwrap_or_default(),
            &rejected,
        )
    };
    let Some(client) = client else {
        return Err(errors::uaa(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad credentials",
        ));
    };
    if !client.allows(grant) {
        return Err(errors::uaa(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            &format!("Unauthorized grant type: {grant}"),
        ));
    }
    let origin = login_hint_origin(field("login_hint"));
    let mint = tokens::Mint::new(state);
    let user = |user: &User, grant: &str, keep_refresh: Option<&str>| Outcome::User {
        access: mint.user_claims(&world, &client_id, &client, user, grant),
        keep_refresh: keep_refresh.map(str::to_owned),
    };
    match grant {
        "password" => {
            let (Some(username), Some(password)) = (field("username"), field("password")) else {
                return Err(errors::uaa(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing username or password",
                ));
            };
            match world.user(username, password) {
                Some(u) if origin.as_deref().is_none_or(|o| o == u.origin) => {
                    Ok(user(u, "password", None))
                }
                _ => Err(unauthorized()),
            }
        }
        "refresh_token" => {
            let Some(refresh) = field("refresh_token") else {
                return Err(errors::uaa(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing refresh_token",
                ));
            };
            let old = auth::verify(signing_key(), &secret, refresh, "refresh", None)
                .filter(|old| old.client_id == client_id);
            let owner = old.as_ref().and_then(|old| {
                world.users.iter().find(|u| {
                    Some(u.username.as_str()) == old.user_name.as_deref()
                        && Some(u.origin.as_str()) == old.origin.as_deref()
                })
            });
            match owner {
                // The refresh grant returns the same refresh token (observed, btp-api.md §2.2).
                Some(u) => Ok(user(u, "refresh_token", Some(refresh))),
                None => Err(errors::uaa(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Invalid refresh token",
                )),
            }
        }
        "client_credentials" => Ok(Outcome::Client(
            mint.client_claims(&world, &client_id, &client),
        )),
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let owner = field("assertion")
                .and_then(|a| {
                    auth::verify(
                        signing_key(),
                        &secret,
                        a,
                        "assertion",
                        Some(now_ms() / 1000),
                    )
                })
                .and_then(|c| world.users.iter().find(|u| u.username == c.sub));
            match owner {
                Some(u) => Ok(user(u, "jwt-bearer", None)),
                None => Err(errors::uaa(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "The assertion is not valid",
                )),
            }
        }
        other => Err(errors::uaa(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {other}"),
        )),
    }
}

fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // Form-encoded client credentials in Basic auth are URL-decoded by UAA (RFC 6749 §2.3.1).
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

fn login_hint_origin(hint: Option<&str>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(hint?).ok()?;
    value.get("origin")?.as_str().map(str::to_owned)
}

fn authenticate_client(
    world: &World,
    id: &str,
    secret: &str,
    rejected: &[String],
) -> Option<Client> {
    let accepted = |name: &str| !rejected.iter().any(|p| name.starts_with(p.as_str()));
    if id == "cf" {
        return secret.is_empty().then_some(Client::Cf);
    }
    if let Some((ga, key)) = world.cis_client(id) {
        return (key.client_secret == secret).then(|| Client::CloudManagement {
            global_account: ga.guid.clone(),
            plan: key.plan,
            grant_type: key.grant_type,
        });
    }
    if let Some(sub) = world.subaccount_by_sm_client(id) {
        let ok = sub
            .service_manager_binding
            .as_ref()
            .is_some_and(|b| b.client_secret == secret);
        return ok.then(|| Client::ServiceManager(sub.guid.clone()));
    }
    for instance in world
        .service_instances
        .values()
        .filter(|i| i.client.client_id == id)
    {
        let key_secret = world.service_keys.values().any(|k| {
            k.instance == instance.guid
                && k.client_secret == secret
                && k.last_operation.state == "succeeded"
                && accepted(&k.name)
        });
        if key_secret || instance.client.instance_secret == secret {
            let subaccount = world
                .subaccount_of_space(&instance.space)
                .map(|s| s.guid.clone())
                .unwrap_or_default();
            return Some(Client::Instance {
                subaccount,
                xsappname: instance.client.xsappname.clone(),
                instance: instance.guid.clone(),
            });
        }
    }
    for instance in world
        .sm_instances
        .values()
        .filter(|i| i.client.client_id == id)
    {
        let binding_secret = world.sm_bindings.values().any(|b| {
            b.instance == instance.id && b.client_secret == secret && b.ready && accepted(&b.name)
        });
        if binding_secret || instance.client.instance_secret == secret {
            return Some(Client::Instance {
                subaccount: instance.subaccount.clone(),
                xsappname: instance.client.xsappname.clone(),
                instance: instance.id.clone(),
            });
        }
    }
    None
}

impl Client {
    /// May this client use `grant`? The CF CLI client has no client credentials; Service Manager
    /// and service key clients have nothing but; a Cloud Management key has the grant of its
    /// `grant_type`. An unknown grant is left to the unsupported-grant answer.
    fn allows(&self, grant: &str) -> bool {
        let user_grant =
            matches!(grant, "password" | "refresh_token") || grant.ends_with(":jwt-bearer");
        match self {
            Client::Cf => grant != "client_credentials",
            Client::CloudManagement { grant_type, .. } => match grant_type {
                CisGrantType::UserToken => grant != "client_credentials",
                CisGrantType::ClientCredentials => !user_grant,
            },
            Client::ServiceManager(_) | Client::Instance { .. } => !user_grant,
        }
    }
}

/// A jwt-bearer assertion for a user, as an external IdP would issue it (`btp-sim` prints one for
/// each `assertion` a config references).
pub fn assertion_for(state: &AppState, user: &str, ttl_secs: u64) -> String {
    tokens::assertion(state, user, ttl_secs)
}
