//! The roles part of the diff (roles.rs), on plain values.

use super::tests::{actions, converged, desired, live, tenant};
use super::*;
use crate::{CfUser, LiveRole, LiveTenant, Runtime, SpaceRole, SpaceRoleType, Tenant};

fn me() -> CfUser {
    CfUser {
        guid: "me-guid".into(),
        username: "admin".into(),
        origin: "uaa".into(),
    }
}

fn role(role: &str, user: &str, origin: &str, space: Option<&str>) -> LiveRole {
    LiveRole {
        role: role.into(),
        username: user.into(),
        origin: origin.into(),
        space_guid: space.map(str::to_owned),
    }
}

/// What BTP gives the user who enables Cloud Foundry: Org Manager, nothing more.
fn org_manager(mut lt: LiveTenant) -> LiveTenant {
    lt.cf_user = Some(me());
    lt.roles = vec![role("organization_manager", "admin", "uaa", None)];
    lt
}

#[test]
fn a_new_space_gets_the_acting_user_as_org_user_then_space_developer_before_the_instance() {
    let t = tenant("a", Runtime::Cloudfoundry);
    let mut lt = org_manager(converged(&t));
    lt.spaces.clear();
    lt.instances.clear();
    lt.keys.clear();
    let plan = plan(&desired(vec![t]), &live(vec![lt]), &PlanOptions::default());
    let labels: Vec<String> = actions(&plan).into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        labels,
        [
            "space a/calm",
            "org_role a organization_user admin (uaa)",
            "space_role a/calm space_developer admin (uaa)",
            "service_instance calm/calm-api",
            "service_key calm-api/calm-key",
        ]
    );
    assert!(
        plan.changes.iter().all(|c| c.action == Action::Create),
        "{plan:?}"
    );
    assert!(
        plan.changes[2]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("acts as")),
        "{:?}",
        plan.changes[2].reason
    );
}

#[test]
fn a_hand_made_space_without_roles_is_told_apart_by_whether_the_user_can_assign() {
    let t = tenant("a", Runtime::Cloudfoundry);
    let lt = org_manager(converged(&t));
    let plan = plan(
        &desired(vec![t.clone()]),
        &live(vec![lt.clone()]),
        &PlanOptions::default(),
    );
    assert_eq!(
        actions(&plan),
        [
            (
                "org_role a organization_user admin (uaa)".to_owned(),
                Action::Create
            ),
            (
                "space_role a/calm space_developer admin (uaa)".to_owned(),
                Action::Create
            ),
        ]
    );
    for c in &plan.changes {
        assert!(missing_right(&t, &lt, &c.resource).is_none());
    }
    // An Org User (not Org Manager) cannot assign: the plan says who must.
    let mut member = lt;
    member.roles = vec![role("organization_user", "admin", "uaa", None)];
    let plan = plan_of(&t, &member);
    assert_eq!(actions(&plan).len(), 1, "{plan:?}");
    let reason = plan.changes[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("is neither an Org Manager of org `a` nor a Space Manager of space `calm`")
            && reason.contains("cf set-space-role admin a calm SpaceDeveloper"),
        "{reason}"
    );
    // A Space Manager of the space may assign space roles there.
    member
        .roles
        .push(role("space_manager", "admin", "uaa", Some("space-guid")));
    let plan = plan_of(&t, &member);
    assert!(missing_right(&t, &member, &plan.changes[0].resource).is_none());
}

fn plan_of(t: &Tenant, lt: &LiveTenant) -> Plan {
    plan(
        &desired(vec![t.clone()]),
        &live(vec![lt.clone()]),
        &PlanOptions::default(),
    )
}

#[test]
fn space_roles_of_calm_yaml_are_planned_and_held_roles_plan_nothing() {
    let mut t = tenant("a", Runtime::Cloudfoundry);
    t.space_roles = vec![
        SpaceRole {
            user: "ops@example.com".into(),
            origin: "sap.ids".into(),
            role: SpaceRoleType::SpaceAuditor,
        },
        SpaceRole {
            user: "admin".into(),
            origin: "uaa".into(),
            role: SpaceRoleType::SpaceDeveloper,
        },
    ];
    let mut lt = org_manager(converged(&t));
    lt.roles
        .push(role("organization_user", "admin", "uaa", None));
    lt.roles
        .push(role("space_developer", "admin", "uaa", Some("space-guid")));
    let plan = plan_of(&t, &lt);
    assert_eq!(
        actions(&plan),
        [
            (
                "org_role a organization_user ops@example.com (sap.ids)".to_owned(),
                Action::Create
            ),
            (
                "space_role a/calm space_auditor ops@example.com (sap.ids)".to_owned(),
                Action::Create
            ),
        ],
        "the acting user's role is planned once, and not again once held"
    );
    lt.roles.push(role(
        "organization_user",
        "ops@example.com",
        "sap.ids",
        None,
    ));
    lt.roles.push(role(
        "space_auditor",
        "ops@example.com",
        "sap.ids",
        Some("space-guid"),
    ));
    assert!(plan_of(&t, &lt).is_empty());
    // A user of another origin is another user.
    lt.roles.pop();
    lt.roles.push(role(
        "space_auditor",
        "ops@example.com",
        "other-idp",
        Some("space-guid"),
    ));
    assert_eq!(plan_of(&t, &lt).changes.len(), 1);
}

#[test]
fn creating_a_space_without_org_manager_is_refused_in_the_plan_and_service_manager_has_no_roles() {
    let t = tenant("a", Runtime::Cloudfoundry);
    let mut lt = converged(&t);
    lt.spaces.clear();
    lt.instances.clear();
    lt.keys.clear();
    lt.cf_user = Some(me());
    let plan = plan_of(&t, &lt);
    let space = &plan.changes[0];
    assert_eq!(space.resource.label(), "space a/calm");
    assert!(
        space
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("it can neither create space `calm`")),
        "{space:?}"
    );
    let sm = tenant("b", Runtime::ServiceManager);
    let mut lt = org_manager(converged(&sm));
    lt.cf_user = Some(me());
    assert!(plan_of(&sm, &lt).is_empty());
}
