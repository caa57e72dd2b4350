//! Cloud Management (`cis`) key plans and scopes: `central` writes, `central-viewer` only reads,
//! a user's token holds what their global-account role allows, a key gets only the grant it is
//! for, and CF tokens are no Accounts tokens. A call outside the token's scopes gets 403 11004 and
//! changes nothing.

use btp_sim::{CisGrantType, CisPlan, SimHandle};
use serde_json::{Value, json};

use crate::flows::base64_encode;
use crate::{Api, Reply, small_world, start};

async fn token_of(api: &Api, key: &Value, form: &[(&str, &str)]) -> Reply {
    let basic = format!(
        "Basic {}",
        base64_encode(&format!(
            "{}:{}",
            key["uaa"]["clientid"].as_str().unwrap_or_default(),
            key["uaa"]["clientsecret"].as_str().unwrap_or_default()
        ))
    );
    api.form("/oauth/token", Some(&basic), form).await
}

async fn client_credentials(api: &Api, key: &Value) -> String {
    let reply = token_of(api, key, &[("grant_type", "client_credentials")]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The three writes calmctl makes with a cis key: a label (the lease), a Service Manager access
/// binding, an entitlement. Their statuses, in that order.
async fn writes(api: &Api, token: &str, sub: &str) -> Vec<Reply> {
    let label = api
        .call(
            "PUT",
            &format!("/accounts/v1/subaccounts/{sub}/labels"),
            token,
            Some(json!({"labels": {"owner": ["run-1"]}})),
        )
        .await;
    let binding = api
        .call(
            "POST",
            &format!("/accounts/v1/subaccounts/{sub}/serviceManagementBinding"),
            token,
            None,
        )
        .await;
    let entitlement = api
        .call("PUT", "/entitlements/v1/subaccountServicePlans", token, Some(json!({"subaccountServicePlans": [{"serviceName": "SAPCloudALMAPIs", "servicePlanName": "standard", "assignmentInfo": [{"subaccountGUID": sub, "amount": 1}]}]})))
        .await;
    vec![label, binding, entitlement]
}

fn assert_refused(replies: &[Reply]) {
    for reply in replies {
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert_eq!(reply.body["error"]["code"], 11004, "{}", reply.body);
        assert_eq!(
            reply.body["error"]["message"],
            "User is unauthorized for this operation"
        );
        assert!(reply.body["error"]["correlationID"].is_string());
    }
}

fn unchanged(sim: &SimHandle, sub: &str) {
    let world = sim.export_world();
    let s = &world.subaccounts[sub];
    assert!(s.labels.is_empty(), "no label was written: {:?}", s.labels);
    assert!(s.service_manager_binding.is_none(), "no binding was made");
    assert!(s.entitlements.is_empty(), "no entitlement was set");
    assert!(world.entitlement_jobs.is_empty());
}

async fn reads(api: &Api, token: &str, sub: &str) {
    for path in [
        "/accounts/v1/subaccounts".to_owned(),
        format!("/accounts/v1/subaccounts/{sub}"),
        format!("/accounts/v1/subaccounts/{sub}/labels"),
        format!("/entitlements/v1/assignments?subaccountGUID={sub}"),
    ] {
        let reply = api.call("GET", &path, token, None).await;
        assert!(
            reply.status == 200 || reply.status == 204,
            "{path}: {} {}",
            reply.status,
            reply.body
        );
    }
    let binding = api
        .call(
            "GET",
            &format!("/accounts/v1/subaccounts/{sub}/serviceManagementBinding"),
            token,
            None,
        )
        .await;
    assert_eq!(
        binding.status, 404,
        "read allowed, none there: {}",
        binding.body
    );
}

#[tokio::test]
async fn a_central_viewer_key_reads_but_every_write_gets_403_and_changes_nothing() {
    let (world, sub, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let key = sim
        .new_cis_key(
            "ga-one",
            CisPlan::CentralViewer,
            CisGrantType::ClientCredentials,
        )
        .unwrap_or_default();
    assert_eq!(key["grant_type"], "client_credentials");
    let token = client_credentials(&api, &key).await;
    reads(&api, &token, &sub).await;
    assert_refused(&writes(&api, &token, &sub).await);
    unchanged(&sim, &sub);
    assert!(
        sim.new_cis_key("ga-one", CisPlan::CentralViewer, CisGrantType::UserToken)
            .is_none(),
        "BTP offers no password-grant viewer key"
    );
}

#[tokio::test]
async fn a_central_key_of_either_grant_type_writes() {
    let (world, sub, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let key = sim
        .new_cis_key("ga-one", CisPlan::Central, CisGrantType::ClientCredentials)
        .unwrap_or_default();
    let token = client_credentials(&api, &key).await;
    let statuses: Vec<u16> = writes(&api, &token, &sub)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 201, 202]);
    let user = api.cis_login(&sim, "ga-one", "admin").await;
    let label = api
        .call(
            "DELETE",
            &format!("/accounts/v1/subaccounts/{sub}/labels"),
            &user,
            None,
        )
        .await;
    assert_eq!(label.status, 200, "{}", label.body);
}

#[tokio::test]
async fn a_global_account_viewer_gets_read_scopes_only_through_a_central_key() {
    let (mut world, sub, _) = small_world();
    world.add_user("reader", "reader");
    let ga = world
        .global_accounts
        .keys()
        .next()
        .cloned()
        .unwrap_or_default();
    world.add_global_account_viewer(&ga, "reader");
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.cis_login(&sim, "ga-one", "reader").await;
    reads(&api, &token, &sub).await;
    assert_refused(&writes(&api, &token, &sub).await);
    unchanged(&sim, &sub);
}

#[tokio::test]
async fn a_key_gets_only_the_grant_it_is_for() {
    let (world, _, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let password = [
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", "admin"),
    ];
    let user_key = sim.cis_key("ga-one").unwrap_or_default();
    assert_eq!(user_key["grant_type"], "user_token");
    let refused = token_of(&api, &user_key, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.body["error"], "invalid_client");
    assert_eq!(
        refused.body["error_description"],
        "Unauthorized grant type: client_credentials"
    );
    assert_eq!(token_of(&api, &user_key, &password).await.status, 200);

    for plan in [CisPlan::Central, CisPlan::CentralViewer] {
        let key = sim
            .new_cis_key("ga-one", plan, CisGrantType::ClientCredentials)
            .unwrap_or_default();
        let refused = token_of(&api, &key, &password).await;
        assert_eq!(refused.status, 401, "{plan:?}: {}", refused.body);
        assert_eq!(
            refused.body["error_description"],
            "Unauthorized grant type: password"
        );
    }
}

#[tokio::test]
async fn cf_tokens_and_other_global_accounts_keys_are_refused_by_the_accounts_api() {
    let (mut world, sub, _) = small_world();
    let other = world.add_global_account("ga-two", "eu10");
    let sim = start(world).await;
    let api = Api::new(&sim);
    let cf = api.login("admin", "admin").await;
    let reply = api
        .call("GET", &format!("/accounts/v1/subaccounts/{sub}"), &cf, None)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], 11004);
    let key = sim
        .new_cis_key(&other, CisPlan::Central, CisGrantType::ClientCredentials)
        .unwrap_or_default();
    let token = client_credentials(&api, &key).await;
    let reply = api
        .call(
            "GET",
            &format!("/accounts/v1/subaccounts/{sub}"),
            &token,
            None,
        )
        .await;
    assert_eq!(
        reply.status, 404,
        "another global account's subaccount is unknown: {}",
        reply.body
    );
}
