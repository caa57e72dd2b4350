//! What each kind of client's tokens say, and the token responses (btp-api.md §2.2, §3.4).
//!
//! | client | `zid` | `scope` | `ext_attr` |
//! |---|---|---|---|
//! | CF CLI `cf` (users) | `uaa` | `openid uaa.user cloud_controller.read password.write cloud_controller.write` | – |
//! | Cloud Management key, user | global account GUID | `openid`, `uaa.user` and the plan's `cis-central!b14.` scopes the user's role allows | `globalaccountid`, `zdn` |
//! | Cloud Management key, client | global account GUID | the plan's `cis-central!b14.` scopes, `uaa.resource` | `globalaccountid`, `zdn` |
//! | Service Manager binding | subaccount GUID | `subaccount.service_*`, `uaa.resource` | `subaccountid`, `zdn` |
//! | service key / binding | subaccount GUID | `<xsappname>.calm-api`, `uaa.resource` | `subaccountid`, `zdn`, `serviceinstanceid` |
//!
//! `aud` is the client id and every scope's resource (the scope without its last segment, or the
//! scope itself without a period), as UAA derives it: `cloud_controller`, `password`, `uaa`,
//! `openid` and `cf` for a CF user token (btp-api.md §2.2, §3.5). User tokens carry `user_id` (a
//! GUID, also `sub`), `user_name`, `origin`, `auth_time`, for an e-mail login `email`, and through
//! a Cloud Management key `xs.system.attributes.xs.rolecollections`; client-credentials tokens
//! `authorities` (= `scope`). Claims are decided while the world is locked ([`Mint`]); the tokens
//! are signed by [`user_response`] and [`client_response`] after it is unlocked.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::auth::{self, Claims, ExtAttr, signing_key};
use crate::errors;
use crate::server::AppState;
use crate::world::cis::token_scopes;
use crate::world::{CisGrantType, CisPlan, User, World, now_ms};

/// Who authenticated at the token endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Client {
    /// The public CF CLI client `cf`.
    Cf,
    /// A Cloud Management (`cis`) key of a global account.
    CloudManagement {
        /// The global account GUID.
        global_account: String,
        /// The key's plan.
        plan: CisPlan,
        /// The grant the key is for.
        grant_type: CisGrantType,
    },
    /// A Service Manager client of a subaccount.
    ServiceManager(String),
    /// The xsuaa client of a service instance, in a subaccount.
    Instance {
        /// The subaccount GUID.
        subaccount: String,
        /// The instance's xsappname.
        xsappname: String,
        /// The instance's id.
        instance: String,
    },
}

/// Scopes of CF user tokens (observed, btp-api.md §2.2).
const CF_USER_SCOPES: &[&str] = &[
    "openid",
    "uaa.user",
    "cloud_controller.read",
    "password.write",
    "cloud_controller.write",
];

/// Scopes of Service Manager binding tokens (`subaccount-admin`, btp-api.md §4.1).
const SM_SCOPES: &[&str] = &[
    "subaccount.service_instance.read",
    "subaccount.service_instance.manage",
    "subaccount.service_binding.read",
    "subaccount.service_binding.manage",
    "subaccount.service_plan.read",
    "subaccount.service_offering.read",
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The client and the resource of every scope, once each, as UAA sets `aud`.
fn audiences(client_id: &str, scopes: &[String]) -> Vec<String> {
    let mut aud = vec![client_id.to_owned()];
    for scope in scopes {
        let resource = scope.rsplit_once('.').map_or(scope.as_str(), |(r, _)| r);
        if !aud.iter().any(|a| a == resource) {
            aud.push(resource.to_owned());
        }
    }
    aud
}

fn jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:032x}",
        (now_ms() << 20) ^ NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Decides the claims of new tokens.
pub struct Mint {
    base_url: String,
    ttl: u64,
}

impl Mint {
    /// A mint for the simulator's current settings.
    pub fn new(state: &AppState) -> Self {
        Mint {
            base_url: state.base_url.clone(),
            ttl: state.settings().effective_token_ttl(),
        }
    }

    fn base(&self, typ: &str, sub: &str, client_id: &str, grant: &str, ttl: u64) -> Claims {
        let now = now_ms() / 1000;
        Claims {
            jti: jti(),
            ext_attr: None,
            xs_system_attributes: None,
            sub: sub.to_owned(),
            authorities: Vec::new(),
            scope: Vec::new(),
            client_id: client_id.to_owned(),
            cid: client_id.to_owned(),
            azp: client_id.to_owned(),
            grant_type: grant.to_owned(),
            user_id: None,
            origin: None,
            user_name: None,
            email: None,
            auth_time: None,
            rev_sig: String::new(),
            iat: now,
            exp: now + ttl,
            iss: format!("{}/oauth/token", self.base_url),
            zid: "uaa".to_owned(),
            aud: vec![client_id.to_owned()],
            typ: typ.to_owned(),
            ga: None,
        }
    }

    /// Points claims at a zone: the global account of a Cloud Management key or a subaccount.
    fn zone(claims: &mut Claims, world: &World, guid: &str, instance: Option<&str>) {
        let global = world.global_accounts.get(guid);
        let zdn = world
            .subaccounts
            .get(guid)
            .map(|s| s.subdomain.clone())
            .or_else(|| global.map(|g| g.subdomain.clone()));
        claims.zid = guid.to_owned();
        claims.ext_attr = Some(ExtAttr {
            enhancer: "XSUAA".to_owned(),
            subaccountid: global.is_none().then(|| guid.to_owned()),
            globalaccountid: global.map(|g| g.guid.clone()),
            zdn,
            serviceinstanceid: instance.map(str::to_owned),
        });
    }

    /// The access token claims of `user` through `client`.
    pub fn user_claims(
        &self,
        world: &World,
        client_id: &str,
        client: &Client,
        user: &User,
        grant: &str,
    ) -> Claims {
        let grant = match grant {
            "jwt-bearer" => "urn:ietf:params:oauth:grant-type:jwt-bearer",
            other => other,
        };
        let user_id = user.user_id();
        let mut claims = self.base("access", &user_id, client_id, grant, self.ttl);
        claims.user_id = Some(user_id);
        claims.user_name = Some(user.username.clone());
        claims.origin = Some(user.origin.clone());
        claims.email = user.username.contains('@').then(|| user.username.clone());
        claims.auth_time = Some(claims.iat);
        match client {
            Client::CloudManagement {
                global_account,
                plan,
                ..
            } => {
                let viewer = world
                    .global_accounts
                    .get(global_account)
                    .is_some_and(|g| g.is_viewer(&user.username));
                claims.scope = strings(&["openid", "uaa.user"]);
                claims.scope.extend(token_scopes(*plan, viewer));
                let role = if viewer {
                    "Global Account Viewer"
                } else {
                    "Global Account Administrator"
                };
                claims.xs_system_attributes = Some(json!({ "xs.rolecollections": [role] }));
                claims.ga = Some(global_account.clone());
                Mint::zone(&mut claims, world, global_account, None);
            }
            // Only `cf` and Cloud Management keys have user grants (`Client::allows`).
            _ => claims.scope = strings(CF_USER_SCOPES),
        }
        claims.aud = audiences(client_id, &claims.scope);
        claims
    }

    /// The access token claims of a client-credentials grant.
    pub fn client_claims(&self, world: &World, client_id: &str, client: &Client) -> Claims {
        let mut claims = self.base(
            "access",
            client_id,
            client_id,
            "client_credentials",
            self.ttl,
        );
        match client {
            Client::CloudManagement {
                global_account,
                plan,
                ..
            } => {
                claims.scope = token_scopes(*plan, false);
                claims.ga = Some(global_account.clone());
                Mint::zone(&mut claims, world, global_account, None);
            }
            Client::ServiceManager(subaccount) => {
                claims.scope = strings(SM_SCOPES);
                Mint::zone(&mut claims, world, subaccount, None);
            }
            Client::Instance {
                subaccount,
                xsappname,
                instance,
            } => {
                claims.scope = vec![format!("{xsappname}.calm-api")];
                Mint::zone(&mut claims, world, subaccount, Some(instance));
            }
            Client::Cf => {}
        }
        claims.scope.push("uaa.resource".to_owned());
        claims.authorities = claims.scope.clone();
        claims.aud = audiences(client_id, &claims.scope);
        claims
    }
}

/// Signs claims as the world's tokens: with the revocation signature of its secret, recorded for
/// [`crate::SimHandle::issued_secrets`].
fn seal(state: &AppState, secret: &str, mut claims: Claims) -> String {
    claims.rev_sig = claims.revocation_signature(secret);
    let jku = format!("{}/token_keys", state.base_url);
    state.issue(auth::sign(signing_key(), &jku, &claims))
}

/// The answer to a user grant: access, id and refresh token (the refresh grant keeps its own).
pub fn user_response(state: &AppState, access: Claims, keep_refresh: Option<String>) -> Response {
    let secret = state.secret();
    let ttl = access.exp.saturating_sub(access.iat);
    let mut id = access.clone();
    id.typ = "id".to_owned();
    id.aud = vec![access.client_id.clone()];
    let mut refresh = access.clone();
    refresh.typ = "refresh".to_owned();
    refresh.jti = format!("{}-r", access.jti);
    refresh.exp = u64::MAX / 2;
    let (scope, jti) = (access.scope.join(" "), access.jti.clone());
    let access_token = seal(state, &secret, access);
    let id_token = seal(state, &secret, id);
    let refresh_token = keep_refresh.unwrap_or_else(|| seal(state, &secret, refresh));
    errors::json_response(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "id_token": id_token,
            "refresh_token": refresh_token,
            "expires_in": ttl,
            "scope": scope,
            "jti": jti,
        }),
    )
}

/// The answer to a client-credentials grant.
pub fn client_response(state: &AppState, access: Claims) -> Response {
    let ttl = access.exp.saturating_sub(access.iat);
    let (scope, jti) = (access.scope.join(" "), access.jti.clone());
    let access_token = seal(state, &state.secret(), access);
    errors::json_response(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": ttl,
            "scope": scope,
            "jti": jti,
        }),
    )
}

/// A jwt-bearer assertion for a user, as an external IdP would issue it.
pub fn assertion(state: &AppState, user: &str, ttl_secs: u64) -> String {
    let mint = Mint::new(state);
    let claims = mint.base("assertion", user, "btp-sim-idp", "oidc", ttl_secs);
    seal(state, &state.secret(), claims)
}
