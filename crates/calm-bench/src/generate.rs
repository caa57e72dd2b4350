//! Generated landscapes in the shape of `examples/quickstart.yaml`: one account, defaults for
//! every setting, and tenants alternating between the two runtimes across R regions.

/// Regions tenants are spread over, in order.
pub const REGIONS: &[&str] = &[
    "eu10", "us10", "ap10", "eu20", "jp10", "br10", "ca10", "us20",
];

/// A calm.yaml of `tenants` tenants spread over `regions` regions, alternating runtimes.
pub fn config(tenants: usize, regions: usize) -> String {
    config_with(tenants, regions, true)
}

/// Like [`config`]; with `mixed == false` every tenant is on Cloud Foundry.
pub fn config_with(tenants: usize, regions: usize, mixed: bool) -> String {
    let mut out = String::with_capacity(200 + tenants * 110);
    out.push_str(
        "# yaml-language-server: $schema=../schemas/calm.schema.json\nversion: 1\naccounts:\n  \
         bench:\n    subdomain: bench-ga\n    region: eu10\n    cis_key: { env: BENCH_CIS_KEY }\n    \
         username: { env: BTP_USERNAME }\n    password: { env: BTP_PASSWORD }\ndefaults:\n  \
         account: bench\n  runtime: cloudfoundry\n  space: calm\n  instance:\n    name: calm-api\n    \
         authorities: [imp-cdm-feature-display-ui, imp-cdm-feature-manage-ui]\n  keys:\n    \
         - name: calm-key\n  entitlement: { amount: 1 }\ntenants:\n",
    );
    for i in 0..tenants {
        let region = REGIONS[i % regions.clamp(1, REGIONS.len())];
        let runtime = if i % 2 == 0 || !mixed {
            "cloudfoundry"
        } else {
            "service-manager"
        };
        out.push_str(&format!(
            "  - {{ name: tenant-{i:05}, subaccount: tenant-{i:05}, region: {region}, runtime: {runtime} }}\n"
        ));
    }
    out
}
