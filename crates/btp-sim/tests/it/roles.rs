//! Cloud Foundry roles (FIDELITY.md section 1): each rule, and the refusal a request breaking it
//! gets. Nobody is a Cloud Foundry admin.

use btp_sim::World;
use btp_sim::world::RoleType;
use serde_json::{Value, json};

use crate::{Api, Reply, small_world, start};

/// `small_world` (admin: Org Manager of org-one) plus, in org-one, an entitled subaccount, a
/// space `dev` made by someone else with an instance and a key, and the users `dev` (Space
/// Developer of `dev`), `auditor` (Org Auditor) and `stranger` (no role anywhere).
struct Land {
    world: World,
    org: String,
    space: String,
    instance: String,
    key: String,
    plan: String,
}

fn land() -> Land {
    let (mut world, sub, org) = small_world();
    world.entitle(&sub, "SAPCloudALMAPIs", "standard", 1);
    let space = world.add_space(&org, "dev");
    for user in ["dev", "auditor", "stranger", "colleague"] {
        world.add_user(user, "pw");
    }
    world.add_role("dev", RoleType::SpaceDeveloper, &space);
    world.add_role("auditor", RoleType::OrganizationAuditor, &org);
    world.add_person("friend@example.com", "sap.ids");
    let plan = world
        .plans
        .values()
        .find(|p| p.name == "standard")
        .map(|p| p.guid.clone())
        .unwrap_or_default();
    Land {
        world,
        org,
        space,
        instance: String::new(),
        key: String::new(),
        plan,
    }
}

fn code(reply: &Reply) -> (u16, Value) {
    (reply.status, reply.body["errors"][0]["code"].clone())
}

fn names(reply: &Reply) -> Vec<String> {
    reply.body["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().or(r["type"].as_str()).map(str::to_owned))
        .collect()
}

/// Starts the land; `dev` makes an instance and a key in space `dev` through the API.
async fn started() -> (btp_sim::SimHandle, Api, Land) {
    let mut l = land();
    let sim = start(l.world.clone()).await;
    let api = Api::new(&sim);
    let dev = api.login("dev", "pw").await;
    let body = json!({"type": "managed", "name": "calm-api", "relationships": {"space": {"data": {"guid": l.space}}, "service_plan": {"data": {"guid": l.plan}}}});
    let made = api
        .call("POST", "/v3/service_instances", &dev, Some(body))
        .await;
    assert_eq!(made.status, 202, "{}", made.body);
    let job = api.wait_job(&location(&made), &dev).await;
    l.instance = job["links"]["service_instances"]["href"]
        .as_str()
        .and_then(|h| h.rsplit('/').next())
        .unwrap_or_default()
        .to_owned();
    let key = json!({"type": "key", "name": "k", "relationships": {"service_instance": {"data": {"guid": l.instance}}}});
    let made = api
        .call("POST", "/v3/service_credential_bindings", &dev, Some(key))
        .await;
    assert_eq!(made.status, 202, "{}", made.body);
    let job = api.wait_job(&location(&made), &dev).await;
    l.key = job["links"]["service_credential_binding"]["href"]
        .as_str()
        .and_then(|h| h.rsplit('/').next())
        .unwrap_or_default()
        .to_owned();
    (sim, api, l)
}

fn location(reply: &Reply) -> String {
    reply
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn creating_a_space_needs_org_manager() {
    let (sim, api, l) = started().await;
    let body = |name: &str| json!({"name": name, "relationships": {"organization": {"data": {"guid": l.org}}}});
    let auditor = api.login("auditor", "pw").await;
    let refused = api
        .call("POST", "/v3/spaces", &auditor, Some(body("a")))
        .await;
    assert_eq!(code(&refused), (403, json!(10003)), "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["title"], "CF-NotAuthorized");
    let stranger = api.login("stranger", "pw").await;
    let unseen = api
        .call("POST", "/v3/spaces", &stranger, Some(body("b")))
        .await;
    assert_eq!(code(&unseen), (422, json!(10008)), "{}", unseen.body);
    let admin = api.login("admin", "admin").await;
    let made = api
        .call("POST", "/v3/spaces", &admin, Some(body("c")))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let c = made.body["guid"].as_str().unwrap_or_default().to_owned();
    // Changing a space needs Space Manager or Org Manager; deleting one, Org Manager.
    let dev = api.login("dev", "pw").await;
    let path = format!("/v3/spaces/{}", l.space);
    let patch = json!({"metadata": {"labels": {"a": "b"}}});
    let renamed = api.call("PATCH", &path, &dev, Some(patch.clone())).await;
    assert_eq!(code(&renamed), (403, json!(10003)), "{}", renamed.body);
    assert_eq!(api.call("DELETE", &path, &dev, None).await.status, 403);
    assert_eq!(
        api.call("PATCH", &path, &admin, Some(patch)).await.status,
        200
    );
    let gone = api
        .call("DELETE", &format!("/v3/spaces/{c}"), &stranger, None)
        .await;
    assert_eq!(code(&gone), (404, json!(10010)), "unreadable: not found");
    sim.stop().await;
}

#[tokio::test]
async fn instances_and_keys_need_space_developer_and_an_org_manager_is_not_one() {
    let (sim, api, l) = started().await;
    let admin = api.login("admin", "admin").await;
    let create = json!({"type": "managed", "name": "other", "relationships": {"space": {"data": {"guid": l.space}}, "service_plan": {"data": {"guid": l.plan}}}});
    let instance = format!("/v3/service_instances/{}", l.instance);
    let key = format!("/v3/service_credential_bindings/{}", l.key);
    let new_key = json!({"type": "key", "name": "k2", "relationships": {"service_instance": {"data": {"guid": l.instance}}}});
    let labels = json!({"metadata": {"labels": {"x": "y"}}});
    for (method, path, body) in [
        ("POST", "/v3/service_instances", Some(create.clone())),
        ("PATCH", instance.as_str(), Some(labels.clone())),
        ("DELETE", instance.as_str(), None),
        ("POST", "/v3/service_credential_bindings", Some(new_key)),
        ("PATCH", key.as_str(), Some(labels)),
        ("DELETE", key.as_str(), None),
    ] {
        let reply = api.call(method, path, &admin, body).await;
        assert_eq!(
            code(&reply),
            (403, json!(10003)),
            "{method} {path}: {}",
            reply.body
        );
    }
    // The Org Manager reads the instance and the key, but not the key's credentials.
    assert_eq!(api.call("GET", &instance, &admin, None).await.status, 200);
    assert_eq!(api.call("GET", &key, &admin, None).await.status, 200);
    let details = api
        .call("GET", &format!("{key}/details"), &admin, None)
        .await;
    assert_eq!(code(&details), (404, json!(10010)), "{}", details.body);
    let dev = api.login("dev", "pw").await;
    let details = api.call("GET", &format!("{key}/details"), &dev, None).await;
    assert_eq!(details.status, 200, "{}", details.body);
    // Someone who cannot read the space: the space is invalid, the instance not found.
    let stranger = api.login("stranger", "pw").await;
    let invalid = api
        .call("POST", "/v3/service_instances", &stranger, Some(create))
        .await;
    assert_eq!(code(&invalid), (422, json!(10008)), "{}", invalid.body);
    assert_eq!(
        api.call("GET", &instance, &stranger, None).await.status,
        404
    );
    let missing = json!({"type": "key", "name": "k3", "relationships": {"service_instance": {"data": {"guid": l.instance}}}});
    let missing = api
        .call(
            "POST",
            "/v3/service_credential_bindings",
            &stranger,
            Some(missing),
        )
        .await;
    assert_eq!(code(&missing), (422, json!(10008)), "{}", missing.body);
    sim.stop().await;
}

#[tokio::test]
async fn lists_show_only_what_the_users_roles_let_it_read() {
    let (sim, api, l) = started().await;
    let list = |token: String, path: &'static str| {
        let api = &api;
        async move { names(&api.call("GET", path, &token, None).await) }
    };
    let admin = api.login("admin", "admin").await;
    let dev = api.login("dev", "pw").await;
    let auditor = api.login("auditor", "pw").await;
    let stranger = api.login("stranger", "pw").await;
    assert_eq!(list(admin.clone(), "/v3/spaces").await, ["dev"]);
    assert_eq!(list(dev.clone(), "/v3/spaces").await, ["dev"]);
    assert!(
        list(auditor.clone(), "/v3/spaces").await.is_empty(),
        "an Org Auditor reads no space"
    );
    assert_eq!(
        list(auditor.clone(), "/v3/organizations").await,
        ["org-one"]
    );
    for token in [stranger.clone(), auditor] {
        assert!(
            list(token.clone(), "/v3/service_instances")
                .await
                .is_empty()
        );
        assert!(
            list(token, "/v3/service_credential_bindings")
                .await
                .is_empty()
        );
    }
    assert!(list(stranger.clone(), "/v3/organizations").await.is_empty());
    assert!(
        list(stranger.clone(), "/v3/service_plans").await.is_empty(),
        "plans are seen only in orgs the user is in"
    );
    assert_eq!(
        list(admin.clone(), "/v3/service_instances").await,
        ["calm-api"]
    );
    assert_eq!(list(admin, "/v3/service_credential_bindings").await, ["k"]);
    assert_eq!(list(dev, "/v3/service_plans").await, ["standard"]);
    let org = api
        .call(
            "GET",
            &format!("/v3/organizations/{}", l.org),
            &stranger,
            None,
        )
        .await;
    assert_eq!(code(&org), (404, json!(10010)));
    sim.stop().await;
}

#[tokio::test]
async fn roles_are_assigned_by_guid_or_name_once_and_space_roles_need_an_org_user() {
    let (sim, api, l) = started().await;
    let admin = api.login("admin", "admin").await;
    let colleague = sim.with_world(|w| w.user_guid("colleague").unwrap_or_default());
    let role = |kind: &str, place: &str, target: &str, user: Value| json!({"type": kind, "relationships": {place: {"data": {"guid": target}}, "user": {"data": user}}});
    let post = |body: Value| {
        let (api, admin) = (&api, admin.clone());
        async move { api.call("POST", "/v3/roles", &admin, Some(body)).await }
    };
    let early = post(role(
        "space_developer",
        "space",
        &l.space,
        json!({"guid": colleague}),
    ))
    .await;
    assert_eq!(code(&early), (422, json!(10008)), "{}", early.body);
    assert!(
        early.body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("do not have a role in that space's organization"),
        "{}",
        early.body
    );
    let member = post(role(
        "organization_user",
        "organization",
        &l.org,
        json!({"guid": colleague}),
    ))
    .await;
    assert_eq!(member.status, 201, "{}", member.body);
    assert_eq!(member.body["relationships"]["space"]["data"], Value::Null);
    let again = post(role(
        "organization_user",
        "organization",
        &l.org,
        json!({"username": "colleague", "origin": "uaa"}),
    ))
    .await;
    assert_eq!(code(&again), (422, json!(10008)), "{}", again.body);
    assert!(
        again.body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already has 'organization_user' role in organization 'org-one'"),
        "{}",
        again.body
    );
    let developer = post(role(
        "space_developer",
        "space",
        &l.space,
        json!({"username": "colleague", "origin": "uaa"}),
    ))
    .await;
    assert_eq!(developer.status, 201, "{}", developer.body);
    let nobody = post(role(
        "organization_user",
        "organization",
        &l.org,
        json!({"username": "nobody", "origin": "sap.ids"}),
    ))
    .await;
    assert_eq!(code(&nobody), (422, json!(10008)), "{}", nobody.body);
    let friend = post(role(
        "organization_user",
        "organization",
        &l.org,
        json!({"username": "friend@example.com", "origin": "sap.ids"}),
    ))
    .await;
    assert_eq!(friend.status, 201, "{}", friend.body);
    // Only an Org Manager assigns org roles; a Space Developer assigns nothing.
    let dev = api.login("dev", "pw").await;
    let by_dev = api
        .call(
            "POST",
            "/v3/roles",
            &dev,
            Some(role(
                "space_auditor",
                "space",
                &l.space,
                json!({"guid": colleague}),
            )),
        )
        .await;
    assert_eq!(code(&by_dev), (403, json!(10003)), "{}", by_dev.body);
    // Filters, as calmctl reads them in bulk.
    let path = format!(
        "/v3/roles?types=space_developer,space_manager&space_guids={}&user_guids={colleague}",
        l.space
    );
    let listed = api.call("GET", &path, &admin, None).await;
    assert_eq!(names(&listed), ["space_developer"], "{}", listed.body);
    let orgs = format!(
        "/v3/roles?organization_guids={}&types=organization_user",
        l.org
    );
    assert_eq!(names(&api.call("GET", &orgs, &admin, None).await).len(), 3);
    let bad = api
        .call("GET", "/v3/roles?include=space", &admin, None)
        .await;
    assert_eq!(
        code(&bad),
        (422, json!(10008)),
        "CC answers 422 here: {}",
        bad.body
    );
    // An Org User role stays while the user has space roles in the org; a space role goes by job.
    let member = member.body["guid"].as_str().unwrap_or_default().to_owned();
    let kept = api
        .call("DELETE", &format!("/v3/roles/{member}"), &admin, None)
        .await;
    assert_eq!(code(&kept), (422, json!(10008)), "{}", kept.body);
    let developer = developer.body["guid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let gone = api
        .call("DELETE", &format!("/v3/roles/{developer}"), &admin, None)
        .await;
    assert_eq!(gone.status, 202);
    let job = api.wait_job(&location(&gone), &admin).await;
    assert_eq!(
        (job["operation"].clone(), job["state"].clone()),
        (json!("role.delete"), json!("COMPLETE"))
    );
    let after = api
        .call("GET", &format!("/v3/roles/{developer}"), &admin, None)
        .await;
    assert_eq!(code(&after), (404, json!(10010)));
    sim.stop().await;
}

#[tokio::test]
async fn users_are_seen_through_shared_orgs_and_nobody_creates_one() {
    let (sim, api, _) = started().await;
    let stranger = api.login("stranger", "pw").await;
    let admin = api.login("admin", "admin").await;
    let seen = |token: String| {
        let api = &api;
        async move {
            api.call("GET", "/v3/users", &token, None).await.body["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u["username"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(seen(stranger.clone()).await, ["stranger"], "only itself");
    let mut by_admin = seen(admin.clone()).await;
    by_admin.sort();
    assert_eq!(by_admin, ["admin", "auditor", "dev"], "the org's members");
    let origins = api.call("GET", "/v3/users?origins=uaa", &admin, None).await;
    assert_eq!(code(&origins), (422, json!(10008)), "{}", origins.body);
    let create = api
        .call(
            "POST",
            "/v3/users",
            &admin,
            Some(json!({"username": "x", "origin": "sap.ids"})),
        )
        .await;
    assert_eq!(code(&create), (403, json!(10003)), "{}", create.body);
    sim.stop().await;
}
