//! Fault injection, rate limits, the admin API, and world export/import.

use btp_sim::world::RoleType;
use btp_sim::{Api as SimApi, Faults, Limit, Sim, World};
use serde_json::json;

use crate::{Api, small_world, start};

#[tokio::test]
async fn a_429_storm_uses_each_apis_own_retry_form_and_spares_the_admin_api() {
    let (world, _, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.login("admin", "admin").await;
    let storm = json!({"storm": {"apis": [], "requests": 3}});
    let put = api
        .http
        .put(format!("{}/_sim/faults", sim.url()))
        .json(&storm)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(put.ok(), Some(200));

    let cf = api.call("GET", "/v3/organizations", &token, None).await;
    assert_eq!(cf.status, 429);
    assert_eq!(
        cf.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/plain")
    );
    assert!(
        cf.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    assert_eq!(
        cf.body["errors"][0]["code"], 10013,
        "JSON body under text/plain"
    );

    let sm = api.call("GET", "/v1/service_instances", &token, None).await;
    assert_eq!(sm.status, 429);
    let date = sm
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        httpdate::parse_http_date(date).is_ok(),
        "SM Retry-After is an HTTP-date: {date}"
    );

    // The admin API is never throttled, even mid-storm.
    let stats = api
        .http
        .get(format!("{}/_sim/stats", sim.url()))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(stats.ok(), Some(200));

    let accounts = api
        .call("GET", "/accounts/v1/subaccounts", &token, None)
        .await;
    assert_eq!(accounts.status, 429);
    let reset: u64 = accounts
        .headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        reset > btp_sim::world::now_ms(),
        "X-Ratelimit-Reset is epoch ms: {reset}"
    );

    // The storm is over after three requests.
    assert_eq!(
        api.call("GET", "/v3/organizations", &token, None)
            .await
            .status,
        200
    );
    assert_eq!(sim.stats().throttled, 3);
}

#[tokio::test]
async fn rate_limits_and_cf_rate_headers() {
    let (world, _, _) = small_world();
    let sim = Sim::from_world(world)
        .settings(btp_sim::Settings {
            rate_limits: btp_sim::RateLimits {
                cf: Some(Limit {
                    requests: 2,
                    window_secs: 3600,
                }),
                ..Default::default()
            },
            ..Default::default()
        })
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let api = Api::new(&sim);
    let token = api.login("admin", "admin").await;
    let first = api.call("GET", "/v3/organizations", &token, None).await;
    assert_eq!(
        first
            .headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        api.call("GET", "/v3/spaces", &token, None).await.status,
        200
    );
    let third = api.call("GET", "/v3/spaces", &token, None).await;
    assert_eq!(
        (third.status, third.body["errors"][0]["title"].as_str()),
        (429, Some("CF-RateLimitExceeded"))
    );
    assert_eq!(
        third
            .headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok()),
        Some("0")
    );
    // GET / is not rate limited (btp-api.md §2.3).
    assert_eq!(
        api.http
            .get(format!("{}/", sim.url()))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok(),
        Some(200)
    );
    assert_eq!(
        SimApi::of_path("/v1/service_instances"),
        Some(SimApi::ServiceManager)
    );
}

#[tokio::test]
async fn chaos_is_reproducible_and_failed_jobs_keep_the_instance_for_a_replacing_create() {
    let (mut world, sub, org) = small_world();
    world.entitle(&sub, "SAPCloudALMAPIs", "standard", 1);
    let space = world.add_space(&org, "dev");
    world.add_role("admin", RoleType::SpaceDeveloper, &space);
    let plan = world
        .plans
        .values()
        .find(|p| p.name == "standard")
        .map(|p| p.guid.clone())
        .unwrap_or_default();
    let sim = start(world).await;
    sim.set_faults(Faults {
        fail_names: vec!["doomed".into()],
        ..Faults::default()
    });
    let api = Api::new(&sim);
    let token = api.login("admin", "admin").await;
    let body = json!({"type": "managed", "name": "doomed", "relationships": {"space": {"data": {"guid": space}}, "service_plan": {"data": {"guid": plan}}}});
    let create = api
        .call("POST", "/v3/service_instances", &token, Some(body.clone()))
        .await;
    let location = create
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let job = api.wait_job(&location, &token).await;
    assert_eq!(job["state"], "FAILED");
    assert_eq!(job["errors"][0]["code"], 10009);
    let listed = api
        .call("GET", "/v3/service_instances?names=doomed", &token, None)
        .await;
    assert_eq!(
        listed.body["resources"][0]["last_operation"]["state"],
        "failed"
    );
    sim.set_faults(Faults::default());
    let again = api
        .call("POST", "/v3/service_instances", &token, Some(body))
        .await;
    assert_eq!(
        again.status, 202,
        "a failed create is replaced: {}",
        again.body
    );
    let location = again
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(api.wait_job(&location, &token).await["state"], "COMPLETE");

    // The same seed gives the same fault sequence.
    let mut sequences = Vec::new();
    for _ in 0..2 {
        let (world, _, _) = small_world();
        let sim = Sim::from_world(world)
            .seed(42)
            .faults(Faults::profile("chaos").unwrap_or_default())
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let http = reqwest::Client::new();
        let mut statuses = Vec::new();
        for _ in 0..60 {
            let r = http
                .get(format!("{}/v3/organizations", sim.url()))
                .send()
                .await;
            statuses.push(r.map(|r| r.status().as_u16()).unwrap_or(0));
        }
        sequences.push(statuses);
        sim.stop().await;
    }
    assert_eq!(sequences[0], sequences[1]);
    assert!(
        sequences[0].iter().any(|s| *s != 401),
        "chaos injects faults: {:?}",
        sequences[0]
    );
}

#[tokio::test]
async fn a_world_survives_export_and_import_with_working_credentials() {
    let (world, sub, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.cis_login(&sim, "ga-one", "admin").await;
    let binding = api
        .call(
            "POST",
            &format!("/accounts/v1/subaccounts/{sub}/serviceManagementBinding"),
            &token,
            None,
        )
        .await
        .body;
    let exported = serde_json::to_string(&sim.export_world()).unwrap_or_default();
    sim.stop().await;

    let world: World = serde_json::from_str(&exported).unwrap_or_else(|e| panic!("{e}"));
    let sim = start(world).await;
    let api = Api::new(&sim);
    let basic = format!(
        "Basic {}",
        crate::flows::base64_encode(&format!(
            "{}:{}",
            binding["clientid"].as_str().unwrap_or_default(),
            binding["clientsecret"].as_str().unwrap_or_default()
        ))
    );
    let reply = api
        .form(
            "/oauth/token",
            Some(&basic),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        reply.status, 200,
        "SM credentials outlive an export: {}",
        reply.body
    );
    let state = api
        .http
        .get(format!("{}/_sim/state", sim.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json::<serde_json::Value>()
        .await
        .unwrap_or_default();
    assert_eq!(state["subaccounts"][0]["guid"], sub.as_str());

    // A hand-written YAML world: lists, no repeated keys.
    let yaml = "seed: 5\nusers: [{username: u, password: p, guid: u-1}]\n\
        orgs: [{guid: o-1, name: hand-org}]\n\
        roles: [{guid: r-1, type: organization_user, user: u-1, organization: o-1}]\n";
    let world: World = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.login("u", "p").await;
    let orgs = api
        .call("GET", "/v3/organizations?names=HAND-ORG", &token, None)
        .await;
    assert_eq!(
        orgs.body["resources"][0]["guid"], "o-1",
        "names match case-insensitively: {}",
        orgs.body
    );
}
