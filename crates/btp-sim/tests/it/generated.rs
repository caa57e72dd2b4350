//! SAP's generated credentials in a world (World::add_generated_cf / add_generated_sm): read
//! through the APIs as calmctl reads them, they have the shape the Landscape Management rules
//! check (btp-api.md §5.4, §10 item 8): a `<SID>_<client>_<system number>` name, no labels,
//! `instance-secret` with Cloud Foundry and `binding-secret` without, the subaccount's identity
//! zone, and client credentials that get a token. Only a Space Developer reads a CF key's details.

use btp_sim::world::RoleType;
use serde_json::Value;

use crate::{Api, small_world, start};

fn basic(credentials: &Value) -> String {
    let uaa = &credentials["uaa"];
    format!(
        "Basic {}",
        crate::flows::base64_encode(&format!(
            "{}:{}",
            uaa["clientid"].as_str().unwrap_or_default(),
            uaa["clientsecret"].as_str().unwrap_or_default()
        ))
    )
}

#[tokio::test]
async fn generated_credentials_have_the_shape_landscape_management_accepts() {
    let (mut world, sub, org) = small_world();
    world.entitle(&sub, "SAPCloudALMAPIs", "standard", 1);
    let space = world.add_space(&org, "cloud-alm");
    world.add_user("colleague", "colleague-password");
    world.add_role("colleague", RoleType::OrganizationManager, &org);
    world.add_role("admin", RoleType::OrganizationUser, &org);
    world.add_role("admin", RoleType::SpaceDeveloper, &space);
    let cf = world
        .add_generated_cf(&space, "SAPCloudALM", "ABC_100_00")
        .unwrap();
    let sm = world
        .add_generated_sm(&sub, "SAPCloudALM", "DEF_200_01")
        .unwrap();
    let sim = start(world).await;
    let api = Api::new(&sim);

    // Cloud Foundry: the key as listed, its details for a Space Developer, a 404 for others.
    let admin = api.login("admin", "admin").await;
    let key = api
        .call(
            "GET",
            &format!("/v3/service_credential_bindings/{}", cf.key),
            &admin,
            None,
        )
        .await;
    assert_eq!(key.status, 200, "{}", key.body);
    assert_eq!(key.body["name"], "ABC_100_00");
    assert_eq!(key.body["metadata"]["labels"], serde_json::json!({}));
    let details_path = format!("/v3/service_credential_bindings/{}/details", cf.key);
    let details = api.call("GET", &details_path, &admin, None).await;
    assert_eq!(details.status, 200, "{}", details.body);
    let credentials = &details.body["credentials"];
    assert_eq!(credentials["uaa"]["credential-type"], "instance-secret");
    assert_eq!(credentials["uaa"]["identityzone"], "tenant-one");
    let token = api
        .form(
            "/oauth/token",
            Some(&basic(credentials)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.body);
    let colleague = api.login("colleague", "colleague-password").await;
    let hidden = api.call("GET", &details_path, &colleague, None).await;
    assert_eq!(
        hidden.status, 404,
        "an Org Manager does not see a key's credentials"
    );

    // Service Manager: the binding with its credentials, read with the subaccount's access.
    let cis = api.cis_login(&sim, "ga-one", "admin").await;
    let sm_token = api.sm_login(&cis, &sub).await;
    let binding = api
        .call(
            "GET",
            &format!("/v1/service_bindings/{}", sm.key),
            &sm_token,
            None,
        )
        .await;
    assert_eq!(binding.status, 200, "{}", binding.body);
    assert_eq!(binding.body["name"], "DEF_200_01");
    let credentials = &binding.body["credentials"];
    assert_eq!(credentials["uaa"]["credential-type"], "binding-secret");
    assert_eq!(credentials["uaa"]["identityzone"], "tenant-one");
    let token = api
        .form(
            "/oauth/token",
            Some(&basic(credentials)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.body);
}
