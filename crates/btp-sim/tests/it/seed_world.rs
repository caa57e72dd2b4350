//! Turning what a cassette shows (seed.rs) into a world, keeping every recorded GUID.

use std::collections::BTreeMap;

use btp_sim::World;
use btp_sim::world::{
    CredentialsStyle, InstanceClient, LastOperation, Metadata, Offering, Org, Plan,
    ServiceInstance, ServiceKey, Space,
};
use serde_json::{Value, json};

use crate::seed::{Seen, rel};

pub fn labels_of(v: &Value) -> Metadata {
    let map = |key: &str| -> BTreeMap<String, String> {
        v["metadata"][key]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    };
    Metadata {
        labels: map("labels"),
        annotations: map("annotations"),
    }
}

fn last_operation(v: &Value, now: u64) -> LastOperation {
    let op = &v["last_operation"];
    let mut last = LastOperation::new(
        op["type"].as_str().unwrap_or("create"),
        op["state"].as_str().unwrap_or("succeeded"),
        now,
    );
    last.description = op["description"].as_str().map(str::to_owned);
    last
}

fn name(v: &Value) -> String {
    v["name"].as_str().unwrap_or_default().to_owned()
}

/// Build the world: one global account and subaccount entitled to every recorded plan, the users
/// `xx`/`xxxx` (the recorded password grant) and `admin` (who replays, with the roles
/// seed_roles.rs gives it), and the recorded users and roles.
pub fn world(seen: &Seen) -> World {
    let mut world = World::new(7);
    world.add_user("admin", "admin");
    world.add_user("xx", "xxxx");
    if let (Some(origin), Some(user)) = (
        &seen.origin,
        world.users.iter_mut().find(|u| u.username == "xx"),
    ) {
        user.origin = origin.clone();
    }
    let ga = world.add_global_account("recorded-ga", "eu10");
    let sub = world.add_subaccount(&ga, "performanceteamblr", "eu10", None);
    // Plans are visible only in orgs of entitled subaccounts: keep one even if none was recorded.
    let placeholder_org = world.add_org("recorded-org", Some(&sub));
    let mut now = btp_sim::world::now_ms() - 100_000;
    let mut tick = || {
        now += 1;
        now
    };
    let empty = indexmap::IndexMap::new();
    let get = |c: &str| seen.objects.get(c).unwrap_or(&empty);
    for (guid, v) in get("organizations") {
        let quota_guid = v["relationships"]["quota"]["data"]["guid"]
            .as_str()
            .unwrap_or("00000000-0000-4000-8000-000000000001")
            .to_owned();
        let t = tick();
        world.orgs.insert(
            guid.clone(),
            Org {
                guid: guid.clone(),
                name: name(v),
                subaccount: Some(sub.clone()),
                landscape: String::new(),
                suspended: false,
                quota_guid,
                metadata: labels_of(v),
                created_ms: t,
                updated_ms: t,
            },
        );
    }
    // A space known only by reference is put in the recorded org (cassettes record one org).
    let fallback_org = get("organizations")
        .keys()
        .next()
        .or(world.orgs.keys().next())
        .cloned()
        .unwrap_or_default();
    for (guid, v) in get("spaces") {
        let org = rel(v, "organization").unwrap_or_else(|| fallback_org.clone());
        let t = tick();
        world.spaces.insert(
            guid.clone(),
            Space {
                guid: guid.clone(),
                name: name(v),
                org,
                metadata: labels_of(v),
                created_ms: t,
                updated_ms: t,
            },
        );
    }
    for (guid, v) in get("service_offerings") {
        let catalog = &v["broker_catalog"];
        let mut metadata = if catalog["metadata"].is_object() {
            catalog["metadata"].clone()
        } else {
            json!({})
        };
        let sm_id = metadata
            .get("sm_offering_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| world.guid());
        if let Some(m) = metadata.as_object_mut() {
            m.remove("sm_offering_id");
        }
        let offering = Offering {
            guid: guid.clone(),
            sm_id,
            name: name(v),
            description: v["description"].as_str().unwrap_or_default().to_owned(),
            tags: v["tags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            catalog_id: catalog["id"].as_str().unwrap_or("xsuaa").to_owned(),
            catalog_metadata: metadata,
            instances_retrievable: catalog["features"]["instances_retrievable"]
                .as_bool()
                .unwrap_or(false),
            bindings_retrievable: catalog["features"]["bindings_retrievable"]
                .as_bool()
                .unwrap_or(false),
            // Every recorded offering is xsuaa: its keys are flat.
            credentials_style: CredentialsStyle::Xsuaa,
            documentation_url: v["documentation_url"].as_str().map(str::to_owned),
            broker_guid: rel(v, "service_broker").unwrap_or_default(),
            created_ms: tick(),
        };
        world.offerings.insert(guid.clone(), offering);
    }
    for (guid, v) in get("service_plans") {
        let catalog = &v["broker_catalog"];
        let mut metadata = if catalog["metadata"].is_object() {
            catalog["metadata"].clone()
        } else {
            json!({})
        };
        let sm_id = metadata
            .get("sm_plan_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| world.guid());
        if let Some(m) = metadata.as_object_mut() {
            m.remove("sm_plan_id");
        }
        let plan = Plan {
            guid: guid.clone(),
            sm_id,
            name: name(v),
            offering: rel(v, "service_offering").unwrap_or_default(),
            description: v["description"].as_str().unwrap_or_default().to_owned(),
            free: v["free"].as_bool().unwrap_or(true),
            public: v["visibility_type"] == "public",
            catalog_id: catalog["id"].as_str().unwrap_or_default().to_owned(),
            catalog_metadata: metadata,
            schemas: v.get("schemas").cloned().unwrap_or(Value::Null),
            created_ms: tick(),
        };
        let offering_name = world
            .offerings
            .get(&plan.offering)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        world.entitle(&sub, &offering_name, &plan.name, 1);
        world.plans.insert(guid.clone(), plan);
    }
    // An instance known only through its key: in a space of its own.
    let mut homeless = None;
    for (guid, v) in get("service_instances") {
        let space = match rel(v, "space") {
            Some(space) => space,
            None => homeless
                .get_or_insert_with(|| world.add_space(&fallback_org, "recorded-space"))
                .clone(),
        };
        let user_provided = v["type"] == "user-provided";
        let t = tick();
        let secret = world.secret_value();
        let n = name(v);
        let parameters = if user_provided {
            json!({"credentials": {}, "syslog_drain_url": v.get("syslog_drain_url").cloned().unwrap_or(Value::Null), "route_service_url": v.get("route_service_url").cloned().unwrap_or(Value::Null)})
        } else {
            json!({})
        };
        world.service_instances.insert(
            guid.clone(),
            ServiceInstance {
                guid: guid.clone(),
                name: n.clone(),
                space,
                plan: if user_provided {
                    None
                } else {
                    rel(v, "service_plan")
                },
                instance_type: if user_provided {
                    "user-provided".into()
                } else {
                    "managed".into()
                },
                tags: v["tags"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                parameters,
                metadata: labels_of(v),
                last_operation: last_operation(v, t),
                client: InstanceClient {
                    client_id: format!("sb-{n}!t1"),
                    xsappname: format!("{n}!t1"),
                    instance_secret: secret,
                },
                dashboard_url: v["dashboard_url"].as_str().map(str::to_owned),
                maintenance_info: v.get("maintenance_info").cloned().unwrap_or(Value::Null),
                created_ms: t,
                updated_ms: t,
            },
        );
    }
    for (guid, v) in get("service_credential_bindings") {
        if v["type"] == "app" {
            continue;
        }
        let t = tick();
        let secret = world.secret_value();
        world.service_keys.insert(
            guid.clone(),
            ServiceKey {
                guid: guid.clone(),
                name: name(v),
                instance: rel(v, "service_instance").unwrap_or_default(),
                parameters: json!({}),
                metadata: labels_of(v),
                last_operation: last_operation(v, t),
                client_secret: secret,
                credential_type: "instance-secret".into(),
                identity_zone: None,
                created_ms: t,
                updated_ms: t,
            },
        );
    }
    crate::seed_roles::apply(seen, &mut world, &placeholder_org, tick);
    world
}
