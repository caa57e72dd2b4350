//! Accounts service: subaccounts (unpaged `value`, epoch-ms dates) and the Service Manager binding
//! of a subaccount (btp-api.md §3.2).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::caller::BtpCaller;
use crate::errors;
use crate::server::Shared;
use crate::world::{ClientCredentials, Subaccount};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/accounts/v1/subaccounts", get(list))
        .route("/accounts/v1/subaccounts/{guid}", get(get_one))
        .route(
            "/accounts/v1/subaccounts/{guid}/serviceManagementBinding",
            get(get_sm_binding)
                .post(create_sm_binding)
                .delete(delete_sm_binding),
        )
}

fn render(s: &Subaccount) -> Value {
    let mut body = json!({
        "guid": s.guid,
        "technicalName": s.guid,
        "displayName": s.display_name,
        "description": s.description,
        "globalAccountGUID": s.global_account,
        "parentGUID": s.directory.as_deref().unwrap_or(&s.global_account),
        "parentType": if s.directory.is_some() { "FOLDER" } else { "ROOT" },
        "parentFeatures": [],
        "region": s.region,
        "subdomain": s.subdomain,
        "betaEnabled": false,
        "usedForProduction": s.used_for_production,
        "state": s.state,
        "stateMessage": "Subaccount created.",
        "createdBy": "btp-sim",
        // Epoch milliseconds on REST although the spec says date-time (btp-api.md §3.2 quirk).
        "createdDate": s.created_ms,
        "modifiedDate": s.modified_ms,
    });
    if !s.labels.is_empty() {
        body["labels"] = json!(s.labels);
    }
    body
}

pub(super) fn not_found(guid: &str, path: &str) -> Response {
    // Observed via the CLI server: "Subaccount <guid> not found [Error: 20004/404]".
    errors::btp(
        StatusCode::NOT_FOUND,
        20004,
        format!("Subaccount {guid} not found"),
        path,
    )
}

/// `labelSelector`: `key=value` / `key!=value` joined with ` AND ` (btp-api.md §3.2).
fn label_matches(s: &Subaccount, selector: &str) -> Option<bool> {
    let mut all = true;
    for part in selector.split(" AND ") {
        let part = part.trim();
        let (key, value, negate) = match part.split_once("!=") {
            Some((k, v)) => (k, v, true),
            None => {
                let (k, v) = part.split_once('=')?;
                (k, v, false)
            }
        };
        let has = s
            .labels
            .get(key.trim())
            .is_some_and(|vs| vs.iter().any(|v| v == value.trim()));
        all &= has != negate;
    }
    Some(all)
}

async fn list(State(state): State<Shared>, caller: BtpCaller, RawQuery(raw): RawQuery) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let directory = param("directoryGUID");
    let selector = param("labelSelector");
    let world = state.world();
    let mut value = Vec::new();
    for s in world
        .subaccounts
        .values()
        .filter(|s| caller.sees(&s.global_account))
    {
        if directory
            .as_ref()
            .is_some_and(|d| s.directory.as_ref() != Some(d))
        {
            continue;
        }
        if let Some(selector) = &selector {
            match label_matches(s, selector) {
                Some(true) => {}
                Some(false) => continue,
                None => {
                    return errors::btp(
                        StatusCode::BAD_REQUEST,
                        400,
                        "Invalid labelSelector",
                        "/accounts/v1/subaccounts",
                    );
                }
            }
        }
        value.push(render(s));
    }
    errors::json_response(StatusCode::OK, json!({"value": value}))
}

async fn get_one(
    State(state): State<Shared>,
    caller: BtpCaller,
    Path(guid): Path<String>,
) -> Response {
    let path = format!("/accounts/v1/subaccounts/{guid}");
    match state
        .world()
        .subaccounts
        .get(&guid)
        .filter(|s| caller.sees(&s.global_account))
    {
        Some(s) => errors::json_response(StatusCode::OK, render(s)),
        None => not_found(&guid, &path),
    }
}

/// `{"clientid","clientsecret","sm_url","url","xsappname"}` (btp-api.md §3.2, §4.1), pointing at
/// the simulator.
fn render_sm_binding(base: &str, binding: &ClientCredentials) -> Value {
    json!({
        "clientid": binding.client_id,
        "clientsecret": binding.client_secret,
        "sm_url": base,
        "url": base,
        "xsappname": binding.client_id.trim_start_matches("sb-"),
    })
}

async fn create_sm_binding(
    State(state): State<Shared>,
    caller: BtpCaller,
    Path(guid): Path<String>,
) -> Response {
    let path = format!("/accounts/v1/subaccounts/{guid}/serviceManagementBinding");
    let mut world = state.world();
    let visible = world
        .subaccounts
        .get(&guid)
        .is_some_and(|s| caller.sees(&s.global_account));
    if !visible {
        return not_found(&guid, &path);
    }
    if world
        .subaccounts
        .get(&guid)
        .is_some_and(|s| s.service_manager_binding.is_some())
    {
        return errors::btp(
            StatusCode::CONFLICT,
            409,
            "A Service Manager binding already exists for this subaccount",
            &path,
        );
    }
    let n = world.next_id;
    let binding = ClientCredentials {
        client_id: format!("sb-{}!b{n}|service-manager!b1", &guid[..8.min(guid.len())]),
        client_secret: world.secret_value(),
    };
    let rendered = render_sm_binding(&state.base_url, &binding);
    if let Some(s) = world.subaccounts.get_mut(&guid) {
        s.service_manager_binding = Some(binding);
    }
    errors::json_response(StatusCode::CREATED, rendered)
}

async fn get_sm_binding(
    State(state): State<Shared>,
    caller: BtpCaller,
    Path(guid): Path<String>,
) -> Response {
    let path = format!("/accounts/v1/subaccounts/{guid}/serviceManagementBinding");
    let world = state.world();
    let Some(s) = world
        .subaccounts
        .get(&guid)
        .filter(|s| caller.sees(&s.global_account))
    else {
        return not_found(&guid, &path);
    };
    match &s.service_manager_binding {
        Some(b) => errors::json_response(StatusCode::OK, render_sm_binding(&state.base_url, b)),
        None => errors::btp(
            StatusCode::NOT_FOUND,
            404,
            "No Service Manager binding exists for this subaccount",
            &path,
        ),
    }
}

async fn delete_sm_binding(
    State(state): State<Shared>,
    caller: BtpCaller,
    Path(guid): Path<String>,
) -> Response {
    let path = format!("/accounts/v1/subaccounts/{guid}/serviceManagementBinding");
    let mut world = state.world();
    let Some(s) = world
        .subaccounts
        .get_mut(&guid)
        .filter(|s| caller.sees(&s.global_account))
    else {
        return not_found(&guid, &path);
    };
    if s.service_manager_binding.take().is_none() {
        return errors::btp(
            StatusCode::NOT_FOUND,
            404,
            "No Service Manager binding exists for this subaccount",
            &path,
        );
    }
    StatusCode::OK.into_response()
}
