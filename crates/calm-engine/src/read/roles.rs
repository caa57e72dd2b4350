//! Cloud Foundry roles of a region, read in bulk beside the other lists (btp-api.md §2.11): who
//! calmctl acts as (its token's claims), the GUIDs of the users `space_roles` names (one users
//! list, only when there are any), their org roles in the region's orgs (one roles list, beside
//! the spaces) and their space roles in the spaces read (one roles list, beside the instances).
//! Each list is split only when its URL would grow too long.

use std::collections::{BTreeSet, HashMap};

use calm_btp::cf::{CfClient, Role, RoleFilter, User, UserFilter};
use calm_core::plan::roles::{ORG_MANAGER, ORG_USER, SPACE_DEVELOPER, SPACE_MANAGER};
use calm_core::{CfUser, LiveRole, Tenant};

/// The users whose roles matter in a region: the acting user and those `space_roles` names,
/// by GUID (a named user whom Cloud Foundry does not show the acting user has no role in its
/// orgs, so there is nothing to read for it).
pub(super) struct People {
    pub(super) me: CfUser,
    names: HashMap<String, (String, String)>,
}

/// The users `space_roles` names in these tenants, as a users filter (`None`: nobody).
pub(super) fn named(tenants: &[&Tenant]) -> Option<UserFilter> {
    let pairs: BTreeSet<(&str, &str)> = tenants
        .iter()
        .flat_map(|t| &t.space_roles)
        .map(|r| (r.user.as_str(), r.origin.as_str()))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let usernames: BTreeSet<String> = pairs.iter().map(|(u, _)| (*u).to_owned()).collect();
    let origins: BTreeSet<String> = pairs.iter().map(|(_, o)| (*o).to_owned()).collect();
    Some(UserFilter {
        usernames: usernames.into_iter().collect(),
        origins: origins.into_iter().collect(),
    })
}

impl People {
    /// The acting user and the users found for `named` (filtered by the exact pairs asked for:
    /// the API matches every username in every origin).
    pub(super) fn new(me: CfUser, found: Vec<User>, tenants: &[&Tenant]) -> People {
        let wanted: BTreeSet<(&str, &str)> = tenants
            .iter()
            .flat_map(|t| &t.space_roles)
            .map(|r| (r.user.as_str(), r.origin.as_str()))
            .collect();
        let mut names = HashMap::new();
        names.insert(me.guid.clone(), (me.username.clone(), me.origin.clone()));
        for u in found {
            if let (Some(name), Some(origin)) = (u.username, u.origin)
                && wanted.contains(&(name.as_str(), origin.as_str()))
            {
                names.insert(u.guid, (name, origin));
            }
        }
        People { me, names }
    }

    fn guids(&self) -> Vec<String> {
        let mut guids: Vec<String> = self.names.keys().cloned().collect();
        guids.sort();
        guids
    }

    /// The org roles that matter: Org User (needed before a space role) and Org Manager (who
    /// may create spaces and assign roles).
    pub(super) fn org_filter(&self, orgs: Vec<String>) -> RoleFilter {
        RoleFilter {
            types: vec![ORG_MANAGER.into(), ORG_USER.into()],
            user_guids: self.guids(),
            organization_guids: orgs,
            ..RoleFilter::default()
        }
    }

    /// The space roles that matter: those `space_roles` names, Space Developer (the acting user's)
    /// and Space Manager (who may assign space roles).
    pub(super) fn space_filter(&self, tenants: &[&Tenant], spaces: Vec<String>) -> RoleFilter {
        let mut types: BTreeSet<&str> = [SPACE_DEVELOPER, SPACE_MANAGER].into();
        types.extend(
            tenants
                .iter()
                .flat_map(|t| &t.space_roles)
                .map(|r| r.role.as_str()),
        );
        RoleFilter {
            types: types.into_iter().map(str::to_owned).collect(),
            user_guids: self.guids(),
            space_guids: spaces,
            ..RoleFilter::default()
        }
    }

    fn live(&self, role: &Role) -> Option<LiveRole> {
        let (username, origin) = self.names.get(&role.user_guid)?;
        Some(LiveRole {
            role: role.kind.clone(),
            username: username.clone(),
            origin: origin.clone(),
            space_guid: role.space_guid.clone(),
        })
    }
}

/// The roles read, by org and by space GUID.
#[derive(Default)]
pub(super) struct RoleIndex {
    by_org: HashMap<String, Vec<LiveRole>>,
    by_space: HashMap<String, Vec<LiveRole>>,
}

impl RoleIndex {
    pub(super) fn new(people: &People, org_roles: &[Role], space_roles: &[Role]) -> RoleIndex {
        let mut index = RoleIndex::default();
        for r in org_roles {
            if let (Some(org), Some(live)) = (&r.organization_guid, people.live(r)) {
                index.by_org.entry(org.clone()).or_default().push(live);
            }
        }
        for r in space_roles {
            if let (Some(space), Some(live)) = (&r.space_guid, people.live(r)) {
                index.by_space.entry(space.clone()).or_default().push(live);
            }
        }
        index
    }

    /// The roles in an org and in the given spaces of it.
    pub(super) fn of<'s>(
        &self,
        org: Option<&str>,
        spaces: impl Iterator<Item = &'s str>,
    ) -> Vec<LiveRole> {
        let mut out: Vec<LiveRole> = org
            .and_then(|o| self.by_org.get(o))
            .cloned()
            .unwrap_or_default();
        for space in spaces {
            out.extend(self.by_space.get(space).into_iter().flatten().cloned());
        }
        out
    }
}

/// Reads the roles in `list`, or nothing when there is nothing to filter by.
pub(super) async fn list(cf: &CfClient, filter: RoleFilter) -> Result<Vec<Role>, calm_btp::Error> {
    if filter.organization_guids.is_empty() && filter.space_guids.is_empty() {
        return Ok(Vec::new());
    }
    cf.list_roles(&filter).await
}

/// The acting user, as calm-core names it.
pub(super) fn acting(user: calm_btp::auth::TokenUser) -> CfUser {
    CfUser {
        guid: user.user_id,
        username: user.user_name,
        origin: user.origin,
    }
}
