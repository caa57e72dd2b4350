//! End-to-end flows through the real HTTP surface.

use serde_json::json;

use btp_sim::World;

use crate::{Api, small_world, start};

#[tokio::test]
async fn cf_flow_entitle_then_instance_key_and_token_from_the_key() {
    let (world, sub, org) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.login("admin", "admin").await;
    // The Accounts and Entitlements APIs take tokens of a Cloud Management key, not CF's.
    let cis = api.cis_login(&sim, "ga-one", "admin").await;

    let space = api
        .call(
            "POST",
            "/v3/spaces",
            &token,
            Some(
                json!({"name": "calm", "relationships": {"organization": {"data": {"guid": org}}}}),
            ),
        )
        .await;
    assert_eq!(space.status, 201, "{}", space.body);
    let space_guid = space.body["guid"].as_str().unwrap_or_default().to_owned();
    // The Org Manager makes itself Org User and Space Developer of the new space (cf create-space).
    for (kind, target, place) in [
        ("organization_user", &org, "organization"),
        ("space_developer", &space_guid, "space"),
    ] {
        let role = json!({"type": kind, "relationships": {place: {"data": {"guid": target}}, "user": {"data": {"username": "admin", "origin": "uaa"}}}});
        let made = api.call("POST", "/v3/roles", &token, Some(role)).await;
        assert_eq!(made.status, 201, "{}", made.body);
    }

    // Before the entitlement the plan is invisible in the org.
    let plans = api.call("GET", &format!("/v3/service_plans?names=standard&service_offering_names=SAPCloudALMAPIs&organization_guids={org}"), &token, None).await;
    assert_eq!(
        plans.body["resources"].as_array().map(Vec::len),
        Some(0),
        "{}",
        plans.body
    );

    let put = api
        .call("PUT", "/entitlements/v1/subaccountServicePlans", &cis, Some(json!({"subaccountServicePlans": [{"serviceName": "SAPCloudALMAPIs", "servicePlanName": "standard", "assignmentInfo": [{"subaccountGUID": sub, "amount": 1}]}]})))
        .await;
    assert_eq!(put.status, 202, "{}", put.body);
    let job_id = put.body["jobId"].as_str().unwrap_or_default().to_owned();
    let mut status = String::new();
    for _ in 0..100 {
        status = api
            .call(
                "GET",
                &format!("/jobs-management/v1/jobs/{job_id}/status"),
                &cis,
                None,
            )
            .await
            .body["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status != "IN_PROGRESS" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "COMPLETED");
    let assignments = api
        .call(
            "GET",
            &format!("/entitlements/v1/assignments?subaccountGUID={sub}"),
            &cis,
            None,
        )
        .await;
    assert_eq!(
        assignments.body["assignedServices"][0]["servicePlans"][0]["assignmentInfo"][0]["entityState"],
        "OK"
    );

    let plans = api.call("GET", &format!("/v3/service_plans?names=standard&service_offering_names=SAPCloudALMAPIs&organization_guids={org}"), &token, None).await;
    let plan = plans.body["resources"][0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!plan.is_empty(), "{}", plans.body);

    let params = json!({"xs-security": {"xsappname": "calm-api", "oauth2-configuration": {"credential-types": ["instance-secret"]}}});
    let create = api
        .call("POST", "/v3/service_instances", &token, Some(json!({"type": "managed", "name": "calm-api", "parameters": params, "relationships": {"space": {"data": {"guid": space_guid}}, "service_plan": {"data": {"guid": plan}}}, "metadata": {"labels": {"calmctl.io/managed-by": "calmctl"}}})))
        .await;
    assert_eq!(create.status, 202, "{}", create.body);
    let location = create
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.starts_with(&format!("{}/v3/jobs/", sim.url())),
        "{location}"
    );
    let job = api.wait_job(&location, &token).await;
    assert_eq!(job["state"], "COMPLETE", "{job}");

    let listed = api
        .call(
            "GET",
            "/v3/service_instances?label_selector=calmctl.io%2Fmanaged-by%3Dcalmctl",
            &token,
            None,
        )
        .await;
    assert_eq!(
        listed.body["pagination"]["total_results"], 1,
        "{}",
        listed.body
    );
    let instance = listed.body["resources"][0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        listed.body["resources"][0]["last_operation"]["state"],
        "succeeded"
    );

    let mut secrets = Vec::new();
    for name in ["k1", "k2"] {
        let key = api.call("POST", "/v3/service_credential_bindings", &token, Some(json!({"type": "key", "name": name, "relationships": {"service_instance": {"data": {"guid": instance}}}}))).await;
        assert_eq!(key.status, 202, "{}", key.body);
        let location = key
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let job = api.wait_job(&location, &token).await;
        let key_href = job["links"]["service_credential_binding"]["href"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let details = api
            .call("GET", &format!("{key_href}/details"), &token, None)
            .await;
        let creds = &details.body["credentials"];
        assert_eq!(creds["endpoints"]["Api"], format!("{}/api", sim.url()));
        assert_eq!(creds["uaa"]["url"], sim.url());
        assert_eq!(creds["uaa"]["credential-type"], "instance-secret");
        assert_eq!(creds["uaa"]["identityzone"], "tenant-one");
        let (id, secret) = (
            creds["uaa"]["clientid"].as_str().unwrap_or_default(),
            creds["uaa"]["clientsecret"].as_str().unwrap_or_default(),
        );
        secrets.push(secret.to_owned());
        let basic = format!("Basic {}", base64_encode(&format!("{id}:{secret}")));
        let token_reply = api
            .form(
                "/oauth/token",
                Some(&basic),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(
            token_reply.status, 200,
            "key credentials must get a token: {}",
            token_reply.body
        );
    }
    assert_eq!(
        secrets[0], secrets[1],
        "instance-secret keys share one secret"
    );

    let duplicate = api.call("POST", "/v3/service_instances", &token, Some(json!({"type": "managed", "name": "calm-api", "relationships": {"space": {"data": {"guid": space_guid}}, "service_plan": {"data": {"guid": plan}}}}))).await;
    assert_eq!(duplicate.status, 422);
    assert_eq!(duplicate.body["errors"][0]["code"], 10008);
    assert_eq!(
        duplicate.body["errors"][0]["detail"],
        "The service instance name is taken: calm-api."
    );

    let parameters = api
        .call(
            "GET",
            &format!("/v3/service_instances/{instance}/parameters"),
            &token,
            None,
        )
        .await;
    assert_eq!(
        (
            parameters.status,
            parameters.body["errors"][0]["code"].as_u64()
        ),
        (400, Some(120004))
    );

    let delete = api
        .call("DELETE", &format!("/v3/spaces/{space_guid}"), &token, None)
        .await;
    assert_eq!(delete.status, 202);
    let location = delete
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(api.wait_job(&location, &token).await["state"], "COMPLETE");
    let gone = api
        .call(
            "GET",
            &format!("/v3/service_instances/{instance}"),
            &token,
            None,
        )
        .await;
    assert_eq!(
        (gone.status, gone.body["errors"][0]["code"].as_u64()),
        (404, Some(10010))
    );
    sim.stop().await;
}

pub fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn bad_logins_and_tokens_use_the_real_error_shapes() {
    let (world, _, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let bad = api
        .form(
            "/oauth/token",
            Some("Basic Y2Y6"),
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "nope"),
            ],
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.body,
        json!({"error": "unauthorized", "error_description": "Bad credentials"})
    );
    let invalid = api.call("GET", "/v3/organizations", "garbage", None).await;
    assert_eq!(
        (invalid.status, invalid.body["errors"][0]["code"].as_u64()),
        (401, Some(1000))
    );
    let missing = api
        .http
        .get(format!("{}/v3/organizations", sim.url()))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(missing, 401);
    let accounts = api
        .call("GET", "/accounts/v1/subaccounts", "garbage", None)
        .await;
    assert_eq!(accounts.status, 401);
    assert!(
        accounts.body["error"]["code"].is_number(),
        "{}",
        accounts.body
    );
}

/// The quota check of `PUT subaccountServicePlans` counts the other subaccounts' assignments and
/// what the request asks, not the assignments the request replaces.
#[tokio::test]
async fn an_entitlement_change_is_checked_against_the_quota_it_leaves() {
    let mut world = World::new(1);
    world.add_user("admin", "admin");
    let ga = world.add_global_account("ga-one", "eu10");
    world.add_quota(&ga, "SAPCloudALMAPIs", "standard", Some(3));
    let one = world.add_subaccount(&ga, "tenant-one", "eu10", None);
    let two = world.add_subaccount(&ga, "tenant-two", "eu10", None);
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.cis_login(&sim, "ga-one", "admin").await;
    let put = |amounts: Vec<(&String, u32)>| {
        let info: Vec<_> = amounts
            .iter()
            .map(|(sub, amount)| json!({"subaccountGUID": sub, "amount": amount}))
            .collect();
        let body = json!({"subaccountServicePlans": [{"serviceName": "SAPCloudALMAPIs", "servicePlanName": "standard", "assignmentInfo": info}]});
        let (api, token) = (&api, &token);
        async move {
            api.call(
                "PUT",
                "/entitlements/v1/subaccountServicePlans",
                token,
                Some(body),
            )
            .await
        }
    };
    let wait = |reply: crate::Reply| {
        let (api, token) = (&api, &token);
        async move {
            let job = reply.body["jobId"].as_str().unwrap_or_default().to_owned();
            for _ in 0..100 {
                let status = api
                    .call(
                        "GET",
                        &format!("/jobs-management/v1/jobs/{job}/status"),
                        token,
                        None,
                    )
                    .await;
                if status.body["status"] != "IN_PROGRESS" {
                    return status.body["status"].clone();
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            panic!("job {job} did not finish");
        }
    };

    let too_much = put(vec![(&one, 2), (&two, 2)]).await;
    assert_eq!(too_much.status, 400, "{}", too_much.body);
    assert!(
        too_much
            .body
            .to_string()
            .contains("requested 4, available 3"),
        "{}",
        too_much.body
    );
    let fits = put(vec![(&one, 2), (&two, 1)]).await;
    assert_eq!(fits.status, 202, "{}", fits.body);
    assert_eq!(wait(fits).await, "COMPLETED");
    // `one` keeps 2: raising `two` to 2 would need 4.
    let raise = put(vec![(&two, 2)]).await;
    assert_eq!(raise.status, 400, "{}", raise.body);
    // Lowering `one` in the same request makes room.
    let swap = put(vec![(&one, 1), (&two, 2)]).await;
    assert_eq!(swap.status, 202, "{}", swap.body);
    assert_eq!(wait(swap).await, "COMPLETED");
    // A subaccount BTP does not know refuses the whole request.
    let unknown = "00000000-0000-4000-8000-0000000000ff".to_owned();
    let stranger = put(vec![(&unknown, 1), (&one, 1)]).await;
    assert_eq!(stranger.status, 404, "{}", stranger.body);
}
