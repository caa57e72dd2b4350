//! SM service instances (btp-api.md §4.3): async 202 with a relative `Location`
//! `/v1/service_instances/<id>/operations/<op>`, label change ops on PATCH, `/parameters` refused.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::operations::{accepted, not_found, start_operation, synchronous, write_subaccount};
use super::{SmList, context, plan_available, render_operation};
use crate::caller::SmCaller;
use crate::credentials;
use crate::errors;
use crate::render::sm_time;
use crate::server::Shared;
use crate::world::{SmInstance, World, now_ms};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/service_instances", get(list).post(create))
        .route(
            "/v1/service_instances/{id}",
            get(get_one).patch(update).delete(delete),
        )
        .route("/v1/service_instances/{id}/parameters", get(parameters))
}
fn render(world: &World, i: &SmInstance) -> Value {
    let mut body = json!({
        "id": i.id,
        "ready": i.ready,
        "name": i.name,
        "service_plan_id": i.plan,
        "platform_id": "service-manager",
        "context": context(world, &i.subaccount, &i.name),
        "usable": i.usable,
        "subaccount_id": i.subaccount,
        "protected": null,
        "created_by": i.created_by,
        "created_at": sm_time(i.created_ms),
        "updated_at": sm_time(i.updated_ms),
        "labels": i.labels,
    });
    if let Some(op) = i
        .last_operation
        .as_deref()
        .and_then(|o| world.sm_operations.get(o))
    {
        body["last_operation"] = render_operation(op);
    }
    body
}

async fn list(State(state): State<Shared>, caller: SmCaller, RawQuery(raw): RawQuery) -> Response {
    let list = match SmList::parse(raw.as_deref()) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let world = state.world();
    let items = world
        .sm_instances
        .values()
        .filter(|i| caller.sees(&i.subaccount))
        .map(|i| (render(&world, i), i.labels.clone()))
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
        .sm_instances
        .get(&id)
        .filter(|i| caller.sees(&i.subaccount))
    {
        Some(i) => errors::json_response(StatusCode::OK, render(&world, i)),
        None => not_found("service_instances"),
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
    let Some(name) = text("name").filter(|n| !n.is_empty()) else {
        return errors::sm(StatusCode::BAD_REQUEST, "BadRequest", "missing field name");
    };
    let labels = match super::labels::parse(body.get("labels")) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let parameters = body.get("parameters").cloned().unwrap_or_else(|| json!({}));
    let mut world = state.world();
    // By id, or by offering and plan names (btp-api.md §4.3).
    let plan = match (
        text("service_plan_id"),
        text("service_offering_name"),
        text("service_plan_name"),
    ) {
        (Some(id), _, _) => world.plans.values().find(|p| p.sm_id == id),
        (None, Some(offering), Some(plan)) => world.plans.values().find(|p| {
            p.name == plan
                && world
                    .offerings
                    .get(&p.offering)
                    .is_some_and(|o| o.name == offering)
        }),
        _ => {
            return errors::sm(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "service_plan_id or service_offering_name and service_plan_name are required",
            );
        }
    }
    .filter(|p| plan_available(&world, &caller, p))
    .cloned();
    let Some(plan) = plan else {
        return errors::sm(
            StatusCode::NOT_FOUND,
            "NotFound",
            "could not find such service_plan",
        );
    };
    if let Some(existing) = world
        .sm_instances
        .values()
        .find(|i| i.subaccount == subaccount && i.name == name)
        .cloned()
    {
        let failed_create = existing
            .last_operation
            .as_deref()
            .and_then(|o| world.sm_operations.get(o))
            .is_some_and(|o| o.kind == "create" && o.state == "failed");
        if !failed_create {
            return errors::sm(
                StatusCode::CONFLICT,
                "Conflict",
                format!("found conflicting service instance: name {name}"),
            );
        }
        world.sm_instances.shift_remove(&existing.id);
    }
    let style = world
        .offerings
        .get(&plan.offering)
        .map(|o| o.credentials_style)
        .unwrap_or_default();
    let client = credentials::new_client(&mut world, style, &name, &parameters);
    let now = now_ms();
    let id = world.guid();
    world.sm_instances.insert(
        id.clone(),
        SmInstance {
            id: id.clone(),
            name: name.clone(),
            subaccount: subaccount.clone(),
            plan: plan.sm_id.clone(),
            parameters,
            labels,
            ready: false,
            usable: false,
            last_operation: None,
            client,
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
        "service_instances",
        &id,
        &subaccount,
        None,
        failure,
        sync,
    );
    if let Some(i) = world.sm_instances.get_mut(&id) {
        i.last_operation = Some(op.clone());
    }
    if !sync {
        return accepted("service_instances", &id, &op);
    }
    match world.sm_operations.get(&op).filter(|o| o.state == "failed") {
        // Observed broker failure via the CLI: backend 502 `BrokerError` with `broker_error`.
        Some(o) => errors::json_response(
            StatusCode::BAD_GATEWAY,
            json!({"error": "BrokerError", "description": o.description, "broker_error": {"StatusCode": 422, "ErrorMessage": null, "Description": o.description, "ResponseError": null}}),
        ),
        None => match world.sm_instances.get(&id) {
            Some(i) => errors::json_response(StatusCode::CREATED, render(&world, i)),
            None => not_found("service_instances"),
        },
    }
}

async fn update(
    State(state): State<Shared>,
    caller: SmCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return errors::sm(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "request body is not a JSON object",
        );
    };
    let mut world = state.world();
    let Some(mut instance) = world
        .sm_instances
        .get(&id)
        .filter(|i| caller.sees(&i.subaccount))
        .cloned()
    else {
        return not_found("service_instances");
    };
    let busy = instance
        .last_operation
        .as_deref()
        .and_then(|o| world.sm_operations.get(o))
        .is_some_and(|o| o.state == "in progress");
    if busy {
        return errors::sm(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ConcurrentOperationInProgress",
            "Another concurrent operation in progress for this resource",
        );
    }
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        instance.name = name.to_owned();
    }
    if let Some(ops) = body.get("labels")
        && let Err(r) = super::labels::apply_changes(&mut instance.labels, ops)
    {
        return r;
    }
    if let Some(plan) = body.get("service_plan_id").and_then(Value::as_str) {
        instance.plan = plan.to_owned();
    }
    instance.updated_ms = now_ms();
    let parameters = body.get("parameters").cloned();
    let asynchronous = parameters.is_some() || body.contains_key("service_plan_id");
    let subaccount = instance.subaccount.clone();
    let name = instance.name.clone();
    world.sm_instances.insert(id.clone(), instance);
    if !asynchronous {
        return match world.sm_instances.get(&id) {
            Some(i) => errors::json_response(StatusCode::OK, render(&world, i)),
            None => not_found("service_instances"),
        };
    }
    let sync = synchronous(raw.as_deref());
    let failure = state.operation_fails(&name);
    let op = start_operation(
        &state,
        &mut world,
        "update",
        "service_instances",
        &id,
        &subaccount,
        parameters,
        failure,
        sync,
    );
    if let Some(i) = world.sm_instances.get_mut(&id) {
        i.last_operation = Some(op.clone());
    }
    if sync {
        return match world.sm_instances.get(&id) {
            Some(i) => errors::json_response(StatusCode::OK, render(&world, i)),
            None => not_found("service_instances"),
        };
    }
    accepted("service_instances", &id, &op)
}

async fn delete(
    State(state): State<Shared>,
    caller: SmCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut world = state.world();
    let Some(instance) = world
        .sm_instances
        .get(&id)
        .filter(|i| caller.sees(&i.subaccount))
        .cloned()
    else {
        return not_found("service_instances");
    };
    let sync = synchronous(raw.as_deref());
    let failure = state.operation_fails(&instance.name);
    let op = start_operation(
        &state,
        &mut world,
        "delete",
        "service_instances",
        &id,
        &instance.subaccount,
        None,
        failure,
        sync,
    );
    if let Some(i) = world.sm_instances.get_mut(&id) {
        i.last_operation = Some(op.clone());
    }
    if sync {
        // Observed via the CLI: 200 `{}`.
        return errors::json_response(StatusCode::OK, json!({}));
    }
    accepted("service_instances", &id, &op)
}

async fn parameters(
    State(state): State<Shared>,
    caller: SmCaller,
    Path(id): Path<String>,
) -> Response {
    let world = state.world();
    let Some(instance) = world
        .sm_instances
        .get(&id)
        .filter(|i| caller.sees(&i.subaccount))
    else {
        return not_found("service_instances");
    };
    let retrievable = world
        .plans
        .values()
        .find(|p| p.sm_id == instance.plan)
        .and_then(|p| world.offerings.get(&p.offering))
        .is_some_and(|o| o.instances_retrievable);
    if retrievable {
        errors::json_response(StatusCode::OK, instance.parameters.clone())
    } else {
        // Observed for xsuaa via the CLI.
        errors::sm(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "this operation is not supported.",
        )
    }
}
