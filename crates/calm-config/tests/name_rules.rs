//! The JSON Schema's name rules (what an editor flags) against `validate` (what calmctl rejects):
//! the same 40 names, valid and invalid, as a tenant name, an instance name and a key name, must
//! get the same verdict from both. Both are made from the same constants
//! (`calm_config::TENANT_NAME`, `INSTANCE_NAME`, `KEY_NAME`).

use calm_config::{ConfigError, Severity};

/// 40 names: ordinary ones, the length limits (32, 50, 63) and one past each, every kind of
/// punctuation at the ends and inside, periods, slashes, spaces, control and non-ASCII characters.
fn names() -> Vec<String> {
    let mut names: Vec<String> = [
        "a",
        "acme-prod",
        "acme_prod",
        "acme.prod",
        "A1",
        "calm-api",
        "-lead",
        "trail-",
        ".dot",
        "dot.",
        "_under",
        "under_",
        "with space",
        "calm.api",
        "ABC",
        "abc/def",
        "back\\slash",
        "ümlaut",
        "",
        "tab\tname",
        "new\nline",
        "a-b_c.d",
        "9start",
        "end9",
        "semi;colon",
        "colon:x",
        "hash#x",
        "percent%",
        "UPPER-lower",
        "dash--double",
        "a..b",
        "emoji😀",
        "plus+x",
        "at@x",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for n in [32, 33, 50, 51, 63, 64] {
        names.push("x".repeat(n));
    }
    names
}

#[derive(Clone, Copy, Debug)]
enum Role {
    Tenant,
    Instance,
    Key,
}

impl Role {
    fn code(self) -> &'static str {
        match self {
            Role::Tenant => "calm::tenant_name",
            Role::Instance => "calm::instance_name",
            Role::Key => "calm::key_name",
        }
    }

    /// The schema's path to the name in [`config`]'s document.
    fn pointer(self) -> &'static str {
        match self {
            Role::Tenant => "/tenants/0/name",
            Role::Instance => "/defaults/instance/name",
            Role::Key => "/defaults/keys/0/name",
        }
    }
}

/// A config whose only unusual value is `name` in the given role.
fn config(role: Role, name: &str) -> String {
    let quoted = serde_json::to_string(name).unwrap();
    let pick = |r: &str, ok: &str| {
        if format!("{role:?}") == r {
            quoted.clone()
        } else {
            ok.to_owned()
        }
    };
    format!(
        "version: 1
accounts:
  acme: {{ subdomain: acme-ga, region: eu10, cis_key: {{ env: K }}, username: {{ env: U }}, password: {{ env: P }} }}
defaults:
  runtime: service-manager
  instance: {{ name: {}, authorities: [imp-cdm-feature-display-ui] }}
  keys: [{{ name: {} }}]
tenants:
  - {{ name: {}, subaccount: sub-a }}
",
        pick("Instance", "calm-api"),
        pick("Key", "calm-key"),
        pick("Tenant", "acme"),
    )
}

/// `validate`'s verdict on the name: `true` when it has no problem with it. Any other error
/// fails the test: the config is meant to be valid but for the name.
fn validate_accepts(role: Role, yaml: &str) -> bool {
    match calm_config::load_bytes("calm.yaml", yaml.as_bytes()) {
        Ok(_) => true,
        Err(ConfigError::Invalid { problems, .. }) => {
            let errors: Vec<_> = problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .collect();
            assert!(
                errors.iter().all(|p| p.code == role.code()),
                "{role:?}: only the name is wrong in\n{yaml}\nbut: {:?}",
                errors.iter().map(|p| &p.message).collect::<Vec<_>>()
            );
            errors.is_empty()
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn schema_name_rules_agree_with_validate_on_40_names() {
    let schema = calm_config::schema::json_schema();
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let names = names();
    assert_eq!(names.len(), 40);
    for role in [Role::Tenant, Role::Instance, Role::Key] {
        let (mut valid, mut invalid) = (0, 0);
        for name in &names {
            let yaml = config(role, name);
            let by_validate = validate_accepts(role, &yaml);
            let json: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
            assert_eq!(
                json.pointer(role.pointer()).and_then(|v| v.as_str()),
                Some(name.as_str()),
                "the document holds the name"
            );
            let errors: Vec<String> = validator
                .iter_errors(&json)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            assert!(
                errors.iter().all(|e| e.starts_with(role.pointer())),
                "{role:?} {name:?}: only the name may be flagged: {errors:?}"
            );
            let by_schema = errors.is_empty();
            assert_eq!(
                by_schema, by_validate,
                "{role:?} name {name:?}: schema says valid={by_schema}, validate says valid={by_validate} ({errors:?})"
            );
            if by_validate {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid >= 8 && invalid >= 8,
            "{role:?}: both kinds are tried ({valid} valid, {invalid} invalid)"
        );
    }
}
