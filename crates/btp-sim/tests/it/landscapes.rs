//! Landscapes: each Cloud Foundry landscape is a host of its own, with its own orgs and its own
//! UAA, chosen by the `Host` a request names; the Provisioning service lists each subaccount's
//! Cloud Foundry environment instance (btp-api.md §3.6, FIDELITY.md section "Landscapes").

use btp_sim::world::RoleType;
use btp_sim::{SimHandle, World};
use serde_json::Value;

use crate::{Api, start};

/// Two subaccounts of one global account in `eu10`: one with its org on `eu10`, one on the
/// extension landscape `eu10-004`; a third in `cn20` (China's domain); orgs not named like
/// their subaccounts; `admin` Org Manager of every org.
fn world() -> World {
    let mut world = World::new(3);
    world.add_user("admin", "admin");
    let ga = world.add_global_account("ga-one", "eu10");
    let plain = world.add_subaccount(&ga, "sub-plain", "eu10", None);
    let extension = world.add_subaccount(&ga, "sub-ext", "eu10", None);
    let china = world.add_subaccount(&ga, "sub-cn", "cn20", None);
    world.add_subaccount(&ga, "sub-none", "eu10", None);
    for (name, sub, landscape) in [
        ("Plain Org", &plain, ""),
        ("Extension Org", &extension, "eu10-004"),
        ("China Org", &china, ""),
    ] {
        let org = world.add_org(name, Some(sub));
        if let Some(o) = world.orgs.get_mut(&org) {
            o.landscape = landscape.to_owned();
        }
        world.add_role("admin", RoleType::OrganizationManager, &org);
    }
    world
}

/// A request as if sent to `host` (the simulator routes on the `Host` header).
async fn on_host(
    api: &Api,
    host: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = api
        .http
        .request(method, format!("{}{path}", api.base))
        .header("host", host);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let body =
        serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    (status, body)
}

/// The password grant at a landscape's UAA host.
async fn login_on(api: &Api, uaa_host: &str) -> String {
    let response = api
        .http
        .post(format!("{}/oauth/token", api.base))
        .header("host", uaa_host)
        .header("authorization", "Basic Y2Y6")
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["access_token"].as_str().unwrap_or_default().to_owned()
}

async fn org_names(api: &Api, host: &str, token: &str) -> Vec<String> {
    let (status, body) = on_host(api, host, "GET", "/v3/organizations", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    let mut names: Vec<String> = body["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

async fn started() -> (SimHandle, Api) {
    let sim = start(world()).await;
    let api = Api::new(&sim);
    (sim, api)
}

#[tokio::test]
async fn each_landscape_has_its_own_root_uaa_and_orgs() {
    let (sim, api) = started().await;
    let (status, root) = on_host(&api, "api.cf.eu10-004.hana.ondemand.com", "GET", "/", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        root["links"]["uaa"]["href"],
        "https://uaa.cf.eu10-004.hana.ondemand.com"
    );
    assert_eq!(
        root["links"]["login"]["href"],
        "https://login.cf.eu10-004.hana.ondemand.com"
    );
    let (_, china) = on_host(&api, "api.cf.cn20.platform.sapcloud.cn", "GET", "/", None).await;
    assert_eq!(
        china["links"]["uaa"]["href"],
        "https://uaa.cf.cn20.platform.sapcloud.cn"
    );

    let eu10 = login_on(&api, "uaa.cf.eu10.hana.ondemand.com").await;
    let ext = login_on(&api, "uaa.cf.eu10-004.hana.ondemand.com").await;
    let cn = login_on(&api, "uaa.cf.cn20.platform.sapcloud.cn").await;
    assert_eq!(
        org_names(&api, "api.cf.eu10.hana.ondemand.com", &eu10).await,
        ["Plain Org"]
    );
    assert_eq!(
        org_names(&api, "api.cf.eu10-004.hana.ondemand.com", &ext).await,
        ["Extension Org"]
    );
    assert_eq!(
        org_names(&api, "api.cf.cn20.platform.sapcloud.cn", &cn).await,
        ["China Org"]
    );

    // An org asked for on the wrong landscape does not exist there.
    let ext_guid = sim.with_world(|w| {
        w.orgs
            .values()
            .find(|o| o.name == "Extension Org")
            .map(|o| o.guid.clone())
            .unwrap_or_default()
    });
    let (status, body) = on_host(
        &api,
        "api.cf.eu10.hana.ondemand.com",
        "GET",
        &format!("/v3/organizations/{ext_guid}"),
        Some(&eu10),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["errors"][0]["code"], 10010);
    let (status, body) = on_host(
        &api,
        "api.cf.eu10.hana.ondemand.com",
        "POST",
        "/v3/spaces",
        Some(&eu10),
    )
    .await;
    assert!(status >= 400, "{body}");

    // A token of another landscape's UAA is an invalid token here.
    let (status, body) = on_host(
        &api,
        "api.cf.eu10.hana.ondemand.com",
        "GET",
        "/v3/organizations",
        Some(&ext),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["code"], 1000);

    // The simulator's own address still serves every landscape at once.
    let bare = api.login("admin", "admin").await;
    let (status, body) = api_call(&api, "/v3/organizations", &bare).await;
    assert_eq!(status, 200);
    assert_eq!(body["resources"].as_array().map(Vec::len), Some(3));
}

async fn api_call(api: &Api, path: &str, token: &str) -> (u16, Value) {
    let reply = api.call("GET", path, token, None).await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn environment_instances_say_where_each_org_is() {
    let (sim, api) = started().await;
    let token = api.cis_login(&sim, "ga-one", "admin").await;
    let reply = api
        .call("GET", "/provisioning/v1/environments", &token, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let instances = reply.body["environmentInstances"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // Three subaccounts have Cloud Foundry; `sub-none` has no environment instance.
    assert_eq!(instances.len(), 3);
    let by_org = |name: &str| -> Value {
        instances
            .iter()
            .find(|e| {
                let labels: Value =
                    serde_json::from_str(e["labels"].as_str().unwrap_or("{}")).unwrap_or_default();
                labels["Org Name"] == name
            })
            .cloned()
            .unwrap_or_else(|| panic!("no environment for {name}"))
    };
    let ext = by_org("Extension Org");
    let labels: Value =
        serde_json::from_str(ext["labels"].as_str().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(
        labels["API Endpoint"],
        "https://api.cf.eu10-004.hana.ondemand.com"
    );
    assert_eq!(ext["environmentType"], "cloudfoundry");
    assert_eq!(ext["landscapeLabel"], "cf-eu10-004");
    assert_eq!(labels["Org ID"], ext["platformId"]);
    let cn = by_org("China Org");
    let labels: Value =
        serde_json::from_str(cn["labels"].as_str().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(
        labels["API Endpoint"],
        "https://api.cf.cn20.platform.sapcloud.cn"
    );

    // A Cloud Foundry token holds no cis scope: 403 in the services' shape.
    let cf_token = api.login("admin", "admin").await;
    let refused = api
        .call("GET", "/provisioning/v1/environments", &cf_token, None)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], 11004);
    // Unknown query parameters are refused.
    let bad = api
        .call("GET", "/provisioning/v1/environments?foo=1", &token, None)
        .await;
    assert_eq!(bad.status, 400);
}
