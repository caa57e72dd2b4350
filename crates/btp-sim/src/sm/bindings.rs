//! SM service bindings (btp-api.md §4.4): create (async by default), get with credentials, list,
//! delete. No update: rotating is delete + create.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::operations::{accepted, not_found, start_operation, synchronous, write_subaccount};
use super::{SmList, context, render_operation};
use crate::caller::SmCaller;
use crate::credentials;
use crate::errors;
use crate::render::sm_time;
use crate::server::Shared;
use crate::world::{SmBinding, World, now_ms};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/service_bindings", get(list).post(create))
        .route("/v1/service_bindings/{id}", get(get_one).delete(delete))
}

fn render(world: &World, base: &str, b: &SmBinding) -> Value {
    let instance = world.sm_instances.get(&b.instance);
    let mut ctx = context(
        world,
        &b.subaccount,
        instance.map_or("", |i| i.name.as_str()),
    );
    ctx["service_instance_id"] = json!(b.instance);
    let mut body = json!({
        "id": b.id,
        "ready": b.ready,
        "name": b.name,
        "service_instance_id": b.instance,
        "context": ctx,
        "subaccount_id": b.subaccount,
        "created_by": b.created_by,
        "created_at": sm_time(b.created_ms),
        "updated_at": sm_time(b.updated_ms),
        "labels": b.labels,
    });
    if let Some(op) = b
        .last_operation
        .as_deref()
        .and_then(|o| world.sm_operations.get(o))
    {
        body["last_operation"] = render_operation(op);
    }
    if let (true, Some(credentials)) = (b.ready, credentials_of(world, base, b)) {
        body["credentials"] = credentials;
    }
    body
}

/// The credentials of a binding, rendered against the simulator's address.
pub(crate) fn credentials_of(world: &World, base: &str, b: &SmBinding) -> Option<Value> {
    let instance = world.sm_instances.get(&b.instance)?;
    let style = world
        .plans
        .values()
        .find(|p| p.sm_id == instance.plan)
        .and_then(|p| world.offerings.get(&p.offering))
        .map(|o| o.credentials_style)
        .unwrap_or_default();
    let sub = world.subaccounts.get(&b.subaccount);
    let rendered = credentials::render(
        style,
        base,
        &instance.client,
        &b.client_secret,
        &b.credential_type,
        sub,
        &instance.id,
    );
    Some(credentials::in_zone(rendered, b.identity_zone.as_deref()))
}

async fn list(State(state): State<Shared>, caller: SmCaller, RawQuery(raw): RawQuery) -> Response {
    let list = match SmList::parse(raw.as_deref()) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let world = state.world();
    let items = world
        .sm_bindings
        .values()
        .filter(|b| caller.sees(&b.subaccount))
        .map(|b| (render(&world, &state.base_url, b), b.labels.clone()))
        .collect();
    list.respond(items)
}

async fn get_one(
    State(state): State<Shared>,
    caller: SmCaller,
    Path(id): Path<String>,
) -> Response {
    let world = state.world();
    match world
        .sm_bindings
        .get(&id)
        .filter(|b| caller.sees(&b.subaccount))
    {
        Some(b) => errors::json_response(StatusCode::OK, render(&world, &state.base_url, b)),
        None => not_found("service_bindings"),
    }
}

async fn create(
    State(state): State<Shared>,
    caller: SmCaller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let subaccount = match write_subaccount(&caller) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return errors::sm(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "request body is not a JSON object",
        );
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(name), Some(instance_id)) = (
        text("name").filter(|n| !n.is_empty()),
        text("service_instance_id"),
    ) else {
        return errors::sm(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "name and service_instance_id are required",
        );
    };
    let labels = match super::labels::parse(body.get("labels")) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut world = state.world();
    let Some(instance) = world
        .sm_instances
        .get(&instance_id)
        .filter(|i| i.subaccount == subaccount)
        .cloned()
    else {
        return errors::sm(
            StatusCode::NOT_FOUND,
            "NotFound",
            "could not find such service_instance",
        );
    };
    if !instance.usable {
        return errors::sm(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UnprocessableEntity",
            "service instance is not usable: it has an operation in progress or its creation failed",
        );
    }
    if world
        .sm_bindings
        .values()
        .any(|b| b.instance == instance_id && b.name == name)
    {
        return errors::sm(
            StatusCode::CONFLICT,
            "Conflict",
            format!("found conflicting service binding: name {name}"),
        );
    }
    let credential_type = credentials::credential_type(&instance.parameters);
    let client_secret = if credential_type == "instance-secret" {
        instance.client.instance_secret.clone()
    } else {
        world.secret_value()
    };
    let now = now_ms();
    let id = world.guid();
    world.sm_bindings.insert(
        id.clone(),
        SmBinding {
            id: id.clone(),
            name: name.clone(),
            instance: instance_id,
            subaccount: subaccount.clone(),
            parameters: body.get("parameters").cloned().unwrap_or_else(|| json!({})),
            labels,
            ready: false,
            last_operation: None,
            client_secret,
            credential_type,
            identity_zone: None,
            created_by: caller.0.sub.clone(),
            created_ms: now,
            updated_ms: now,
        },
    );
    let sync = synchronous(raw.as_deref());
    let failure = state.operation_fails(&name);
    let op = start_operation(
        &state,
        &mut world,
        "create",
        "service_bindings",
        &id,
        &subaccount,
        None,
        failure,
        sync,
    );
    if let Some(b) = world.sm_bindings.get_mut(&id) {
        b.last_operation = Some(op.clone());
    }
    if !sync {
        return accepted("service_bindings", &id, &op);
    }
    match world.sm_bindings.get(&id) {
        Some(b) if b.ready => {
            errors::json_response(StatusCode::CREATED, render(&world, &state.base_url, b))
        }
        _ => errors::sm(
            StatusCode::BAD_GATEWAY,
            "BrokerError",
            "Failed binding request (simulated failure)",
        ),
    }
}

async fn delete(
    State(state): State<Shared>,
    caller: SmCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut world = state.world();
    let Some(binding) = world
        .sm_bindings
        .get(&id)
        .filter(|b| caller.sees(&b.subaccount))
        .cloned()
    else {
        return not_found("service_bindings");
    };
    let sync = synchronous(raw.as_deref());
    let failure = state.operation_fails(&binding.name);
    let op = start_operation(
        &state,
        &mut world,
        "delete",
        "service_bindings",
        &id,
        &binding.subaccount,
        None,
        failure,
        sync,
    );
    if let Some(b) = world.sm_bindings.get_mut(&id) {
        b.last_operation = Some(op.clone());
    }
    if sync {
        return errors::json_response(StatusCode::OK, json!({}));
    }
    accepted("service_bindings", &id, &op)
}
