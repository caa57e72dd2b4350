//! Users, as far as roles need them (btp-api.md §2.11): `GET /v3/users[/{guid}]`, the members
//! of an org or space (`GET /v3/organizations/{guid}/users`, `GET /v3/spaces/{guid}/users`), and
//! `POST /v3/users`, which only a Cloud Foundry admin may call (403 here: nobody is one).
//!
//! A user sees itself and the users with an org role in the orgs it has a role in (CC's
//! `readable_users_query`); a bad query is 422, as CC's `UsersController` answers it.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::query::ListQuery;
use super::{link, metadata};
use crate::caller::CfCaller;
use crate::errors;
use crate::render::cf_time;
use crate::server::Shared;
use crate::world::{Access, User, World};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/users", get(list).post(create))
        .route("/v3/users/{guid}", get(get_one))
        .route("/v3/organizations/{guid}/users", get(org_members))
        .route("/v3/spaces/{guid}/users", get(space_members))
}

fn render(base: &str, u: &User) -> Value {
    let text = |s: &str| {
        if s.is_empty() { Value::Null } else { json!(s) }
    };
    let presentation = if u.username.is_empty() {
        &u.guid
    } else {
        &u.username
    };
    json!({
        "guid": u.guid,
        "created_at": cf_time(u.created_ms),
        "updated_at": cf_time(u.created_ms),
        "username": text(&u.username),
        "presentation_name": presentation,
        "origin": text(&u.origin),
        "metadata": metadata::render(&u.metadata),
        "links": {"self": link(base, &format!("/v3/users/{}", u.guid))},
    })
}

/// A page of users that pass the query's filters.
fn page<'w>(
    state: &Shared,
    query: &ListQuery,
    path: &str,
    users: impl Iterator<Item = &'w User>,
) -> Response {
    let items = users
        .filter(|u| {
            query.passes("usernames", &u.username, false)
                && query.passes("origins", &u.origin, false)
                && query.passes("guids", &u.guid, false)
                && query.selects(&u.metadata.labels)
        })
        .map(|u| {
            (
                u.username.clone(),
                u.created_ms,
                u.created_ms,
                render(&state.base_url, u),
            )
        })
        .collect();
    errors::json_response(StatusCode::OK, query.page_of(&state.base_url, path, items))
}

fn parse(raw: Option<&str>) -> Result<ListQuery, Response> {
    let query = ListQuery::parse_or_unprocessable(raw, &["usernames", "origins", "guids"])?;
    if query.one("origins").is_some() && query.one("usernames").is_none() {
        return Err(errors::cf_unprocessable(
            "Origins filter cannot be provided without usernames or partial_usernames filter.",
        ));
    }
    Ok(query)
}

/// Users that hold a role in an org (`space`: false) or space.
fn members<'w>(world: &'w World, target: &'w str, space: bool) -> impl Iterator<Item = &'w User> {
    world.users.iter().filter(move |u| {
        world.roles.values().any(|r| {
            r.user == u.guid
                && if space {
                    r.space.as_deref() == Some(target)
                } else {
                    r.organization.as_deref() == Some(target)
                }
        })
    })
}

async fn list(State(state): State<Shared>, caller: CfCaller, RawQuery(raw): RawQuery) -> Response {
    let query = match parse(raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    let users = world
        .users
        .iter()
        .filter(|u| world.user_readable(&access, &u.guid));
    page(&state, &query, "/v3/users", users)
}

async fn get_one(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access: Access = caller.access(&world);
    match world
        .user_by_guid(&guid)
        .filter(|u| world.user_readable(&access, &u.guid))
    {
        Some(u) => errors::json_response(StatusCode::OK, render(&state.base_url, u)),
        None => errors::cf_not_found("User"),
    }
}

async fn org_members(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = match parse(raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    if !(world.orgs.contains_key(&guid) && access.reads_org(&guid)) {
        return errors::cf_not_found("Organization");
    }
    let path = format!("/v3/organizations/{guid}/users");
    page(&state, &query, &path, members(&world, &guid, false))
}

async fn space_members(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = match parse(raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    if !world
        .spaces
        .get(&guid)
        .is_some_and(|s| access.reads_space(s))
    {
        return errors::cf_not_found("Space");
    }
    let path = format!("/v3/spaces/{guid}/users");
    page(&state, &query, &path, members(&world, &guid, true))
}

/// `POST /v3/users`: Cloud Foundry admins only (and Org Managers where the operator allows it,
/// which BTP does not document): 403.
async fn create(_: CfCaller) -> Response {
    errors::cf_not_authorized()
}
