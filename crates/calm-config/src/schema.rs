//! The calm.yaml document as written, field by field.
//!
//! These types are the single description of the file format: `decode` fills them from the YAML
//! tree (keeping every span), and schemars turns their doc comments into
//! `schemas/calm.schema.json`. A test checks that the decoder accepts exactly the fields the schema
//! declares, so the two cannot drift apart.

use std::borrow::Cow;
use std::collections::BTreeMap;

use calm_core::Span;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A value together with the place it was written. Its JSON Schema is the value's.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// calm.yaml: which BTP subaccounts to connect to SAP Cloud ALM, and how.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields, title = "calm.yaml")]
pub struct CalmFile {
    /// Version of this file format. Always `1`.
    #[schemars(range(min = 1, max = 1), example = 1)]
    pub version: Option<Sp<u32>>,
    /// Connections to global accounts, by a name of your choice. They hold references to
    /// secrets (an environment variable or a file), never the secrets themselves.
    #[schemars(default)]
    pub accounts: BTreeMap<String, AccountSpec>,
    /// Settings every tenant inherits unless it sets them itself.
    pub defaults: Option<TenantDefaults>,
    /// The subaccounts to connect, one entry each.
    #[schemars(default)]
    pub tenants: Vec<TenantSpec>,
    /// More tenants, from an inventory file next to calm.yaml: a CSV file with a header row whose
    /// columns are tenant fields (`name`, `subaccount`, `org`, `account`, `region`, `runtime`,
    /// `space`, `instance`, `keys`, `protect`, `retrieve`, `labels.<key>`), or a YAML file holding a list of
    /// tenants. They merge with `tenants`; a name defined in both is an error.
    #[schemars(example = &"tenants.csv")]
    pub tenants_from: Option<Sp<String>>,
    /// Where the credentials of new and rotated keys are delivered. Default: `{ dir: ./credentials }`.
    pub delivery: Option<DeliverySpec>,
    /// Paths inside instance `parameters` whose values plans show masked, e.g.
    /// `xs-security.authorities`.
    #[schemars(default)]
    #[schemars(example = vec!["xs-security.oauth2-configuration"])]
    pub redact: Vec<Sp<String>>,
}

/// A global account and the credentials to reach it.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AccountSpec {
    /// Where the account's name was written (the mapping key).
    #[schemars(skip)]
    pub name_span: Span,
    /// Subdomain of the global account.
    #[schemars(example = &"acme-ga")]
    pub subdomain: Sp<String>,
    /// Region of the global account's Cloud Management (`cis`) service instance.
    #[schemars(example = &"eu10")]
    pub region: Sp<String>,
    /// The Cloud Management service key (service `cis`, plan `central`) as JSON.
    pub cis_key: Option<SecretRefSpec>,
    /// User for the `cis` password grant, and for Cloud Foundry unless `cloudfoundry` is set.
    pub username: Option<SecretRefSpec>,
    /// Password of `username`.
    pub password: Option<SecretRefSpec>,
    /// How to log in to Cloud Foundry for the orgs of this account.
    pub cloudfoundry: Option<CfLoginSpec>,
    /// Cloud Foundry org of this account's tenants, when not the one their subaccounts'
    /// Cloud Foundry environment instances name.
    pub org: Option<Sp<String>>,
    /// Cloud Foundry API endpoint of this account's tenants, when not the one their
    /// subaccounts' Cloud Foundry environment instances name.
    #[schemars(example = &"https://api.cf.eu10-004.hana.ondemand.com")]
    pub cf_api: Option<Sp<String>>,
}

/// A reference to a secret: exactly one of `env` or `file`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields, example = serde_json::json!({"env": "BTP_PASSWORD"}))]
pub struct SecretRefSpec {
    /// Where the reference was written.
    #[schemars(skip)]
    pub span: Span,
    /// Name of an environment variable that holds the secret.
    pub env: Option<Sp<String>>,
    /// Path of a file that holds the secret (`~` is your home folder).
    pub file: Option<Sp<String>>,
}

/// A Cloud Foundry login. Give `username` and `password`, or an OIDC `assertion`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CfLoginSpec {
    /// User name for the password grant.
    pub username: Option<SecretRefSpec>,
    /// Password for the password grant.
    pub password: Option<SecretRefSpec>,
    /// An OIDC ID token (for example from GitHub Actions) for the jwt-bearer grant.
    pub assertion: Option<SecretRefSpec>,
    /// Origin key of a custom identity provider, sent to UAA as `login_hint`.
    #[schemars(example = &"my-ias-platform")]
    pub origin: Option<Sp<String>>,
}

/// Which BTP path connects a tenant to Cloud ALM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(rename_all = "kebab-case")]
pub enum RuntimeSpec {
    /// A Cloud Foundry space, a service instance and a service key.
    Cloudfoundry,
    /// A Service Manager instance and binding, without Cloud Foundry (SAP's recommended path).
    ServiceManager,
}

/// Settings shared by all tenants. A tenant's own value wins; for `instance`, field by field.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TenantDefaults {
    /// Name of the entry in `accounts` the tenants belong to.
    pub account: Option<Sp<String>>,
    /// Region of the subaccounts, e.g. `eu10`, `us10`, `eu20-001`.
    #[schemars(example = &"eu10")]
    pub region: Option<Sp<String>>,
    /// `cloudfoundry` or `service-manager`.
    pub runtime: Option<Sp<RuntimeSpec>>,
    /// Cloud Foundry org of the tenants, when not the one their subaccounts' Cloud Foundry
    /// environment instances name.
    pub org: Option<Sp<String>>,
    /// Cloud Foundry API endpoint of the tenants, when not the one their subaccounts' Cloud
    /// Foundry environment instances name.
    #[schemars(example = &"https://api.cf.eu10-004.hana.ondemand.com")]
    pub cf_api: Option<Sp<String>>,
    /// Cloud Foundry space of the instance (cloudfoundry runtime).
    #[schemars(example = &"calm")]
    pub space: Option<Sp<String>>,
    /// The Cloud ALM API service instance.
    pub instance: Option<InstanceSpec>,
    /// Service keys (cloudfoundry) or bindings (service-manager) of the instance.
    pub keys: Option<Vec<KeySpec>>,
    /// The entitlement of `SAPCloudALMAPIs` / `standard`.
    pub entitlement: Option<EntitlementSpec>,
    /// Never delete these tenants' objects.
    pub protect: Option<Sp<bool>>,
    /// Labels for selecting tenants with `--select key=value`.
    pub labels: Option<BTreeMap<String, Sp<String>>>,
    /// Cloud Foundry roles to give other users in every space of these tenants. calmctl always
    /// makes the user it acts as a Space Developer there; it never removes a role.
    pub space_roles: Option<Vec<SpaceRoleSpec>>,
    /// Existing credentials to deliver without creating or changing anything: `generated` (the
    /// credentials SAP Cloud ALM generated, named like `ABC_100_00`), a key or binding name, or
    /// `instance/key`; one or a list. A tenant that retrieves and sets no `instance`, `instances`
    /// or `keys` of its own is retrieve-only: calmctl manages nothing in its subaccount.
    pub retrieve: Option<RetrieveSpec>,
}

/// `retrieve:`: one entry or a list, each `generated`, a key name or `instance/key`.
#[derive(Debug, Clone, Default)]
pub struct RetrieveSpec {
    /// Where the field was written.
    pub span: Span,
    /// The entries.
    pub entries: Vec<Sp<String>>,
}

impl JsonSchema for RetrieveSpec {
    fn schema_name() -> Cow<'static, str> {
        "Retrieve".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let entry = serde_json::json!({
            "type": "string",
            "minLength": 1,
            "description": "`generated`, a key or binding name, or `instance/key`",
            "examples": ["generated", "ABC_100_00"]
        });
        Schema::try_from(serde_json::json!({
            "description": "Existing credentials to deliver (read-only): `generated`, a key or binding name, or `instance/key`; one or a list.",
            "anyOf": [entry.clone(), {"type": "array", "items": entry}]
        }))
        .unwrap_or_default()
    }
}

/// One subaccount to connect.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TenantSpec {
    /// Where the tenant entry starts.
    #[schemars(skip)]
    pub span: Span,
    /// Unique name, used in plans, labels and credential paths: letters, digits, `-`, `_` and
    /// `.`, starting and ending with a letter or digit, at most 63 characters.
    #[schemars(example = &"acme-prod")]
    pub name: Sp<String>,
    /// The subaccount: its subdomain or its GUID.
    #[schemars(example = &"acme-prod")]
    pub subaccount: Sp<String>,
    /// Cloud Foundry org of the subaccount. By default the one the subaccount's Cloud Foundry
    /// environment instance names; an explicit value wins, and the plan notes a difference.
    pub org: Option<Sp<String>>,
    /// Cloud Foundry API endpoint of the org's landscape, e.g.
    /// `https://api.cf.eu10-004.hana.ondemand.com`. By default the one the environment instance
    /// names.
    pub cf_api: Option<Sp<String>>,
    /// Name of the entry in `accounts` this tenant belongs to.
    pub account: Option<Sp<String>>,
    /// Region of the subaccount.
    pub region: Option<Sp<String>>,
    /// `cloudfoundry` or `service-manager`.
    pub runtime: Option<Sp<RuntimeSpec>>,
    /// Cloud Foundry space of the instance.
    pub space: Option<Sp<String>>,
    /// The Cloud ALM API service instance. Use `instances` for more than one.
    pub instance: Option<InstanceSpec>,
    /// Several instances (each may set its own `space` and `keys`).
    pub instances: Option<Vec<InstanceSpec>>,
    /// Service keys or bindings.
    pub keys: Option<Vec<KeySpec>>,
    /// The entitlement.
    pub entitlement: Option<EntitlementSpec>,
    /// Never delete this tenant's objects. Also written on the live objects.
    pub protect: Option<Sp<bool>>,
    /// Labels for `--select`.
    pub labels: Option<BTreeMap<String, Sp<String>>>,
    /// Cloud Foundry roles for other users in the tenant's spaces; replaces `defaults.space_roles`
    /// (`[]`: none).
    pub space_roles: Option<Vec<SpaceRoleSpec>>,
    /// Existing credentials to deliver read-only; replaces `defaults.retrieve` (`[]`: none).
    pub retrieve: Option<RetrieveSpec>,
}

/// A service instance of SAP Cloud ALM API (`SAPCloudALMAPIs`).
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct InstanceSpec {
    /// Where the instance entry starts.
    #[schemars(skip)]
    pub span: Span,
    /// Instance name, also its `xsappname`: at most 32 of `A-Z a-z 0-9 _ -`.
    #[schemars(example = &"calm-api")]
    pub name: Option<Sp<String>>,
    /// Service plan. Default `standard`.
    pub plan: Option<Sp<String>>,
    /// Cloud Foundry space (in `instances` entries).
    pub space: Option<Sp<String>>,
    /// Cloud ALM scopes granted to the keys, with or without the `$XSMASTERAPPNAME.` prefix.
    #[schemars(example = vec!["imp-cdm-feature-display-ui", "calm-api.projects.read"])]
    pub authorities: Option<Vec<Sp<String>>>,
    /// `oauth2-configuration.credential-types`. Default `[binding-secret]`, so that every key has
    /// its own secret and keys can be rotated one at a time.
    pub credential_types: Option<Vec<Sp<String>>>,
    /// Raw parameters passed to the broker; `xs-security` fields above are merged into them.
    pub parameters: Option<Sp<serde_json::Map<String, serde_json::Value>>>,
    /// Where `parameters.xs-security.xsappname` was written, if it was.
    #[schemars(skip)]
    pub xsappname_span: Option<Span>,
    /// Keys or bindings of this instance (in `instances` entries).
    pub keys: Option<Vec<KeySpec>>,
}

/// A service key (cloudfoundry) or binding (service-manager).
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct KeySpec {
    /// Key name. Must not look like SAP's generated `<SID>_<client>_<system number>` names.
    #[schemars(example = &"calm-key")]
    pub name: Sp<String>,
    /// Rotate the key when it is older than this: a number and a unit (`s`, `m`, `h`, `d`, `w`).
    #[schemars(example = &"90d")]
    pub rotate_after: Option<Sp<String>>,
    /// After a rotation, delete the old key this long after it was retired. Default `7d`.
    #[schemars(example = &"7d")]
    pub retire_after: Option<Sp<String>>,
}

/// A Cloud Foundry space role for a user of an identity provider, in every space of a tenant.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SpaceRoleSpec {
    /// Where the entry was written.
    #[schemars(skip)]
    pub span: Span,
    /// The user's name in its identity provider, usually an e-mail address.
    #[schemars(example = &"ops@example.com")]
    pub user: Sp<String>,
    /// The identity provider's origin key: `sap.ids` for SAP ID service, or a custom IdP's.
    #[schemars(example = &"sap.ids")]
    pub origin: Sp<String>,
    /// The role. Default `space_developer`.
    pub role: Option<Sp<SpaceRoleTypeSpec>>,
}

/// A Cloud Foundry space role type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(rename_all = "snake_case")]
pub enum SpaceRoleTypeSpec {
    /// Creates and changes service instances and keys, reads their credentials.
    SpaceDeveloper,
    /// Assigns space roles.
    SpaceManager,
    /// Reads.
    SpaceAuditor,
    /// Reads, and troubleshoots apps.
    SpaceSupporter,
}

/// The entitlement: `amount` for plans with a numeric quota, or `enable: true`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EntitlementSpec {
    /// Where the entry was written.
    #[schemars(skip)]
    pub span: Span,
    /// Quota to assign (1 or more).
    #[schemars(range(min = 1))]
    pub amount: Option<Sp<u32>>,
    /// Enable the plan in the subaccount.
    pub enable: Option<Sp<bool>>,
}

/// Where credentials go: exactly one of `dir` or `exec`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DeliverySpec {
    /// Where the mapping is.
    #[schemars(skip)]
    pub span: Span,
    /// Folder for `<dir>/<tenant>/<key>.json` files (mode 0600 in 0700 folders;
    /// `<dir>/<tenant>/<instance>/<key>.json` when a tenant has several instances).
    #[schemars(example = &"./credentials", length(min = 1))]
    pub dir: Option<Sp<String>>,
    /// A command (program and arguments) that receives each key's JSON on stdin, with
    /// `CALMCTL_TENANT`, `CALMCTL_INSTANCE` and `CALMCTL_KEY` set. It runs in its own process
    /// group with only `PATH`, `HOME`, those variables and the ones `env` names.
    #[schemars(example = vec!["vault-put", "secret/calm"], length(min = 1))]
    pub exec: Option<Sp<Vec<Sp<String>>>>,
    /// Names of environment variables the `exec` command receives from calmctl's environment
    /// (e.g. `VAULT_ADDR`, `VAULT_TOKEN`). Nothing else is passed on: calmctl's environment holds
    /// its own credentials.
    #[schemars(example = vec!["VAULT_ADDR", "VAULT_TOKEN"])]
    pub env: Option<Vec<Sp<String>>>,
    /// How long the `exec` command may take for one key before it and its children are killed
    /// (`s`, `m`, `h`). Default: `5m`.
    #[schemars(example = &"5m")]
    pub timeout: Option<Sp<String>>,
}

/// The draft-07 JSON Schema of calm.yaml, as checked in at `schemas/calm.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<CalmFile>();
    let mut schema = serde_json::to_value(schema).unwrap_or_default();
    // Optional fields are Rust `Option`s, which schemars describes as "or null"; calm.yaml
    // rejects an explicit null, so the schema must too.
    drop_null(&mut schema);
    // `tenants` may come from `tenants_from` instead (or as well).
    schema["required"] = serde_json::json!(["version"]);
    schema["anyOf"] = serde_json::json!([
        { "required": ["tenants"] },
        { "required": ["tenants_from"] }
    ]);
    // Name rules, from the constants `validate` checks with.
    for (definition, rule) in [
        ("TenantSpec", crate::rules::TENANT_NAME),
        ("InstanceSpec", crate::rules::INSTANCE_NAME),
        ("KeySpec", crate::rules::KEY_NAME),
    ] {
        let name = &mut schema["definitions"][definition]["properties"]["name"];
        name["minLength"] = serde_json::json!(rule.min);
        name["maxLength"] = serde_json::json!(rule.max);
        name["pattern"] = serde_json::json!(rule.pattern());
    }
    for (definition, choices) in [
        ("SecretRefSpec", ["env", "file"]),
        ("EntitlementSpec", ["amount", "enable"]),
        ("DeliverySpec", ["dir", "exec"]),
    ] {
        schema["definitions"][definition]["oneOf"] = serde_json::json!([
            { "required": [choices[0]] },
            { "required": [choices[1]] }
        ]);
    }
    schema
}

fn drop_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get("anyOf")
                && any.len() == 2
                && any[1] == serde_json::json!({"type": "null"})
            {
                let inner = any[0].clone();
                map.remove("anyOf");
                if let Value::Object(inner) = inner {
                    map.extend(inner);
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::decode;

    /// The decoder and the schema must accept exactly the same fields; otherwise an editor would
    /// suggest a field that `validate` rejects, or the reverse.
    #[test]
    fn decoder_fields_match_the_schema() {
        let schema = super::json_schema();
        let cases: &[(&str, &[&str])] = &[
            ("", decode::FILE_FIELDS),
            ("AccountSpec", decode::ACCOUNT_FIELDS),
            ("SecretRefSpec", decode::SECRET_REF_FIELDS),
            ("CfLoginSpec", decode::CF_LOGIN_FIELDS),
            ("TenantDefaults", decode::DEFAULTS_FIELDS),
            ("TenantSpec", decode::TENANT_FIELDS),
            ("InstanceSpec", decode::INSTANCE_FIELDS),
            ("KeySpec", decode::KEY_FIELDS),
            ("SpaceRoleSpec", decode::SPACE_ROLE_FIELDS),
            ("EntitlementSpec", decode::ENTITLEMENT_FIELDS),
            ("DeliverySpec", decode::DELIVERY_FIELDS),
        ];
        for (definition, fields) in cases {
            let object = if definition.is_empty() {
                &schema
            } else {
                &schema["definitions"][definition]
            };
            let mut declared: Vec<&str> = object["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{definition} has properties"))
                .keys()
                .map(String::as_str)
                .collect();
            let mut decoded = fields.to_vec();
            declared.sort_unstable();
            decoded.sort_unstable();
            assert_eq!(declared, decoded, "fields of {definition:?}");
            assert_eq!(
                object["additionalProperties"], false,
                "{definition:?} is closed"
            );
        }
    }
}
