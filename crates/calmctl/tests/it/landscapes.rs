//! Cloud Foundry where it really is: tenants of one global account in `eu10` split over the
//! landscapes `eu10` and `eu10-004`, one in `us10` and one in `cn20` (China's domain), with orgs
//! named unlike their subaccounts. calmctl finds each org through its subaccount's Cloud Foundry
//! environment instance, on its own landscape (btp-sim serves each landscape as a host of its own,
//! so a request on the wrong one finds nothing).

use btp_sim::World;
use calm_test::{Landscape, add_calm_space, entitle};

const CONFIG: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
defaults:
  runtime: cloudfoundry
  space: calm
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui] }
  keys: [{ name: calm-key }]
tenants:
  - { name: berlin, subaccount: sub-berlin, region: eu10 }
  - { name: munich, subaccount: sub-munich, region: eu10 }
  - { name: boston, subaccount: sub-boston, region: us10 }
  - { name: shanghai, subaccount: sub-shanghai, region: cn20 }
";

/// Tenant, org name (unlike the subdomain) and landscape.
const PLACES: &[(&str, &str, &str)] = &[
    ("berlin", "Berlin Team", "eu10"),
    ("munich", "Munich Team", "eu10-004"),
    ("boston", "Boston Team", "us10"),
    ("shanghai", "Shanghai Team", "cn20"),
];

/// Renames each tenant's org and puts it on its landscape; the orgs on `eu10-004` and `cn20`
/// already hold an instance a colleague made by hand (in an entitled subaccount).
fn place(world: &mut World) {
    for (tenant, org, landscape) in PLACES {
        if let Some(o) = world.orgs.values_mut().find(|o| o.name == *tenant) {
            o.name = (*org).to_owned();
            o.landscape = (*landscape).to_owned();
        }
    }
    for (sub, org) in [
        ("sub-munich", "Munich Team"),
        ("sub-shanghai", "Shanghai Team"),
    ] {
        entitle(world, sub);
        add_calm_space(world, org);
    }
}

fn landscape(config: &str, more: impl FnOnce(&mut World)) -> Landscape {
    let l = Landscape::quick_with(config, |world, _| {
        place(world);
        more(world);
    });
    l.hand_made("Munich Team", &[]);
    l.hand_made("Shanghai Team", &[]);
    l
}

/// The org (by name) of each service instance the simulator holds.
fn instance_orgs(l: &Landscape) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = l.sim.with_world(|w| {
        w.service_instances
            .values()
            .filter_map(|i| {
                let space = w.spaces.get(&i.space)?;
                let org = w.orgs.get(&space.org)?;
                Some((org.name.clone(), i.name.clone()))
            })
            .collect()
    });
    out.sort();
    out
}

#[test]
fn every_landscape_plan_apply_replan_and_discover() {
    let l = landscape(CONFIG, |_| {});
    let (code, plan, err) = l.run(&["plan"]);
    assert_eq!(code, 2, "{err}");
    // What exists on the extension landscape and in China is found (adopted, not created).
    for org in ["Munich Team", "Shanghai Team"] {
        assert!(
            plan.contains(&format!("space {org}/calm")),
            "space of {org} not in the plan: {plan}"
        );
    }
    assert_eq!(
        plan.matches("  = service_instance calm/calm-api").count(),
        2,
        "{plan}"
    );
    assert_eq!(
        plan.matches("  + service_instance calm/calm-api").count(),
        2,
        "{plan}"
    );

    let (code, out, err) = l.apply(&[]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Each instance is in its tenant's own org, none anywhere else.
    let orgs: Vec<(String, String)> = PLACES
        .iter()
        .map(|(_, org, _)| ((*org).to_owned(), "calm-api".to_owned()))
        .collect();
    let mut expected = orgs;
    expected.sort();
    assert_eq!(instance_orgs(&l), expected);

    let (code, again, err) = l.run(&["plan"]);
    assert_eq!(code, 0, "{again}\n{err}");
    assert!(again.contains("No changes"), "{again}");

    let (code, yaml, err) = l.run(&["discover", "--account", "acme"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !yaml.contains("org:"),
        "discovery alone finds every org: {yaml}"
    );
    assert!(!yaml.contains("cf_api"), "{yaml}");
    std::fs::write(l.path("discovered.yaml"), &yaml).unwrap();
    let (code, first, err) = l.run(&["plan", "-f", "discovered.yaml"]);
    assert_eq!(code, 0, "{first}\n{err}\n{yaml}");
    assert!(first.contains("No changes"), "{first}");
}

#[test]
fn a_wrong_org_and_a_subaccount_without_cloud_foundry_fail_alone() {
    let config = format!(
        "{CONFIG}  - {{ name: wrong, subaccount: sub-wrong, org: Not The Org }}\n  - {{ name: nocf, subaccount: sub-nocf }}\n"
    );
    let l = landscape(&config, |world| {
        // The environment of sub-wrong names another org than calm.yaml does.
        if let Some(o) = world.orgs.values_mut().find(|o| o.name == "Not The Org") {
            o.name = "Wrong Team".to_owned();
        }
        // sub-nocf has no Cloud Foundry environment at all.
        let gone: Vec<String> = world
            .orgs
            .values()
            .filter(|o| o.name == "nocf")
            .map(|o| o.guid.clone())
            .collect();
        for guid in &gone {
            world.orgs.shift_remove(guid);
            world
                .roles
                .retain(|_, r| r.organization.as_deref() != Some(guid.as_str()));
        }
    });
    let (code, plan, err) = l.run(&["plan"]);
    assert_eq!(code, 2, "{err}");
    let no_cf = "subaccount `sub-nocf`";
    assert!(plan.contains(no_cf), "{plan}");
    assert!(plan.contains("has no Cloud Foundry environment"), "{plan}");
    assert!(plan.contains("runtime: service-manager"), "{plan}");
    assert!(
        plan.contains("org `Not The Org`, which calm.yaml names for tenant `wrong`, was not found on https://api.cf.eu10.hana.ondemand.com"),
        "{plan}"
    );
    assert!(plan.contains("names org `Wrong Team` there"), "{plan}");
    assert!(
        plan.contains("calm.yaml's `org` `Not The Org` differs from `Wrong Team`"),
        "{plan}"
    );
    // Both are reported at their place in calm.yaml: the wrong `org`, and the tenant without
    // Cloud Foundry.
    let line_of = |needle: &str| config.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (wrong, nocf) = (line_of("name: wrong"), line_of("name: nocf"));
    let org_column = config
        .lines()
        .nth(wrong - 1)
        .unwrap()
        .find("Not The Org")
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("calm.yaml:{wrong}:{org_column}]")),
        "{err}"
    );
    assert!(err.contains(&format!("calm.yaml:{nocf}:")), "{err}");
    assert!(err.contains("not on the org's landscape"), "{err}");
    assert_eq!(err.matches("calm::cf_location").count(), 2, "{err}");

    let (code, out, err) = l.apply(&[]);
    assert_eq!(code, 1, "{out}\n{err}");
    let all = format!("{out}\n{err}");
    assert!(all.contains("has no Cloud Foundry environment"), "{all}");
    assert!(all.contains("names org `Wrong Team` there"), "{all}");
    // The other four converged.
    let (code, again, err) = l.run(&[
        "plan", "--tenant", "berlin", "--tenant", "munich", "--tenant", "boston", "--tenant",
        "shanghai",
    ]);
    assert_eq!(code, 0, "{again}\n{err}");
    // Nothing was made in the org calm.yaml did not name, nor anywhere for `nocf`.
    assert!(
        !instance_orgs(&l).iter().any(|(org, _)| org == "Wrong Team"),
        "{:?}",
        instance_orgs(&l)
    );
}

/// Tenants removed from calm.yaml in three regions, each region keeping another tenant: the
/// deletion plan lists each of their objects once (each region's landscape is read once, and
/// shows only its own orgs).
#[test]
fn a_three_region_deletion_plan_lists_each_object_once() {
    let head = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
defaults:
  runtime: cloudfoundry
  space: calm
  instance: { name: calm-api, authorities: [imp-cdm-feature-display-ui] }
  keys: [{ name: calm-key }]
tenants:
  - { name: keep-eu, subaccount: keep-eu, region: eu10 }
  - { name: keep-us, subaccount: keep-us, region: us10 }
  - { name: keep-ap, subaccount: keep-ap, region: ap10 }
";
    let gone = concat!(
        "  - { name: gone-eu, subaccount: gone-eu, region: eu10 }\n",
        "  - { name: gone-us, subaccount: gone-us, region: us10 }\n",
        "  - { name: gone-ap, subaccount: gone-ap, region: ap10 }\n",
    );
    let l = Landscape::quick(&format!("{head}{gone}"));
    let (code, out, err) = l.apply(&[]);
    assert_eq!(code, 0, "{out}\n{err}");
    std::fs::write(l.path("calm.yaml"), head).unwrap();
    let (code, plan, err) = l.run(&["plan", "--allow-delete"]);
    assert_eq!(code, 2, "{err}");
    for tenant in ["gone-eu", "gone-us", "gone-ap"] {
        assert!(plan.contains(tenant), "{plan}");
    }
    assert_eq!(
        plan.matches("  - service_instance calm/calm-api").count(),
        3,
        "{plan}"
    );
    insta::assert_snapshot!("three_region_deletion_plan", calm_test::scrub(&plan));
    // Each is deleted on its own landscape, once.
    let (code, out, err) = l.apply(&["--allow-delete"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, after, err) = l.run(&["plan", "--allow-delete"]);
    assert_eq!(code, 0, "{after}\n{err}");
}
