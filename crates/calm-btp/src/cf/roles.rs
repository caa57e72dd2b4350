//! Roles and the users they name (btp-api.md §2.11): list roles and users in bulk, assign a
//! role, and who the client's token belongs to.
//!
//! A role is assigned to a user named by GUID or by username and origin: `POST /v3/roles`
//! accepts both, so calmctl needs no lookup of the users `space_roles` names before assigning.
//! A role the user already holds is refused with 422 `User '…' already has '…' role …`; that
//! counts as done, as the cf CLI counts it (`RoleAlreadyExistsError`, matched on the same
//! message in cloudfoundry/cli `api/cloudcontroller/ccv3/errors.go`).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::CfClient;
use super::filter::Query;
use super::wire::Page;
use crate::auth::TokenUser;
use crate::error::{Api, Error, ErrorBody};
use crate::http::send::{Created, create_or_find};

/// A role of a user: an org role (`organization_guid`) or a space role (`space_guid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// GUID.
    pub guid: String,
    /// The role type, e.g. `organization_manager` or `space_developer`.
    pub kind: String,
    /// The user's GUID.
    pub user_guid: String,
    /// The org, for an org role.
    pub organization_guid: Option<String>,
    /// The space, for a space role.
    pub space_guid: Option<String>,
}

/// Filter for roles. Different filters combine with AND, so one list call reads either org
/// roles (`organization_guids`) or space roles (`space_guids`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleFilter {
    /// Role types.
    pub types: Vec<String>,
    /// Users.
    pub user_guids: Vec<String>,
    /// Orgs (org roles only).
    pub organization_guids: Vec<String>,
    /// Spaces (space roles only).
    pub space_guids: Vec<String>,
}

/// A Cloud Foundry user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// GUID.
    pub guid: String,
    /// User name; `None` for a client or a user unknown to UAA.
    pub username: Option<String>,
    /// Identity provider.
    pub origin: Option<String>,
}

/// Filter for users. Users are listed only if the caller may see them: itself, and users with a
/// role in an org the caller has a role in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// User names.
    pub usernames: Vec<String>,
    /// Origins (with `usernames` only).
    pub origins: Vec<String>,
}

/// Whom a new role is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleUser {
    /// A user by GUID.
    Guid(String),
    /// A user by name in an identity provider.
    Name {
        /// User name.
        username: String,
        /// Origin, e.g. `sap.ids`.
        origin: String,
    },
}

/// Where a new role applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleTarget {
    /// An org role in this org.
    Organization(String),
    /// A space role in this space.
    Space(String),
}

/// A role to assign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRole {
    /// The role type, e.g. `organization_user` or `space_developer`.
    pub kind: String,
    /// Where.
    pub target: RoleTarget,
    /// To whom.
    pub user: RoleUser,
}

/// What assigning a role did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleAssigned {
    /// The role was created.
    Created(Role),
    /// The user held it already (or an earlier attempt of this call took effect).
    AlreadyHeld,
}

#[derive(Deserialize)]
struct WireRole {
    guid: String,
    #[serde(rename = "type")]
    kind: String,
    relationships: WireRoleRelationships,
}

#[derive(Deserialize)]
struct WireRoleRelationships {
    user: WireToOne,
    #[serde(default)]
    organization: Option<WireToOne>,
    #[serde(default)]
    space: Option<WireToOne>,
}

#[derive(Deserialize)]
struct WireToOne {
    #[serde(default)]
    data: Option<WireGuid>,
}

#[derive(Deserialize)]
struct WireGuid {
    guid: String,
}

impl WireToOne {
    fn guid(self) -> Option<String> {
        self.data.map(|d| d.guid)
    }
}

impl From<WireRole> for Role {
    fn from(w: WireRole) -> Self {
        Role {
            guid: w.guid,
            kind: w.kind,
            user_guid: w.relationships.user.guid().unwrap_or_default(),
            organization_guid: w.relationships.organization.and_then(WireToOne::guid),
            space_guid: w.relationships.space.and_then(WireToOne::guid),
        }
    }
}

#[derive(Deserialize)]
struct WireUser {
    guid: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    origin: Option<String>,
}

impl From<WireUser> for User {
    fn from(w: WireUser) -> Self {
        User {
            guid: w.guid,
            username: w.username,
            origin: w.origin,
        }
    }
}

#[derive(Serialize)]
struct RoleCreate<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    relationships: serde_json::Value,
}

/// Is this the refusal of a role the user already holds?
fn already_held(error: &Error) -> bool {
    error.api_error().is_some_and(|e| {
        e.status == 422
            && matches!(&e.body, ErrorBody::CloudFoundry(entries) if entries.iter().any(|x| {
                x.code == 10008 && x.detail.starts_with("User '") && x.detail.contains("' already has '")
            }))
    })
}

impl CfClient {
    /// The user this client's token belongs to (its claims; no request but a token, if none is
    /// cached).
    pub async fn current_user(&self) -> Result<TokenUser, Error> {
        self.token.user(&self.btp).await
    }

    /// Lists the roles matching `filter` that the caller may read.
    pub async fn list_roles(&self, filter: &RoleFilter) -> Result<Vec<Role>, Error> {
        let query = Query::default()
            .list("types", &filter.types)
            .list("user_guids", &filter.user_guids)
            .list("organization_guids", &filter.organization_guids)
            .list("space_guids", &filter.space_guids);
        self.list::<WireRole, _>("/v3/roles", query).await
    }

    /// Lists the users matching `filter` that the caller may see.
    pub async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>, Error> {
        let query = Query::default()
            .list("usernames", &filter.usernames)
            .list("origins", &filter.origins);
        self.list::<WireUser, _>("/v3/users", query).await
    }

    /// Assigns a role (201), or finds that the user holds it already (422 "already has", or an
    /// ambiguous failure after which the role is listed).
    pub async fn create_role(&self, role: &NewRole) -> Result<RoleAssigned, Error> {
        let target = match &role.target {
            RoleTarget::Organization(guid) => ("organization", guid),
            RoleTarget::Space(guid) => ("space", guid),
        };
        let user = match &role.user {
            RoleUser::Guid(guid) => serde_json::json!({"guid": guid}),
            RoleUser::Name { username, origin } => {
                serde_json::json!({"username": username, "origin": origin})
            }
        };
        let body = RoleCreate {
            kind: &role.kind,
            relationships: serde_json::json!({
                target.0: {"data": {"guid": target.1}},
                "user": {"data": user},
            }),
        };
        let request = self
            .request(Method::POST, self.endpoint.url("/v3/roles"))
            .json(&body);
        let outcome = create_or_find(
            &self.btp,
            Api::CloudFoundry,
            || async {
                let response = self.btp.execute(&request).await?;
                Ok(Role::from(response.json::<WireRole>()?))
            },
            || async { self.held(role).await },
        )
        .await;
        match outcome {
            Ok(Created::Created(created)) => Ok(RoleAssigned::Created(created)),
            Ok(Created::Found(())) => Ok(RoleAssigned::AlreadyHeld),
            Err(e) if already_held(&e) => Ok(RoleAssigned::AlreadyHeld),
            Err(e) => Err(e),
        }
    }

    /// After an ambiguous failure: is the role there? Only a user named by GUID can be looked
    /// up; for one named by username the create is repeated (and a 422 "already has" answers).
    async fn held(&self, role: &NewRole) -> Result<Option<()>, Error> {
        let RoleUser::Guid(user) = &role.user else {
            return Ok(None);
        };
        let mut filter = RoleFilter {
            types: vec![role.kind.clone()],
            user_guids: vec![user.clone()],
            ..RoleFilter::default()
        };
        match &role.target {
            RoleTarget::Organization(g) => filter.organization_guids = vec![g.clone()],
            RoleTarget::Space(g) => filter.space_guids = vec![g.clone()],
        }
        Ok((!self.list_roles(&filter).await?.is_empty()).then_some(()))
    }
}

/// Decoders of single bodies for the fixture tests ([`crate::decode`]).
pub(crate) mod decoders {
    use super::{Page, Role, User, WireRole, WireUser};
    use crate::decode::{as_type, context};
    use crate::error::{Api, Error};
    use crate::http;

    pub(crate) fn role(body: &[u8]) -> Result<Role, Error> {
        as_type::<WireRole, _>(Api::CloudFoundry, body)
    }
    pub(crate) fn roles(body: &[u8]) -> Result<Vec<Role>, Error> {
        let page: Page<WireRole> = http::decode(&context(Api::CloudFoundry), 200, body)?;
        Ok(page.resources.into_iter().map(Role::from).collect())
    }
    pub(crate) fn users(body: &[u8]) -> Result<Vec<User>, Error> {
        let page: Page<WireUser> = http::decode(&context(Api::CloudFoundry), 200, body)?;
        Ok(page.resources.into_iter().map(User::from).collect())
    }
}
