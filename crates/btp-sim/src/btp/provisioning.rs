//! Provisioning service: the environment instances of a global account's subaccounts
//! (btp-api.md §3.6). Only Cloud Foundry environments exist in the simulator: one per org tied to
//! a subaccount (world/landscapes.rs).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::caller::BtpCaller;
use crate::errors;
use crate::server::Shared;

pub fn routes() -> Router<Shared> {
    Router::new().route("/provisioning/v1/environments", get(list))
}

/// `GET /provisioning/v1/environments`: `{"environmentInstances":[...]}`, unpaged. The optional
/// `subaccountGUID` narrows the list; any other query parameter is refused (400), the stricter
/// reading of an API whose parameters calmctl does not need.
async fn list(State(state): State<Shared>, caller: BtpCaller, RawQuery(raw): RawQuery) -> Response {
    let path = "/provisioning/v1/environments";
    let mut subaccount = None;
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if key == "subaccountGUID" {
            subaccount = Some(value.into_owned());
        } else {
            return errors::btp(
                StatusCode::BAD_REQUEST,
                400,
                format!("Unknown query parameter {key}"),
                path,
            );
        }
    }
    let world = state.world();
    let instances: Vec<_> = world
        .environment_instances(caller.0.ga.as_deref())
        .into_iter()
        .filter(|e| {
            subaccount
                .as_deref()
                .is_none_or(|s| e["subaccountGUID"].as_str() == Some(s))
        })
        .collect();
    errors::json_response(StatusCode::OK, json!({ "environmentInstances": instances }))
}
