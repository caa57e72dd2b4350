//! Service Manager plumbing shared by instances and bindings: operations, `Location` headers,
//! the subaccount of writes, 404s.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::caller::SmCaller;
use crate::errors;
use crate::server::AppState;
use crate::world::{PendingKind, SmOperation, World, now_ms};

pub(crate) fn not_found(kind: &str) -> Response {
    // Observed: {"error":"NotFound","description":"could not find such /v1/service_instances"}.
    errors::sm(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("could not find such /v1/{kind}"),
    )
}

/// Is this request asking for a synchronous answer (`async=false`)?
pub(crate) fn synchronous(raw: Option<&str>) -> bool {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "async" && v == "false")
}

/// Record an operation; with `sync` it finishes at once.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_operation(
    state: &AppState,
    world: &mut World,
    kind: &str,
    resource_kind: &str,
    resource_id: &str,
    subaccount: &str,
    new_parameters: Option<Value>,
    failure: Option<String>,
    sync: bool,
) -> String {
    let timings = state.settings().jobs;
    let now = now_ms();
    let id = world.guid();
    let correlation_id = world.guid();
    let due_ms = if sync {
        now
    } else {
        now + timings.processing_ms + timings.polling_ms
    };
    world.sm_operations.insert(
        id.clone(),
        SmOperation {
            id: id.clone(),
            kind: kind.to_owned(),
            state: "in progress".to_owned(),
            resource_kind: resource_kind.to_owned(),
            resource_id: resource_id.to_owned(),
            subaccount: subaccount.to_owned(),
            correlation_id,
            description: String::new(),
            new_parameters,
            failure,
            created_ms: now,
            due_ms,
            updated_ms: now,
        },
    );
    world.schedule(due_ms, PendingKind::SmOperation(id.clone()));
    world.advance(now);
    id
}

/// 202 with the relative `Location` of the operation (btp-api.md §4.3).
pub(crate) fn accepted(resource_kind: &str, id: &str, operation: &str) -> Response {
    let mut response = errors::json_response(StatusCode::ACCEPTED, json!({}));
    if let Ok(v) =
        HeaderValue::from_str(&format!("/v1/{resource_kind}/{id}/operations/{operation}"))
    {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The subaccount a write goes to: the SM token's; user tokens cannot write (see module docs).
pub(crate) fn write_subaccount(caller: &SmCaller) -> Result<String, Response> {
    caller.0.subaccount().map(str::to_owned).ok_or_else(|| {
        errors::sm(StatusCode::FORBIDDEN, "Forbidden", "a Service Manager binding's token (bound to one subaccount) is required to create resources")
    })
}
