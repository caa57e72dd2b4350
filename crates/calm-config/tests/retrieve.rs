//! `retrieve:` in calm.yaml, `defaults` and CSV inventories: which tenants only retrieve, which
//! retrieve beside managed keys, and what a malformed entry is told.

use calm_config::{ConfigError, load_bytes, load_file};
use calm_core::{Retrieve, Tenant};

const HEAD: &str = "\
version: 1
accounts:
  acme: { subdomain: acme-ga, region: eu10, cis_key: { env: K } }
defaults:
  space: calm
  instance: { name: calm-api }
  keys: [{ name: calm-key }]
  retrieve: generated
";

fn tenants(yaml: &str) -> Vec<Tenant> {
    load_bytes("calm.yaml", yaml.as_bytes())
        .unwrap_or_else(|e| panic!("{e:?}"))
        .desired
        .tenants
}

fn named(key: &str) -> Retrieve {
    Retrieve::Named {
        instance: None,
        key: key.into(),
    }
}

#[test]
fn defaults_tenants_and_lists_read_naturally() {
    let yaml = format!(
        "{HEAD}tenants:
  - {{ name: a, subaccount: a }}
  - {{ name: b, subaccount: b, retrieve: ABC_100_00 }}
  - {{ name: c, subaccount: c, retrieve: [SAPCloudALM/ABC_100_00, generated] }}
  - {{ name: d, subaccount: d, keys: [{{ name: transport }}] }}
  - {{ name: e, subaccount: e, retrieve: [] }}
"
    );
    let t = tenants(&yaml);
    assert_eq!(t[0].retrieve, vec![Retrieve::Generated]);
    assert!(
        t[0].retrieve_only(),
        "inherits retrieve, names no instance or key"
    );
    assert_eq!(t[1].retrieve, vec![named("ABC_100_00")]);
    assert_eq!(
        t[2].retrieve,
        vec![
            Retrieve::Named {
                instance: Some("SAPCloudALM".into()),
                key: "ABC_100_00".into()
            },
            Retrieve::Generated
        ]
    );
    assert!(
        !t[3].retrieve_only(),
        "its own keys are managed beside SAP's"
    );
    assert_eq!(t[3].retrieve, vec![Retrieve::Generated]);
    assert_eq!(t[3].instances[0].keys[0].name, "transport");
    assert!(t[4].retrieve.is_empty() && !t[4].instances.is_empty());
}

#[test]
fn a_malformed_entry_is_located_and_explained() {
    let yaml = format!(
        "{HEAD}tenants:\n  - {{ name: a, subaccount: a, retrieve: [\"two words\", a/b/c] }}\n"
    );
    let Err(ConfigError::Invalid { problems, .. }) = load_bytes("calm.yaml", yaml.as_bytes())
    else {
        panic!("malformed entries are errors");
    };
    let retrieve: Vec<_> = problems
        .iter()
        .filter(|p| p.code == "calm::retrieve")
        .collect();
    assert_eq!(retrieve.len(), 2, "{problems:?}");
    assert!(retrieve[0].message.contains("`two words`"));
    assert!(
        retrieve[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("retrieve: generated")
    );
}

#[test]
fn a_csv_inventory_has_a_retrieve_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("calm.yaml"),
        format!("{HEAD}tenants_from: tenants.csv\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tenants.csv"),
        "name,subaccount,keys,retrieve\na,a,,\nb,b,,ABC_100_00 DEF_200_01\nc,c,calm-key,\n",
    )
    .unwrap();
    let t = load_file(&dir.path().join("calm.yaml"))
        .unwrap_or_else(|e| panic!("{e:?}"))
        .desired
        .tenants;
    assert!(
        t[0].retrieve_only(),
        "an empty cell inherits `defaults.retrieve`"
    );
    assert_eq!(
        t[1].retrieve,
        vec![named("ABC_100_00"), named("DEF_200_01")]
    );
    assert!(t[1].retrieve_only());
    assert!(!t[2].retrieve_only(), "its own keys column is managed");
}
