//! Roles: who the token belongs to, assigning roles by GUID or by name (a role held already is
//! no error), reading roles and users in bulk, and the 403 of a user without the right.

use std::sync::Arc;

use btp_sim::world::RoleType;
use calm_btp::auth::Grant;
use calm_btp::cf::{NewRole, NewSpace, RoleAssigned, RoleFilter, RoleTarget, RoleUser, UserFilter};
use calm_btp::{Btp, SecretString};

use crate::support::{CF_API, Recorder, cf_client, config, landscape};

#[tokio::test]
async fn roles_are_assigned_by_guid_or_name_once_and_read_in_bulk() {
    let land = landscape(|mut sim| {
        let world = sim.world_mut();
        world.add_person("ops@example.com", "sap.ids");
        world.add_user("bob", "pw");
        sim
    })
    .await;
    let recorder = Arc::new(Recorder::default());
    let (_, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    let me = cf.current_user().await.expect("the token names its user");
    assert_eq!(
        (me.user_name.as_str(), me.origin.as_str()),
        ("admin", "uaa")
    );
    let space = cf
        .create_space(&NewSpace {
            name: "fresh".into(),
            organization_guid: land.org.clone(),
            metadata: Default::default(),
        })
        .await
        .expect("an Org Manager creates a space");
    let assign = |kind: &str, target: RoleTarget, user: RoleUser| NewRole {
        kind: kind.into(),
        target,
        user,
    };
    let ops = || RoleUser::Name {
        username: "ops@example.com".into(),
        origin: "sap.ids".into(),
    };
    let auditor = assign(
        "space_auditor",
        RoleTarget::Space(space.guid.clone()),
        ops(),
    );
    // A space role needs the user to be an Org User of the org first.
    let refused = cf.create_role(&auditor).await.expect_err("no org user yet");
    assert_eq!(refused.status(), Some(422), "{refused}");
    let org_user = assign(
        "organization_user",
        RoleTarget::Organization(land.org.clone()),
        ops(),
    );
    let created = cf.create_role(&org_user).await.expect("org user");
    assert!(matches!(created, RoleAssigned::Created(_)), "{created:?}");
    assert_eq!(
        cf.create_role(&org_user).await.expect("again"),
        RoleAssigned::AlreadyHeld
    );
    cf.create_role(&auditor).await.expect("by name");
    // By GUID, for the token's own user (an Org User already, through the landscape's roles).
    let me_member = assign(
        "organization_user",
        RoleTarget::Organization(land.org.clone()),
        RoleUser::Guid(me.user_id.clone()),
    );
    assert_eq!(
        cf.create_role(&me_member).await.expect("org user"),
        RoleAssigned::AlreadyHeld
    );
    let developer = assign(
        "space_developer",
        RoleTarget::Space(space.guid.clone()),
        RoleUser::Guid(me.user_id.clone()),
    );
    cf.create_role(&developer).await.expect("space developer");
    let users = cf
        .list_users(&UserFilter {
            usernames: vec!["ops@example.com".into(), "admin".into()],
            origins: vec!["sap.ids".into(), "uaa".into()],
        })
        .await
        .expect("users");
    assert_eq!(users.len(), 2, "{users:?}");
    let guids: Vec<String> = users.iter().map(|u| u.guid.clone()).collect();
    let space_roles = cf
        .list_roles(&RoleFilter {
            types: vec!["space_developer".into(), "space_auditor".into()],
            user_guids: guids.clone(),
            space_guids: vec![space.guid.clone(), land.space.clone()],
            ..RoleFilter::default()
        })
        .await
        .expect("space roles");
    let mut kinds: Vec<(String, Option<String>)> = space_roles
        .iter()
        .map(|r| (r.kind.clone(), r.space_guid.clone()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("space_auditor".to_owned(), Some(space.guid.clone())),
            ("space_developer".to_owned(), Some(land.space.clone())),
            ("space_developer".to_owned(), Some(space.guid.clone())),
        ]
    );
    let org_roles = cf
        .list_roles(&RoleFilter {
            types: vec!["organization_manager".into(), "organization_user".into()],
            user_guids: guids,
            organization_guids: vec![land.org.clone()],
            ..RoleFilter::default()
        })
        .await
        .expect("org roles");
    assert_eq!(org_roles.len(), 3, "{org_roles:?}");
    assert!(org_roles.iter().all(|r| r.space_guid.is_none()));

    // Someone who only belongs to the org may assign nothing: a 403 with CF's code.
    land.sim
        .with_world(|w| w.add_role("bob", RoleType::OrganizationUser, &land.org));
    let btp = Btp::new(config(land.sim.url(), &recorder)).expect("config");
    let bob = btp
        .cloud_foundry(
            CF_API,
            Grant::cf_password("bob", SecretString::from("pw"), None),
        )
        .await
        .expect("root");
    let denied = bob.create_role(&auditor).await.expect_err("not a manager");
    let api = denied.api_error().expect("an API error");
    assert_eq!((api.status, api.cf_codes()), (403, vec![10003]), "{denied}");
}
