//! The error bodies of each API, exactly as the real services shape them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A JSON response.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// CF v3 error: `{"errors":[{"detail","title","code"}]}` in that key order (btp-api.md §2.3).
pub fn cf(status: StatusCode, code: u32, title: &str, detail: impl Into<String>) -> Response {
    json_response(
        status,
        json!({"errors": [{"detail": detail.into(), "title": title, "code": code}]}),
    )
}

/// 422 `CF-UnprocessableEntity` 10008 (name taken, invalid plan/space/org, op in progress, labels).
pub fn cf_unprocessable(detail: impl Into<String>) -> Response {
    cf(
        StatusCode::UNPROCESSABLE_ENTITY,
        10008,
        "CF-UnprocessableEntity",
        detail,
    )
}

/// 403 `CF-NotAuthorized` 10003: the user's roles do not allow the request (btp-api.md §2.11).
pub fn cf_not_authorized() -> Response {
    cf(
        StatusCode::FORBIDDEN,
        10003,
        "CF-NotAuthorized",
        "You are not authorized to perform the requested action",
    )
}

/// 404 `CF-ResourceNotFound` 10010, e.g. "Space not found" (observed).
pub fn cf_not_found(what: &str) -> Response {
    cf(
        StatusCode::NOT_FOUND,
        10010,
        "CF-ResourceNotFound",
        format!("{what} not found"),
    )
}

/// 400 `CF-BadQueryParameter` 10005.
pub fn cf_bad_query(detail: impl Into<String>) -> Response {
    cf(
        StatusCode::BAD_REQUEST,
        10005,
        "CF-BadQueryParameter",
        format!("The query parameter is invalid: {}", detail.into()),
    )
}

/// 400 `CF-MessageParseError` 1001 for a body that is not JSON.
pub fn cf_parse_error() -> Response {
    cf(
        StatusCode::BAD_REQUEST,
        1001,
        "CF-MessageParseError",
        "Request invalid due to parse error: invalid request body",
    )
}

/// Service Manager error: `{"error","description"}` (btp-api.md §4.5).
pub fn sm(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    json_response(
        status,
        json!({"error": error, "description": description.into()}),
    )
}

/// Accounts/Entitlements error: `{"error":{"code","message","target","correlationID"}}`
/// (btp-api.md §3.1, the crossplane spec patch).
pub fn btp(status: StatusCode, code: u32, message: impl Into<String>, target: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": code, "message": message.into(), "target": target, "correlationID": correlation_id()}}),
    )
}

/// Accounts 400 for a request body that breaks a rule: code 11000 "Request payload is invalid"
/// with one `details` entry (code 11001) per broken rule, as the Accounts service answers
/// (SAP/crossplane-provider-btp issue #92 shows this body for `createSubaccount`).
pub fn btp_invalid_payload(target: &str, details: &[String]) -> Response {
    let details: Vec<Value> = details
        .iter()
        .map(|message| json!({"code": 11001, "message": message}))
        .collect();
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": 11000, "message": "Request payload is invalid", "target": target, "correlationID": correlation_id(), "details": details}}),
    )
}

/// UAA error in RFC 6749 shape: `{"error","error_description"}`.
pub fn uaa(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// An empty-bodied response with a `Location` header (CF 202s have an empty body, which the Python
/// client relies on: clients.md §3 "Async creates").
pub fn accepted_with_location(location: &str) -> Response {
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn correlation_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("sim-{:012x}", NEXT.fetch_add(1, Ordering::Relaxed))
}
