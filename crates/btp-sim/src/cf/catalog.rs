//! Service offerings and plans (btp-api.md §2.6). A plan is visible in an org once the org's
//! subaccount holds its entitlement, and a user sees it only in orgs it has a role in (CC's
//! `ServicePlanListFetcher` with `readable_org_ids_query`, btp-api.md §2.11); without an org
//! filter, a plan is listed if it is public or visible in any such org.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::link;
use super::query::ListQuery;
use crate::caller::CfCaller;
use crate::errors;
use crate::render::cf_time;
use crate::server::Shared;
use crate::world::{Access, Offering, Plan, World};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/service_offerings", get(list_offerings))
        .route("/v3/service_offerings/{guid}", get(get_offering))
        .route("/v3/service_plans", get(list_plans))
        .route("/v3/service_plans/{guid}", get(get_plan))
}

fn render_offering(base: &str, o: &Offering) -> Value {
    let mut catalog_metadata = o.catalog_metadata.clone();
    if let Some(m) = catalog_metadata.as_object_mut() {
        m.insert("sm_offering_id".into(), json!(o.sm_id));
    }
    json!({
        "guid": o.guid,
        "created_at": cf_time(o.created_ms),
        "updated_at": cf_time(o.created_ms),
        "name": o.name,
        "description": o.description,
        "available": true,
        "tags": o.tags,
        "requires": [],
        "shareable": false,
        "documentation_url": o.documentation_url,
        "broker_catalog": {
            "id": o.catalog_id,
            "metadata": catalog_metadata,
            "features": {
                "plan_updateable": false,
                "bindable": true,
                "instances_retrievable": o.instances_retrievable,
                "bindings_retrievable": o.bindings_retrievable,
                "allow_context_updates": false,
            },
        },
        "relationships": {"service_broker": {"data": {"guid": o.broker_guid}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": link(base, &format!("/v3/service_offerings/{}", o.guid)),
            "service_plans": link(base, &format!("/v3/service_plans?service_offering_guids={}", o.guid)),
            "service_broker": link(base, &format!("/v3/service_brokers/{}", o.broker_guid)),
        },
    })
}

fn render_plan(base: &str, p: &Plan) -> Value {
    let mut catalog_metadata = p.catalog_metadata.clone();
    if let Some(m) = catalog_metadata.as_object_mut() {
        m.insert("sm_plan_id".into(), json!(p.sm_id));
    }
    json!({
        "guid": p.guid,
        "created_at": cf_time(p.created_ms),
        "updated_at": cf_time(p.created_ms),
        "name": p.name,
        "visibility_type": if p.public { "public" } else { "organization" },
        "available": true,
        "free": p.free,
        "costs": [],
        "description": p.description,
        "maintenance_info": {},
        "broker_catalog": {
            "id": p.catalog_id,
            "metadata": catalog_metadata,
            "maximum_polling_duration": null,
            "features": {"bindable": true, "plan_updateable": false},
        },
        "schemas": p.schemas_or_default(),
        "relationships": {"service_offering": {"data": {"guid": p.offering}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": link(base, &format!("/v3/service_plans/{}", p.guid)),
            "service_offering": link(base, &format!("/v3/service_offerings/{}", p.offering)),
            "visibility": link(base, &format!("/v3/service_plans/{}/visibility", p.guid)),
        },
    })
}

/// Orgs named by `organization_guids` and by the orgs of `space_guids`; `None` when neither is given.
fn scope_orgs(world: &World, query: &ListQuery) -> Option<Vec<String>> {
    let mut orgs = query.list("organization_guids");
    if let Some(spaces) = query.list("space_guids") {
        let of_spaces = spaces
            .iter()
            .filter_map(|s| world.spaces.get(s))
            .map(|s| s.org.clone());
        orgs = Some(
            orgs.unwrap_or_default()
                .into_iter()
                .chain(of_spaces)
                .collect(),
        );
    }
    orgs
}

fn plan_visible(world: &World, access: &Access, plan: &Plan, orgs: Option<&[String]>) -> bool {
    match orgs {
        Some(orgs) => orgs
            .iter()
            .any(|o| access.reads_org(o) && world.plan_visible_in_org(plan, o)),
        None => {
            plan.public
                || access
                    .readable_orgs()
                    .any(|o| world.plan_visible_in_org(plan, o))
        }
    }
}

async fn list_plans(
    State(state): State<Shared>,
    caller: CfCaller,
    RawQuery(raw): RawQuery,
) -> Response {
    let allowed = [
        "names",
        "guids",
        "available",
        "service_offering_guids",
        "service_offering_names",
        "organization_guids",
        "space_guids",
        "service_instance_guids",
        "broker_catalog_ids",
    ];
    let query = match ListQuery::parse(raw.as_deref(), &allowed) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    let orgs = scope_orgs(&world, &query);
    let instance_plans = query.list("service_instance_guids").map(|guids| {
        guids
            .iter()
            .filter_map(|g| world.service_instances.get(g))
            .filter_map(|i| i.plan.clone())
            .collect::<Vec<_>>()
    });
    let items = world
        .plans
        .values()
        .filter(|p| {
            let offering = world
                .offerings
                .get(&p.offering)
                .map_or("", |o| o.name.as_str());
            query.passes("names", &p.name, true)
                && query.passes("guids", &p.guid, false)
                && query.passes("available", "true", false)
                && query.passes("service_offering_guids", &p.offering, false)
                && query.passes("service_offering_names", offering, true)
                && query.passes("broker_catalog_ids", &p.catalog_id, false)
                && instance_plans
                    .as_ref()
                    .is_none_or(|plans| plans.contains(&p.guid))
                && plan_visible(&world, &access, p, orgs.as_deref())
        })
        .map(|p| {
            (
                p.name.clone(),
                p.created_ms,
                p.created_ms,
                render_plan(&state.base_url, p),
            )
        })
        .collect();
    errors::json_response(
        StatusCode::OK,
        query.page_of(&state.base_url, "/v3/service_plans", items),
    )
}

async fn get_plan(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    match world
        .plans
        .get(&guid)
        .filter(|p| plan_visible(&world, &access, p, None))
    {
        Some(plan) => errors::json_response(StatusCode::OK, render_plan(&state.base_url, plan)),
        None => errors::cf_not_found("Service plan"),
    }
}

async fn list_offerings(
    State(state): State<Shared>,
    caller: CfCaller,
    RawQuery(raw): RawQuery,
) -> Response {
    let allowed = [
        "names",
        "guids",
        "available",
        "organization_guids",
        "space_guids",
        "service_broker_guids",
        "broker_catalog_ids",
    ];
    let query = match ListQuery::parse(raw.as_deref(), &allowed) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let world = state.world();
    let access = caller.access(&world);
    let orgs = scope_orgs(&world, &query);
    let items = world
        .offerings
        .values()
        .filter(|o| {
            query.passes("names", &o.name, true)
                && query.passes("guids", &o.guid, false)
                && query.passes("available", "true", false)
                && query.passes("service_broker_guids", &o.broker_guid, false)
                && query.passes("broker_catalog_ids", &o.catalog_id, false)
                && world.plans.values().any(|p| {
                    p.offering == o.guid && plan_visible(&world, &access, p, orgs.as_deref())
                })
        })
        .map(|o| {
            (
                o.name.clone(),
                o.created_ms,
                o.created_ms,
                render_offering(&state.base_url, o),
            )
        })
        .collect();
    errors::json_response(
        StatusCode::OK,
        query.page_of(&state.base_url, "/v3/service_offerings", items),
    )
}

async fn get_offering(
    State(state): State<Shared>,
    caller: CfCaller,
    Path(guid): Path<String>,
) -> Response {
    let world = state.world();
    let access = caller.access(&world);
    let visible = |o: &&Offering| {
        world
            .plans
            .values()
            .any(|p| p.offering == o.guid && plan_visible(&world, &access, p, None))
    };
    match world.offerings.get(&guid).filter(visible) {
        Some(o) => errors::json_response(StatusCode::OK, render_offering(&state.base_url, o)),
        None => errors::cf_not_found("Service offering"),
    }
}
