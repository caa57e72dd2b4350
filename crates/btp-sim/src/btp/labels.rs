//! Subaccount labels of the Accounts service: `GET|PUT|DELETE
//! /accounts/v1/subaccounts/{guid}/labels` (btp-api.md §3.2, FIDELITY.md §5).
//!
//! `PUT` replaces the whole set, `DELETE` removes all labels. A `PUT` is refused with 400 code
//! 11000 (one 11001 detail per broken rule) when the set breaks the API's rules: at most 10 keys,
//! keys of 1 to 63 characters, at most 10 values per key, values of at most 63 characters (the
//! `createSubaccountLabels` description in `docs/specs`; SAP/terraform-provider-btp
//! `labelvalidator` checks the count and the value length before calling the API). Lengths are
//! counted in UTF-8 bytes, never fewer than characters: the stricter reading. A `PUT` of no labels
//! at all is refused too: the API documents `DELETE` for removing every label and `PUT` for
//! assigning them, so an empty assignment is the stricter reading of an undocumented case.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::accounts::not_found;
use crate::caller::BtpCaller;
use crate::errors;
use crate::server::Shared;
use crate::world::Subaccount;

/// At most this many keys per subaccount, and values per key.
pub(crate) const MAX_LABELS: usize = 10;
/// The longest key or value.
pub(crate) const MAX_LEN: usize = 63;

pub fn routes() -> Router<Shared> {
    Router::new().route(
        "/accounts/v1/subaccounts/{guid}/labels",
        get(get_labels).put(put_labels).delete(delete_labels),
    )
}

/// `{"labels": {"key": ["value", ...]}}`: the body of every answer.
fn labels_body(s: &Subaccount) -> Value {
    json!({"labels": s.labels})
}

/// The rules a label set breaks, one message each.
fn broken_rules(labels: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    if labels.is_empty() {
        out.push("labels: at least one label is required; use DELETE to remove all labels".into());
    }
    if labels.len() > MAX_LABELS {
        out.push(format!(
            "labels: at most {MAX_LABELS} labels are allowed, got {}",
            labels.len()
        ));
    }
    for (key, values) in labels {
        if key.is_empty() || key.len() > MAX_LEN {
            out.push(format!(
                "labels: key '{key}' must be 1 to {MAX_LEN} characters long"
            ));
        }
        if values.len() > MAX_LABELS {
            out.push(format!(
                "labels: key '{key}' has {} values; at most {MAX_LABELS} are allowed",
                values.len()
            ));
        }
        if values.iter().any(|v| v.len() > MAX_LEN) {
            out.push(format!(
                "labels: a value of key '{key}' is longer than {MAX_LEN} characters"
            ));
        }
    }
    out
}

async fn get_labels(
    State(state): State<Shared>,
    caller: BtpCaller,
    Path(guid): Path<String>,
) -> Response {
    let path = format!("/accounts/v1/subaccounts/{guid}/labels");
    match state
        .world()
        .subaccounts
        .get(&guid)
        .filter(|s| caller.sees(&s.global_account))
    {
        Some(s) => errors::json_response(StatusCode::OK, labels_body(s)),
        None => not_found(&guid, &path),
    }
}

async fn put_labels(
    State(state): State<Shared>,
    caller: BtpCaller,
    Path(guid): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/accounts/v1/subaccounts/{guid}/labels");
    #[derive(serde::Deserialize)]
    struct Put {
        labels: BTreeMap<String, Vec<String>>,
    }
    let Ok(put) = serde_json::from_slice::<Put>(&body) else {
        return errors::btp_invalid_payload(
            &path,
            &["labels: expected {\"labels\": {\"key\": [\"value\"]}}".to_owned()],
        );
    };
    let mut world = state.world();
    let Some(s) = world
        .subaccounts
        .get_mut(&guid)
        .filter(|s| caller.sees(&s.global_account))
    else {
        return not_found(&guid, &path);
    };
    let broken = broken_rules(&put.labels);
    if !broken.is_empty() {
        return errors::btp_invalid_payload(&path, &broken);
    }
    s.labels = put.labels;
    s.modified_ms = crate::world::now_ms();
    errors::json_response(StatusCode::OK, labels_body(s))
}

async fn delete_labels(
    State(state): State<Shared>,
    caller: BtpCaller,
    Path(guid): Path<String>,
) -> Response {
    let path = format!("/accounts/v1/subaccounts/{guid}/labels");
    let mut world = state.world();
    let Some(s) = world
        .subaccounts
        .get_mut(&guid)
        .filter(|s| caller.sees(&s.global_account))
    else {
        return not_found(&guid, &path);
    };
    s.labels.clear();
    s.modified_ms = crate::world::now_ms();
    errors::json_response(StatusCode::OK, labels_body(s))
}
