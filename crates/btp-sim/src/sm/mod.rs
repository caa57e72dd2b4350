//! Service Manager (btp-api.md §4): catalog, instances, bindings, operations.
//!
//! SM calls are per subaccount: an SM client's token names its subaccount (`zid`). A user token
//! (e.g. the documented `admin`) may read across subaccounts but cannot create, because nothing
//! would say which subaccount the new object belongs to.

mod bindings;
mod instances;
mod labels;
mod operations;
pub(crate) mod query;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::caller::SmCaller;
use crate::errors;
use crate::render::sm_time;
use crate::server::Shared;
use crate::world::{SmOperation, Subaccount, World};

/// Service Manager routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/service_offerings", get(list_offerings))
        .route("/v1/service_plans", get(list_plans))
        .route("/v1/{kind}/{id}/operations/{operation}", get(get_operation))
        .merge(instances::routes())
        .merge(bindings::routes())
}

/// A binding's credentials, for `/_sim/state`.
pub(crate) fn binding_credentials_for_admin(
    world: &World,
    base: &str,
    binding: &crate::world::SmBinding,
) -> Option<Value> {
    bindings::credentials_of(world, base, binding)
}

/// Parsed list parameters.
pub(crate) struct SmList {
    fields: Vec<query::Criterion>,
    labels: Vec<query::Criterion>,
    max_items: usize,
    token: Option<String>,
}

impl SmList {
    pub(crate) fn parse(raw: Option<&str>) -> Result<Self, Response> {
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
        let parse = |name: &str| match param(name) {
            None => Ok(Vec::new()),
            Some(text) => query::parse(&text).ok_or_else(|| {
                errors::sm(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("invalid {name}: {text}"),
                )
            }),
        };
        let max_items = match param("max_items") {
            None => 50,
            Some(n) => n.parse().ok().filter(|n| *n <= 5000).ok_or_else(|| {
                errors::sm(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "max_items should be a number between 0 and 5000",
                )
            })?,
        };
        Ok(SmList {
            fields: parse("fieldQuery")?,
            labels: parse("labelQuery")?,
            max_items,
            token: param("token"),
        })
    }

    /// Filter rendered items (with their labels) and cut one page.
    pub(crate) fn respond(&self, items: Vec<(Value, crate::world::SmLabels)>) -> Response {
        let kept: Vec<Value> = items
            .into_iter()
            .filter(|(v, l)| {
                query::fields_match(v, &self.fields) && query::labels_match(l, &self.labels)
            })
            .map(|(v, _)| v)
            .collect();
        match query::page(kept, self.max_items, self.token.as_deref()) {
            Some(body) => errors::json_response(StatusCode::OK, body),
            None => errors::sm(StatusCode::BAD_REQUEST, "BadRequest", "invalid token"),
        }
    }
}

/// The `context` object of instances and bindings (observed via CLI).
pub(crate) fn context(world: &World, subaccount: &str, instance_name: &str) -> Value {
    let sub: Option<&Subaccount> = world.subaccounts.get(subaccount);
    json!({
        "origin": "sapbtp",
        "region": format!("cf-{}", sub.map_or("eu10", |s| s.region.as_str())),
        "zone_id": subaccount,
        "env_type": "sapbtp",
        "platform": "sapbtp",
        "subdomain": sub.map_or("", |s| s.subdomain.as_str()),
        "license_type": "SAPDEV",
        "instance_name": instance_name,
        "subaccount_id": subaccount,
        "crm_customer_id": "",
        "global_account_id": sub.map_or("", |s| s.global_account.as_str()),
    })
}

/// An operation (lowercase `type`, `resource_type` as a path: btp-api.md §4.3 quirks).
pub(crate) fn render_operation(op: &SmOperation) -> Value {
    let in_progress = op.state == "in progress";
    let mut body = json!({
        "id": op.id,
        "ready": true,
        "type": op.kind,
        "state": op.state,
        "resource_id": op.resource_id,
        "resource_type": format!("/v1/{}", op.resource_kind),
        "platform_id": "service-manager",
        "correlation_id": op.correlation_id,
        "reschedule": in_progress,
        "reschedule_timestamp": if in_progress { sm_time(op.due_ms) } else { "0001-01-01T00:00:00Z".to_owned() },
        "deletion_scheduled": "0001-01-01T00:00:00Z",
        "created_at": sm_time(op.created_ms),
        "updated_at": sm_time(op.updated_ms.max(op.created_ms)),
    });
    if op.state == "failed" {
        body["description"] = json!(op.description);
        body["errors"] = json!({"error": "BrokerError", "description": op.description});
    }
    body
}

async fn get_operation(
    State(state): State<Shared>,
    caller: SmCaller,
    Path((kind, id, operation)): Path<(String, String, String)>,
) -> Response {
    let world = state.world();
    let op = world.sm_operations.get(&operation).filter(|op| {
        op.resource_kind == kind && op.resource_id == id && caller.sees(&op.subaccount)
    });
    // Once its resource is deleted, an operation is no longer found: a poll of a finished delete
    // answers 404, which SAP's client takes as success (btp-api.md §10 item 4).
    let resource_exists = match kind.as_str() {
        "service_instances" => world.sm_instances.contains_key(&id),
        "service_bindings" => world.sm_bindings.contains_key(&id),
        _ => false,
    };
    if op.is_some() && !resource_exists {
        return operations::not_found(&kind);
    }
    match op {
        Some(op) => errors::json_response(StatusCode::OK, render_operation(op)),
        None => errors::sm(
            StatusCode::NOT_FOUND,
            "NotFound",
            "could not find such operation",
        ),
    }
}

/// Is an SM plan entitled in the caller's subaccount (all entitled plans for user callers)?
pub(crate) fn plan_available(world: &World, caller: &SmCaller, plan: &crate::world::Plan) -> bool {
    match caller.0.subaccount() {
        Some(sub) => world.plan_entitled(plan, world.subaccounts.get(sub)),
        None => {
            plan.public
                || world
                    .subaccounts
                    .values()
                    .any(|s| world.plan_entitled(plan, Some(s)))
        }
    }
}

async fn list_offerings(
    State(state): State<Shared>,
    caller: SmCaller,
    RawQuery(raw): RawQuery,
) -> Response {
    let list = match SmList::parse(raw.as_deref()) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let world = state.world();
    let items = world
        .offerings
        .values()
        .filter(|o| {
            world
                .plans
                .values()
                .any(|p| p.offering == o.guid && plan_available(&world, &caller, p))
        })
        .map(|o| {
            let v = json!({
                "id": o.sm_id, "ready": true, "name": o.name, "description": o.description,
                "bindable": true, "instances_retrievable": o.instances_retrievable,
                "bindings_retrievable": o.bindings_retrievable, "plan_updateable": false,
                "allow_context_updates": false, "tags": o.tags, "metadata": o.catalog_metadata,
                "broker_id": o.broker_guid, "catalog_id": o.catalog_id, "catalog_name": o.name,
                "created_at": sm_time(o.created_ms), "updated_at": sm_time(o.created_ms),
            });
            (v, Default::default())
        })
        .collect();
    list.respond(items)
}

async fn list_plans(
    State(state): State<Shared>,
    caller: SmCaller,
    RawQuery(raw): RawQuery,
) -> Response {
    let list = match SmList::parse(raw.as_deref()) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let world = state.world();
    let items = world
        .plans
        .values()
        .filter(|p| plan_available(&world, &caller, p))
        .map(|p| {
            let offering = world.offerings.get(&p.offering);
            let v = json!({
                "id": p.sm_id, "ready": true, "name": p.name, "description": p.description,
                "catalog_id": p.catalog_id, "catalog_name": p.name, "free": p.free,
                "metadata": p.catalog_metadata,
                "schemas": p.schemas_or_default(),
                "labels": {"commercial_name": [p.name]}, "service_offering_id": offering.map_or("", |o| o.sm_id.as_str()),
                "created_at": sm_time(p.created_ms), "updated_at": sm_time(p.created_ms),
            });
            (v, Default::default())
        })
        .collect();
    list.respond(items)
}
