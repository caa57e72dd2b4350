//! Cloud Foundry v3 (Cloud Controller), the subset calmctl uses (btp-api.md §2).
//!
//! Every request is a user's, and the user's org and space roles decide what it sees and may
//! change (btp-api.md §2.11, `world::roles`): nobody is a Cloud Foundry admin, as no BTP user
//! is. What an org may use is governed by entitlements: a plan is visible in an org only once the
//! org's subaccount holds it (btp-api.md §2.6).

mod catalog;
mod instance_changes;
mod instances;
mod jobs;
mod keys;
pub(crate) mod metadata;
mod orgs;
pub(crate) mod query;
mod roles;
mod users;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::errors;
use crate::server::Shared;
use crate::world::landscapes;

/// CF's routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(root))
        .route("/v3", get(v3_root))
        .route("/v3/info", get(info))
        .merge(orgs::routes())
        .merge(catalog::routes())
        .merge(instances::routes())
        .merge(keys::routes())
        .merge(jobs::routes())
        .merge(roles::routes())
        .merge(users::routes())
}

/// `GET /`: the link document every client starts from (observed, cassette provider.user_pwd.yaml).
/// On the simulator's own address `login`, `uaa` and the CC all live there; asked as a landscape's
/// API host (world/landscapes.rs), it names that landscape's own hosts, as BTP's do.
async fn root(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let landscape = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(landscapes::parse_host)
        .filter(|(kind, _)| *kind == landscapes::HostKind::Api)
        .map(|(_, landscape)| landscape);
    let (base, login, uaa) = match &landscape {
        Some(l) => (
            format!("https://{}", landscapes::api_host(l)),
            format!("https://{}", landscapes::login_host(l)),
            format!("https://{}", landscapes::uaa_host(l)),
        ),
        None => (
            state.base_url.clone(),
            state.base_url.clone(),
            state.base_url.clone(),
        ),
    };
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    errors::json_response(
        StatusCode::OK,
        json!({"links": {
            "self": {"href": base},
            "cloud_controller_v3": {"href": format!("{base}/v3"), "meta": {"version": "3.194.0"}},
            "network_policy_v0": {"href": format!("{base}/networking/v0/external")},
            "network_policy_v1": {"href": format!("{base}/networking/v1/external")},
            "login": {"href": login},
            "uaa": {"href": uaa},
            "credhub": null,
            "routing": null,
            "logging": {"href": format!("ws://{host}/logging")},
            "log_cache": {"href": format!("{base}/log-cache")},
            "log_stream": {"href": format!("{base}/log-stream")},
            "app_ssh": {"href": format!("{host}:2222"), "meta": {"host_key_fingerprint": "btp-sim", "oauth_client": "ssh-proxy"}},
            "cloud_controller_v2": {"href": format!("{base}/v2"), "meta": {"version": "2.253.0"}},
        }}),
    )
}

async fn v3_root(State(state): State<Shared>) -> Response {
    let base = &state.base_url;
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!({"href": format!("{base}/v3")}));
    for name in [
        "organizations",
        "spaces",
        "service_offerings",
        "service_plans",
        "service_instances",
        "service_credential_bindings",
        "jobs",
        "roles",
        "users",
        "info",
    ] {
        links.insert(name.into(), json!({"href": format!("{base}/v3/{name}")}));
    }
    errors::json_response(StatusCode::OK, json!({"links": links}))
}

/// `GET /v3/info` (btp-api.md §2.1, shape from CC's docs `_info.erb`).
async fn info(State(state): State<Shared>) -> Response {
    errors::json_response(
        StatusCode::OK,
        json!({
            "build": "btp-sim",
            "cli_version": {"minimum": "", "recommended": ""},
            "custom": {},
            "description": "btp-sim: a simulator of SAP BTP Cloud Foundry",
            "name": "btp-sim",
            "version": 3,
            "osbapi_version": "2.15",
            "rate_limits": {"enabled": false, "general_limit": 20000, "reset_interval_in_minutes": 60},
            "links": {"self": {"href": format!("{}/v3/info", state.base_url)}, "support": {"href": "https://help.sap.com"}},
        }),
    )
}

/// Unknown routes: CC's "Unknown request" for CF paths, a plain 404 elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v3") || uri.path().starts_with("/v2") {
        errors::cf(
            StatusCode::NOT_FOUND,
            10000,
            "CF-NotFound",
            "Unknown request",
        )
    } else {
        errors::json_response(
            StatusCode::NOT_FOUND,
            json!({"error": "NotFound", "description": format!("no route for {}", uri.path())}),
        )
    }
}

/// A key's credentials, for `/_sim/state`.
pub(crate) fn key_credentials_for_admin(
    world: &crate::world::World,
    base: &str,
    key: &crate::world::ServiceKey,
) -> Option<Value> {
    keys::key_credentials(world, base, key)
}

/// Parse a JSON object body (CF answers 400 1001 otherwise).
pub(crate) fn body_object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(errors::cf_parse_error()),
    }
}

/// `relationships.<name>.data.guid` of a request body.
pub(crate) fn relationship(body: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    body.get("relationships")?
        .get(name)?
        .get("data")?
        .get("guid")?
        .as_str()
        .map(str::to_owned)
}

/// `{"href": base + path}`.
pub(crate) fn link(base: &str, path: &str) -> Value {
    json!({"href": format!("{base}{path}")})
}
