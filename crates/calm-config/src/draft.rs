//! Writing calm.yaml (and CSV inventories) from a draft: the model `calmctl discover` fills from
//! what exists, with `defaults` and one line per tenant.
//!
//! The writer emits flow mappings (`- { name: a, subaccount: a }`) so that each tenant is one
//! line a reviewer can read and a diff shows whole; scalars are quoted whenever YAML could read
//! them as anything but the string meant. Comments carry what is not configuration: which tenants
//! are onboarded already and which hold credentials SAP generated.

use std::fmt::Write;

use calm_core::{Account, CfLogin, Entitlement, Runtime, SecretRef};

use crate::escape;

/// A calm.yaml to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Comment lines at the top (without `# `).
    pub header: Vec<String>,
    /// The one account the tenants belong to.
    pub account: Account,
    /// Settings most tenants share.
    pub defaults: DraftDefaults,
    /// One entry per subaccount.
    pub tenants: Vec<DraftTenant>,
}

/// `defaults:` of a draft.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftDefaults {
    /// Region.
    pub region: String,
    /// Runtime.
    pub runtime: Runtime,
    /// Cloud Foundry space.
    pub space: String,
    /// Instance name.
    pub instance: String,
    /// Instance authorities (empty: none written).
    pub authorities: Vec<String>,
    /// Key names.
    pub keys: Vec<String>,
    /// Entitlement.
    pub entitlement: Entitlement,
}

/// A tenant line. `None` fields inherit the defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DraftTenant {
    /// Comment lines above the tenant (without `# `).
    pub comments: Vec<String>,
    /// Tenant name.
    pub name: String,
    /// Subaccount subdomain or GUID.
    pub subaccount: String,
    /// Cloud Foundry org, when it is not the one the subaccount's Cloud Foundry environment names.
    pub org: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Runtime.
    pub runtime: Option<Runtime>,
    /// Instances; empty means the default instance.
    pub instances: Vec<DraftInstance>,
    /// Never delete.
    pub protect: bool,
    /// Entitlement.
    pub entitlement: Option<Entitlement>,
    /// `retrieve:` entries (`generated`): a retrieve-only tenant when no instance is given.
    pub retrieve: Vec<String>,
}

/// An instance of a tenant. `None` fields inherit the defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DraftInstance {
    /// Name.
    pub name: Option<String>,
    /// Space.
    pub space: Option<String>,
    /// Authorities.
    pub authorities: Option<Vec<String>>,
    /// Credential types.
    pub credential_types: Option<Vec<String>>,
    /// Raw parameters other than those the fields above produce.
    pub parameters: Option<serde_json::Map<String, serde_json::Value>>,
    /// Key names.
    pub keys: Option<Vec<String>>,
}

impl DraftInstance {
    fn is_default(&self) -> bool {
        self.name.is_none()
            && self.space.is_none()
            && self.authorities.is_none()
            && self.credential_types.is_none()
            && self.parameters.is_none()
    }
}

/// The draft as calm.yaml text.
pub fn to_yaml(draft: &Draft) -> String {
    let mut out = String::new();
    for line in &draft.header {
        let _ = writeln!(out, "# {}", escape::comment(line));
    }
    out.push_str("version: 1\n\naccounts:\n");
    account(&mut out, &draft.account);
    let d = &draft.defaults;
    out.push_str("\ndefaults:\n");
    let _ = writeln!(out, "  account: {}", scalar(&draft.account.name));
    let _ = writeln!(out, "  region: {}", scalar(&d.region));
    let _ = writeln!(out, "  runtime: {}", d.runtime.as_str());
    let _ = writeln!(out, "  space: {}", scalar(&d.space));
    let _ = write!(out, "  instance: {{ name: {}", scalar(&d.instance));
    if !d.authorities.is_empty() {
        let _ = write!(out, ", authorities: {}", list(&d.authorities));
    }
    out.push_str(" }\n");
    let _ = writeln!(out, "  keys: {}", keys(&d.keys));
    let _ = writeln!(out, "  entitlement: {}", entitlement(d.entitlement));
    out.push_str("\ntenants:\n");
    if draft.tenants.is_empty() {
        out.truncate(out.len() - 1);
        out.push_str(" []\n");
    }
    for t in &draft.tenants {
        for line in &t.comments {
            let _ = writeln!(out, "  # {}", escape::comment(line));
        }
        let _ = writeln!(out, "  - {}", tenant(t));
    }
    out
}

fn account(out: &mut String, a: &Account) {
    let _ = writeln!(out, "  {}:", scalar(&a.name));
    let _ = writeln!(out, "    subdomain: {}", scalar(&a.subdomain));
    let _ = writeln!(out, "    region: {}", scalar(&a.region));
    for (field, value) in [
        ("cis_key", &a.cis_key),
        ("username", &a.username),
        ("password", &a.password),
    ] {
        if let Some(r) = value {
            let _ = writeln!(out, "    {field}: {}", secret_ref(r));
        }
    }
    if let Some(cf) = &a.cloudfoundry {
        let _ = writeln!(out, "    cloudfoundry: {}", cf_login(cf));
    }
}

fn cf_login(cf: &CfLogin) -> String {
    let mut parts = Vec::new();
    for (field, value) in [
        ("username", &cf.username),
        ("password", &cf.password),
        ("assertion", &cf.assertion),
    ] {
        if let Some(r) = value {
            parts.push(format!("{field}: {}", secret_ref(r)));
        }
    }
    if let Some(origin) = &cf.origin {
        parts.push(format!("origin: {}", scalar(origin)));
    }
    format!("{{ {} }}", parts.join(", "))
}

fn secret_ref(r: &SecretRef) -> String {
    match r {
        SecretRef::Env(name) => format!("{{ env: {} }}", scalar(name)),
        SecretRef::File(path) => format!("{{ file: {} }}", scalar(&path.display().to_string())),
    }
}

fn tenant(t: &DraftTenant) -> String {
    let mut parts = vec![
        format!("name: {}", scalar(&t.name)),
        format!("subaccount: {}", scalar(&t.subaccount)),
    ];
    if let Some(org) = &t.org {
        parts.push(format!("org: {}", scalar(org)));
    }
    if let Some(region) = &t.region {
        parts.push(format!("region: {}", scalar(region)));
    }
    if let Some(runtime) = t.runtime {
        parts.push(format!("runtime: {}", runtime.as_str()));
    }
    match t.instances.as_slice() {
        [] => {}
        [one] => {
            if !one.is_default() {
                parts.push(format!("instance: {}", instance(one, false)));
            }
            if let Some(k) = &one.keys {
                parts.push(format!("keys: {}", keys(k)));
            }
        }
        many => {
            let items: Vec<String> = many.iter().map(|i| instance(i, true)).collect();
            parts.push(format!("instances: [{}]", items.join(", ")));
        }
    }
    if let Some(e) = t.entitlement {
        parts.push(format!("entitlement: {}", entitlement(e)));
    }
    if t.protect {
        parts.push("protect: true".into());
    }
    match t.retrieve.as_slice() {
        [] => {}
        [one] => parts.push(format!("retrieve: {}", scalar(one))),
        many => {
            let items: Vec<String> = many.iter().map(|r| scalar(r)).collect();
            parts.push(format!("retrieve: [{}]", items.join(", ")));
        }
    }
    format!("{{ {} }}", parts.join(", "))
}

fn instance(i: &DraftInstance, with_keys: bool) -> String {
    let mut parts = Vec::new();
    if let Some(name) = &i.name {
        parts.push(format!("name: {}", scalar(name)));
    }
    if let Some(space) = &i.space {
        parts.push(format!("space: {}", scalar(space)));
    }
    if let Some(a) = &i.authorities {
        parts.push(format!("authorities: {}", list(a)));
    }
    if let Some(c) = &i.credential_types {
        parts.push(format!("credential_types: {}", list(c)));
    }
    if let Some(p) = &i.parameters {
        let json = serde_json::to_string(p).unwrap_or_else(|_| "{}".into());
        parts.push(format!("parameters: {json}"));
    }
    if with_keys && let Some(k) = &i.keys {
        parts.push(format!("keys: {}", keys(k)));
    }
    format!("{{ {} }}", parts.join(", "))
}

fn keys(names: &[String]) -> String {
    let items: Vec<String> = names
        .iter()
        .map(|n| format!("{{ name: {} }}", scalar(n)))
        .collect();
    format!("[{}]", items.join(", "))
}

fn list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| scalar(s)).collect();
    format!("[{}]", items.join(", "))
}

fn entitlement(e: Entitlement) -> String {
    match e {
        Entitlement::Amount(n) => format!("{{ amount: {n} }}"),
        Entitlement::Enable(on) => format!("{{ enable: {on} }}"),
    }
}

/// A string as a YAML scalar: plain when that reads back as the same string, else JSON-quoted
/// (a JSON string is a valid YAML double-quoted scalar), with every character a comment escapes
/// ([`escape::is_escaped`]) written as a `\uXXXX` escape.
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '$')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./$".contains(c))
        && !matches!(
            s,
            "true" | "false" | "null" | "True" | "False" | "Null" | "TRUE" | "FALSE" | "NULL"
        )
        && s.parse::<f64>().is_err()
        && !s.starts_with("0x")
        && !s.starts_with("0o");
    if plain {
        return s.to_owned();
    }
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    if !quoted.chars().any(escape::is_escaped) {
        return quoted;
    }
    let mut out = String::with_capacity(quoted.len());
    for c in quoted.chars() {
        if escape::is_escaped(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// The tenants of a draft as a CSV inventory (`tenants_from`), every column written out so that
/// the file does not depend on the defaults of the calm.yaml that names it. Tenants with several
/// instances or instance settings a CSV row cannot hold are refused by name.
pub fn to_csv(draft: &Draft) -> Result<String, String> {
    let d = &draft.defaults;
    let refused: Vec<&str> = draft
        .tenants
        .iter()
        .filter(|t| {
            t.instances.len() > 1
                || t.instances.iter().any(|i| {
                    i.authorities.is_some()
                        || i.credential_types.is_some()
                        || i.parameters.is_some()
                })
        })
        .map(|t| t.name.as_str())
        .collect();
    if !refused.is_empty() {
        return Err(format!(
            "a CSV row holds one instance with the default settings; these tenants need calm.yaml (--format yaml): {}",
            refused.join(", ")
        ));
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "name",
        "subaccount",
        "org",
        "region",
        "runtime",
        "space",
        "instance",
        "keys",
        "protect",
        "retrieve",
    ];
    writer.write_record(header).map_err(|e| e.to_string())?;
    for t in &draft.tenants {
        let runtime = t.runtime.unwrap_or(d.runtime);
        let one = t.instances.first();
        let space = match runtime {
            Runtime::Cloudfoundry => one
                .and_then(|i| i.space.clone())
                .unwrap_or_else(|| d.space.clone()),
            Runtime::ServiceManager => String::new(),
        };
        let org = match runtime {
            // Empty: the org the subaccount's Cloud Foundry environment names.
            Runtime::Cloudfoundry => t.org.clone().unwrap_or_default(),
            Runtime::ServiceManager => String::new(),
        };
        let keys = one
            .and_then(|i| i.keys.clone())
            .unwrap_or_else(|| d.keys.clone());
        // A retrieve-only tenant names no instance or keys of its own (empty cells).
        let retrieving = !t.retrieve.is_empty() && t.instances.is_empty();
        let record = [
            t.name.clone(),
            t.subaccount.clone(),
            org,
            t.region.clone().unwrap_or_else(|| d.region.clone()),
            runtime.as_str().to_owned(),
            space,
            if retrieving {
                String::new()
            } else {
                one.and_then(|i| i.name.clone())
                    .unwrap_or_else(|| d.instance.clone())
            },
            if retrieving {
                String::new()
            } else {
                keys.join(" ")
            },
            t.protect.to_string(),
            t.retrieve.join(" "),
        ];
        let record: Vec<String> = record.iter().map(|cell| escape::csv_cell(cell)).collect();
        writer.write_record(&record).map_err(|e| e.to_string())?;
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::scalar;

    /// Every scalar written reads back as the same string.
    #[test]
    fn scalars_read_back_as_strings() {
        for s in [
            "acme",
            "1234",
            "true",
            "no",
            "",
            "a: b",
            "#x",
            "0x1f",
            "1e3",
            "sub-001",
            "é",
            "line\nbreak: injected",
            "esc\u{1b}[2J",
            "sep\u{2028}x\u{202e}y",
        ] {
            let yaml = format!("v: {}\n", scalar(s));
            let node: crate::node::Node =
                serde_saphyr::from_str_with_options(&yaml, crate::parse_options())
                    .unwrap_or_else(|e| panic!("{yaml}: {e}"));
            let crate::node::Value::Mapping(entries) = node.value else {
                panic!("{yaml}")
            };
            assert_eq!(
                entries[0].1.value,
                crate::node::Value::String(s.to_owned()),
                "{yaml}"
            );
        }
    }
}
