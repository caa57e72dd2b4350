//! Organizations and spaces (btp-api.md §2.4, §2.5), as the caller's roles let it see and change
//! them (btp-api.md §2.11): orgs with an org role, spaces with a space role or as Org Manager;
//! creating and deleting spaces needs Org Manager, changing one Space Manager or Org Manager.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::query::ListQuery;
use super::{body_object, jobs, link, metadata, relationship};
use crate::caller::CfCaller;
use crate::errors;
use crate::render::cf_time;
use crate::server::Shared;
use crate::world::{JobEffect, Metadata, Org, Space, World, now_ms};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/organizations", get(list_orgs))
        .route("/v3/organizations/{guid}", get(get_org))
        .route("/v3/spaces", get(list_spaces).post(create_space))
        .route(
            "/v3/spaces/{guid}",
            get(get_space).patch(update_space).delete(delete_space),
        )
}

pub(crate) fn render_org(base: &str, org: &Org) -> Value {
    let g = &org.guid;
    json!({
        "guid": g,
        "created_at": cf_time(org.created_ms),
        "updated_at": cf_time(org.updated_ms),
        "name": org.name,
        "suspended": org.suspended,
        "relationships": {"quota": {"data": {"guid": org.quota_guid}}},
        "metadata": metadata::render(&org.metadata),
        "links": {
            "self": link(base, &format!("/v3/organizations/{g}")),
            "domains": link(base, &format!("/v3/organizations/{g}/domains")),
            "default_domain": link(base, &format!("/v3/organizations/{g}/domains/default")),
            "quota": link(base, &format!("/v3/organization_quotas/{}", org.quota_guid)),
        },
    })
}

fn render_space(base: &str, space: &Space) -> Value {
    let g = &space.guid;
    json!({
        "guid": g,
        "created_at": cf_time(space.created_ms),
        "updated_at": cf_time(space.updated_ms),
        "name": space.name,
        "relationships": {"organization": {"data": {"guid": space.org}}, "quota": {"data": null}},
        "metadata": metadata::render(&space.metadata),
        "links": {
            "self": link(base, &format!("/v3/spaces/{g}")),
            "organization": link(base, &format!("/v3/organizations/{}", space.org)),
            "features": link(base, &format!("/v3/spaces/{g}/features")),
            "apply_manifest": {"href": format!("{base}/v3/spaces/{g}/actions/apply_manifest"), "method": "POST"},
        },
    })
}

async fn list_orgs(
    State(state): State<Shared>,
    caller: CfCaller,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = match ListQuery::parse(raw.as_deref(), &["names", "guids"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    let items = world
        .orgs
        .values()
        .filter(|o| access.reads_org(&o.guid))
        .filter(|o| query.passes("names", &o.name, true) && query.passes("guids", &o.guid, false))
        .filter(|o| query.selects(&o.metadata.labels))
        .map(|o| {
            (
                o.name.clone(),
                o.created_ms,
                o.updated_ms,
                render_org(&state.base_url, o),
            )
        })
        .collect();
    errors::json_response(
        StatusCode::OK,
        query.page_of(&state.base_url, "/v3/organizations", items),
    )
}

async fn get_org(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    match world.orgs.get(&guid).filter(|o| access.reads_org(&o.guid)) {
        Some(org) => errors::json_response(StatusCode::OK, render_org(&state.base_url, org)),
        None => errors::cf_not_found("Organization"),
    }
}

/// `include=organization` adds `included.organizations` (btp-api.md §2.3 "include").
fn included_orgs(base: &str, world: &World, spaces: &[&Space]) -> Value {
    let mut orgs: Vec<&Org> = Vec::new();
    for space in spaces {
        if let Some(org) = world.orgs.get(&space.org)
            && !orgs.iter().any(|o| o.guid == org.guid)
        {
            orgs.push(org);
        }
    }
    json!({"organizations": orgs.iter().map(|o| render_org(base, o)).collect::<Vec<_>>()})
}

fn include_param(raw: Option<&str>) -> Result<bool, Response> {
    let include = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "include")
        .map(|(_, v)| v.into_owned());
    match include.as_deref() {
        None => Ok(false),
        Some("organization") => Ok(true),
        Some(_) => Err(errors::cf_bad_query(
            "Invalid included resource: 'include' can only be: 'organization'",
        )),
    }
}

async fn list_spaces(
    State(state): State<Shared>,
    caller: CfCaller,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = match ListQuery::parse(
        raw.as_deref(),
        &["names", "guids", "organization_guids", "include"],
    ) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let include = match include_param(raw.as_deref()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    let spaces: Vec<&Space> = world
        .spaces
        .values()
        .filter(|s| access.reads_space(s))
        .filter(|s| query.passes("names", &s.name, true) && query.passes("guids", &s.guid, false))
        .filter(|s| {
            query.passes("organization_guids", &s.org, false) && query.selects(&s.metadata.labels)
        })
        .collect();
    let items = spaces
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.created_ms,
                s.updated_ms,
                render_space(&state.base_url, s),
            )
        })
        .collect();
    let mut page = query.page_of(&state.base_url, "/v3/spaces", items);
    if include {
        page["included"] = included_orgs(&state.base_url, &world, &spaces);
    }
    errors::json_response(StatusCode::OK, page)
}

async fn get_space(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let include = match include_param(raw.as_deref()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    let Some(space) = world.spaces.get(&guid).filter(|s| access.reads_space(s)) else {
        return errors::cf_not_found("Space");
    };
    let mut body = render_space(&state.base_url, space);
    if include {
        body["included"] = included_orgs(&state.base_url, &world, &[space]);
    }
    errors::json_response(StatusCode::OK, body)
}

fn name_taken(world: &World, org: &str, name: &str, except: Option<&str>) -> bool {
    world.spaces.values().any(|s| {
        s.org == org && s.name.eq_ignore_ascii_case(name) && Some(s.guid.as_str()) != except
    })
}

/// `POST /v3/spaces` → 201, synchronous (btp-api.md §2.5). An org the caller cannot read is
/// "invalid" (422); one it reads but does not manage is 403 (btp-api.md §2.11).
async fn create_space(State(state): State<Shared>, caller: CfCaller, body: Bytes) -> Response {
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return errors::cf_unprocessable("Name can't be blank");
    };
    if name.len() > 255 {
        return errors::cf_unprocessable("Name is too long (maximum is 255 characters)");
    }
    let mut world = state.world();
    let access = caller.access(&world);
    let org = relationship(&body, "organization")
        .filter(|o| world.orgs.contains_key(o) && access.reads_org(o));
    let Some(org) = org else {
        return errors::cf_unprocessable(
            "Invalid organization. Ensure the organization exists and you have access to it.",
        );
    };
    if !access.manages_org(&org) {
        return errors::cf_not_authorized();
    }
    if name_taken(&world, &org, name, None) {
        return errors::cf_unprocessable("Name must be unique per organization");
    }
    let mut meta = Metadata::default();
    if let Err(r) = metadata::merge(&mut meta, body.get("metadata")) {
        return r;
    }
    let now = now_ms();
    let guid = world.guid();
    let space = Space {
        guid: guid.clone(),
        name: name.to_owned(),
        org,
        metadata: meta,
        created_ms: now,
        updated_ms: now,
    };
    let rendered = render_space(&state.base_url, &space);
    world.spaces.insert(guid, space);
    errors::json_response(StatusCode::CREATED, rendered)
}

async fn update_space(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
    body: Bytes,
) -> Response {
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut world = state.world();
    let access = caller.access(&world);
    let Some(mut space) = world
        .spaces
        .get(&guid)
        .filter(|s| access.reads_space(s))
        .cloned()
    else {
        return errors::cf_not_found("Space");
    };
    if !access.updates_space(&space) {
        return errors::cf_not_authorized();
    }
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        if name_taken(&world, &space.org, name, Some(&guid)) {
            return errors::cf_unprocessable("Name must be unique per organization");
        }
        space.name = name.to_owned();
    }
    if let Err(r) = metadata::merge(&mut space.metadata, body.get("metadata")) {
        return r;
    }
    space.updated_ms = now_ms();
    let rendered = render_space(&state.base_url, &space);
    world.spaces.insert(guid, space);
    errors::json_response(StatusCode::OK, rendered)
}

/// `DELETE /v3/spaces/:guid` → 202 and a `space.delete` job that deletes recursively.
async fn delete_space(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let mut world = state.world();
    let access = caller.access(&world);
    let Some(space) = world.spaces.get(&guid).filter(|s| access.reads_space(s)) else {
        return errors::cf_not_found("Space");
    };
    if !access.manages_org(&space.org) {
        return errors::cf_not_authorized();
    }
    let job = jobs::start(
        &state,
        &mut world,
        JobEffect::SpaceDelete { space: guid },
        None,
    );
    errors::accepted_with_location(&format!("{}/v3/jobs/{job}", state.base_url))
}
