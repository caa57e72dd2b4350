//! The label rules of Service Manager and of the Accounts API, Service Manager's answers after a
//! delete, and the Cloud Foundry router's 404 (FIDELITY.md §4, §5, §6).

use btp_sim::{Faults, SimHandle};
use serde_json::{Value, json};

use crate::{Api, small_world, start};

/// A simulator with one entitled subaccount, an admin's Cloud Management token and a Service
/// Manager token of that subaccount.
async fn service_manager() -> (SimHandle, Api, String, String, String) {
    let (mut world, sub, _) = small_world();
    world.entitle(&sub, "SAPCloudALMAPIs", "standard", 1);
    let sim = start(world).await;
    let api = Api::new(&sim);
    // The Accounts API takes a Cloud Management token (FIDELITY.md §2).
    let admin = api.cis_login(&sim, "ga-one", "admin").await;
    let sm = api.sm_login(&admin, &sub).await;
    (sim, api, admin, sm, sub)
}

fn create_body(name: &str, labels: Value) -> Value {
    json!({"name": name, "service_offering_name": "SAPCloudALMAPIs", "service_plan_name": "standard", "parameters": {}, "labels": labels})
}

/// Creates an instance synchronously; returns its id.
async fn instance(api: &Api, sm: &str, name: &str, labels: Value) -> String {
    let created = api
        .call(
            "POST",
            "/v1/service_instances?async=false",
            sm,
            Some(create_body(name, labels)),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap_or_default().to_owned()
}

fn assert_bad_request(reply: &crate::Reply, says: &str) {
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["error"], "BadRequest", "{}", reply.body);
    let description = reply.body["description"].as_str().unwrap_or_default();
    assert!(description.contains(says), "{description}");
}

#[tokio::test]
async fn service_manager_label_keys_and_values_are_1_to_255_characters_and_keys_have_no_whitespace()
{
    let (_sim, api, _, sm, _) = service_manager().await;
    let long = "v".repeat(256);
    let refused = [
        (json!({"cost center": ["1"]}), "cannot contain whitespaces"),
        (json!({"k\tey": ["1"]}), "cannot contain whitespaces"),
        (json!({"k": [long]}), "between 1 and 255"),
        (json!({"k": [""]}), "between 1 and 255"),
        (json!({"k".repeat(256): ["1"]}), "between 1 and 255"),
        (json!({"k": ["a\nb"]}), "new line"),
    ];
    for (i, (labels, says)) in refused.into_iter().enumerate() {
        let reply = api
            .call(
                "POST",
                "/v1/service_instances?async=false",
                &sm,
                Some(create_body(&format!("refused-{i}"), labels)),
            )
            .await;
        assert_bad_request(&reply, says);
    }
    let at_limit = json!({"k".repeat(255): ["v".repeat(255), "a value with spaces"]});
    let id = instance(&api, &sm, "at-limit", at_limit).await;

    // A PATCH is checked change by change, and a refused one changes nothing.
    let patch = |labels: Value| json!({"labels": labels});
    let path = format!("/v1/service_instances/{id}");
    let refused = [
        (
            json!([{"op": "add", "key": "k", "values": ["x".repeat(256)]}]),
            "between 1 and 255",
        ),
        (
            json!([{"op": "add", "key": "a b", "values": ["1"]}]),
            "cannot contain whitespaces",
        ),
        (json!([{"op": "add_values", "key": "k"}]), "requires values"),
        (json!([{"op": "add", "key": "k"}]), "requires values"),
        (
            json!([{"op": "remove_values", "key": "k", "values": []}]),
            "requires values",
        ),
        (
            json!([{"op": "replace", "key": "k", "values": ["1"]}]),
            "unsupported",
        ),
        (json!([{"op": "remove"}]), "required"),
    ];
    for (labels, says) in refused {
        let reply = api.call("PATCH", &path, &sm, Some(patch(labels))).await;
        assert_bad_request(&reply, says);
    }
    let read = api.call("GET", &path, &sm, None).await.body;
    assert_eq!(
        read["labels"].as_object().map(|l| l.len()),
        Some(1),
        "{read}"
    );
}

#[tokio::test]
async fn a_patch_stores_its_label_additions_before_its_removals() {
    let (_sim, api, _, sm, _) = service_manager().await;
    let id = instance(
        &api,
        &sm,
        "relabelled",
        json!({"hash": ["old"], "list": ["a", "b"]}),
    )
    .await;
    let path = format!("/v1/service_instances/{id}");
    let patch = json!({"labels": [
        {"op": "remove", "key": "hash"},
        {"op": "add", "key": "hash", "values": ["new"]},
        {"op": "remove_values", "key": "list", "values": ["a"]},
        {"op": "add_values", "key": "list", "values": ["c"]},
    ]});
    let reply = api.call("PATCH", &path, &sm, Some(patch)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let labels = &api.call("GET", &path, &sm, None).await.body["labels"];
    assert_eq!(
        labels.get("hash"),
        None,
        "remove + add of one key leaves no key: {labels}"
    );
    assert_eq!(labels["list"], json!(["b", "c"]), "{labels}");

    // In two requests, as SAP's service operator sends it, the key is replaced.
    let remove = json!({"labels": [{"op": "remove", "key": "list"}]});
    assert_eq!(
        api.call("PATCH", &path, &sm, Some(remove)).await.status,
        200
    );
    let add = json!({"labels": [{"op": "add", "key": "list", "values": ["z"]}]});
    assert_eq!(api.call("PATCH", &path, &sm, Some(add)).await.status, 200);
    let labels = &api.call("GET", &path, &sm, None).await.body["labels"];
    assert_eq!(labels["list"], json!(["z"]), "{labels}");
}

#[tokio::test]
async fn the_operation_of_a_deleted_instance_or_binding_is_no_longer_found() {
    let (_sim, api, _, sm, _) = service_manager().await;
    let id = instance(&api, &sm, "short-lived", json!({})).await;
    let binding = api
        .call(
            "POST",
            "/v1/service_bindings?async=false",
            &sm,
            Some(json!({"name": "key", "service_instance_id": id})),
        )
        .await;
    assert_eq!(binding.status, 201, "{}", binding.body);
    let binding_id = binding.body["id"].as_str().unwrap_or_default().to_owned();
    for path in [
        format!("/v1/service_bindings/{binding_id}"),
        format!("/v1/service_instances/{id}"),
    ] {
        let deleted = api.call("DELETE", &path, &sm, None).await;
        assert_eq!(deleted.status, 202, "{}", deleted.body);
        let location = deleted
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut last = api.call("GET", &location, &sm, None).await;
        for _ in 0..100 {
            if last.status != 200 {
                break;
            }
            assert_eq!(last.body["state"], "in progress", "{}", last.body);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            last = api.call("GET", &location, &sm, None).await;
        }
        assert_eq!(last.status, 404, "{location}: {}", last.body);
        assert_eq!(last.body["error"], "NotFound");
        assert_eq!(api.call("GET", &path, &sm, None).await.status, 404);
    }
}

#[tokio::test]
async fn the_router_answers_some_requests_with_404_unknown_route() {
    for profile in ["flaky", "chaos"] {
        let faults = Faults::profile(profile).unwrap_or_default();
        assert!(faults.unknown_route_rate > 0.0, "{profile}");
    }
    let (sim, api, admin, sm, sub) = service_manager().await;
    sim.set_faults(Faults {
        unknown_route_rate: 1.0,
        ..Faults::default()
    });
    for (path, token) in [
        ("/v1/service_instances".to_owned(), &sm),
        (format!("/accounts/v1/subaccounts/{sub}/labels"), &admin),
        ("/v3/spaces".to_owned(), &admin),
    ] {
        let reply = api
            .http
            .get(format!("{}{path}", api.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.status().as_u16(), 404, "{path}");
        let header = |name: &str| {
            reply
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("x-cf-routererror"), "unknown_route", "{path}");
        assert_eq!(header("content-type"), "text/plain; charset=utf-8");
        let body = reply.text().await.unwrap_or_default();
        assert!(
            body.starts_with("404 Not Found: Requested route ('127.0.0.1:")
                && body.ends_with("') does not exist.\n"),
            "{body:?}"
        );
    }
    sim.set_faults(Faults::default());
    assert_eq!(
        api.call("GET", "/v1/service_instances", &sm, None)
            .await
            .status,
        200
    );
}

fn assert_invalid_payload(reply: &crate::Reply, says: &str) {
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = &reply.body["error"];
    assert_eq!(error["code"], 11000, "{}", reply.body);
    assert_eq!(error["message"], "Request payload is invalid");
    assert!(error["correlationID"].is_string(), "{}", reply.body);
    assert_eq!(error["details"][0]["code"], 11001, "{}", reply.body);
    let detail = error["details"][0]["message"].as_str().unwrap_or_default();
    assert!(detail.contains(says), "{detail}");
}

#[tokio::test]
async fn subaccount_labels_take_10_keys_of_63_characters_and_a_put_replaces_them_all() {
    let (_sim, api, admin, _, sub) = service_manager().await;
    let path = format!("/accounts/v1/subaccounts/{sub}/labels");
    let put = |labels: Value| json!({"labels": labels});
    let keys = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("key-{i}"), json!([format!("v{i}")])))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let values = |n: usize| -> Vec<String> { (0..n).map(|i| format!("v{i}")).collect() };
    let refused = [
        (keys(11), "at most 10 labels"),
        (json!({"k": ["x".repeat(64)]}), "longer than 63"),
        (json!({"k".repeat(64): ["x"]}), "1 to 63"),
        (json!({"": ["x"]}), "1 to 63"),
        (json!({"k": values(11)}), "at most 10 are allowed"),
        (json!({}), "use DELETE"),
    ];
    for (labels, says) in refused {
        let reply = api.call("PUT", &path, &admin, Some(put(labels))).await;
        assert_invalid_payload(&reply, says);
    }
    let reply = api.call("PUT", &path, &admin, Some(put(keys(10)))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let full = json!({"k": ["x".repeat(63)], "tags": values(10)});
    let reply = api
        .call("PUT", &path, &admin, Some(put(full.clone())))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let read = api.call("GET", &path, &admin, None).await.body;
    assert_eq!(read["labels"], full, "the PUT replaced all ten keys");
    let deleted = api.call("DELETE", &path, &admin, None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let read = api.call("GET", &path, &admin, None).await.body;
    assert_eq!(read["labels"], json!({}));
}
