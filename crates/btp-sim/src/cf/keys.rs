//! Service credential bindings of type `key` (btp-api.md §2.8). A user sees the keys of
//! instances in spaces it can read; creating, changing and deleting keys, and reading their
//! credentials (`/details`), need Space Developer in the instance's space (btp-api.md §2.11).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::instances::{offering_style, readable, render_last_operation};
use super::query::ListQuery;
use super::{body_object, jobs, link, metadata, relationship};
use crate::caller::CfCaller;
use crate::credentials;
use crate::errors;
use crate::render::cf_time;
use crate::server::Shared;
use crate::world::{Access, JobEffect, LastOperation, Metadata, ServiceKey, World, now_ms};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/service_credential_bindings", get(list).post(create))
        .route(
            "/v3/service_credential_bindings/{guid}",
            get(get_one).patch(update).delete(delete),
        )
        .route(
            "/v3/service_credential_bindings/{guid}/details",
            get(details),
        )
        .route(
            "/v3/service_credential_bindings/{guid}/parameters",
            get(parameters),
        )
}

fn render(base: &str, k: &ServiceKey) -> Value {
    let g = &k.guid;
    json!({
        "guid": g,
        "created_at": cf_time(k.created_ms),
        "updated_at": cf_time(k.updated_ms),
        "name": k.name,
        "type": "key",
        // Keys show `description: null` where instances show "" (observed).
        "last_operation": render_last_operation(&k.last_operation),
        "metadata": metadata::render(&k.metadata),
        "relationships": {"service_instance": {"data": {"guid": k.instance}}},
        "links": {
            "self": link(base, &format!("/v3/service_credential_bindings/{g}")),
            "details": link(base, &format!("/v3/service_credential_bindings/{g}/details")),
            "service_instance": link(base, &format!("/v3/service_instances/{}", k.instance)),
            "parameters": link(base, &format!("/v3/service_credential_bindings/{g}/parameters")),
        },
    })
}

async fn list(State(state): State<Shared>, caller: CfCaller, RawQuery(raw): RawQuery) -> Response {
    let allowed = [
        "names",
        "guids",
        "type",
        "service_instance_guids",
        "service_instance_names",
        "app_guids",
        "app_names",
        "service_plan_guids",
        "service_plan_names",
        "service_offering_guids",
        "service_offering_names",
    ];
    let query = match ListQuery::parse(raw.as_deref(), &allowed) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    // Keys have no app: any app filter excludes them all.
    let app_filter = query.one("app_guids").is_some() || query.one("app_names").is_some();
    let items = world
        .service_keys
        .values()
        .filter(|k| {
            let instance = world
                .service_instances
                .get(&k.instance)
                .filter(|i| readable(&world, &access, i));
            if instance.is_none() {
                return false;
            }
            let plan = instance
                .and_then(|i| i.plan.as_deref())
                .and_then(|p| world.plans.get(p));
            let offering = plan.and_then(|p| world.offerings.get(&p.offering));
            !app_filter
                && query.passes("names", &k.name, false)
                && query.passes("guids", &k.guid, false)
                && query.passes("type", "key", false)
                && query.passes("service_instance_guids", &k.instance, false)
                && query.passes(
                    "service_instance_names",
                    instance.map_or("", |i| i.name.as_str()),
                    false,
                )
                && query.passes(
                    "service_plan_guids",
                    plan.map_or("", |p| p.guid.as_str()),
                    false,
                )
                && query.passes(
                    "service_plan_names",
                    plan.map_or("", |p| p.name.as_str()),
                    false,
                )
                && query.passes(
                    "service_offering_guids",
                    offering.map_or("", |o| o.guid.as_str()),
                    false,
                )
                && query.passes(
                    "service_offering_names",
                    offering.map_or("", |o| o.name.as_str()),
                    false,
                )
                && query.selects(&k.metadata.labels)
        })
        .map(|k| {
            (
                k.name.clone(),
                k.created_ms,
                k.updated_ms,
                render(&state.base_url, k),
            )
        })
        .collect();
    errors::json_response(
        StatusCode::OK,
        query.page_of(&state.base_url, "/v3/service_credential_bindings", items),
    )
}

async fn get_one(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    match visible(&world, &access, &guid) {
        Some(k) => errors::json_response(StatusCode::OK, render(&state.base_url, k)),
        None => errors::cf_not_found("Service credential binding"),
    }
}

/// The key, if the user can read its instance's space.
fn visible<'w>(world: &'w World, access: &Access, guid: &str) -> Option<&'w ServiceKey> {
    world.service_keys.get(guid).filter(|k| {
        world
            .service_instances
            .get(&k.instance)
            .is_some_and(|i| readable(world, access, i))
    })
}

/// The space of a key's instance.
fn space_of<'w>(world: &'w World, key: &ServiceKey) -> &'w str {
    world
        .service_instances
        .get(&key.instance)
        .map_or("", |i| i.space.as_str())
}

/// `POST` type `key` → 202 + `service_keys.create` job (managed instances). An instance the
/// caller cannot read is "not found" (422, CC's `unprocessable_resource!`); one it reads without
/// being Space Developer there is 403.
async fn create(State(state): State<Shared>, caller: CfCaller, body: Bytes) -> Response {
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.get("type").and_then(Value::as_str) != Some("key") {
        return errors::cf_unprocessable("Type must be 'key': app bindings are not simulated");
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
    let mut world = state.world();
    let access = caller.access(&world);
    let instance_guid = relationship(&body, "service_instance").unwrap_or_default();
    let instance = world
        .service_instances
        .get(&instance_guid)
        .filter(|i| readable(&world, &access, i))
        .filter(|i| !(i.last_operation.kind == "create" && i.last_operation.state == "failed"))
        .cloned();
    let Some(instance) = instance else {
        return errors::cf_unprocessable(format!(
            "The service instance could not be found: '{instance_guid}'"
        ));
    };
    if !access.develops_in(&instance.space) {
        return errors::cf_not_authorized();
    }
    if instance.plan.is_none() {
        return errors::cf_unprocessable(
            "Service credential bindings of type 'key' are not supported for user-provided service instances.",
        );
    }
    if instance.last_operation.in_progress() {
        return errors::cf_unprocessable(
            "There is an operation in progress for the service instance.",
        );
    }
    if let Some(existing) = world
        .service_keys
        .values()
        .find(|k| k.instance == instance.guid && k.name == name)
        .cloned()
    {
        let failed_create =
            existing.last_operation.kind == "create" && existing.last_operation.state == "failed";
        if !failed_create {
            let detail = if existing.last_operation.kind == "delete" {
                format!(
                    "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name '{name}' that is getting deleted or its deletion failed."
                )
            } else {
                format!(
                    "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name '{name}'."
                )
            };
            return errors::cf_unprocessable(detail);
        }
        world.service_keys.shift_remove(&existing.guid);
    }
    let credential_type = credentials::credential_type(&instance.parameters);
    let client_secret = if credential_type == "instance-secret" {
        instance.client.instance_secret.clone()
    } else {
        world.secret_value()
    };
    let now = now_ms();
    let guid = world.guid();
    world.service_keys.insert(
        guid.clone(),
        ServiceKey {
            guid: guid.clone(),
            name: name.clone(),
            instance: instance.guid,
            parameters: body.get("parameters").cloned().unwrap_or_else(|| json!({})),
            metadata: meta,
            last_operation: LastOperation {
                description: None,
                ..LastOperation::new("create", "in progress", now)
            },
            client_secret,
            credential_type,
            identity_zone: None,
            created_ms: now,
            updated_ms: now,
        },
    );
    let failure = state.operation_fails(&name);
    let job = jobs::start(
        &state,
        &mut world,
        JobEffect::KeyCreate { key: guid },
        failure,
    );
    errors::accepted_with_location(&format!("{}/v3/jobs/{job}", state.base_url))
}

async fn update(
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
    let Some(key) = visible(&world, &access, &guid) else {
        return errors::cf_not_found("Service credential binding");
    };
    if !access.develops_in(space_of(&world, key)) {
        return errors::cf_not_authorized();
    }
    let Some(key) = world.service_keys.get_mut(&guid) else {
        return errors::cf_not_found("Service credential binding");
    };
    let mut meta = key.metadata.clone();
    if let Err(r) = metadata::merge(&mut meta, body.get("metadata")) {
        return r;
    }
    key.metadata = meta;
    errors::json_response(StatusCode::OK, render(&state.base_url, key))
}

async fn delete(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let mut world = state.world();
    let access = caller.access(&world);
    let Some(key) = visible(&world, &access, &guid) else {
        return errors::cf_not_found("Service credential binding");
    };
    if !access.develops_in(space_of(&world, key)) {
        return errors::cf_not_authorized();
    }
    let Some(key) = world.service_keys.get_mut(&guid) else {
        return errors::cf_not_found("Service credential binding");
    };
    if key.last_operation.in_progress() {
        return errors::cf(
            StatusCode::CONFLICT,
            90008,
            "CF-AsyncServiceBindingOperationInProgress",
            format!(
                "An operation for the service binding between app and service instance {} is in progress.",
                key.instance
            ),
        );
    }
    let now = now_ms();
    key.last_operation = LastOperation {
        description: None,
        ..LastOperation::new("delete", "in progress", now)
    };
    key.updated_ms = now;
    let name = key.name.clone();
    let failure = state.operation_fails(&name);
    let job = jobs::start(
        &state,
        &mut world,
        JobEffect::KeyDelete { key: guid },
        failure,
    );
    errors::accepted_with_location(&format!("{}/v3/jobs/{job}", state.base_url))
}

/// The credentials of a key, rendered against the simulator's address.
pub(crate) fn key_credentials(world: &World, base: &str, key: &ServiceKey) -> Option<Value> {
    let instance = world.service_instances.get(&key.instance)?;
    let style = offering_style(world, instance.plan.as_deref());
    let subaccount = world.subaccount_of_space(&instance.space);
    let rendered = credentials::render(
        style,
        base,
        &instance.client,
        &key.client_secret,
        &key.credential_type,
        subaccount,
        &instance.guid,
    );
    Some(credentials::in_zone(rendered, key.identity_zone.as_deref()))
}

/// `/details`: the credentials, for a Space Developer of the key's space only; anyone else gets
/// 404, as if the key did not exist (CC's `details`: `not_found!` unless
/// `can_read_secrets_in_space?`).
async fn details(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    let key = visible(&world, &access, &guid)
        .filter(|k| access.develops_in(space_of(&world, k)))
        .filter(|k| k.last_operation.kind != "create" || k.last_operation.state == "succeeded");
    match key.and_then(|k| key_credentials(&world, &state.base_url, k)) {
        Some(credentials) => {
            errors::json_response(StatusCode::OK, json!({"credentials": credentials}))
        }
        None => errors::cf_not_found("Service credential binding"),
    }
}

/// `/parameters`: 400 90007 unless `bindings_retrievable` (observed for xsuaa).
async fn parameters(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    let Some(key) = visible(&world, &access, &guid) else {
        return errors::cf_not_found("Service credential binding");
    };
    let retrievable = world
        .service_instances
        .get(&key.instance)
        .and_then(|i| i.plan.as_deref())
        .and_then(|p| world.plans.get(p))
        .and_then(|p| world.offerings.get(&p.offering))
        .is_some_and(|o| o.bindings_retrievable);
    if retrievable {
        errors::json_response(StatusCode::OK, key.parameters.clone())
    } else {
        errors::cf(
            StatusCode::BAD_REQUEST,
            90007,
            "CF-ServiceFetchBindingParametersNotSupported",
            "This service does not support fetching service binding parameters.",
        )
    }
}
