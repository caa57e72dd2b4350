//! Seeding a world from a CF cassette: every org, space, offering, plan, instance, key, role and
//! user that the recording shows as already existing, with its recorded GUID. Objects the
//! cassette creates itself (POST 201, or named by the job of a POST 202) are left out, so the
//! replay creates them. What the recording says about roles beyond their objects is in
//! seed_roles.rs.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use crate::cassette::{Cassette, path_and_query};

const COLLECTIONS: [&str; 8] = [
    "organizations",
    "spaces",
    "service_offerings",
    "service_plans",
    "service_instances",
    "service_credential_bindings",
    "roles",
    "users",
];

#[derive(Default)]
pub struct Seen {
    /// collection → GUID → first recorded object (or a placeholder).
    pub objects: BTreeMap<&'static str, indexmap::IndexMap<String, Value>>,
    created: HashSet<String>,
    /// Origin named in a `login_hint` (the user must come from it).
    pub origin: Option<String>,
    /// Role lists, member lists and role refusals the recording shows.
    pub roles: crate::seed_roles::RoleFacts,
}

fn self_link(v: &Value) -> Option<(&'static str, String)> {
    let href = v.get("links")?.get("self")?.get("href")?.as_str()?;
    let path = path_and_query(href);
    let mut parts = path.trim_start_matches('/').split('/');
    let (v3, collection, guid) = (parts.next()?, parts.next()?, parts.next()?);
    if v3 != "v3" || parts.next().is_some() || guid.contains('?') {
        return None;
    }
    COLLECTIONS
        .iter()
        .find(|c| **c == collection)
        .map(|c| (*c, guid.to_owned()))
}

impl Seen {
    fn insert(&mut self, collection: &'static str, guid: &str, value: Value) {
        if self.created.contains(guid) {
            return;
        }
        self.objects
            .entry(collection)
            .or_default()
            .entry(guid.to_owned())
            .or_insert(value);
    }

    fn harvest(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                if let (Some((collection, guid)), Some(_)) = (self_link(v), map.get("guid")) {
                    self.insert(collection, &guid, v.clone());
                }
                map.values().for_each(|x| self.harvest(x));
            }
            Value::Array(items) => items.iter().for_each(|x| self.harvest(x)),
            _ => {}
        }
    }

    fn has(&self, collection: &str, guid: &str) -> bool {
        self.objects
            .get(collection)
            .is_some_and(|m| m.contains_key(guid))
    }

    /// A placeholder for an object known only by reference.
    pub fn reference(&mut self, collection: &'static str, guid: &str, value: Value) {
        if !self.has(collection, guid) {
            self.insert(collection, guid, value);
        }
    }
}

pub fn rel(v: &Value, name: &str) -> Option<String> {
    v.get("relationships")?
        .get(name)?
        .get("data")?
        .get("guid")?
        .as_str()
        .map(str::to_owned)
}

const PLACEHOLDER_OFFERING: &str = "00000000-0000-4000-8000-0000000000aa";
const PLACEHOLDER_PLAN: &str = "00000000-0000-4000-8000-0000000000bb";

impl Seen {
    /// Add placeholders for everything referenced but not recorded, keeping the referenced GUIDs
    /// (an instance's space and plan, a plan's offering, a key's instance, a role's org or
    /// space, a space's org).
    fn complete(&mut self) {
        let short = |g: &str| g.chars().take(8).collect::<String>();
        let snapshot: Vec<(&'static str, Value)> = self
            .objects
            .iter()
            .flat_map(|(c, m)| m.values().map(move |v| (*c, v.clone())))
            .collect();
        for (collection, v) in snapshot {
            match collection {
                "service_credential_bindings" => {
                    if let Some(i) = rel(&v, "service_instance") {
                        let plan = json!({"service_plan": {"data": {"guid": PLACEHOLDER_PLAN}}});
                        self.reference("service_instances", &i, json!({"name": format!("instance-{}", short(&i)), "type": "managed", "relationships": plan}));
                    }
                }
                "roles" => {
                    if let Some(o) = rel(&v, "organization") {
                        let name = json!({"name": format!("org-{}", short(&o))});
                        self.reference("organizations", &o, name);
                    }
                    if let Some(s) = rel(&v, "space") {
                        let name = json!({"name": format!("space-{}", short(&s))});
                        self.reference("spaces", &s, name);
                    }
                }
                _ => {}
            }
        }
        let spaces: Vec<Value> = self
            .objects
            .get("spaces")
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for o in spaces.iter().filter_map(|v| rel(v, "organization")) {
            let name = json!({"name": format!("org-{}", short(&o))});
            self.reference("organizations", &o, name);
        }
        let instances: Vec<Value> = self
            .objects
            .get("service_instances")
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for v in instances {
            if let Some(s) = rel(&v, "space") {
                self.reference(
                    "spaces",
                    &s,
                    json!({"name": format!("space-{}", short(&s))}),
                );
            }
            if let Some(p) = rel(&v, "service_plan") {
                self.reference(
                    "service_plans",
                    &p,
                    json!({"name": format!("plan-{}", short(&p))}),
                );
            }
        }
        let plans: Vec<(String, Value)> = self
            .objects
            .get("service_plans")
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        for (guid, v) in plans {
            if rel(&v, "service_offering").is_none_or(|o| !self.has("service_offerings", &o)) {
                self.reference(
                    "service_offerings",
                    PLACEHOLDER_OFFERING,
                    json!({"name": "xsuaa"}),
                );
                if let Some(p) = self
                    .objects
                    .get_mut("service_plans")
                    .and_then(|m| m.get_mut(&guid))
                {
                    p["relationships"] =
                        json!({"service_offering": {"data": {"guid": PLACEHOLDER_OFFERING}}});
                }
            }
        }
    }
}

/// Read a cassette into the set of pre-existing objects.
pub fn scan(cassette: &Cassette) -> Seen {
    let mut seen = Seen::default();
    // Objects created by the cassette itself.
    let mut create_jobs: HashSet<String> = HashSet::new();
    for i in &cassette.interactions {
        let (req, res) = (&i.request, &i.response);
        if req.method == "POST"
            && res.code == 201
            && let Some(g) = res
                .json()
                .and_then(|b| b.get("guid").and_then(Value::as_str).map(str::to_owned))
        {
            seen.created.insert(g);
        }
        if req.method == "POST"
            && res.code == 202
            && let Some(job) = res.header("location").and_then(|l| l.rsplit('/').next())
        {
            create_jobs.insert(job.to_owned());
        }
        if let (Some(job), Some(body)) = (
            path_and_query(&req.url).strip_prefix("/v3/jobs/"),
            res.json(),
        ) && create_jobs.contains(job)
        {
            for link in ["service_instances", "service_credential_binding"] {
                if let Some(href) = body["links"][link]["href"].as_str() {
                    seen.created
                        .insert(href.rsplit('/').next().unwrap_or_default().to_owned());
                }
            }
        }
        if let Some(origin) = req.url.split("login_hint=").nth(1) {
            let decoded: String = url::form_urlencoded::parse(format!("x={origin}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .collect();
            seen.origin = serde_json::from_str::<Value>(&decoded)
                .ok()
                .and_then(|v| v["origin"].as_str().map(str::to_owned));
        }
    }
    for i in &cassette.interactions {
        if let Some(body) = i.response.json() {
            seen.harvest(&body);
        }
    }
    // References from request bodies; a recorded "Invalid <x>" error means that <x> must not exist.
    for i in &cassette.interactions {
        let Ok(body) = serde_json::from_str::<Value>(&i.request.body) else {
            continue;
        };
        let detail = i
            .response
            .json()
            .and_then(|b| b["errors"][0]["detail"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let path = path_and_query(&i.request.url);
        if i.request.method != "POST" {
            continue;
        }
        if let Some(org) =
            rel(&body, "organization").filter(|_| !detail.starts_with("Invalid organization"))
        {
            seen.reference(
                "organizations",
                &org,
                json!({"name": format!("org-{}", &org[..8.min(org.len())])}),
            );
        }
        if let Some(space) = rel(&body, "space").filter(|_| !detail.starts_with("Invalid space")) {
            seen.reference(
                "spaces",
                &space,
                json!({"name": format!("space-{}", &space[..8])}),
            );
        }
        if let Some(plan) =
            rel(&body, "service_plan").filter(|_| !detail.starts_with("Invalid service plan"))
        {
            seen.reference("service_plans", &plan, json!({"name": "application"}));
        }
        if let Some(instance) = rel(&body, "service_instance") {
            let user_provided = detail.contains("user-provided");
            let plan = if user_provided {
                Value::Null
            } else {
                json!({"data": {"guid": PLACEHOLDER_PLAN}})
            };
            seen.reference("service_instances", &instance, json!({"name": format!("instance-{}", &instance[..8]), "type": if user_provided { "user-provided" } else { "managed" }, "relationships": {"service_plan": plan}}));
        }
        // "The service instance name is taken: X." → X exists in that space.
        if let (true, Some(name)) = (
            path == "/v3/service_instances",
            detail.strip_prefix("The service instance name is taken: "),
        ) {
            let name = name.trim_end_matches('.');
            let guid = format!("00000000-0000-4000-8000-{:012x}", i.id);
            let placeholder = json!({"name": name, "type": "managed", "relationships": {"space": {"data": {"guid": rel(&body, "space")}}, "service_plan": {"data": {"guid": rel(&body, "service_plan")}}}});
            seen.reference("service_instances", &guid, placeholder);
        }
    }
    crate::seed_roles::scan(cassette, &mut seen);
    seen.complete();
    seen
}
