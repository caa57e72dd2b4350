//! What a cassette shows about roles and users beyond their objects, and how the replay world
//! gets them.
//!
//! Nobody in the simulator is a Cloud Foundry admin, so the replaying user needs the roles that
//! let it make the recorded requests, and no role that a recorded list would show: a replayed
//! list must hold exactly what was recorded. So:
//!
//! - where the recording lists an org's roles, the replaying user is one of the listed users
//!   (preferably an Org Manager) and gets nothing more in that org; where it lists an org's
//!   members, the replaying user is one of them;
//! - elsewhere it is Org Manager and Org User of every org, and Space Developer of every space
//!   whose roles or members the recording does not list;
//! - users the recording lists as members get an Org User (org) or Space Auditor (space) role
//!   there unless a recorded role already makes them members; users found by `/v3/users` get an
//!   Org User role in the placeholder org, so that the replaying user can see them;
//! - a refusal "User 'x' already has 't' role in …" means that role exists; a successful space
//!   role creation means its user was an Org User of the space's org.

use std::collections::{BTreeMap, BTreeSet};

use btp_sim::World;
use btp_sim::world::{Metadata, Role, RoleType, User};
use serde_json::{Value, json};

use crate::cassette::{Cassette, path_and_query};
use crate::seed::{Seen, rel};

/// Someone a request names.
#[derive(Debug, Clone)]
pub enum Named {
    Guid(String),
    Name {
        username: String,
        origin: String,
        guid: Option<String>,
    },
}

/// What the recording shows about roles and users.
#[derive(Default)]
pub struct RoleFacts {
    org_role_lists: BTreeSet<String>,
    space_role_lists: BTreeSet<String>,
    org_members: BTreeMap<String, Vec<String>>,
    space_members: BTreeMap<String, Vec<String>>,
    looked_up: Vec<String>,
    /// Roles that exist: (user, type, org or space GUID).
    held: Vec<(Named, RoleType, String)>,
    /// Users who were Org Users of the org of a space (space GUID).
    members_of_space_org: Vec<(Named, String)>,
    /// Users who exist in their identity provider.
    people: Vec<Named>,
}

fn guids(body: &Value) -> Vec<String> {
    body["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["guid"].as_str().map(str::to_owned))
        .collect()
}

fn named(body: &Value, response: Option<&Value>) -> Option<Named> {
    let data = &body["relationships"]["user"]["data"];
    if let Some(guid) = data["guid"].as_str() {
        return Some(Named::Guid(guid.to_owned()));
    }
    Some(Named::Name {
        username: data["username"].as_str()?.to_owned(),
        origin: data["origin"].as_str().unwrap_or("uaa").to_owned(),
        guid: response.and_then(|r| rel(r, "user")),
    })
}

/// Reads the role facts of a cassette into `seen`.
pub fn scan(cassette: &Cassette, seen: &mut Seen) {
    for i in &cassette.interactions {
        let (req, res) = (&i.request, &i.response);
        let target = path_and_query(&req.url);
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let body = res.json().unwrap_or(Value::Null);
        match (req.method.as_str(), res.code, parts.as_slice()) {
            ("GET", 200, ["v3", "roles"]) => {
                for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                    let into = match k.as_ref() {
                        "organization_guids" => &mut seen.roles.org_role_lists,
                        "space_guids" => &mut seen.roles.space_role_lists,
                        _ => continue,
                    };
                    into.extend(v.split(',').map(str::to_owned));
                }
            }
            ("GET", 200, ["v3", "organizations", org, "users"]) => {
                let name = json!({"name": format!("org-{}", &org[..8.min(org.len())])});
                seen.reference("organizations", org, name);
                seen.roles
                    .org_members
                    .insert((*org).to_owned(), guids(&body));
            }
            ("GET", 200, ["v3", "spaces", space, "users"]) => {
                let name = json!({"name": format!("space-{}", &space[..8.min(space.len())])});
                seen.reference("spaces", space, name);
                seen.roles
                    .space_members
                    .insert((*space).to_owned(), guids(&body));
            }
            ("GET", 200, ["v3", "users"]) => seen.roles.looked_up.extend(guids(&body)),
            ("POST", code, ["v3", "roles"]) => {
                let Ok(request) = serde_json::from_str::<Value>(&req.body) else {
                    continue;
                };
                let kind = request["type"].as_str().and_then(RoleType::parse);
                let (org, space) = (rel(&request, "organization"), rel(&request, "space"));
                let Some(user) = named(&request, (code == 201).then_some(&body)) else {
                    continue;
                };
                let detail = body["errors"][0]["detail"].as_str().unwrap_or_default();
                match (code, kind, org, space) {
                    (201, Some(_), _, Some(space)) => {
                        seen.roles.members_of_space_org.push((user, space));
                    }
                    (201, Some(_), Some(_), None) => seen.roles.people.push(user),
                    (422, Some(kind), org, space) if detail.contains("already has") => {
                        if let Some(target) = org.or(space) {
                            seen.roles.held.push((user, kind, target));
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// The recorded user the replay acts as, if the recording needs one (see the module docs).
pub fn identity(seen: &Seen) -> Option<String> {
    let facts = &seen.roles;
    let listed = |wanted: Option<RoleType>| {
        seen.objects.get("roles").and_then(|roles| {
            roles.values().find_map(|r| {
                let org = rel(r, "organization")?;
                let kind = r["type"].as_str().and_then(RoleType::parse)?;
                (facts.org_role_lists.contains(&org) && wanted.is_none_or(|w| w == kind))
                    .then(|| rel(r, "user"))
                    .flatten()
            })
        })
    };
    listed(Some(RoleType::OrganizationManager))
        .or_else(|| listed(None))
        .or_else(|| facts.org_members.values().flatten().next().cloned())
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn ensure_user(world: &mut World, named: &Named) -> String {
    match named {
        Named::Guid(guid) => {
            if world.user_by_guid(guid).is_none() {
                world.users.push(User {
                    username: String::new(),
                    password: String::new(),
                    origin: String::new(),
                    guid: guid.clone(),
                    metadata: Metadata::default(),
                    created_ms: 0,
                });
            }
            guid.clone()
        }
        Named::Name {
            username,
            origin,
            guid,
        } => {
            if let Some(u) = world.user_by_name(username, origin) {
                return u.guid.clone();
            }
            let guid = guid.clone().unwrap_or_else(|| world.guid());
            world.users.push(User {
                username: username.clone(),
                password: String::new(),
                origin: origin.clone(),
                guid: guid.clone(),
                metadata: Metadata::default(),
                created_ms: 0,
            });
            guid
        }
    }
}

/// Gives the world the recorded users and roles and the replaying user its roles; `admin`
/// becomes the recorded identity when there is one. `placeholder_org` is the org that exists
/// for every replay.
pub fn apply(seen: &Seen, world: &mut World, placeholder_org: &str, mut tick: impl FnMut() -> u64) {
    let facts = &seen.roles;
    let empty = indexmap::IndexMap::new();
    let get = |c: &str| seen.objects.get(c).unwrap_or(&empty);
    if let Some(identity) = identity(seen)
        && let Some(admin) = world.users.iter_mut().find(|u| u.username == "admin")
    {
        admin.guid = identity;
    }
    let admin = world.user_guid("admin").unwrap_or_default();
    for (guid, v) in get("users").iter().filter(|(g, _)| **g != admin) {
        world.users.push(User {
            username: text(v, "username"),
            password: String::new(),
            origin: text(v, "origin"),
            guid: guid.clone(),
            metadata: crate::seed_world::labels_of(v),
            created_ms: tick(),
        });
    }
    for (guid, v) in get("roles") {
        let (Some(kind), Some(user)) =
            (v["type"].as_str().and_then(RoleType::parse), rel(v, "user"))
        else {
            continue;
        };
        ensure_user(world, &Named::Guid(user.clone()));
        world.roles.insert(
            guid.clone(),
            Role {
                guid: guid.clone(),
                kind,
                user,
                organization: rel(v, "organization"),
                space: rel(v, "space"),
                created_ms: tick(),
            },
        );
    }
    let holds = |world: &World, user: &str, org: bool, target: &str| {
        world.roles.values().any(|r| {
            r.user == user
                && if org {
                    r.organization.as_deref() == Some(target)
                } else {
                    r.space.as_deref() == Some(target)
                }
        })
    };
    let mut grant = |world: &mut World, user: &str, kind: RoleType, target: &str| {
        let org = kind.is_org_role();
        if world.find_role(user, kind, target).is_none() {
            let guid = world.guid();
            let (organization, space) = if org {
                (Some(target.to_owned()), None)
            } else {
                (None, Some(target.to_owned()))
            };
            let created_ms = tick();
            world.roles.insert(
                guid.clone(),
                Role {
                    guid,
                    kind,
                    user: user.to_owned(),
                    organization,
                    space,
                    created_ms,
                },
            );
        }
    };
    for (org, users) in &facts.org_members {
        for user in users {
            if !holds(world, user, true, org) {
                grant(world, user, RoleType::OrganizationUser, org);
            }
        }
    }
    for (space, users) in &facts.space_members {
        for user in users {
            if !holds(world, user, false, space) {
                grant(world, user, RoleType::SpaceAuditor, space);
            }
        }
    }
    for user in &facts.looked_up {
        let member = world
            .roles
            .values()
            .any(|r| &r.user == user && r.organization.is_some());
        if !member {
            grant(world, user, RoleType::OrganizationUser, placeholder_org);
        }
    }
    for (named, kind, target) in &facts.held {
        let user = ensure_user(world, named);
        grant(world, &user, *kind, target);
    }
    for named in &facts.people {
        ensure_user(world, named);
    }
    for (named, space) in &facts.members_of_space_org {
        let user = ensure_user(world, named);
        if let Some(org) = world.spaces.get(space).map(|s| s.org.clone()) {
            grant(world, &user, RoleType::OrganizationUser, &org);
        }
    }
    let orgs: Vec<String> = world.orgs.keys().cloned().collect();
    for org in orgs {
        let listed = facts.org_role_lists.contains(&org);
        let member_list = facts.org_members.get(&org);
        if !listed && member_list.is_none_or(|m| m.contains(&admin)) {
            grant(world, &admin, RoleType::OrganizationManager, &org);
            grant(world, &admin, RoleType::OrganizationUser, &org);
        }
    }
    let spaces: Vec<String> = world.spaces.keys().cloned().collect();
    for space in spaces {
        if !facts.space_role_lists.contains(&space) && !facts.space_members.contains_key(&space) {
            grant(world, &admin, RoleType::SpaceDeveloper, &space);
        }
    }
}
