//! Turns the YAML tree into the [`schema`](crate::schema) types, collecting every type error and
//! unknown field on the way. No rule about values is checked here; that is `rules`' job.

mod reader;

use reader::{Fields, boolean, list, map_of, mapping, missing, string, unsigned};
pub(crate) use reader::{did_you_mean, expected};

use crate::diagnostic::Problems;
use crate::node::{Node, Value};
use crate::schema::{
    AccountSpec, CalmFile, CfLoginSpec, DeliverySpec, EntitlementSpec, InstanceSpec, KeySpec,
    RetrieveSpec, RuntimeSpec, SecretRefSpec, Sp, SpaceRoleSpec, SpaceRoleTypeSpec, TenantDefaults,
    TenantSpec,
};

/// Field names of each entry, as the schema declares them (a test keeps them in step).
pub(crate) const FILE_FIELDS: &[&str] = &[
    "version",
    "accounts",
    "defaults",
    "tenants",
    "tenants_from",
    "delivery",
    "redact",
];
pub(crate) const ACCOUNT_FIELDS: &[&str] = &[
    "subdomain",
    "region",
    "cis_key",
    "username",
    "password",
    "cloudfoundry",
    "org",
    "cf_api",
];
pub(crate) const SECRET_REF_FIELDS: &[&str] = &["env", "file"];
pub(crate) const CF_LOGIN_FIELDS: &[&str] = &["username", "password", "assertion", "origin"];
pub(crate) const DEFAULTS_FIELDS: &[&str] = &[
    "account",
    "region",
    "runtime",
    "org",
    "cf_api",
    "space",
    "instance",
    "keys",
    "entitlement",
    "protect",
    "labels",
    "space_roles",
    "retrieve",
];
pub(crate) const TENANT_FIELDS: &[&str] = &[
    "name",
    "subaccount",
    "org",
    "cf_api",
    "account",
    "region",
    "runtime",
    "space",
    "instance",
    "instances",
    "keys",
    "entitlement",
    "protect",
    "labels",
    "space_roles",
    "retrieve",
];
pub(crate) const INSTANCE_FIELDS: &[&str] = &[
    "name",
    "plan",
    "space",
    "authorities",
    "credential_types",
    "parameters",
    "keys",
];
pub(crate) const KEY_FIELDS: &[&str] = &["name", "rotate_after", "retire_after"];
pub(crate) const SPACE_ROLE_FIELDS: &[&str] = &["user", "origin", "role"];
pub(crate) const ENTITLEMENT_FIELDS: &[&str] = &["amount", "enable"];
pub(crate) const DELIVERY_FIELDS: &[&str] = &["dir", "exec", "env", "timeout"];

/// Decodes the whole file. Returns what could be read; problems go to `problems`.
pub(crate) fn file(problems: &mut Problems, root: &Node) -> CalmFile {
    let mut out = CalmFile::default();
    if root.value == Value::Null {
        problems
            .error("calm::empty", "the file is empty")
            .label(root.span, "no settings in the file")
            .help(
                "start with `version: 1` and a `tenants:` list; `calmctl schema` prints the format",
            )
            .push();
        return out;
    }
    let Some(f) = mapping(problems, root, "calm.yaml", FILE_FIELDS) else {
        return out;
    };
    match f.get("version") {
        Some(n) => out.version = unsigned(problems, n, "`version`"),
        None => missing(problems, &f, "version", "calm.yaml"),
    }
    if let Some(n) = f.get("accounts") {
        out.accounts = map_of(problems, n, "`accounts`", account).unwrap_or_default();
    }
    out.defaults = f.get("defaults").and_then(|n| defaults(problems, n));
    out.tenants_from = f
        .get("tenants_from")
        .and_then(|n| string(problems, n, "`tenants_from`"));
    match f.get("tenants") {
        Some(n) => out.tenants = list(problems, n, "`tenants`", tenant).unwrap_or_default(),
        None if out.tenants_from.is_some() => {}
        None => missing(problems, &f, "tenants", "calm.yaml"),
    }
    out.delivery = f.get("delivery").and_then(|n| delivery(problems, n));
    if let Some(n) = f.get("redact") {
        out.redact = list(problems, n, "`redact`", |p, n| {
            string(p, n, "a parameter path")
        })
        .unwrap_or_default();
    }
    out
}

fn account(problems: &mut Problems, name: &Sp<String>, node: &Node) -> Option<AccountSpec> {
    let what = format!("account `{}`", name.value);
    let f = mapping(problems, node, &what, ACCOUNT_FIELDS)?;
    let subdomain = required_string(problems, &f, "subdomain", &what);
    let region = required_string(problems, &f, "region", &what);
    let account = AccountSpec {
        name_span: name.span,
        subdomain: subdomain?,
        region: region?,
        cis_key: f
            .get("cis_key")
            .and_then(|n| secret_ref(problems, n, "cis_key")),
        username: f
            .get("username")
            .and_then(|n| secret_ref(problems, n, "username")),
        password: f
            .get("password")
            .and_then(|n| secret_ref(problems, n, "password")),
        cloudfoundry: f.get("cloudfoundry").and_then(|n| cf_login(problems, n)),
        org: f.get("org").and_then(|n| string(problems, n, "`org`")),
        cf_api: f
            .get("cf_api")
            .and_then(|n| string(problems, n, "`cf_api`")),
    };
    Some(account)
}

fn required_string(
    problems: &mut Problems,
    f: &Fields<'_>,
    field: &str,
    what: &str,
) -> Option<Sp<String>> {
    match f.get(field) {
        Some(n) => string(problems, n, &format!("`{field}`")),
        None => {
            missing(problems, f, field, what);
            None
        }
    }
}

/// A secret reference. A plain string here is a literal secret, which is reported by `rules`
/// with advice; here it is only recorded as a reference-shaped problem.
fn secret_ref(problems: &mut Problems, node: &Node, field: &str) -> Option<SecretRefSpec> {
    if let Value::String(_) | Value::Integer(_) | Value::Float(_) | Value::Bool(_) = node.value {
        problems
            .error(
                "calm::literal_secret",
                format!(
                    "`{field}` holds a literal value; calm.yaml only holds references to secrets"
                ),
            )
            .label(node.span, "a secret written into the file")
            .help(format!(
                "keep the secret outside the file: `{field}: {{ env: VARIABLE_NAME }}` or \
                 `{field}: {{ file: ~/.config/calmctl/{field} }}`"
            ))
            .push();
        return None;
    }
    let what = format!("`{field}`");
    let f = mapping(problems, node, &what, SECRET_REF_FIELDS)?;
    if f.get("env").is_some() == f.get("file").is_some() {
        problems
            .error(
                "calm::secret_ref",
                format!("{what} needs exactly one of `env` or `file`"),
            )
            .label_line(node.span, "here")
            .help(format!("for example `{field}: {{ env: VARIABLE_NAME }}`"))
            .push();
        return None;
    }
    let env = f.get("env").and_then(|n| string(problems, n, "`env`"));
    let file = f.get("file").and_then(|n| string(problems, n, "`file`"));
    if env.is_none() && file.is_none() {
        return None;
    }
    Some(SecretRefSpec {
        span: node.span,
        env,
        file,
    })
}

fn cf_login(problems: &mut Problems, node: &Node) -> Option<CfLoginSpec> {
    let f = mapping(problems, node, "`cloudfoundry`", CF_LOGIN_FIELDS)?;
    Some(CfLoginSpec {
        username: f
            .get("username")
            .and_then(|n| secret_ref(problems, n, "username")),
        password: f
            .get("password")
            .and_then(|n| secret_ref(problems, n, "password")),
        assertion: f
            .get("assertion")
            .and_then(|n| secret_ref(problems, n, "assertion")),
        origin: f
            .get("origin")
            .and_then(|n| string(problems, n, "`origin`")),
    })
}

fn runtime(problems: &mut Problems, node: &Node) -> Option<Sp<RuntimeSpec>> {
    let text = string(problems, node, "`runtime`")?;
    let value = match text.value.as_str() {
        "cloudfoundry" => RuntimeSpec::Cloudfoundry,
        "service-manager" => RuntimeSpec::ServiceManager,
        other => {
            let hint = did_you_mean(other, ["cloudfoundry", "service-manager"])
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            problems
                .error("calm::runtime", format!("unknown runtime `{other}`"))
                .label(node.span, "not a runtime")
                .help(format!(
                    "{hint}the runtime is `cloudfoundry` or `service-manager`"
                ))
                .push();
            return None;
        }
    };
    Some(Sp {
        value,
        span: text.span,
    })
}

fn labels(
    problems: &mut Problems,
    node: &Node,
) -> Option<std::collections::BTreeMap<String, Sp<String>>> {
    map_of(problems, node, "`labels`", |p, _, n| {
        string(p, n, "a label value")
    })
}

fn keys(problems: &mut Problems, node: &Node) -> Option<Vec<KeySpec>> {
    list(problems, node, "`keys`", key)
}

fn key(problems: &mut Problems, node: &Node) -> Option<KeySpec> {
    let f = mapping(problems, node, "a key", KEY_FIELDS)?;
    Some(KeySpec {
        name: required_string(problems, &f, "name", "a key")?,
        rotate_after: f
            .get("rotate_after")
            .and_then(|n| string(problems, n, "`rotate_after`")),
        retire_after: f
            .get("retire_after")
            .and_then(|n| string(problems, n, "`retire_after`")),
    })
}

fn entitlement(problems: &mut Problems, node: &Node) -> Option<EntitlementSpec> {
    let f = mapping(problems, node, "`entitlement`", ENTITLEMENT_FIELDS)?;
    Some(EntitlementSpec {
        span: node.span,
        amount: f
            .get("amount")
            .and_then(|n| unsigned(problems, n, "`amount`")),
        enable: f
            .get("enable")
            .and_then(|n| boolean(problems, n, "`enable`")),
    })
}

fn instance(problems: &mut Problems, node: &Node) -> Option<InstanceSpec> {
    let f = mapping(problems, node, "an instance", INSTANCE_FIELDS)?;
    let strings = |p: &mut Problems, n: &Node| string(p, n, "a string");
    let parameters = f.get("parameters").and_then(|n| match n.to_json() {
        serde_json::Value::Object(map) => Some(Sp {
            value: map,
            span: n.span,
        }),
        _ => {
            expected(problems, n, "`parameters` (a mapping)");
            None
        }
    });
    Some(InstanceSpec {
        span: node.span,
        name: f.get("name").and_then(|n| string(problems, n, "`name`")),
        plan: f.get("plan").and_then(|n| string(problems, n, "`plan`")),
        space: f.get("space").and_then(|n| string(problems, n, "`space`")),
        authorities: f
            .get("authorities")
            .and_then(|n| list(problems, n, "`authorities`", strings)),
        credential_types: f
            .get("credential_types")
            .and_then(|n| list(problems, n, "`credential_types`", strings)),
        xsappname_span: f.get("parameters").and_then(xsappname_span),
        parameters,
        keys: f.get("keys").and_then(|n| keys(problems, n)),
    })
}

/// Where `xs-security.xsappname` is written inside `parameters`, so that a mismatch labels the
/// value itself.
fn xsappname_span(parameters: &Node) -> Option<calm_core::Span> {
    let child = |node: &Node, name: &str| match &node.value {
        crate::node::Value::Mapping(entries) => entries
            .iter()
            .find(|(k, _)| k.scalar_text() == name)
            .map(|(_, v)| v.clone()),
        _ => None,
    };
    let security = child(parameters, "xs-security")?;
    child(&security, "xsappname").map(|n| n.span)
}

fn defaults(problems: &mut Problems, node: &Node) -> Option<TenantDefaults> {
    let f = mapping(problems, node, "`defaults`", DEFAULTS_FIELDS)?;
    Some(TenantDefaults {
        account: f
            .get("account")
            .and_then(|n| string(problems, n, "`account`")),
        region: f
            .get("region")
            .and_then(|n| string(problems, n, "`region`")),
        runtime: f.get("runtime").and_then(|n| runtime(problems, n)),
        org: f.get("org").and_then(|n| string(problems, n, "`org`")),
        cf_api: f
            .get("cf_api")
            .and_then(|n| string(problems, n, "`cf_api`")),
        space: f.get("space").and_then(|n| string(problems, n, "`space`")),
        instance: f.get("instance").and_then(|n| instance(problems, n)),
        keys: f.get("keys").and_then(|n| keys(problems, n)),
        entitlement: f.get("entitlement").and_then(|n| entitlement(problems, n)),
        protect: f
            .get("protect")
            .and_then(|n| boolean(problems, n, "`protect`")),
        labels: f.get("labels").and_then(|n| labels(problems, n)),
        space_roles: f.get("space_roles").and_then(|n| space_roles(problems, n)),
        retrieve: f.get("retrieve").and_then(|n| retrieve(problems, n)),
    })
}

/// `retrieve:` a string or a list of strings.
fn retrieve(problems: &mut Problems, node: &Node) -> Option<RetrieveSpec> {
    let entries = match &node.value {
        Value::Sequence(_) => list(problems, node, "`retrieve`", |p, n| {
            string(p, n, "a `retrieve` entry")
        })?,
        _ => vec![string(
            problems,
            node,
            "`retrieve` (a name or a list of names)",
        )?],
    };
    Some(RetrieveSpec {
        span: node.span,
        entries,
    })
}

fn space_roles(problems: &mut Problems, node: &Node) -> Option<Vec<SpaceRoleSpec>> {
    list(problems, node, "`space_roles`", space_role)
}

fn space_role(problems: &mut Problems, node: &Node) -> Option<SpaceRoleSpec> {
    let what = "a space role";
    let f = mapping(problems, node, what, SPACE_ROLE_FIELDS)?;
    let user = required_string(problems, &f, "user", what);
    let origin = required_string(problems, &f, "origin", what);
    let role = f.get("role").and_then(|n| space_role_type(problems, n));
    Some(SpaceRoleSpec {
        span: node.span,
        user: user?,
        origin: origin?,
        role,
    })
}

fn space_role_type(problems: &mut Problems, node: &Node) -> Option<Sp<SpaceRoleTypeSpec>> {
    let text = string(problems, node, "`role`")?;
    let names = [
        ("space_developer", SpaceRoleTypeSpec::SpaceDeveloper),
        ("space_manager", SpaceRoleTypeSpec::SpaceManager),
        ("space_auditor", SpaceRoleTypeSpec::SpaceAuditor),
        ("space_supporter", SpaceRoleTypeSpec::SpaceSupporter),
    ];
    match names.iter().find(|(n, _)| *n == text.value) {
        Some((_, value)) => Some(Sp {
            value: *value,
            span: text.span,
        }),
        None => {
            let hint = did_you_mean(&text.value, names.iter().map(|(n, _)| *n))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            problems
                .error(
                    "calm::space_role",
                    format!("unknown space role `{}`", text.value),
                )
                .label(node.span, "not a Cloud Foundry space role")
                .help(format!(
                    "{hint}a space role is `space_developer`, `space_manager`, `space_auditor` or \
                     `space_supporter`"
                ))
                .push();
            None
        }
    }
}

/// One tenant entry (from `tenants:` or an inventory file).
pub(crate) fn tenant(problems: &mut Problems, node: &Node) -> Option<TenantSpec> {
    let f = mapping(problems, node, "a tenant", TENANT_FIELDS)?;
    let name = required_string(problems, &f, "name", "a tenant");
    let subaccount = required_string(problems, &f, "subaccount", "a tenant");
    let instances = f
        .get("instances")
        .and_then(|n| list(problems, n, "`instances`", instance));
    Some(TenantSpec {
        span: node.span,
        name: name?,
        subaccount: subaccount?,
        org: f.get("org").and_then(|n| string(problems, n, "`org`")),
        cf_api: f
            .get("cf_api")
            .and_then(|n| string(problems, n, "`cf_api`")),
        account: f
            .get("account")
            .and_then(|n| string(problems, n, "`account`")),
        region: f
            .get("region")
            .and_then(|n| string(problems, n, "`region`")),
        runtime: f.get("runtime").and_then(|n| runtime(problems, n)),
        space: f.get("space").and_then(|n| string(problems, n, "`space`")),
        instance: f.get("instance").and_then(|n| instance(problems, n)),
        instances,
        keys: f.get("keys").and_then(|n| keys(problems, n)),
        entitlement: f.get("entitlement").and_then(|n| entitlement(problems, n)),
        protect: f
            .get("protect")
            .and_then(|n| boolean(problems, n, "`protect`")),
        labels: f.get("labels").and_then(|n| labels(problems, n)),
        space_roles: f.get("space_roles").and_then(|n| space_roles(problems, n)),
        retrieve: f.get("retrieve").and_then(|n| retrieve(problems, n)),
    })
}

fn delivery(problems: &mut Problems, node: &Node) -> Option<DeliverySpec> {
    let f = mapping(problems, node, "`delivery`", DELIVERY_FIELDS)?;
    Some(DeliverySpec {
        span: f.span,
        dir: f.get("dir").and_then(|n| string(problems, n, "`dir`")),
        exec: f.get("exec").and_then(|n| {
            list(problems, n, "`exec`", |p, n| string(p, n, "an argument")).map(|value| Sp {
                value,
                span: n.span,
            })
        }),
        env: f.get("env").and_then(|n| {
            list(problems, n, "`env`", |p, n| {
                string(p, n, "an environment variable name")
            })
        }),
        timeout: f
            .get("timeout")
            .and_then(|n| string(problems, n, "`timeout`")),
    })
}
