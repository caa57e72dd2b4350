//! Cloud Foundry roles in a tenant's spaces (btp-api.md §2.11).
//!
//! Creating a service instance or key needs the Space Developer role in its space, and Cloud
//! Foundry gives a space's creator no role in it; so in every space of a Cloud Foundry tenant
//! the user calmctl acts as (the identity of its Cloud Foundry token) must be a Space Developer,
//! and each user `space_roles` names must hold the role named there. A space role needs the user
//! to be an Org User of the org first (`organization_user`), as `cf set-space-role` also
//! arranges. Only an Org Manager of the org (or, for space roles, a Space Manager of the space)
//! may assign these, and only an Org Manager may create a space: where the acting user lacks the
//! right, the change says who must do what ([`missing_right`]) and apply stops the tenant there.
//!
//! Roles are only ever added: a role carries no labels, so calmctl cannot tell one it assigned
//! from one a person did, and never removes any.

use super::support::push;
use super::{Action, Plan, Resource};
use crate::live::LiveTenant;
use crate::{CfUser, Tenant};

/// The Org User role that every space role needs first.
pub const ORG_USER: &str = "organization_user";
/// The Org Manager role: creates spaces and assigns roles.
pub const ORG_MANAGER: &str = "organization_manager";
/// The Space Manager role: assigns space roles in its space.
pub const SPACE_MANAGER: &str = "space_manager";
/// The Space Developer role: creates instances and keys in its space.
pub const SPACE_DEVELOPER: &str = "space_developer";

fn who(user: &str, origin: &str) -> String {
    format!("{user} ({origin})")
}

fn space_guid<'l>(live: &'l LiveTenant, name: &str) -> Option<&'l str> {
    live.spaces
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .map(|s| s.guid.as_str())
}

/// The `cf` command role name of a space role type.
fn cli_role(role: &str) -> &str {
    match role {
        "space_developer" => "SpaceDeveloper",
        "space_manager" => "SpaceManager",
        "space_auditor" => "SpaceAuditor",
        "space_supporter" => "SpaceSupporter",
        other => other,
    }
}

/// Why the user calmctl acts as cannot make this change, with who must do what instead; `None`
/// when it can, or when the acting user is unknown (nothing was read).
pub fn missing_right(t: &Tenant, live: &LiveTenant, resource: &Resource) -> Option<String> {
    // Nothing in Cloud Foundry can be done where the org could not be located.
    if let Some(problem) = live.cf.as_ref().and_then(|c| c.problem.as_ref())
        && !matches!(resource, Resource::Entitlement { .. })
    {
        return Some(problem.clone());
    }
    let me: &CfUser = live.cf_user.as_ref()?;
    let org = live.org_name(t);
    let manager = live.holds(&me.username, &me.origin, ORG_MANAGER, None);
    let i_am = who(&me.username, &me.origin);
    let make_me = format!(
        "or make {i_am} an Org Manager of `{org}` (BTP cockpit: Cloud Foundry > Org Members)"
    );
    if live.org_guid.is_none() && matches!(resource, Resource::Space { .. } | Resource::Role { .. })
    {
        return Some(format!(
            "org `{org}` was not found, or {i_am} has no role in it (Cloud Foundry lists only the \
             orgs a user has a role in): check the org's name in calm.yaml, and make {i_am} an Org \
             Manager of it"
        ));
    }
    match resource {
        Resource::Space { name, .. } if !manager => match space_guid(live, name) {
            None => Some(format!(
                "{i_am} is not an Org Manager of org `{org}`: it can neither create space \
                 `{name}` nor see it if it exists (Cloud Foundry shows a user only the spaces it \
                 has a role in); an Org Manager of `{org}` must create the space if needed and \
                 make {i_am} its Space Developer, {make_me}"
            )),
            Some(guid) if !live.holds(&me.username, &me.origin, SPACE_MANAGER, Some(guid)) => {
                Some(format!(
                    "{i_am} is neither an Org Manager of org `{org}` nor a Space Manager of space \
                     `{name}`, so it cannot label the space: an Org Manager of `{org}` must make it \
                     one of the two"
                ))
            }
            Some(_) => None,
        },
        Resource::Role {
            space: None,
            role,
            user,
            origin,
            ..
        } if !manager => Some(format!(
            "{i_am} is not an Org Manager of org `{org}`, and only an Org Manager can assign the \
             org role {role}: an Org Manager of `{org}` must assign it to {} (`cf set-space-role` \
             does so along with the space role), {make_me}",
            who(user, origin)
        )),
        Resource::Role {
            space: Some(space),
            role,
            user,
            origin,
            ..
        } if !manager => {
            let space_manager = space_guid(live, space)
                .is_some_and(|g| live.holds(&me.username, &me.origin, SPACE_MANAGER, Some(g)));
            (!space_manager).then(|| {
                let idp = if origin == "uaa" {
                    String::new()
                } else {
                    format!(" --origin {origin}")
                };
                format!(
                    "{i_am} is neither an Org Manager of org `{org}` nor a Space Manager of space \
                     `{space}`, so it cannot assign {role}: an Org Manager of `{org}` must \
                     (`cf set-space-role {user} {org} {space} {}{idp}`), {make_me}",
                    cli_role(role)
                )
            })
        }
        _ => None,
    }
}

/// Appends the role assignments the tenant's spaces lack: Org User first for each user that
/// needs one, then the space roles.
pub(super) fn diff(t: &Tenant, live: &LiveTenant, out: &mut Plan) {
    let Some(me) = &live.cf_user else {
        return;
    };
    let org = live.org_name(t).to_owned();
    let mut wanted: Vec<(String, String, &str)> =
        vec![(me.username.clone(), me.origin.clone(), SPACE_DEVELOPER)];
    for r in &t.space_roles {
        let entry = (r.user.clone(), r.origin.clone(), r.role.as_str());
        if !wanted.contains(&entry) {
            wanted.push(entry);
        }
    }
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut space_roles: Vec<Resource> = Vec::new();
    for space in t.spaces() {
        let guid = space_guid(live, space);
        for (user, origin, role) in &wanted {
            if guid.is_some_and(|g| live.holds(user, origin, role, Some(g))) {
                continue;
            }
            let member = live.holds(user, origin, ORG_USER, None);
            if !member && !members.contains(&(user.as_str(), origin.as_str())) {
                members.push((user, origin));
            }
            space_roles.push(Resource::Role {
                org: org.clone(),
                space: Some(space.to_owned()),
                role: (*role).to_owned(),
                user: user.clone(),
                origin: origin.clone(),
            });
        }
    }
    let org_roles = members.iter().map(|(user, origin)| Resource::Role {
        org: org.clone(),
        space: None,
        role: ORG_USER.to_owned(),
        user: (*user).to_owned(),
        origin: (*origin).to_owned(),
    });
    for resource in org_roles.collect::<Vec<_>>().into_iter().chain(space_roles) {
        let reason = missing_right(t, live, &resource).or_else(|| purpose(me, &resource));
        push(out, t, resource, Action::Create, reason, Vec::new(), None);
    }
}

/// Why a role is needed, for a reviewer.
fn purpose(me: &CfUser, resource: &Resource) -> Option<String> {
    let Resource::Role {
        space,
        user,
        origin,
        ..
    } = resource
    else {
        return None;
    };
    let mine = *user == me.username && *origin == me.origin;
    Some(match (space, mine) {
        (None, _) => "Cloud Foundry assigns space roles only to Org Users of the org".to_owned(),
        (Some(_), true) => {
            "the user calmctl acts as needs it to create and change instances and keys".to_owned()
        }
        (Some(_), false) => "named by `space_roles` in calm.yaml".to_owned(),
    })
}
