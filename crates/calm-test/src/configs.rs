//! The configs tests start from.

/// The quickstart: Cloud Foundry and Service Manager tenants in one account.
pub const MIXED: &str = include_str!("../../../examples/quickstart.yaml");

/// The account every generated config uses, with the credential variables btp-sim's landscape
/// sets.
pub const ACCOUNT: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: ACME_CIS_KEY }, username: { env: BTP_USERNAME }, password: { env: BTP_PASSWORD } }
";

/// A Cloud Foundry config: space `calm`, instance `calm-api` with one authority, key `calm-key`,
/// and one tenant line per entry of `tenants` (the inside of a flow mapping, e.g.
/// `"name: alpha, subaccount: alpha, protect: true"`).
pub fn cf_only(tenants: &[&str]) -> String {
    let mut out = format!(
        "{ACCOUNT}defaults:
  runtime: cloudfoundry
  space: calm
  instance: {{ name: calm-api, authorities: [imp-cdm-feature-display-ui] }}
  keys: [{{ name: calm-key }}]
tenants:
"
    );
    for t in tenants {
        out.push_str(&format!("  - {{ {t} }}\n"));
    }
    out
}

/// [`cf_only`] with the single tenant `beta`.
pub fn cf_beta() -> String {
    cf_only(&["name: beta, subaccount: beta"])
}

/// `n` tenants `t000`, `t001`, … alternating Cloud Foundry and Service Manager, one entitlement
/// each: the shape of the fault, crash and lease matrices.
pub fn alternating(n: usize) -> String {
    let mut yaml = format!(
        "{ACCOUNT}defaults:
  space: calm
  instance: {{ name: calm-api, authorities: [imp-cdm-feature-display-ui] }}
  keys: [{{ name: calm-key }}]
  entitlement: {{ amount: 1 }}
tenants:
"
    );
    for i in 0..n {
        let runtime = if i % 2 == 0 {
            "cloudfoundry"
        } else {
            "service-manager"
        };
        yaml.push_str(&format!(
            "  - {{ name: t{i:03}, subaccount: t{i:03}, runtime: {runtime} }}\n"
        ));
    }
    yaml
}
