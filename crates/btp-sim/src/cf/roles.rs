//! Roles (btp-api.md §2.11): `GET /v3/roles[/{guid}]`, `POST /v3/roles` (user by GUID, or by
//! username and origin) and `DELETE /v3/roles/{guid}` (202 and a `role.delete` job).
//!
//! The checks follow Cloud Controller's `RolesController` and `RoleCreate`, in their order:
//! the body (422 with the validation message), the org or space (422 when it does not exist),
//! the caller's right to assign (403: Org Manager for org roles; Space Manager or Org Manager
//! for space roles), the user (422), the user's membership of the org for a space role (422),
//! and the role itself (422 when the user already holds it).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::query::ListQuery;
use super::{body_object, jobs, link};
use crate::caller::CfCaller;
use crate::errors;
use crate::render::cf_time;
use crate::server::Shared;
use crate::world::{Access, JobEffect, Role, RoleType, World, now_ms};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/roles", get(list).post(create))
        .route("/v3/roles/{guid}", get(get_one).delete(delete))
}

pub(crate) fn render(base: &str, role: &Role) -> Value {
    let g = &role.guid;
    let data = |guid: &Option<String>| match guid {
        Some(guid) => json!({"data": {"guid": guid}}),
        None => json!({"data": null}),
    };
    let mut links = Map::new();
    links.insert("self".into(), link(base, &format!("/v3/roles/{g}")));
    links.insert(
        "user".into(),
        link(base, &format!("/v3/users/{}", role.user)),
    );
    if let Some(org) = &role.organization {
        links.insert(
            "organization".into(),
            link(base, &format!("/v3/organizations/{org}")),
        );
    }
    if let Some(space) = &role.space {
        links.insert("space".into(), link(base, &format!("/v3/spaces/{space}")));
    }
    json!({
        "guid": g,
        "created_at": cf_time(role.created_ms),
        "updated_at": cf_time(role.created_ms),
        "type": role.kind.as_str(),
        "relationships": {
            "user": {"data": {"guid": role.user}},
            "organization": data(&role.organization),
            "space": data(&role.space),
        },
        "links": links,
    })
}

/// `GET /v3/roles`: the roles the caller may read (in orgs it reads, in spaces it reads),
/// filtered by `types`, `user_guids`, `organization_guids` (org roles) and `space_guids` (space
/// roles). A bad query is 422, as in CC.
async fn list(State(state): State<Shared>, caller: CfCaller, RawQuery(raw): RawQuery) -> Response {
    let allowed = ["types", "user_guids", "organization_guids", "space_guids"];
    let query = match ListQuery::parse_or_unprocessable(raw.as_deref(), &allowed) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if let Some(bad) = query
        .list("types")
        .unwrap_or_default()
        .into_iter()
        .find(|t| RoleType::parse(t).is_none())
    {
        return errors::cf_unprocessable(format!(
            "Types must be one of the allowed types {}; '{bad}' is not",
            allowed_types()
        ));
    }
    let world = state.world();
    let access = caller.access(&world);
    let filtered = |key: &str, value: Option<&String>| match value {
        Some(v) => query.passes(key, v, false),
        None => query.one(key).is_none(),
    };
    let items = world
        .roles
        .values()
        .filter(|r| world.role_readable(&access, r))
        .filter(|r| {
            query.passes("types", r.kind.as_str(), false)
                && query.passes("user_guids", &r.user, false)
                && filtered("organization_guids", r.organization.as_ref())
                && filtered("space_guids", r.space.as_ref())
        })
        .map(|r| {
            (
                r.kind.as_str().to_owned(),
                r.created_ms,
                r.created_ms,
                render(&state.base_url, r),
            )
        })
        .collect();
    errors::json_response(
        StatusCode::OK,
        query.page_of(&state.base_url, "/v3/roles", items),
    )
}

async fn get_one(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    match world
        .roles
        .get(&guid)
        .filter(|r| world.role_readable(&access, r))
    {
        Some(role) => errors::json_response(StatusCode::OK, render(&state.base_url, role)),
        None => errors::cf_not_found("Role"),
    }
}

fn allowed_types() -> String {
    let names: Vec<String> = RoleType::ALL
        .iter()
        .map(|t| format!("\"{}\"", t.as_str()))
        .collect();
    format!("[{}]", names.join(", "))
}

/// Whom a role is for, as the request names it.
enum Named {
    Guid(String),
    Name {
        username: String,
        origin: Option<String>,
    },
}

/// The role, its target and user, as the body asks; `Err` is the 422's detail (CC's
/// `RoleCreateMessage` validations).
fn parse_body(body: &Map<String, Value>) -> Result<(RoleType, bool, String, Named), String> {
    if let Some(key) = body
        .keys()
        .find(|k| !["type", "relationships"].contains(&k.as_str()))
    {
        return Err(format!("Unknown field(s): '{key}'"));
    }
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .and_then(RoleType::parse)
        .ok_or_else(|| format!("Type must be one of the allowed types {}", allowed_types()))?;
    let relationships = body
        .get("relationships")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let guid_of = |name: &str| {
        relationships
            .get(name)
            .and_then(|r| r.get("data"))
            .and_then(|d| d.get("guid"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (org, space) = (guid_of("organization"), guid_of("space"));
    let target = match (org, space) {
        (Some(_), Some(_)) => {
            return Err("Relationships cannot specify both an organization and a space.".into());
        }
        (None, None) => {
            return Err("Relationships must specify either a space or an organization.".into());
        }
        (Some(_), None) if !kind.is_org_role() => {
            return Err(format!(
                "Relationships Organization cannot be provided with the space role type: '{}'.",
                kind.as_str()
            ));
        }
        (None, Some(_)) if kind.is_org_role() => {
            return Err(format!(
                "Relationships Space cannot be provided with the organization role type: '{}'.",
                kind.as_str()
            ));
        }
        (Some(org), None) => (true, org),
        (None, Some(space)) => (false, space),
    };
    let user = relationships
        .get("user")
        .and_then(|u| u.get("data"))
        .and_then(Value::as_object);
    let text = |key: &str| user.and_then(|u| u.get(key)).and_then(Value::as_str);
    let named = match (text("guid"), text("username"), text("origin")) {
        (Some(_), Some(_), _) => {
            return Err(
                "Relationships Username cannot be specified when identifying user by guid".into(),
            );
        }
        (Some(_), None, Some(_)) => {
            return Err(
                "Relationships User origin cannot be specified when identifying user by guid"
                    .into(),
            );
        }
        (Some(guid), None, None) => Named::Guid(guid.to_owned()),
        (None, Some(username), origin) => Named::Name {
            username: username.to_owned(),
            origin: origin.map(str::to_owned),
        },
        (None, None, Some(_)) => {
            return Err(
                "Relationships User origin cannot be specified without specifying the username"
                    .into(),
            );
        }
        (None, None, None) => {
            return Err("Relationships User must have a username or guid specified".into());
        }
    };
    Ok((kind, target.0, target.1, named))
}

/// The GUID of a user named by username (and origin) in the identity providers; `Err` is the
/// 422's detail (CC's `lookup_user_guid_in_uaa`). For a space role an unknown user gets the
/// message of a user without a role in the org.
fn look_up(
    world: &World,
    username: &str,
    origin: Option<&str>,
    space: bool,
) -> Result<String, String> {
    let matches: Vec<&crate::world::User> = world
        .users
        .iter()
        .filter(|u| u.username == username && origin.is_none_or(|o| o == u.origin))
        .collect();
    if origin.is_none() && matches.len() > 1 {
        let mut origins: Vec<&str> = matches.iter().map(|u| u.origin.as_str()).collect();
        origins.sort_unstable();
        return Err(format!(
            "Ambiguous user. User with username '{username}' exists in the following origins: {}. Specify an origin to disambiguate.",
            origins.join(", ")
        ));
    }
    match (matches.first(), origin) {
        (Some(u), _) => Ok(u.guid.clone()),
        (None, _) if space => Err(NOT_IN_ORG.into()),
        (None, Some(o)) => Err(format!(
            "No user exists with the username '{username}' and origin '{o}'."
        )),
        (None, None) => Err(format!("No user exists with the username '{username}'.")),
    }
}

const NOT_IN_ORG: &str = "Users cannot be assigned roles in a space if they do not have a role in that space's organization.";

/// `POST /v3/roles` → 201 and the role.
async fn create(State(state): State<Shared>, caller: CfCaller, body: Bytes) -> Response {
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (kind, org_role, target, named) = match parse_body(&body) {
        Ok(parsed) => parsed,
        Err(detail) => return errors::cf_unprocessable(detail),
    };
    let mut world = state.world();
    let access = caller.access(&world);
    let result = if org_role {
        org_user(&mut world, &access, &target, named)
    } else {
        space_user(&world, &access, &target, named)
    };
    let user = match result {
        Ok(user) => user,
        Err(response) => return response,
    };
    if world.find_role(&user, kind, &target).is_some() {
        let who = world
            .user_by_guid(&user)
            .map(|u| u.username.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| user.clone());
        let place = if org_role {
            let name = world.orgs.get(&target).map_or("", |o| o.name.as_str());
            format!("organization '{name}'")
        } else {
            let name = world.spaces.get(&target).map_or("", |s| s.name.as_str());
            format!("space '{name}'")
        };
        return errors::cf_unprocessable(format!(
            "User '{who}' already has '{}' role in {place}.",
            kind.as_str()
        ));
    }
    let role = world.insert_role(&user, kind, &target);
    errors::json_response(StatusCode::CREATED, render(&state.base_url, &role))
}

/// The user of a new org role: the org must exist (422) and the caller manage it (403). A GUID
/// unknown to Cloud Foundry becomes a Cloud Foundry user (CC's `create_cc_user`); a username
/// must exist in its identity provider.
fn org_user(
    world: &mut World,
    access: &Access,
    org: &str,
    named: Named,
) -> Result<String, Response> {
    if !world.orgs.contains_key(org) {
        return Err(errors::cf_unprocessable(
            "Invalid organization. Ensure that the organization exists and you have access to it.",
        ));
    }
    if !access.manages_org(org) {
        return Err(errors::cf_not_authorized());
    }
    match named {
        Named::Guid(guid) => {
            if world.user_by_guid(&guid).is_none() {
                world.users.push(crate::world::User {
                    username: String::new(),
                    password: String::new(),
                    origin: String::new(),
                    guid: guid.clone(),
                    metadata: Default::default(),
                    created_ms: now_ms(),
                });
            }
            Ok(guid)
        }
        Named::Name { username, origin } => {
            look_up(world, &username, origin.as_deref(), false).map_err(errors::cf_unprocessable)
        }
    }
}

/// The user of a new space role: the space must exist (422), the caller manage it or its org
/// (403), and the user be one the caller can see and an Org User of the space's org (422).
fn space_user(
    world: &World,
    access: &Access,
    space: &str,
    named: Named,
) -> Result<String, Response> {
    let Some(s) = world.spaces.get(space) else {
        return Err(errors::cf_unprocessable(
            "Invalid space. Ensure that the space exists and you have access to it.",
        ));
    };
    if !access.updates_space(s) {
        return Err(errors::cf_not_authorized());
    }
    let user = match named {
        Named::Guid(guid) => guid,
        Named::Name { username, origin } => {
            look_up(world, &username, origin.as_deref(), true).map_err(errors::cf_unprocessable)?
        }
    };
    let known = world.user_by_guid(&user).is_some() && world.user_readable(access, &user);
    let member = world
        .find_role(&user, RoleType::OrganizationUser, &s.org)
        .is_some();
    if !(known && member) {
        return Err(errors::cf_unprocessable(NOT_IN_ORG));
    }
    Ok(user)
}

/// `DELETE /v3/roles/{guid}` → 202 and a `role.delete` job. Org Manager for org roles; Space
/// Manager or Org Manager for space roles (403); an Org User role stays while the user has
/// roles in the org's spaces (422).
async fn delete(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let mut world = state.world();
    let access = caller.access(&world);
    let Some(role) = world
        .roles
        .get(&guid)
        .filter(|r| world.role_readable(&access, r))
        .cloned()
    else {
        return errors::cf_not_found("Role");
    };
    let allowed = match (&role.organization, &role.space) {
        (Some(org), _) => access.manages_org(org),
        (None, Some(space)) => world
            .spaces
            .get(space)
            .is_some_and(|s| access.updates_space(s)),
        (None, None) => false,
    };
    if !allowed {
        return errors::cf_not_authorized();
    }
    if let (RoleType::OrganizationUser, Some(org)) = (role.kind, &role.organization) {
        let in_spaces = world.roles.values().any(|r| {
            r.user == role.user
                && r.space
                    .as_ref()
                    .and_then(|s| world.spaces.get(s))
                    .is_some_and(|s| &s.org == org)
        });
        if in_spaces {
            return errors::cf_unprocessable(
                "Cannot delete organization_user role while user has roles in spaces in that organization.",
            );
        }
    }
    let job = jobs::start(
        &state,
        &mut world,
        JobEffect::RoleDelete { role: guid },
        None,
    );
    errors::accepted_with_location(&format!("{}/v3/jobs/{job}", state.base_url))
}
