//! Cloud Foundry roles: who may read and change what (btp-api.md §2.11).
//!
//! The rules are Cloud Controller's (`Permissions` and `Membership` in cloud_controller_ng, and
//! the v3 controllers that call them):
//!
//! - an org is readable with any org role in it;
//! - a space is readable with a space role in it (developer, manager, auditor, supporter), or as
//!   Org Manager of its org;
//! - creating and deleting a space, and assigning org roles, need Org Manager;
//! - updating a space, and assigning space roles, need Space Manager of it or Org Manager;
//! - creating, changing or deleting service instances and keys, and reading a key's
//!   credentials, need Space Developer in that space;
//! - a space role needs the user to be an Org User (`organization_user`) of the space's org.
//!
//! Nobody is a Cloud Foundry admin: BTP users never are.

use std::collections::HashMap;

use super::{Role, RoleType, Space, User, World, now_ms};

/// One bit per role type.
fn bit(kind: RoleType) -> u8 {
    1 << (kind as u8)
}

const ORG_READING: [RoleType; 4] = [
    RoleType::OrganizationUser,
    RoleType::OrganizationAuditor,
    RoleType::OrganizationManager,
    RoleType::OrganizationBillingManager,
];

const SPACE_READING: [RoleType; 4] = [
    RoleType::SpaceDeveloper,
    RoleType::SpaceManager,
    RoleType::SpaceAuditor,
    RoleType::SpaceSupporter,
];

fn any(mask: u8, kinds: &[RoleType]) -> bool {
    kinds.iter().any(|k| mask & bit(*k) != 0)
}

impl RoleType {
    /// Every role type, in the order the API documents them.
    pub const ALL: [RoleType; 8] = [
        RoleType::OrganizationUser,
        RoleType::OrganizationAuditor,
        RoleType::OrganizationManager,
        RoleType::OrganizationBillingManager,
        RoleType::SpaceAuditor,
        RoleType::SpaceDeveloper,
        RoleType::SpaceManager,
        RoleType::SpaceSupporter,
    ];

    /// The API's name, e.g. `space_developer`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::OrganizationUser => "organization_user",
            RoleType::OrganizationAuditor => "organization_auditor",
            RoleType::OrganizationManager => "organization_manager",
            RoleType::OrganizationBillingManager => "organization_billing_manager",
            RoleType::SpaceAuditor => "space_auditor",
            RoleType::SpaceDeveloper => "space_developer",
            RoleType::SpaceManager => "space_manager",
            RoleType::SpaceSupporter => "space_supporter",
        }
    }

    /// The role type of an API name.
    pub fn parse(name: &str) -> Option<RoleType> {
        RoleType::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// True for the four org role types.
    pub fn is_org_role(self) -> bool {
        ORG_READING.contains(&self)
    }
}

/// What one user may do: their role types per org and per space.
#[derive(Debug, Clone, Default)]
pub struct Access {
    user: String,
    orgs: HashMap<String, u8>,
    spaces: HashMap<String, u8>,
}

impl Access {
    /// The user's GUID.
    pub fn user(&self) -> &str {
        &self.user
    }

    fn org_mask(&self, org: &str) -> u8 {
        self.orgs.get(org).copied().unwrap_or(0)
    }

    fn space_mask(&self, space: &str) -> u8 {
        self.spaces.get(space).copied().unwrap_or(0)
    }

    /// Does the user hold this role in this org or space?
    pub fn has(&self, kind: RoleType, target: &str) -> bool {
        let mask = if kind.is_org_role() {
            self.org_mask(target)
        } else {
            self.space_mask(target)
        };
        mask & bit(kind) != 0
    }

    /// Any org role: the org is listed and can be read.
    pub fn reads_org(&self, org: &str) -> bool {
        any(self.org_mask(org), &ORG_READING)
    }

    /// Org Manager of the org.
    pub fn manages_org(&self, org: &str) -> bool {
        self.has(RoleType::OrganizationManager, org)
    }

    /// A space role in the space, or Org Manager of its org.
    pub fn reads_space(&self, space: &Space) -> bool {
        any(self.space_mask(&space.guid), &SPACE_READING) || self.manages_org(&space.org)
    }

    /// Space Manager of the space, or Org Manager of its org: may rename it, change its labels
    /// and assign space roles in it.
    pub fn updates_space(&self, space: &Space) -> bool {
        self.has(RoleType::SpaceManager, &space.guid) || self.manages_org(&space.org)
    }

    /// Space Developer in the space: may create, change and delete service instances and keys
    /// there, and read keys' credentials.
    pub fn develops_in(&self, space: &str) -> bool {
        self.has(RoleType::SpaceDeveloper, space)
    }

    /// The orgs the user can read.
    pub fn readable_orgs(&self) -> impl Iterator<Item = &str> {
        self.orgs
            .iter()
            .filter(|(_, m)| any(**m, &ORG_READING))
            .map(|(o, _)| o.as_str())
    }
}

impl World {
    /// What the user with this GUID may do.
    pub fn access(&self, user: &str) -> Access {
        let mut access = Access {
            user: user.to_owned(),
            ..Access::default()
        };
        for role in self.roles.values().filter(|r| r.user == user) {
            let (map, target) = match (&role.organization, &role.space) {
                (Some(org), _) => (&mut access.orgs, org),
                (None, Some(space)) => (&mut access.spaces, space),
                (None, None) => continue,
            };
            *map.entry(target.clone()).or_default() |= bit(role.kind);
        }
        access
    }

    /// What the user may do through one landscape's Cloud Controller: an org of another
    /// landscape does not exist there, so roles in it (or in its spaces) do not count. `None`: every
    /// landscape at once (a request to the simulator's own address).
    pub fn access_on(&self, user: &str, landscape: Option<&str>) -> Access {
        let mut access = self.access(user);
        if let Some(landscape) = landscape {
            access.orgs.retain(|org, _| self.org_on(org, landscape));
            access.spaces.retain(|space, _| {
                self.spaces
                    .get(space)
                    .is_some_and(|s| self.org_on(&s.org, landscape))
            });
        }
        access
    }

    /// May the user behind `access` read this role? (Roles in spaces it can read, or in orgs it
    /// can read; CC's `readable_roles`.)
    pub fn role_readable(&self, access: &Access, role: &Role) -> bool {
        match (&role.organization, &role.space) {
            (Some(org), _) => access.reads_org(org),
            (None, Some(space)) => self
                .spaces
                .get(space)
                .is_some_and(|s| access.reads_space(s)),
            (None, None) => false,
        }
    }

    /// May the user behind `access` see this user? Users with an org role in an org it can read,
    /// and itself (CC's `readable_users_query`).
    pub fn user_readable(&self, access: &Access, user: &str) -> bool {
        user == access.user
            || self.roles.values().any(|r| {
                r.user == user
                    && r.kind.is_org_role()
                    && r.organization
                        .as_deref()
                        .is_some_and(|o| access.reads_org(o))
            })
    }

    /// A user by GUID.
    pub fn user_by_guid(&self, guid: &str) -> Option<&User> {
        self.users.iter().find(|u| u.guid == guid)
    }

    /// A user by name and origin.
    pub fn user_by_name(&self, username: &str, origin: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.username == username && u.origin == origin)
    }

    /// The role of this type that a user holds in an org or space, if any.
    pub fn find_role(&self, user: &str, kind: RoleType, target: &str) -> Option<&Role> {
        self.roles.values().find(|r| {
            r.user == user
                && r.kind == kind
                && if kind.is_org_role() {
                    r.organization.as_deref() == Some(target)
                } else {
                    r.space.as_deref() == Some(target)
                }
        })
    }

    /// Records a role (no permission checks: the API and the seeding helpers check first);
    /// returns the existing one if the user already holds it.
    pub fn insert_role(&mut self, user: &str, kind: RoleType, target: &str) -> Role {
        if let Some(existing) = self.find_role(user, kind, target) {
            return existing.clone();
        }
        let guid = self.guid();
        let (organization, space) = if kind.is_org_role() {
            (Some(target.to_owned()), None)
        } else {
            (None, Some(target.to_owned()))
        };
        let role = Role {
            guid: guid.clone(),
            kind,
            user: user.to_owned(),
            organization,
            space,
            created_ms: now_ms(),
        };
        self.roles.insert(guid, role.clone());
        role
    }

    /// Gives the user named `username` a role in the org or space `target` (a GUID), for
    /// building worlds in code. A space role makes the user an Org User of the space's org
    /// first, as Cloud Foundry requires (and as `cf set-space-role` does). Returns the role's
    /// GUID, or `None` when the user or the target does not exist.
    pub fn add_role(&mut self, username: &str, kind: RoleType, target: &str) -> Option<String> {
        let user = self
            .users
            .iter()
            .find(|u| u.username == username)?
            .guid
            .clone();
        if kind.is_org_role() {
            self.orgs.get(target)?;
        } else {
            let org = self.spaces.get(target)?.org.clone();
            self.insert_role(&user, RoleType::OrganizationUser, &org);
        }
        Some(self.insert_role(&user, kind, target).guid)
    }

    /// Adds a person of an identity provider who cannot log in here but can receive roles
    /// (`origin` e.g. `sap.ids`); returns the GUID.
    pub fn add_person(&mut self, username: &str, origin: &str) -> String {
        if let Some(u) = self.user_by_name(username, origin) {
            return u.guid.clone();
        }
        let mut user = User {
            username: username.to_owned(),
            password: String::new(),
            origin: origin.to_owned(),
            guid: String::new(),
            metadata: Default::default(),
            created_ms: now_ms(),
        };
        user.guid = user.derived_id();
        self.users.push(user.clone());
        user.guid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_managers_read_every_space_of_their_org_and_developers_only_their_own() {
        let mut world = World::new(3);
        world.add_user("boss", "pw");
        world.add_user("dev", "pw");
        let org = world.add_org("org", None);
        let other = world.add_org("other", None);
        let a = world.add_space(&org, "a");
        let b = world.add_space(&org, "b");
        world.add_role("boss", RoleType::OrganizationManager, &org);
        world.add_role("dev", RoleType::SpaceDeveloper, &a);
        let boss = world.access(&world.user_guid("boss").unwrap_or_default());
        let dev = world.access(&world.user_guid("dev").unwrap_or_default());
        let (sa, sb) = (world.spaces[&a].clone(), world.spaces[&b].clone());
        assert!(boss.reads_space(&sa) && boss.reads_space(&sb) && boss.manages_org(&org));
        assert!(
            !boss.develops_in(&a),
            "an Org Manager is no Space Developer"
        );
        assert!(!boss.reads_org(&other));
        assert!(dev.reads_space(&sa) && !dev.reads_space(&sb));
        assert!(
            dev.develops_in(&a) && dev.reads_org(&org),
            "made an Org User"
        );
        assert!(!dev.updates_space(&sa) && boss.updates_space(&sa));
    }
}
