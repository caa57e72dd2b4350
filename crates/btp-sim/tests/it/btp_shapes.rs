//! The BTP cassettes (tests/fixtures/recorded/btp-cli-terraform) go through the BTP CLI server,
//! which wraps the REST services, so they cannot be replayed as requests. Their bodies still show
//! the backend objects: this test compares the shapes of subaccounts, entitlement assignments and
//! Service Manager offerings, plans, instances, operations, bindings and errors that the simulator
//! serves with the recorded ones.

use serde_json::{Value, json};

use crate::cassette::{self, shape_diff};
use crate::{Api, small_world, start};

/// Differences accepted on purpose: (what, JSON path prefix, reason).
const EXEMPTIONS: &[(&str, &str, &str)] = &[
    (
        "subaccount",
        "$.createdDate",
        "the CLI formats dates as text; REST sends epoch ms (btp-api.md §3.2, crossplane spec patch)",
    ),
    ("subaccount", "$.modifiedDate", "as createdDate"),
    (
        "subaccount",
        "$.contractStatus",
        "added by the CLI server; not in the Accounts REST spec",
    ),
    (
        "subaccount",
        "$.lastModifiedBy",
        "added by the CLI server; not in the Accounts REST spec",
    ),
    (
        "subaccount",
        "$.customProperties",
        "deprecated in the REST spec; only set on some recorded subaccounts",
    ),
    (
        "subaccount",
        "$.labels",
        "only present when a subaccount has labels",
    ),
    (
        "subaccount",
        "$.parentFeatures",
        "REST spec field the CLI omits",
    ),
    (
        "subaccount",
        "$.description",
        "required by the REST spec; the CLI omits it when empty (the recorded subaccount has none)",
    ),
    (
        "sm offering",
        "$.metadata.",
        "broker-defined free-form catalog metadata (recorded: xsuaa's)",
    ),
    (
        "sm plan",
        "$.metadata.",
        "broker-defined free-form catalog metadata (recorded: xsuaa's)",
    ),
    (
        "sm plan",
        "$.labels",
        "the CLI renders SM labels as a string",
    ),
    (
        "sm plan",
        "$.schemas.service_instance.create.parameters.",
        "broker-defined JSON schema contents (recorded: xsuaa's)",
    ),
    (
        "sm plan",
        "$.schemas.service_instance.update.parameters.",
        "broker-defined JSON schema contents",
    ),
    (
        "sm plan",
        "$.schemas.service_binding.create.parameters.",
        "broker-defined JSON schema contents",
    ),
    (
        "sm binding create",
        "$.credentials",
        "the SM spec returns credentials with a 201; the CLI output replaces them with redacted `username`/`password`",
    ),
    ("sm binding create", "$.username", "CLI output artefact"),
    ("sm binding create", "$.password", "CLI output artefact"),
    ("sm binding create", "$.labels", "as for instances"),
    (
        "assignment",
        "$.billingObject",
        "billing objects are not simulated",
    ),
    (
        "assignment",
        "$.availableBillingObjects",
        "billing objects are not simulated",
    ),
    (
        "assignment",
        "$.parentAssignedBillingObject",
        "billing objects are not simulated",
    ),
    (
        "sm instance",
        "$.labels",
        "the CLI renders SM labels as a string \"k = v\"; REST has {\"k\":[\"v\"]} (btp-api.md §6)",
    ),
    ("sm binding", "$.labels", "as for instances"),
    (
        "sm binding",
        "$.credentials.",
        "credentials are offering-specific (recorded: alert-notification); Cloud ALM keys are checked in flows.rs",
    ),
    (
        "sm binding",
        "$.username",
        "CLI output artefact (redacted duplicate of credentials), not a binding field in the SM spec",
    ),
    ("sm binding", "$.password", "as username"),
];

fn recorded(file: &str, command: &str, pick: impl Fn(&Value) -> Option<Value>) -> Value {
    let cassette = cassette::load(&cassette::fixtures("btp-cli-terraform").join(file));
    cassette
        .interactions
        .iter()
        .filter(|i| i.request.url.contains(command))
        .filter_map(|i| i.response.json())
        .find_map(|b| pick(&b))
        .unwrap_or_else(|| panic!("{file}: no {command} body"))
}

fn compare(what: &str, recorded: &Value, served: &Value, failures: &mut Vec<String>) {
    let exempt = |p: &str| {
        EXEMPTIONS
            .iter()
            .any(|(w, prefix, _)| *w == what && p.starts_with(prefix))
    };
    let mut diffs = Vec::new();
    shape_diff(recorded, served, "$", &exempt, &mut diffs);
    failures.extend(diffs.into_iter().map(|d| format!("{what}: {d}")));
}

#[tokio::test]
async fn btp_objects_have_the_recorded_shapes() {
    let (mut world, sub, _) = small_world();
    world.entitle(&sub, "SAPCloudALMAPIs", "standard", 1);
    let sim = start(world).await;
    let api = Api::new(&sim);
    let admin = api.cis_login(&sim, "ga-one", "admin").await;
    let mut failures = Vec::new();

    let subaccounts = api
        .call("GET", "/accounts/v1/subaccounts", &admin, None)
        .await
        .body;
    let rec = recorded("datasource_subaccounts.all.yaml", "subaccount?list", |b| {
        b["value"].get(0).cloned()
    });
    compare("subaccount", &rec, &subaccounts["value"][0], &mut failures);

    let assignments = api
        .call(
            "GET",
            &format!("/entitlements/v1/assignments?subaccountGUID={sub}"),
            &admin,
            None,
        )
        .await
        .body;
    let rec = recorded(
        "resource_subaccount_entitlement.dir_hierarchy.yaml",
        "entitlement?list",
        |b| {
            b["assignedServices"]
                .as_array()?
                .iter()
                .flat_map(|s| s["servicePlans"].as_array().cloned().unwrap_or_default())
                .find_map(|p| p["assignmentInfo"].get(0).cloned())
        },
    );
    compare(
        "assignment",
        &rec,
        &assignments["assignedServices"][0]["servicePlans"][0]["assignmentInfo"][0],
        &mut failures,
    );

    let put = api
        .call("PUT", "/entitlements/v1/subaccountServicePlans", &admin, Some(json!({"subaccountServicePlans": [{"serviceName": "SAPCloudALMAPIs", "servicePlanName": "standard", "assignmentInfo": [{"subaccountGUID": sub, "amount": 2}]}]})))
        .await;
    let rec = recorded(
        "resource_subaccount_entitlement.dir_hierarchy.yaml",
        "entitlement?assign",
        |b| Some(b.clone()),
    );
    compare("entitlement job", &rec, &put.body, &mut failures);

    // Service Manager, through the subaccount's SM binding from the Accounts API.
    let binding = api
        .call(
            "POST",
            &format!("/accounts/v1/subaccounts/{sub}/serviceManagementBinding"),
            &admin,
            None,
        )
        .await;
    assert_eq!(binding.status, 201, "{}", binding.body);
    assert_eq!(binding.body["sm_url"], sim.url());
    let basic = format!(
        "Basic {}",
        crate::flows::base64_encode(&format!(
            "{}:{}",
            binding.body["clientid"].as_str().unwrap_or_default(),
            binding.body["clientsecret"].as_str().unwrap_or_default()
        ))
    );
    let sm = api
        .form(
            "/oauth/token",
            Some(&basic),
            &[("grant_type", "client_credentials")],
        )
        .await
        .body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let offerings = api
        .call(
            "GET",
            "/v1/service_offerings?fieldQuery=catalog_name%20eq%20%27SAPCloudALMAPIs%27",
            &sm,
            None,
        )
        .await
        .body;
    let rec = recorded(
        "datasource_subaccount_service_offering.by_name.yaml",
        "offering?get",
        |b| Some(b.clone()),
    );
    compare("sm offering", &rec, &offerings["items"][0], &mut failures);
    let plans = api.call("GET", "/v1/service_plans", &sm, None).await.body;
    let rec = recorded(
        "datasource_subaccount_service_plan.by_name.yaml",
        "plan?get",
        |b| Some(b.clone()),
    );
    compare("sm plan", &rec, &plans["items"][0], &mut failures);

    let plan_id = plans["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let create = api.call("POST", "/v1/service_instances", &sm, Some(json!({"name": "calm-api", "service_plan_id": plan_id, "parameters": {}, "labels": {"org": ["testvalue"]}}))).await;
    assert_eq!(create.status, 202, "{}", create.body);
    let location = create
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.starts_with("/v1/service_instances/") && location.contains("/operations/"),
        "{location}"
    );
    let instance_id = location.split('/').nth(3).unwrap_or_default().to_owned();
    let in_progress = api
        .call(
            "GET",
            &format!("/v1/service_instances/{instance_id}"),
            &sm,
            None,
        )
        .await
        .body;
    let rec = recorded(
        "resource_subaccount_service_instance.with_parameters.yaml",
        "instance?get",
        |b| (b["ready"] == false && b.get("id").is_some()).then(|| b.clone()),
    );
    compare("sm instance", &rec, &in_progress, &mut failures);
    let mut operation = Value::Null;
    for _ in 0..100 {
        operation = api.call("GET", &location, &sm, None).await.body;
        if operation["state"] != "in progress" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(operation["type"], "create", "lowercase type: {operation}");
    let ready = api
        .call(
            "GET",
            &format!("/v1/service_instances/{instance_id}"),
            &sm,
            None,
        )
        .await
        .body;
    let rec = recorded(
        "resource_subaccount_service_instance.with_parameters.yaml",
        "instance?get",
        |b| (b["ready"] == true).then(|| b.clone()),
    );
    compare("sm instance", &rec, &ready, &mut failures);
    let listed = api
        .call(
            "GET",
            "/v1/service_instances?labelQuery=org%20eq%20%27testvalue%27",
            &sm,
            None,
        )
        .await
        .body;
    assert_eq!(listed["num_items"], 1, "{listed}");

    let parameters = api
        .call(
            "GET",
            &format!("/v1/service_instances/{instance_id}/parameters"),
            &sm,
            None,
        )
        .await;
    let rec = recorded(
        "resource_subaccount_service_instance.with_parameters.yaml",
        "instance?get",
        |b| (b["error"] == "BadRequest").then(|| b.clone()),
    );
    assert_eq!((parameters.status, &parameters.body), (400, &rec));

    let bound = api
        .call(
            "POST",
            "/v1/service_bindings?async=false",
            &sm,
            Some(json!({"name": "calm-key", "service_instance_id": instance_id})),
        )
        .await;
    assert_eq!(bound.status, 201, "{}", bound.body);
    let rec = recorded(
        "resource_subaccount_service_binding.yaml",
        "binding?create",
        |b| Some(b.clone()),
    );
    compare("sm binding create", &rec, &bound.body, &mut failures);
    let binding_id = bound.body["id"].as_str().unwrap_or_default().to_owned();
    let got = api
        .call(
            "GET",
            &format!("/v1/service_bindings/{binding_id}"),
            &sm,
            None,
        )
        .await
        .body;
    let rec = recorded(
        "resource_subaccount_service_binding.yaml",
        "binding?get",
        |b| b.get("credentials").map(|_| b.clone()),
    );
    compare("sm binding", &rec, &got, &mut failures);
    assert_eq!(got["credentials"]["uaa"]["url"], sim.url());

    let deleted = api
        .call(
            "DELETE",
            &format!("/v1/service_bindings/{binding_id}?async=false"),
            &sm,
            None,
        )
        .await;
    assert_eq!(deleted.status, 200);
    let gone = api
        .call(
            "GET",
            &format!("/v1/service_bindings/{binding_id}"),
            &sm,
            None,
        )
        .await;
    let rec = recorded(
        "resource_subaccount_service_binding.yaml",
        "binding?get",
        |b| (b["error"] == "NotFound").then(|| b.clone()),
    );
    assert_eq!((gone.status, &gone.body), (404, &rec));
    let deleted = api
        .call(
            "DELETE",
            &format!("/v1/service_instances/{instance_id}?async=false"),
            &sm,
            None,
        )
        .await;
    assert_eq!((deleted.status, &deleted.body), (200, &json!({})));
    let gone = api
        .call(
            "GET",
            &format!("/v1/service_instances/{instance_id}"),
            &sm,
            None,
        )
        .await;
    let rec = recorded(
        "resource_subaccount_service_instance.with_parameters.yaml",
        "instance?get",
        |b| (b["error"] == "NotFound").then(|| b.clone()),
    );
    assert_eq!((gone.status, &gone.body), (404, &rec));

    for (what, path, reason) in EXEMPTIONS {
        println!("exempt: {what} {path}: {reason}");
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
