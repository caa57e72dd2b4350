//! Service instances (btp-api.md §2.7): async create/update/delete with jobs, `last_operation`,
//! replacement of a failed create, and `/parameters`. A user sees the instances of the spaces it
//! can read and changes them as Space Developer of their space (btp-api.md §2.11).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::instance_changes;
use super::query::ListQuery;
use super::{body_object, jobs, link, metadata, relationship};
use crate::caller::CfCaller;
use crate::credentials;
use crate::errors;
use crate::render::cf_time;
use crate::server::Shared;
use crate::world::{
    Access, CredentialsStyle, JobEffect, LastOperation, Metadata, ServiceInstance, World, now_ms,
};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/service_instances", get(list).post(create))
        .route(
            "/v3/service_instances/{guid}",
            get(get_one)
                .patch(instance_changes::update)
                .delete(instance_changes::delete),
        )
        .route(
            "/v3/service_instances/{guid}/parameters",
            get(instance_changes::parameters),
        )
}

pub(crate) fn render_last_operation(op: &LastOperation) -> Value {
    json!({
        "type": op.kind,
        "state": op.state,
        "description": op.description,
        "updated_at": cf_time(op.updated_ms),
        "created_at": cf_time(op.created_ms),
    })
}

pub(crate) fn render(base: &str, i: &ServiceInstance) -> Value {
    let g = &i.guid;
    let mut relationships = Map::new();
    relationships.insert("space".into(), json!({"data": {"guid": i.space}}));
    let mut links = Map::new();
    links.insert(
        "self".into(),
        link(base, &format!("/v3/service_instances/{g}")),
    );
    links.insert(
        "space".into(),
        link(base, &format!("/v3/spaces/{}", i.space)),
    );
    links.insert(
        "service_credential_bindings".into(),
        link(
            base,
            &format!("/v3/service_credential_bindings?service_instance_guids={g}"),
        ),
    );
    links.insert(
        "service_route_bindings".into(),
        link(
            base,
            &format!("/v3/service_route_bindings?service_instance_guids={g}"),
        ),
    );
    if let Some(plan) = &i.plan {
        relationships.insert("service_plan".into(), json!({"data": {"guid": plan}}));
        links.insert(
            "service_plan".into(),
            link(base, &format!("/v3/service_plans/{plan}")),
        );
        links.insert(
            "parameters".into(),
            link(base, &format!("/v3/service_instances/{g}/parameters")),
        );
        links.insert(
            "shared_spaces".into(),
            link(
                base,
                &format!("/v3/service_instances/{g}/relationships/shared_spaces"),
            ),
        );
    }
    let mut body = json!({
        "guid": g,
        "created_at": cf_time(i.created_ms),
        "updated_at": cf_time(i.updated_ms),
        "name": i.name,
        "tags": i.tags,
        "last_operation": render_last_operation(&i.last_operation),
        "type": i.instance_type,
    });
    if let Some(map) = body.as_object_mut() {
        if i.plan.is_some() {
            let maintenance = if i.maintenance_info.is_object() {
                i.maintenance_info.clone()
            } else {
                json!({})
            };
            map.insert("maintenance_info".into(), maintenance);
            map.insert("upgrade_available".into(), json!(false));
            map.insert("dashboard_url".into(), json!(i.dashboard_url));
        } else {
            // User-provided instances keep their fields in `parameters` (see `create`).
            map.insert(
                "syslog_drain_url".into(),
                i.parameters
                    .get("syslog_drain_url")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            map.insert(
                "route_service_url".into(),
                i.parameters
                    .get("route_service_url")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            links.insert(
                "credentials".into(),
                link(base, &format!("/v3/service_instances/{g}/credentials")),
            );
        }
        map.insert("relationships".into(), Value::Object(relationships));
        map.insert("metadata".into(), metadata::render(&i.metadata));
        map.insert("links".into(), Value::Object(links));
    }
    body
}

async fn list(State(state): State<Shared>, caller: CfCaller, RawQuery(raw): RawQuery) -> Response {
    let allowed = [
        "names",
        "guids",
        "type",
        "space_guids",
        "organization_guids",
        "service_plan_guids",
        "service_plan_names",
    ];
    let query = match ListQuery::parse(raw.as_deref(), &allowed) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    let items = world
        .service_instances
        .values()
        .filter(|i| {
            let Some(space) = world.spaces.get(&i.space).filter(|s| access.reads_space(s)) else {
                return false;
            };
            let org = space.org.as_str();
            let plan = i.plan.as_deref().and_then(|p| world.plans.get(p));
            query.passes("names", &i.name, false)
                && query.passes("guids", &i.guid, false)
                && query.passes("type", &i.instance_type, false)
                && query.passes("space_guids", &i.space, false)
                && query.passes("organization_guids", org, false)
                && query.passes(
                    "service_plan_guids",
                    plan.map_or("", |p| p.guid.as_str()),
                    false,
                )
                && query.passes(
                    "service_plan_names",
                    plan.map_or("", |p| p.name.as_str()),
                    true,
                )
                && query.selects(&i.metadata.labels)
        })
        .map(|i| {
            (
                i.name.clone(),
                i.created_ms,
                i.updated_ms,
                render(&state.base_url, i),
            )
        })
        .collect();
    errors::json_response(
        StatusCode::OK,
        query.page_of(&state.base_url, "/v3/service_instances", items),
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
        .service_instances
        .get(&guid)
        .filter(|i| readable(&world, &access, i))
    {
        Some(i) => errors::json_response(StatusCode::OK, render(&state.base_url, i)),
        None => errors::cf_not_found("Service instance"),
    }
}

/// Can the user read the instance (read its space)?
pub(crate) fn readable(world: &World, access: &Access, i: &ServiceInstance) -> bool {
    world
        .spaces
        .get(&i.space)
        .is_some_and(|s| access.reads_space(s))
}

pub(crate) fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /v3/service_instances` → managed: 202 + job; user-provided: 201. A space the caller
/// cannot read is "invalid" (422); one it reads without being Space Developer there is 403.
async fn create(State(state): State<Shared>, caller: CfCaller, body: Bytes) -> Response {
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if kind != "managed" && kind != "user-provided" {
        return errors::cf_unprocessable("Type must be one of 'managed', 'user-provided'");
    }
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
    else {
        return errors::cf_unprocessable("Name can't be blank");
    };
    let mut meta = Metadata::default();
    if let Err(r) = metadata::merge(&mut meta, body.get("metadata")) {
        return r;
    }
    let parameters = body.get("parameters").cloned().unwrap_or_else(|| json!({}));
    let mut world = state.world();
    let access = caller.access(&world);
    let space = relationship(&body, "space")
        .filter(|s| world.spaces.get(s).is_some_and(|s| access.reads_space(s)));
    let Some(space) = space else {
        return errors::cf_unprocessable(
            "Invalid space. Ensure that the space exists and you have access to it.",
        );
    };
    if !access.develops_in(&space) {
        return errors::cf_not_authorized();
    }
    let plan = if kind == "managed" {
        let org = world
            .spaces
            .get(&space)
            .map(|s| s.org.clone())
            .unwrap_or_default();
        let plan = relationship(&body, "service_plan")
            .and_then(|p| world.plans.get(&p))
            .filter(|p| world.plan_visible_in_org(p, &org));
        match plan {
            Some(p) => Some(p.guid.clone()),
            None => {
                return errors::cf_unprocessable(
                    "Invalid service plan. Ensure that the service plan exists, is available, and you have access to it.",
                );
            }
        }
    } else {
        None
    };
    // A previous create of the same name that failed is replaced (btp-api.md §2.7, `precursor`).
    let existing = world
        .service_instances
        .values()
        .find(|i| i.space == space && i.name == name)
        .cloned();
    if let Some(existing) = existing {
        let failed_create =
            existing.last_operation.kind == "create" && existing.last_operation.state == "failed";
        if !failed_create {
            return errors::cf_unprocessable(format!(
                "The service instance name is taken: {name}."
            ));
        }
        world
            .service_keys
            .retain(|_, k| k.instance != existing.guid);
        world.service_instances.shift_remove(&existing.guid);
    }
    let now = now_ms();
    let guid = world.guid();
    let style = offering_style(&world, plan.as_deref());
    let client = credentials::new_client(&mut world, style, &name, &parameters);
    let managed = plan.is_some();
    let instance = ServiceInstance {
        guid: guid.clone(),
        name: name.clone(),
        space,
        plan,
        instance_type: kind,
        tags: string_list(body.get("tags")),
        parameters: if managed {
            parameters
        } else {
            body.get("credentials")
                .cloned()
                .unwrap_or_else(|| json!({}))
        },
        metadata: meta,
        last_operation: LastOperation::new(
            "create",
            if managed { "in progress" } else { "succeeded" },
            now,
        ),
        client,
        dashboard_url: None,
        maintenance_info: json!({}),
        created_ms: now,
        updated_ms: now,
    };
    if !managed {
        let rendered = render(&state.base_url, &instance);
        world.service_instances.insert(guid, instance);
        return errors::json_response(StatusCode::CREATED, rendered);
    }
    world.service_instances.insert(guid.clone(), instance);
    let failure = state.operation_fails(&name);
    let job = jobs::start(
        &state,
        &mut world,
        JobEffect::InstanceCreate { instance: guid },
        failure,
    );
    errors::accepted_with_location(&format!("{}/v3/jobs/{job}", state.base_url))
}

pub(crate) fn offering_style(world: &World, plan: Option<&str>) -> CredentialsStyle {
    plan.and_then(|p| world.plans.get(p))
        .and_then(|p| world.offerings.get(&p.offering))
        .map_or(CredentialsStyle::CloudAlm, |o| o.credentials_style)
}
