//! Changes to existing service instances (btp-api.md §2.7): `PATCH` (async when parameters or
//! plan change), `DELETE` (async for managed instances, keys go too) and `/parameters`. An
//! instance in a space the caller cannot read is not found; changing one needs Space Developer
//! in its space (btp-api.md §2.11).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::instances::{readable, render, string_list};
use super::{body_object, jobs, metadata, relationship};
use crate::caller::CfCaller;
use crate::errors;
use crate::server::Shared;
use crate::world::{JobEffect, LastOperation, now_ms};

fn operation_in_progress() -> Response {
    errors::cf_unprocessable("There is an operation in progress for the service instance.")
}

/// `PATCH`: async (202) when parameters, plan or maintenance_info change; else 200.
pub(crate) async fn update(
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
    let Some(mut instance) = world
        .service_instances
        .get(&guid)
        .filter(|i| readable(&world, &access, i))
        .cloned()
    else {
        return errors::cf_not_found("Service instance");
    };
    if !access.develops_in(&instance.space) {
        return errors::cf_not_authorized();
    }
    let new_plan = relationship(&body, "service_plan");
    let asynchronous = instance.plan.is_some()
        && (body.get("parameters").is_some()
            || new_plan.is_some()
            || body.get("maintenance_info").is_some());
    if instance.last_operation.in_progress() {
        return operation_in_progress();
    }
    if let Some(plan) = &new_plan {
        let org = world
            .spaces
            .get(&instance.space)
            .map(|s| s.org.clone())
            .unwrap_or_default();
        if !world
            .plans
            .get(plan)
            .is_some_and(|p| world.plan_visible_in_org(p, &org))
        {
            return errors::cf_unprocessable(
                "Invalid service plan. Ensure that the service plan exists, is available, and you have access to it.",
            );
        }
    }
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        if world
            .service_instances
            .values()
            .any(|i| i.space == instance.space && i.name == name && i.guid != guid)
        {
            return errors::cf_unprocessable(format!(
                "The service instance name is taken: {name}."
            ));
        }
        instance.name = name.to_owned();
    }
    if body.contains_key("tags") {
        instance.tags = string_list(body.get("tags"));
    }
    if let Err(r) = metadata::merge(&mut instance.metadata, body.get("metadata")) {
        return r;
    }
    let now = now_ms();
    instance.updated_ms = now;
    if !asynchronous {
        if instance.plan.is_none() {
            for field in ["credentials", "syslog_drain_url", "route_service_url"] {
                if let (Some(value), Some(stored)) =
                    (body.get(field), instance.parameters.as_object_mut())
                {
                    stored.insert(field.to_owned(), value.clone());
                }
            }
        }
        let rendered = render(&state.base_url, &instance);
        world.service_instances.insert(guid, instance);
        return errors::json_response(StatusCode::OK, rendered);
    }
    instance.last_operation = LastOperation::new("update", "in progress", now);
    let name = instance.name.clone();
    world.service_instances.insert(guid.clone(), instance);
    let effect = JobEffect::InstanceUpdate {
        instance: guid,
        parameters: body.get("parameters").cloned(),
        plan: new_plan,
    };
    let failure = state.operation_fails(&name);
    let job = jobs::start(&state, &mut world, effect, failure);
    errors::accepted_with_location(&format!("{}/v3/jobs/{job}", state.base_url))
}

/// `DELETE`: managed → 202 + job (keys go too); user-provided → 204.
pub(crate) async fn delete(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let mut world = state.world();
    let access = caller.access(&world);
    match world.service_instances.get(&guid) {
        Some(i) if readable(&world, &access, i) => {
            if !access.develops_in(&i.space) {
                return errors::cf_not_authorized();
            }
        }
        _ => return errors::cf_not_found("Service instance"),
    }
    let Some(instance) = world.service_instances.get_mut(&guid) else {
        return errors::cf_not_found("Service instance");
    };
    if instance.plan.is_none() {
        world.service_instances.shift_remove(&guid);
        return StatusCode::NO_CONTENT.into_response();
    }
    if instance.last_operation.in_progress() {
        let name = instance.name.clone();
        return errors::cf(
            StatusCode::CONFLICT,
            60016,
            "CF-AsyncServiceInstanceOperationInProgress",
            format!("An operation for service instance {name} is in progress."),
        );
    }
    let now = now_ms();
    instance.last_operation = LastOperation::new("delete", "in progress", now);
    instance.updated_ms = now;
    let name = instance.name.clone();
    let failure = state.operation_fails(&name);
    let job = jobs::start(
        &state,
        &mut world,
        JobEffect::InstanceDelete { instance: guid },
        failure,
    );
    errors::accepted_with_location(&format!("{}/v3/jobs/{job}", state.base_url))
}

/// `/parameters`: 400 120004 unless the offering has `instances_retrievable` (observed for xsuaa).
pub(crate) async fn parameters(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    let Some(instance) = world
        .service_instances
        .get(&guid)
        .filter(|i| readable(&world, &access, i))
    else {
        return errors::cf_not_found("Service instance");
    };
    let retrievable = instance
        .plan
        .as_deref()
        .and_then(|p| world.plans.get(p))
        .and_then(|p| world.offerings.get(&p.offering))
        .is_some_and(|o| o.instances_retrievable);
    if retrievable {
        errors::json_response(StatusCode::OK, instance.parameters.clone())
    } else {
        errors::cf(
            StatusCode::BAD_REQUEST,
            120004,
            "CF-ServiceFetchInstanceParametersNotSupported",
            "This service does not support fetching service instance parameters.",
        )
    }
}
