//! `POST /oauth/token`: the UAA of CF and the XSUAA of every client the world issued.
//!
//! Grants (btp-api.md §2.2, clients.md §3): `password` (client `cf` with an empty secret via
//! `Authorization: Basic Y2Y6`, or a Cloud Management client), `refresh_token` (returns the same
//! refresh token, as observed), `client_credentials` (Cloud Management, Service Manager and service
//! key clients; Basic or form parameters) and `urn:ietf:params:oauth:grant-type:jwt-bearer`
//! (client id `cf` in the form, no Basic header). Failures use RFC 6749 bodies.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::auth::{self, Claims};
use crate::errors;
use crate::server::{AppState, Shared};
use crate::world::{User, World, now_ms};

/// Whose client authenticated.
#[derive(Debug, Clone, PartialEq)]
enum Client {
    /// The public CF CLI client `cf`.
    Cf,
    /// A Cloud Management (`cis`) client of a global account.
    CloudManagement(String),
    /// A Service Manager client of a subaccount.
    ServiceManager(String),
    /// The xsuaa client of a service instance, in a subaccount.
    Instance {
        subaccount: String,
        xsappname: String,
    },
}

const USER_SCOPES: &[&str] = &[
    "openid",
    "uaa.user",
    "cloud_controller.read",
    "password.write",
    "cloud_controller.write",
];

/// The token endpoint.
pub async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    form.extend(url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned());
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic);
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
    let ttl = state.settings().effective_token_ttl();
    let world = state.world();
    let unauthorized = || errors::uaa(StatusCode::UNAUTHORIZED, "unauthorized", "Bad credentials");
    let Some(client_id) = client_id else {
        return errors::uaa(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Full authentication is required to access this resource",
        );
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
        return errors::uaa(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad credentials",
        );
    };
    let origin = login_hint_origin(field("login_hint"));
    let user_grant = |user: &User, grant: &str, keep: Option<&str>| {
        user_token(&state, ttl, &client_id, &client, user, grant, keep)
    };
    match grant {
        "password" => {
            let (Some(username), Some(password)) = (field("username"), field("password")) else {
                return errors::uaa(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing username or password",
                );
            };
            if matches!(client, Client::ServiceManager(_) | Client::Instance { .. }) {
                return errors::uaa(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Unauthorized grant type: password",
                );
            }
            match world.user(username, password) {
                Some(user) if origin.as_deref().is_none_or(|o| o == user.origin) => {
                    user_grant(user, "password", None)
                }
                _ => unauthorized(),
            }
        }
        "refresh_token" => {
            let Some(refresh) = field("refresh_token") else {
                return errors::uaa(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing refresh_token",
                );
            };
            let holder = |old: &Claims| match &old.user_id {
                Some(guid) => world.user_by_guid(guid),
                None => world.users.iter().find(|u| u.username == old.sub),
            };
            match auth::verify(&secret, refresh, "refresh", None) {
                // The refresh grant returns the same refresh token (observed, btp-api.md §2.2).
                Some(old) if old.client_id == client_id => match holder(&old) {
                    Some(user) => user_grant(user, "refresh_token", Some(refresh)),
                    None => errors::uaa(
                        StatusCode::UNAUTHORIZED,
                        "invalid_token",
                        "Invalid refresh token",
                    ),
                },
                _ => errors::uaa(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Invalid refresh token",
                ),
            }
        }
        "client_credentials" => match &client {
            Client::Cf => errors::uaa(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unauthorized grant type: client_credentials",
            ),
            other => client_token(&state, ttl, &client_id, other),
        },
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let user = field("assertion")
                .and_then(|a| auth::verify(&secret, a, "assertion", Some(now_ms() / 1000)))
                .and_then(|c| {
                    world.users.iter().find(|u| {
                        u.username == c.sub && origin.as_deref().is_none_or(|o| o == u.origin)
                    })
                });
            match user {
                Some(user) => user_grant(user, "jwt-bearer", None),
                None => errors::uaa(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "The assertion is not valid",
                ),
            }
        }
        other => errors::uaa(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {other}"),
        ),
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
    if let Some(ga) = world
        .global_accounts
        .values()
        .find(|g| g.cis_client_id == id)
    {
        return (ga.cis_client_secret == secret).then(|| Client::CloudManagement(ga.guid.clone()));
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
            });
        }
    }
    None
}

fn jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:032x}",
        (now_ms() << 20) ^ NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn base_claims(typ: &str, sub: &str, client_id: &str, grant: &str, ttl: u64) -> Claims {
    let now = now_ms() / 1000;
    Claims {
        typ: typ.to_owned(),
        jti: jti(),
        sub: sub.to_owned(),
        user_name: None,
        user_id: None,
        origin: None,
        client_id: client_id.to_owned(),
        grant_type: grant.to_owned(),
        zid: "uaa".to_owned(),
        ga: None,
        scope: Vec::new(),
        iat: now,
        exp: now + ttl,
    }
}

fn user_token(
    state: &AppState,
    ttl: u64,
    client_id: &str,
    client: &Client,
    user: &User,
    grant: &str,
    keep_refresh: Option<&str>,
) -> Response {
    let mut access = base_claims("access", &user.username, client_id, grant, ttl);
    access.user_name = Some(user.username.clone());
    access.user_id = Some(user.guid.clone());
    access.origin = Some(user.origin.clone());
    access.scope = USER_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    if let Client::CloudManagement(ga) = client {
        access.ga = Some(ga.clone());
    }
    let mut refresh = access.clone();
    refresh.typ = "refresh".to_owned();
    refresh.jti = format!("{}-r", access.jti);
    refresh.exp = u64::MAX / 2;
    let mut id = access.clone();
    id.typ = "id".to_owned();
    let secret = state.secret();
    let access_token = state.issue(auth::sign(&secret, &access));
    let id_token = state.issue(auth::sign(&secret, &id));
    let refresh_token = match keep_refresh {
        Some(kept) => kept.to_owned(),
        None => state.issue(auth::sign(&secret, &refresh)),
    };
    errors::json_response(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "id_token": id_token,
            "refresh_token": refresh_token,
            "expires_in": ttl,
            "scope": access.scope.join(" "),
            "jti": access.jti,
        }),
    )
}

fn client_token(state: &AppState, ttl: u64, client_id: &str, client: &Client) -> Response {
    let mut access = base_claims("access", client_id, client_id, "client_credentials", ttl);
    match client {
        Client::CloudManagement(ga) => {
            access.ga = Some(ga.clone());
            access.scope = vec![
                "global-account.subaccount.read".into(),
                "global-account.entitlement.subaccount.update".into(),
                "job.read".into(),
            ];
        }
        Client::ServiceManager(sub) => {
            access.zid = sub.clone();
            access.scope = [
                "service_instance.read",
                "service_instance.manage",
                "service_binding.read",
                "service_binding.manage",
                "service_plan.read",
                "service_offering.read",
            ]
            .iter()
            .map(|s| format!("subaccount.{s}"))
            .collect();
        }
        Client::Instance {
            subaccount,
            xsappname,
        } => {
            access.zid = subaccount.clone();
            access.scope = vec![format!("{xsappname}.calm-api")];
        }
        Client::Cf => {}
    }
    let access_token = state.issue(auth::sign(&state.secret(), &access));
    errors::json_response(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": ttl,
            "scope": access.scope.join(" "),
            "jti": access.jti,
        }),
    )
}

/// A jwt-bearer assertion for a user, as an external IdP would issue it (`btp-sim` prints one for
/// each `assertion` a config references).
pub fn assertion_for(secret: &str, user: &str, ttl_secs: u64) -> String {
    let claims = base_claims("assertion", user, "btp-sim-idp", "oidc", ttl_secs);
    auth::sign(secret, &claims)
}
