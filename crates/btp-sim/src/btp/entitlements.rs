//! Entitlements service: assignments with `entityState`, the async `PUT subaccountServicePlans`
//! (202 + job id, quota checked) and job status (btp-api.md §3.3).

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::{Value, json};

use crate::caller::BtpCaller;
use crate::errors;
use crate::server::Shared;
use crate::world::{
    Assignment, EntitlementChange, EntitlementJob, GlobalAccount, PendingKind, Subaccount, World,
    now_ms,
};

const PUT_PATH: &str = "/entitlements/v1/subaccountServicePlans";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/entitlements/v1/assignments", get(assignments))
        .route(PUT_PATH, put(assign))
        .route("/jobs-management/v1/jobs/{id}/status", get(job_status))
}

fn display_name(world: &World, service: &str) -> String {
    world
        .offerings
        .values()
        .find(|o| o.name == service)
        .map_or_else(|| service.to_owned(), |o| o.description.clone())
}

fn assigned_by(world: &World, ga: &GlobalAccount, service: &str, plan: &str) -> u32 {
    world
        .subaccounts
        .values()
        .filter(|s| s.global_account == ga.guid)
        .flat_map(|s| &s.entitlements)
        .filter(|a| a.service == service && a.plan == plan)
        .map(|a| a.amount)
        .sum()
}

fn render_assignment(world: &World, sub: &Subaccount, a: &Assignment) -> Value {
    let ga = world.global_accounts.get(&sub.global_account);
    let quota = ga
        .and_then(|g| {
            g.quotas
                .iter()
                .find(|q| q.service == a.service && q.plan == a.plan)
        })
        .and_then(|q| q.amount);
    let used = ga.map_or(0, |g| assigned_by(world, g, &a.service, &a.plan));
    json!({
        "entityId": sub.guid,
        "entityType": "SUBACCOUNT",
        "amount": a.amount,
        "requestedAmount": null,
        "entityState": a.state,
        "stateMessage": a.state_message,
        "autoAssign": false,
        "autoDistributeAmount": null,
        "createdDate": a.created_ms,
        "modifiedDate": a.modified_ms,
        "resources": [],
        "unlimitedAmountAssigned": quota.is_none(),
        "parentId": sub.global_account,
        "parentType": "GLOBAL_ACCOUNT",
        "parentRemainingAmount": quota.map(|q| f64::from(q.saturating_sub(used))),
        "parentAmount": quota.map(f64::from),
        "autoAssigned": false,
    })
}

fn plan_object(service: &str, plan: &str) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("name".into(), json!(plan));
    map.insert("displayName".into(), json!(plan));
    map.insert(
        "uniqueIdentifier".into(),
        json!(format!("{service}-{plan}")),
    );
    map.insert("category".into(), json!("SERVICE"));
    map.insert("beta".into(), json!(false));
    map.insert("maxAllowedSubaccountQuota".into(), Value::Null);
    map
}

async fn assignments(
    State(state): State<Shared>,
    caller: BtpCaller,
    RawQuery(raw): RawQuery,
) -> Response {
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
    let (sub_filter, service_filter, plan_filter) = (
        param("subaccountGUID"),
        param("serviceName"),
        param("planName"),
    );
    let world = state.world();
    if let Some(guid) = &sub_filter
        && !world
            .subaccounts
            .get(guid)
            .is_some_and(|s| caller.sees(&s.global_account))
    {
        return errors::btp(
            StatusCode::NOT_FOUND,
            404,
            format!("Subaccount {guid} not found"),
            "/entitlements/v1/assignments",
        );
    }
    let subs: Vec<&Subaccount> = world
        .subaccounts
        .values()
        .filter(|s| {
            caller.sees(&s.global_account) && sub_filter.as_ref().is_none_or(|g| &s.guid == g)
        })
        .collect();
    // assignedServices: service → plan → assignmentInfo[].
    let mut assigned: Vec<(String, String, Vec<Value>)> = Vec::new();
    for sub in &subs {
        for a in &sub.entitlements {
            if service_filter.as_ref().is_some_and(|s| s != &a.service)
                || plan_filter.as_ref().is_some_and(|p| p != &a.plan)
            {
                continue;
            }
            let info = render_assignment(&world, sub, a);
            match assigned
                .iter_mut()
                .find(|(s, p, _)| s == &a.service && p == &a.plan)
            {
                Some(entry) => entry.2.push(info),
                None => assigned.push((a.service.clone(), a.plan.clone(), vec![info])),
            }
        }
    }
    let mut services: Vec<Value> = Vec::new();
    for (service, plan, infos) in assigned {
        let mut p = plan_object(&service, &plan);
        p.insert("unlimited".into(), json!(false));
        p.insert("assignmentInfo".into(), json!(infos));
        services.push(json!({
            "name": service,
            "displayName": display_name(&world, &service),
            "businessCategory": {"id": "FOUNDATION_CROSS_SERVICES", "displayName": "Foundation / Cross Services"},
            "ownerType": "VENDOR",
            "servicePlans": [p],
        }));
    }
    // entitledServices: the quotas of the global accounts in view.
    let gas: Vec<&GlobalAccount> = world
        .global_accounts
        .values()
        .filter(|g| {
            caller.sees(&g.guid)
                && (sub_filter.is_none() || subs.iter().any(|s| s.global_account == g.guid))
        })
        .collect();
    let mut entitled = Vec::new();
    for ga in gas {
        for q in &ga.quotas {
            let mut p = plan_object(&q.service, &q.plan);
            let used = assigned_by(&world, ga, &q.service, &q.plan);
            p.insert("description".into(), json!(format!("{} plan", q.plan)));
            p.insert("provisioningMethod".into(), json!("SERVICE_BROKER"));
            p.insert("amount".into(), json!(q.amount.map(f64::from)));
            p.insert(
                "remainingAmount".into(),
                json!(q.amount.map(|a| f64::from(a.saturating_sub(used)))),
            );
            p.insert("unlimited".into(), json!(q.amount.is_none()));
            p.insert("autoAssign".into(), json!(false));
            p.insert("autoDistributeAmount".into(), Value::Null);
            p.insert("dataCenters".into(), json!([]));
            p.insert("sourceEntitlements".into(), json!([]));
            p.insert("resources".into(), Value::Null);
            entitled.push(json!({
                "name": q.service,
                "displayName": display_name(&world, &q.service),
                "description": display_name(&world, &q.service),
                "businessCategory": {"id": "FOUNDATION_CROSS_SERVICES", "displayName": "Foundation / Cross Services"},
                "ownerType": "VENDOR",
                "servicePlans": [p],
            }));
        }
    }
    errors::json_response(
        StatusCode::OK,
        json!({"assignedServices": services, "entitledServices": entitled, "fetchErrorFromExternalProviderRegistry": false}),
    )
}

fn bad_request(message: impl Into<String>) -> Response {
    errors::btp(StatusCode::BAD_REQUEST, 400, message, PUT_PATH)
}

/// Read the PUT body into changes; `enable` counts as amount 1/0.
fn parse_changes(body: &Value) -> Result<Vec<EntitlementChange>, Response> {
    let plans = body
        .get("subaccountServicePlans")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_request("subaccountServicePlans is required"))?;
    let mut changes = Vec::new();
    for plan in plans {
        let text = |k: &str| plan.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(service), Some(plan_name)) = (text("serviceName"), text("servicePlanName"))
        else {
            return Err(bad_request("serviceName and servicePlanName are required"));
        };
        let infos = plan
            .get("assignmentInfo")
            .and_then(Value::as_array)
            .ok_or_else(|| bad_request("assignmentInfo is required"))?;
        for info in infos {
            let Some(subaccount) = info.get("subaccountGUID").and_then(Value::as_str) else {
                return Err(bad_request("subaccountGUID is required"));
            };
            let amount = match (
                info.get("amount").and_then(Value::as_f64),
                info.get("enable").and_then(Value::as_bool),
            ) {
                // Amounts are whole numbers of units; fractions are refused rather than rounded.
                (Some(a), _) if a >= 0.0 && a.fract() == 0.0 && a <= f64::from(u32::MAX) => {
                    a as u32
                }
                (Some(_), _) => {
                    return Err(bad_request("amount must be a non-negative whole number"));
                }
                (None, Some(enable)) => u32::from(enable),
                (None, None) => return Err(bad_request("amount or enable is required")),
            };
            changes.push(EntitlementChange {
                subaccount: subaccount.to_owned(),
                service: service.clone(),
                plan: plan_name.clone(),
                amount,
                failure: None,
            });
        }
    }
    Ok(changes)
}

/// `PUT /entitlements/v1/subaccountServicePlans` → 202 `{"jobId": ..}`.
async fn assign(State(state): State<Shared>, caller: BtpCaller, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("Request body is not valid JSON");
    };
    let changes = match parse_changes(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Sets and sums made once per request: checked change by change against every subaccount,
    // a PUT for thousands of subaccounts took minutes under the world lock.
    let changed: HashSet<(&str, &str, &str)> = changes
        .iter()
        .map(|c| (c.subaccount.as_str(), c.service.as_str(), c.plan.as_str()))
        .collect();
    let mut requested: HashMap<(&str, &str), u32> = HashMap::new();
    for c in &changes {
        *requested.entry((&c.service, &c.plan)).or_default() += c.amount;
    }
    let mut world = state.world();
    if world.entitlement_jobs.values().any(|j| {
        j.status == "IN_PROGRESS"
            && j.changes.iter().any(|c| {
                changed.contains(&(c.subaccount.as_str(), c.service.as_str(), c.plan.as_str()))
            })
    }) {
        return errors::btp(
            StatusCode::CONFLICT,
            409,
            "An entitlement change for this subaccount and plan is in progress",
            PUT_PATH,
        );
    }
    let mut others_of: HashMap<(String, &str, &str), u32> = HashMap::new();
    for change in &changes {
        let Some(sub) = world
            .subaccounts
            .get(&change.subaccount)
            .filter(|s| caller.sees(&s.global_account))
        else {
            return errors::btp(
                StatusCode::NOT_FOUND,
                404,
                format!("Subaccount {} not found", change.subaccount),
                PUT_PATH,
            );
        };
        let Some(ga) = world.global_accounts.get(&sub.global_account) else {
            return errors::btp(
                StatusCode::NOT_FOUND,
                404,
                "Global account not found",
                PUT_PATH,
            );
        };
        let Some(quota) = ga
            .quotas
            .iter()
            .find(|q| q.service == change.service && q.plan == change.plan)
        else {
            return bad_request(format!(
                "Service plan {}/{} is not entitled to the global account",
                change.service, change.plan
            ));
        };
        if let Some(total) = quota.amount {
            let group = (
                ga.guid.clone(),
                change.service.as_str(),
                change.plan.as_str(),
            );
            let others = *others_of.entry(group).or_insert_with(|| {
                world
                    .subaccounts
                    .values()
                    .filter(|s| s.global_account == ga.guid)
                    .flat_map(|s| s.entitlements.iter().map(move |a| (s, a)))
                    .filter(|(s, a)| {
                        a.service == change.service
                            && a.plan == change.plan
                            && !changed.contains(&(s.guid.as_str(), &a.service, &a.plan))
                    })
                    .map(|(_, a)| a.amount)
                    .sum()
            });
            let requested = requested
                .get(&(change.service.as_str(), change.plan.as_str()))
                .copied()
                .unwrap_or(0);
            if others + requested > total {
                return bad_request(format!(
                    "Not enough quota of {}/{}: requested {requested}, available {}",
                    change.service,
                    change.plan,
                    total.saturating_sub(others)
                ));
            }
        }
    }
    let now = now_ms();
    let mut changes = changes;
    for c in &mut changes {
        c.failure = world
            .subaccounts
            .get(&c.subaccount)
            .and_then(|s| state.operation_fails(&s.subdomain));
    }
    let failure = changes.iter().find_map(|c| c.failure.clone());
    for change in &changes {
        if let Some(sub) = world.subaccounts.get_mut(&change.subaccount) {
            match sub
                .entitlements
                .iter_mut()
                .find(|a| a.service == change.service && a.plan == change.plan)
            {
                Some(a) => {
                    a.state = "PROCESSING".to_owned();
                    a.modified_ms = now;
                }
                None if change.amount > 0 => sub.entitlements.push(Assignment {
                    service: change.service.clone(),
                    plan: change.plan.clone(),
                    amount: change.amount,
                    state: "STARTED".to_owned(),
                    state_message: String::new(),
                    created_ms: now,
                    modified_ms: now,
                }),
                None => {}
            }
        }
    }
    let id = world.numeric_id();
    let due_ms = now + state.settings().jobs.entitlement_ms;
    world.entitlement_jobs.insert(
        id.clone(),
        EntitlementJob {
            id: id.clone(),
            changes,
            due_ms,
            status: "IN_PROGRESS".to_owned(),
            failure,
        },
    );
    world.schedule(due_ms, PendingKind::EntitlementJob(id.clone()));
    world.advance(now);
    errors::json_response(StatusCode::ACCEPTED, json!({"jobId": id}))
}

async fn job_status(State(state): State<Shared>, _: BtpCaller, Path(id): Path<String>) -> Response {
    let world = state.world();
    let Some(job) = world.entitlement_jobs.get(&id) else {
        return errors::btp(
            StatusCode::NOT_FOUND,
            404,
            format!("Job {id} not found"),
            "/jobs-management/v1/jobs",
        );
    };
    let description = job
        .failure
        .clone()
        .unwrap_or_else(|| "Update entitlements of subaccounts".to_owned());
    errors::json_response(
        StatusCode::OK,
        json!({"status": job.status, "description": description, "customParams": {}, "jobParams": {}, "statusDetails": {}}),
    )
}
