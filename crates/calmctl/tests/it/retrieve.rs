//! Retrieving the credentials SAP Cloud ALM generated (`retrieve:`): 200 subaccounts, half on each
//! runtime, each holding SAP's generated key or binding and nothing of calmctl's. `discover`
//! writes them as retrieve-only tenants; `apply` delivers all 200 to files and, with an `exec`
//! sink, to a command, verifies each with a token and sends BTP no write at all; a second apply
//! delivers and writes nothing, and `plan` shows no changes. A key deleted between plan and apply
//! fails only its tenant; credentials of another tenant's identity zone are refused.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use btp_sim::world::{ClientCredentials, RoleType};
use btp_sim::{ADMIN_USER, StatsSnapshot, World};
use serde_json::Value;

use crate::{stderr, stdout};
use calm_test::{Landscape, entitle};

const ACCOUNT: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
";

/// The instance SAP's provisioning creates (its real name is not documented: btp-api.md §5.4).
const SAP_INSTANCE: &str = "SAPCloudALM";

fn sub(i: usize) -> String {
    format!("sub-{i:03}")
}

/// `<SID>_<client>_<system number>`, one SID per subaccount.
fn generated_name(i: usize) -> String {
    format!("S{:02}_100_00", i % 100)
}

/// Requests that could change something: every method but GET, except token requests.
fn writes(stats: &StatsSnapshot) -> u64 {
    stats
        .routes
        .iter()
        .filter(|(route, _)| !route.starts_with("GET ") && route.as_str() != "POST /oauth/token")
        .map(|(_, n)| n)
        .sum()
}

fn tokens(stats: &StatsSnapshot) -> u64 {
    stats.routes.get("POST /oauth/token").copied().unwrap_or(0)
}

/// Even subaccounts use Cloud Foundry, odd ones Service Manager.
fn world_yaml(n: usize) -> String {
    // No `retrieve:` here: the test provisions SAP's objects itself (World::from_desired would
    // make `ABC_100_00` for each).
    let mut out =
        format!("{ACCOUNT}defaults: {{ space: calm, instance: {{ name: calm-api }} }}\ntenants:\n");
    for i in 0..n {
        let runtime = if i.is_multiple_of(2) {
            "cloudfoundry"
        } else {
            "service-manager"
        };
        out.push_str(&format!(
            "  - {{ name: {0}, subaccount: {0}, runtime: {runtime} }}\n",
            sub(i)
        ));
    }
    out
}

/// What SAP's provisioning leaves in subaccount `i`: the entitlement and, with Cloud Foundry, a
/// space holding the generated instance and key (calmctl's user a Space Developer there, who alone
/// may read a key's credentials), without it a Service Manager instance and binding, and the
/// subaccount's Service Manager access binding.
fn provision(world: &mut World, i: usize) {
    let subdomain = sub(i);
    let guid = entitle(world, &subdomain);
    if i.is_multiple_of(2) {
        let org = world
            .orgs
            .values()
            .find(|o| o.name == subdomain)
            .unwrap()
            .guid
            .clone();
        let space = world.add_space(&org, "cloud-alm");
        world.add_role(ADMIN_USER, RoleType::OrganizationUser, &org);
        world.add_role(ADMIN_USER, RoleType::SpaceDeveloper, &space);
        world
            .add_generated_cf(&space, SAP_INSTANCE, &generated_name(i))
            .unwrap();
    } else {
        world
            .add_generated_sm(&guid, SAP_INSTANCE, &generated_name(i))
            .unwrap();
        let secret = world.secret_value();
        world
            .subaccounts
            .get_mut(&guid)
            .unwrap()
            .service_manager_binding = Some(ClientCredentials {
            client_id: format!("sb-{}!b1|service-manager!b1", &guid[..8]),
            client_secret: secret,
        });
    }
}

fn landscape(n: usize) -> Landscape {
    let l = Landscape::with_world(&world_yaml(n), |world, _| {
        for i in 0..n {
            provision(world, i);
        }
    });
    std::fs::write(l.path("calm.yaml"), format!("{ACCOUNT}tenants: []\n")).unwrap();
    l
}

fn run(l: &Landscape, args: &[&str]) -> (i32, String, String) {
    let output = l
        .calmctl()
        .args(args)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

fn no_secret_in(l: &Landscape, texts: &[&str]) {
    for secret in l.secrets() {
        for text in texts {
            assert!(!text.contains(&secret), "a secret appears in the output");
        }
    }
}

#[test]
fn generated_credentials_of_200_tenants_are_delivered_without_a_single_write() {
    let n = 200;
    let l = landscape(n);
    let (code, out, err) = run(
        &l,
        &["discover", "--account", "acme", "--out", "retrieve.yaml"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let yaml = std::fs::read_to_string(l.path("retrieve.yaml")).unwrap();
    assert_eq!(
        yaml.matches("retrieve: generated").count(),
        n,
        "every tenant is written as retrieve-only:\n{yaml}"
    );
    assert!(
        yaml.contains("# SAP generated credentials S00_100_00 here"),
        "{yaml}"
    );
    let live = l.live_credentials();

    // The plan shows one read-only delivery per tenant and no change to BTP.
    let (code, out, err) = run(&l, &["plan", "-f", "retrieve.yaml"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out.matches("> retrieve ").count(), n, "{out}");
    assert!(out.contains("> retrieve service_key SAPCloudALM/S00_100_00 (subaccount sub-000) -> credentials/sub-000/S00_100_00.json (not delivered yet)"), "{out}");
    assert!(
        out.contains("> retrieve service_binding SAPCloudALM/S01_100_00"),
        "{out}"
    );
    assert!(
        out.contains("Plan: no change to BTP, 200 read-only deliveries."),
        "{out}"
    );

    let before = l.sim.stats();
    let (code, out, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "retrieve.yaml",
            "--auto-approve",
            "--no-progress",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let after = l.sim.stats();
    assert_eq!(writes(&after), 0, "no write to BTP: {:?}", after.routes);
    let first_tokens = tokens(&after) - tokens(&before);
    assert!(
        err.contains("Read-only deliveries: 200 delivered, 0 tenant(s) failed."),
        "{err}"
    );
    for i in 0..n {
        let path = l.path(&format!(
            "credentials/{}/{}.json",
            sub(i),
            generated_name(i)
        ));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
        let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(file["uaa"]["identityzone"], sub(i).as_str());
        assert!(
            live.contains(&file),
            "the file holds the live credentials of {}",
            sub(i)
        );
    }
    no_secret_in(&l, &[&out, &err]);

    // Again: nothing delivered, nothing written; the plan has no changes.
    let before = l.sim.stats();
    let (code, out, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "retrieve.yaml",
            "--auto-approve",
            "--no-progress",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("delivered"), "{err}");
    let again_tokens = tokens(&l.sim.stats()) - tokens(&before);
    assert_eq!(
        first_tokens - again_tokens,
        n as u64,
        "the first apply got one token with each delivered key, beyond the logins both runs make"
    );
    assert_eq!(writes(&l.sim.stats()), 0);
    let (code, out, err) = run(&l, &["plan", "-f", "retrieve.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes."), "{out}");

    // To an exec sink: every tenant once, recorded by fingerprint, not again.
    std::fs::create_dir(l.path("sink")).unwrap();
    let exec =
        format!("{yaml}delivery: {{ exec: [sh, -c, 'cat > \"sink/$CALMCTL_TENANT.json\"'] }}\n");
    std::fs::write(l.path("exec.yaml"), exec).unwrap();
    let (code, out, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "exec.yaml",
            "--auto-approve",
            "--no-progress",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read_dir(l.path("sink")).unwrap().count(), n);
    let record = std::fs::read_to_string(l.path(".calmctl/retrieved.json")).unwrap();
    no_secret_in(&l, &[&out, &err, &record]);
    for entry in std::fs::read_dir(l.path("sink")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let (code, out, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "exec.yaml",
            "--auto-approve",
            "--no-progress",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_dir(l.path("sink")).unwrap().count(),
        0,
        "nothing delivered again"
    );
    let (code, out, _) = run(&l, &["plan", "-f", "exec.yaml"]);
    assert_eq!(code, 0, "{out}");
    // --refresh-credentials delivers again.
    let (code, out, err) = run(
        &l,
        &[
            "apply",
            "-f",
            "exec.yaml",
            "--auto-approve",
            "--no-progress",
            "--refresh-credentials",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read_dir(l.path("sink")).unwrap().count(), n);
    assert_eq!(writes(&l.sim.stats()), 0, "{:?}", l.sim.stats().routes);
}

#[test]
fn a_key_deleted_after_the_plan_fails_its_tenant_and_a_foreign_zone_is_refused() {
    let l = landscape(4);
    // sub-003's binding carries sub-001's identity zone.
    l.sim.with_world(|w| {
        for b in w.sm_bindings.values_mut() {
            let owner = w.subaccounts.get(&b.subaccount).unwrap();
            if owner.subdomain == "sub-003" {
                b.identity_zone = Some("sub-001".into());
            }
        }
    });
    let mut yaml = format!("{ACCOUNT}defaults: {{ retrieve: generated }}\ntenants:\n");
    for i in 0..4_usize {
        let runtime = if i.is_multiple_of(2) {
            "cloudfoundry"
        } else {
            "service-manager"
        };
        yaml.push_str(&format!(
            "  - {{ name: {0}, subaccount: {0}, runtime: {runtime} }}\n",
            sub(i)
        ));
    }
    std::fs::write(l.path("calm.yaml"), &yaml).unwrap();
    let (code, out, err) = run(&l, &["plan", "--out", "plan.json"]);
    assert_eq!(code, 1, "a refused tenant is an error:\n{out}{err}");
    assert!(
        out.contains("sub-003: service_binding SAPCloudALM/S03_100_00 of subaccount `sub-003` is refused: `uaa.identityzone` is `sub-001`, not this tenant's subaccount `sub-003`"),
        "{out}"
    );
    assert_eq!(out.matches("> retrieve ").count(), 3, "{out}");
    let (_, markdown, _) = run(&l, &["plan", "--format", "markdown"]);
    assert!(
        markdown.contains("**No change to BTP.** 3 read-only deliveries"),
        "{markdown}"
    );
    assert!(
        markdown.contains("> - `sub-003`: service_binding SAPCloudALM/S03_100_00"),
        "{markdown}"
    );
    let (_, json, _) = run(&l, &["plan", "--format", "json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["retrieve"].as_array().map(Vec::len), Some(3), "{json}");
    assert_eq!(json["retrieve_errors"][0]["tenant"], "sub-003", "{json}");

    // sub-002's generated key is deleted by hand after the plan was made.
    l.sim.with_world(|w| {
        let guid = w
            .service_keys
            .values()
            .find(|k| k.name == generated_name(2))
            .unwrap()
            .guid
            .clone();
        w.service_keys.shift_remove(&guid);
    });
    let (code, out, err) = run(&l, &["apply", "plan.json", "--no-progress"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("sub-002: service_key SAPCloudALM/S02_100_00 of subaccount `sub-002` is gone since the plan was made"),
        "{err}"
    );
    assert!(
        err.contains(
            "sub-003: service_binding SAPCloudALM/S03_100_00 of subaccount `sub-003` is refused"
        ),
        "{err}"
    );
    assert!(
        err.contains("Read-only deliveries: 2 delivered, 2 tenant(s) failed."),
        "{err}"
    );
    for i in [0, 1] {
        assert!(
            l.path(&format!(
                "credentials/{}/{}.json",
                sub(i),
                generated_name(i)
            ))
            .exists()
        );
    }
    for i in [2, 3] {
        assert!(!l.path(&format!("credentials/{}", sub(i))).exists());
    }
    assert_eq!(writes(&l.sim.stats()), 0);
    // A fresh plan names what was looked for and what exists.
    let (code, out, _) = run(&l, &["plan"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("sub-002: found no credentials generated by SAP (a key or binding named `<SID>_<client>_<system number>`, like `ABC_100_00`) in subaccount `sub-002`; it holds no key or binding of a Cloud ALM API instance"),
        "{out}"
    );
}
