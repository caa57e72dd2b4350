//! Cloud Foundry roles end to end. calmctl's user is an Org Manager of each org and nothing
//! more, as BTP leaves the user who enables Cloud Foundry: it creates spaces, gives itself the
//! Space Developer role it needs there (and in spaces a colleague made), gives the users
//! `space_roles` names their roles, and stops a tenant whose roles it cannot assign with who
//! must grant what.

use btp_sim::ADMIN_USER;
use btp_sim::world::{RoleType, World};

use calm_test::{COLLEAGUE, Landscape, add_calm_space, entitle};

const TWO_ORGS: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
defaults:
  runtime: cloudfoundry
  space: calm
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui] }
  keys: [{ name: calm-key }]
  space_roles:
    - { user: ops@example.com, origin: sap.ids, role: space_auditor }
tenants:
  - { name: fresh, subaccount: fresh }
  - { name: handmade, subaccount: handmade }
";

/// Which roles `user` holds in the space `space` of org `org` (by names).
fn roles_in(world: &World, user: &str, origin: &str, org: &str, space: &str) -> Vec<String> {
    let Some(guid) = world
        .users
        .iter()
        .find(|u| u.username == user && u.origin == origin)
        .map(|u| u.guid.clone())
    else {
        return Vec::new();
    };
    let org = world
        .orgs
        .values()
        .find(|o| o.name == org)
        .unwrap()
        .guid
        .clone();
    let space = world
        .spaces
        .values()
        .find(|s| s.org == org && s.name == space)
        .map(|s| s.guid.clone())
        .unwrap_or_default();
    let mut out: Vec<String> = world
        .roles
        .values()
        .filter(|r| r.user == guid)
        .filter(|r| r.organization.as_deref() == Some(&org) || r.space.as_deref() == Some(&space))
        .map(|r| r.kind.as_str().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn an_org_manager_creates_one_space_adopts_a_hand_made_one_and_then_plans_nothing() {
    let l = Landscape::quick_with(TWO_ORGS, |world, _| {
        entitle(world, "fresh");
        entitle(world, "handmade");
        add_calm_space(world, "handmade");
    });
    let before = l.sim.export_world();
    assert_eq!(
        roles_in(&before, ADMIN_USER, "uaa", "handmade", "calm"),
        ["organization_manager"],
        "the colleague's space gives calmctl's user no role"
    );
    let (code, plan, _) = l.run(&["plan"]);
    assert_eq!(code, 2);
    assert!(
        plan.contains("+ space_role handmade/calm space_developer admin (uaa)")
            && plan.contains("+ space_role fresh/calm space_auditor ops@example.com (sap.ids)"),
        "{plan}"
    );
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    let after = l.sim.export_world();
    for org in ["fresh", "handmade"] {
        assert_eq!(
            roles_in(&after, ADMIN_USER, "uaa", org, "calm"),
            [
                "organization_manager",
                "organization_user",
                "space_developer"
            ],
            "{org}"
        );
        assert_eq!(
            roles_in(&after, "ops@example.com", "sap.ids", org, "calm"),
            ["organization_user", "space_auditor"],
            "{org}"
        );
    }
    assert_eq!(
        roles_in(&after, COLLEAGUE, "uaa", "handmade", "calm"),
        [
            "organization_manager",
            "organization_user",
            "space_developer"
        ],
        "the colleague's roles are untouched"
    );
    let (code, plan, err) = l.run(&["plan"]);
    assert_eq!(code, 0, "no changes after the apply:\n{plan}\n{err}");
    assert!(plan.contains("No changes"), "{plan}");
}

#[test]
fn a_user_who_is_no_org_manager_is_told_who_must_grant_what_and_nothing_is_sent() {
    let l = Landscape::quick_with(TWO_ORGS, |world, _| {
        entitle(world, "fresh");
        entitle(world, "handmade");
        let org = add_calm_space(world, "handmade");
        // In `handmade`, calmctl's user is no Org Manager: the colleague made it a Space
        // Auditor of the space (so it sees the space), which made it an Org User.
        let admin = world.user_guid(ADMIN_USER).unwrap();
        world
            .roles
            .retain(|_, r| !(r.user == admin && r.organization.as_deref() == Some(org.as_str())));
        let space = world
            .spaces
            .values()
            .find(|s| s.org == org)
            .unwrap()
            .guid
            .clone();
        world.add_role(ADMIN_USER, RoleType::SpaceAuditor, &space);
    });
    let (code, plan, _) = l.run(&["plan", "--tenant", "handmade"]);
    assert_eq!(code, 2);
    assert!(
        plan.contains(
            "admin (uaa) is neither an Org Manager of org `handmade` nor a Space Manager of space `calm`, so it cannot assign space_developer"
        ) && plan.contains("cf set-space-role admin handmade calm SpaceDeveloper"),
        "the plan says which role is missing and who can grant it: {plan}"
    );
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Apply incomplete: 1 done, 1 failed"),
        "the other tenant converges: {err}"
    );
    assert!(
        err.contains("an Org Manager of `handmade` must"),
        "the error says who must grant what: {err}"
    );
    let stats = l.sim.stats();
    let role_posts = stats
        .routes
        .iter()
        .filter(|(route, _)| route.as_str() == "POST /v3/roles")
        .map(|(_, n)| *n)
        .sum::<u64>();
    assert_eq!(
        role_posts, 4,
        "only `fresh`'s roles were asked for (two users, Org User and a space role each)"
    );
    // An Org Manager makes calmctl's user one; the next run converges.
    l.sim.with_world(|w| {
        let org = w
            .orgs
            .values()
            .find(|o| o.name == "handmade")
            .unwrap()
            .guid
            .clone();
        w.add_role(ADMIN_USER, RoleType::OrganizationManager, &org);
    });
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(l.run(&["plan"]).0, 0);
}

#[test]
fn an_org_the_user_has_no_role_in_is_not_found_and_the_error_says_why() {
    let yaml = TWO_ORGS.replace("  - { name: handmade, subaccount: handmade }\n", "");
    let l = Landscape::quick_with(&yaml, |world, _| {
        entitle(world, "fresh");
        let admin = world.user_guid(ADMIN_USER).unwrap();
        world.roles.retain(|_, r| r.user != admin);
    });
    let (code, _, err) = l.apply(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("org `fresh` was not found, or admin (uaa) has no role in it"),
        "{err}"
    );
}
