//! CF jobs (btp-api.md §2.9): `PROCESSING` → `POLLING` → `COMPLETE` | `FAILED`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::link;
use crate::caller::CfCaller;
use crate::errors;
use crate::render::cf_time;
use crate::server::{AppState, Shared};
use crate::world::{Job, JobEffect, PendingKind, World, now_ms};

pub fn routes() -> Router<Shared> {
    Router::new().route("/v3/jobs/{guid}", get(get_job))
}

/// Start a job; returns its GUID. `failure` makes it end `FAILED` with that broker message.
pub fn start(
    state: &AppState,
    world: &mut World,
    effect: JobEffect,
    failure: Option<String>,
) -> String {
    let timings = state.settings().jobs;
    let now = now_ms();
    let guid = world.guid();
    // Space and role deletions call no broker: they skip POLLING.
    let broker = !matches!(
        effect,
        JobEffect::SpaceDelete { .. } | JobEffect::RoleDelete { .. }
    );
    let polling_ms = now + timings.processing_ms;
    let due_ms = polling_ms + if broker { timings.polling_ms } else { 0 };
    world.jobs.insert(
        guid.clone(),
        Job {
            guid: guid.clone(),
            effect,
            created_ms: now,
            polling_ms,
            due_ms,
            failure,
            finished: None,
            errors: Vec::new(),
        },
    );
    world.schedule(due_ms, PendingKind::CfJob(guid.clone()));
    world.advance(now);
    guid
}

fn render(base: &str, job: &Job, now: u64) -> Value {
    let state = match &job.finished {
        Some(state) => state.as_str(),
        None if now < job.polling_ms => "PROCESSING",
        None => "POLLING",
    };
    let updated = if job.finished.is_some() {
        job.due_ms
    } else {
        now.min(job.due_ms).max(job.created_ms)
    };
    let mut links = Map::new();
    links.insert("self".into(), link(base, &format!("/v3/jobs/{}", job.guid)));
    // Link names differ per operation (observed): plural for instances, singular for keys, and
    // none once the resource is deleted.
    match &job.effect {
        JobEffect::InstanceCreate { instance } | JobEffect::InstanceUpdate { instance, .. } => {
            links.insert(
                "service_instances".into(),
                link(base, &format!("/v3/service_instances/{instance}")),
            );
        }
        JobEffect::KeyCreate { key } => {
            links.insert(
                "service_credential_binding".into(),
                link(base, &format!("/v3/service_credential_bindings/{key}")),
            );
        }
        JobEffect::InstanceDelete { .. }
        | JobEffect::KeyDelete { .. }
        | JobEffect::SpaceDelete { .. }
        | JobEffect::RoleDelete { .. } => {}
    }
    json!({
        "guid": job.guid,
        "created_at": cf_time(job.created_ms),
        "updated_at": cf_time(updated),
        "operation": job.effect.operation(),
        "state": state,
        "errors": job.errors,
        "warnings": [],
        "links": links,
    })
}

async fn get_job(State(state): State<Shared>, _: CfCaller, Path(guid): Path<String>) -> Response {
    let world = state.world();
    match world.jobs.get(&guid) {
        Some(job) => errors::json_response(StatusCode::OK, render(&state.base_url, job, now_ms())),
        None => errors::cf_not_found("Job"),
    }
}
