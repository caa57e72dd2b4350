//! `cf_api` and `org`: per tenant, per account and in `defaults`, the most specific winning;
//! neither is needed (the subaccount's Cloud Foundry environment names them), not even for a
//! subaccount named by GUID; a `cf_api` that is not an https base URL is a located error.

const HEAD: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: K }, org: Account Org }
  china: { subdomain: china-ga, region: cn20, cis_key: { env: C }, cf_api: https://api.cf.cn20.platform.sapcloud.cn }
defaults:
  account: acme
  runtime: cloudfoundry
  space: calm
  cf_api: https://api.cf.eu10-004.hana.ondemand.com
  instance: { name: calm-api }
";

fn tenants(yaml: &str) -> Vec<calm_core::Tenant> {
    calm_config::load_bytes("calm.yaml", yaml.as_bytes())
        .unwrap_or_else(|e| panic!("{e:?}"))
        .desired
        .tenants
}

#[test]
fn the_most_specific_placement_wins() {
    let yaml = format!(
        "{HEAD}tenants:\n\
         \x20 - {{ name: own, subaccount: own, org: Own Org, cf_api: https://api.cf.us10.hana.ondemand.com/ }}\n\
         \x20 - {{ name: inherits, subaccount: 6c3e5d1a-0f7e-4d5e-9a43-1b2c3d4e5f60 }}\n\
         \x20 - {{ name: shanghai, subaccount: shanghai, account: china }}\n\
         \x20 - {{ name: sm, subaccount: sm, runtime: service-manager }}\n"
    );
    let t = tenants(&yaml);
    let place = |i: usize| (t[i].org.as_deref(), t[i].cf_api.as_deref());
    assert_eq!(
        place(0),
        (
            Some("Own Org"),
            Some("https://api.cf.us10.hana.ondemand.com")
        )
    );
    assert_eq!(
        place(1),
        (
            Some("Account Org"),
            Some("https://api.cf.eu10-004.hana.ondemand.com")
        )
    );
    assert_eq!(
        place(2),
        (None, Some("https://api.cf.cn20.platform.sapcloud.cn"))
    );
    assert_eq!(place(3), (None, None), "Service Manager has no org");
    assert!(t[0].org_span.is_some() && t[0].cf_api_span.is_some());
}

#[test]
fn a_cf_api_that_is_not_a_base_url_is_refused_where_it_is_written() {
    let yaml = format!(
        "{HEAD}tenants:\n  - {{ name: bad, subaccount: bad, cf_api: api.cf.eu10.hana.ondemand.com/v3 }}\n"
    );
    let Err(err) = calm_config::load_bytes("calm.yaml", yaml.as_bytes()) else {
        panic!("a cf_api with a path is refused");
    };
    let text = format!("{err:?}");
    assert!(text.contains("calm::cf_api"), "{text}");
}
