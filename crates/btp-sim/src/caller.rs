//! Who is calling: one extractor per API, each refusing bad tokens in its API's own error shape.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, HOST};
use axum::http::request::Parts;
use axum::response::Response;

use crate::auth::{Claims, TokenError, bearer};
use crate::errors;
use crate::server::Shared;
use crate::world::{landscapes, now_ms};

fn claims(parts: &Parts, state: &Shared) -> Result<Arc<Claims>, TokenError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    bearer(&state.tokens, header, now_ms() / 1000)
}

/// A Cloud Foundry caller: a user token, and the GUID of its user (whose roles say what it may
/// do, btp-api.md §2.11). No token is 401 10002, a bad or expired one 401 1000 (btp-api.md
/// §2.10; the Python client refreshes only on 1000, clients.md §3).
pub struct CfCaller {
    /// The user's GUID.
    pub user: String,
    /// The landscape the request's `Host` names (`api.cf.<landscape>.<domain>`); `None` for the
    /// simulator's own address, which serves every landscape at once.
    pub landscape: Option<String>,
}

impl CfCaller {
    /// What the caller may do on the landscape it called (orgs of other landscapes do not exist
    /// there).
    pub fn access(&self, world: &crate::world::World) -> crate::world::Access {
        world.access_on(&self.user, self.landscape.as_deref())
    }
}

/// The landscape a request's `Host` header names for the Cloud Controller.
fn cf_landscape(parts: &Parts) -> Option<String> {
    let host = parts.headers.get(HOST).and_then(|v| v.to_str().ok())?;
    match landscapes::parse_host(host) {
        Some((landscapes::HostKind::Api, landscape)) => Some(landscape),
        _ => None,
    }
}

impl FromRequestParts<Shared> for CfCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let landscape = cf_landscape(parts);
        match claims(parts, state) {
            // A landscape's Cloud Controller trusts its own UAA only: a token another landscape's
            // UAA (or the simulator's own address) issued is an invalid token there.
            Ok(c)
                if landscape
                    .as_deref()
                    .is_some_and(|l| c.iss != landscapes::uaa_issuer(l)) =>
            {
                Err(errors::cf(
                    StatusCode::UNAUTHORIZED,
                    1000,
                    "CF-InvalidAuthToken",
                    "Invalid Auth Token",
                ))
            }
            Ok(c) if c.is_user() => {
                let user = match &c.user_id {
                    Some(guid) => guid.clone(),
                    // A token without `user_id` (issued by an older simulator): find it by name.
                    None => state
                        .world()
                        .users
                        .iter()
                        .find(|u| Some(&u.username) == c.user_name.as_ref())
                        .map(|u| u.guid.clone())
                        .unwrap_or_default(),
                };
                Ok(CfCaller { user, landscape })
            }
            Ok(_) => Err(errors::cf_not_authorized()),
            Err(TokenError::Missing) => Err(errors::cf(
                StatusCode::UNAUTHORIZED,
                10002,
                "CF-NotAuthenticated",
                "Authentication error",
            )),
            Err(TokenError::Invalid) => Err(errors::cf(
                StatusCode::UNAUTHORIZED,
                1000,
                "CF-InvalidAuthToken",
                "Invalid Auth Token",
            )),
        }
    }
}

/// An Accounts/Entitlements caller: a token issued through a Cloud Management key, limited to its
/// global account, that holds the scope the operation requires (btp/scopes.rs). Without it: 403 in
/// the services' error shape, before anything else is looked at.
pub struct BtpCaller(pub Arc<Claims>);

impl BtpCaller {
    /// May this caller see a global account?
    pub fn sees(&self, global_account: &str) -> bool {
        self.0.ga.as_deref().is_none_or(|ga| ga == global_account)
    }
}

impl FromRequestParts<Shared> for BtpCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let path = parts.uri.path().to_owned();
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or(path.as_str(), MatchedPath::as_str);
        let required = crate::btp::scopes::required(&parts.method, route);
        match claims(parts, state) {
            Ok(c) if c.ga.is_some() && required.iter().any(|s| c.has_scope(s)) => Ok(BtpCaller(c)),
            Ok(_) => Err(crate::btp::scopes::forbidden(&path)),
            Err(_) => Err(errors::btp(
                StatusCode::UNAUTHORIZED,
                401,
                "Unauthorized",
                &path,
            )),
        }
    }
}

/// A Service Manager caller: an SM client (bound to one subaccount) or a user (reads across
/// subaccounts, see README).
pub struct SmCaller(pub Arc<Claims>);

impl SmCaller {
    /// May this caller see a subaccount's objects?
    pub fn sees(&self, subaccount: &str) -> bool {
        self.0.subaccount().is_none_or(|s| s == subaccount)
    }
}

impl FromRequestParts<Shared> for SmCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        match claims(parts, state) {
            Ok(c)
                if c.is_user()
                    || (c.subaccount().is_some()
                        && c.has_scope("subaccount.service_instance.read")) =>
            {
                Ok(SmCaller(c))
            }
            Ok(_) => Err(errors::sm(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "token is not a Service Manager token",
            )),
            Err(_) => Err(errors::sm(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "authentication failed",
            )),
        }
    }
}
