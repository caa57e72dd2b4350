//! `/_sim/...`: no login (the simulator listens on loopback), no faults, no latency.
//!
//! - `GET /_sim/state`: the whole world (with every key's and binding's credentials rendered);
//!   `PUT /_sim/state` replaces it with a world in the file format.
//! - `GET /_sim/stats`: request counters.
//! - `GET|PUT /_sim/faults`: the fault settings. A PUT body names a `profile` and/or any fields;
//!   fields override the profile's values.
//! - `GET|PUT /_sim/settings`: all settings (latency, job timings, token TTL, rate limits, faults).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::errors;
use crate::server::Shared;
use crate::settings::{Faults, Settings};
use crate::world::World;

fn bad_request(message: String) -> Response {
    errors::json_response(StatusCode::BAD_REQUEST, json!({"error": message}))
}

/// The world as JSON plus rendered credentials, so tests can see what a key holds.
pub fn state_json(state: &Shared) -> Value {
    let world = state.world();
    let mut body = serde_json::to_value(&*world).unwrap_or(Value::Null);
    let base = &state.base_url;
    let keys: serde_json::Map<String, Value> = world
        .service_keys
        .values()
        .filter_map(|k| {
            crate::cf::key_credentials_for_admin(&world, base, k).map(|c| (k.guid.clone(), c))
        })
        .collect();
    let bindings: serde_json::Map<String, Value> = world
        .sm_bindings
        .values()
        .filter_map(|b| {
            crate::sm::binding_credentials_for_admin(&world, base, b).map(|c| (b.id.clone(), c))
        })
        .collect();
    body["credentials"] = json!({"service_keys": keys, "sm_bindings": bindings});
    body
}

pub async fn state(State(state): State<Shared>) -> Response {
    errors::json_response(StatusCode::OK, state_json(&state))
}

pub async fn replace_state(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<World>(&body) {
        Ok(world) => {
            state.replace_world(world);
            errors::json_response(StatusCode::OK, json!({"replaced": true}))
        }
        Err(e) => bad_request(format!("not a world: {e}")),
    }
}

pub async fn stats(State(state): State<Shared>) -> Response {
    errors::json_response(StatusCode::OK, json!(state.stats.snapshot()))
}

pub async fn get_faults(State(state): State<Shared>) -> Response {
    errors::json_response(StatusCode::OK, json!(state.settings().faults))
}

/// Build faults from a JSON body: the named profile (or the current one), then the given fields.
pub fn faults_from(current: &Faults, body: &Value) -> Result<Faults, String> {
    let base = match body.get("profile").and_then(Value::as_str) {
        Some(name) => Faults::profile(name)
            .ok_or_else(|| format!("unknown fault profile `{name}` (none, flaky, chaos)"))?,
        None => current.clone(),
    };
    let mut merged = serde_json::to_value(base).map_err(|e| e.to_string())?;
    if let (Some(target), Some(given)) = (merged.as_object_mut(), body.as_object()) {
        for (k, v) in given {
            target.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(merged).map_err(|e| format!("invalid faults: {e}"))
}

pub async fn put_faults(State(state): State<Shared>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("body is not JSON".into());
    };
    match faults_from(&state.settings().faults, &body) {
        Ok(faults) => {
            state.update_settings(|s| s.faults = faults.clone());
            errors::json_response(StatusCode::OK, json!(faults))
        }
        Err(message) => bad_request(message),
    }
}

pub async fn get_settings(State(state): State<Shared>) -> Response {
    errors::json_response(StatusCode::OK, json!(state.settings()))
}

pub async fn put_settings(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Settings>(&body) {
        Ok(settings) => {
            state.update_settings(|s| *s = settings.clone());
            errors::json_response(StatusCode::OK, json!(settings))
        }
        Err(e) => bad_request(format!("invalid settings: {e}")),
    }
}
