//! Applies `defaults` to every tenant and checks the rules that span several entries (duplicates,
//! references), producing the fully resolved [`Desired`] model.

use std::collections::BTreeMap;
use std::path::PathBuf;

use calm_core::{
    Account, CfLogin, DEFAULT_PLAN, DEFAULT_RETIRE_AFTER_SECS, Desired, Entitlement, Instance, Key,
    Runtime, SecretRef, SpaceRole, SpaceRoleType, Tenant,
};
use serde_json::{Value, json};

use crate::diagnostic::Problems;
use crate::rules;
use crate::schema::{
    CalmFile, EntitlementSpec, InstanceSpec, KeySpec, RuntimeSpec, SecretRefSpec, Sp,
    SpaceRoleTypeSpec, TenantDefaults, TenantSpec,
};

pub(crate) fn desired(problems: &mut Problems, file: &CalmFile) -> Desired {
    if let Some(v) = &file.version
        && v.value != 1
    {
        problems
            .error("calm::version", format!("unsupported version {}", v.value))
            .label(v.span, "this calmctl reads version 1")
            .help("write `version: 1`")
            .push();
    }
    let accounts: Vec<Account> = file.accounts.iter().map(|(n, a)| account(n, a)).collect();
    let defaults = file.defaults.clone().unwrap_or_default();
    let mut tenants = Vec::with_capacity(file.tenants.len());
    let mut seen_regions: Vec<String> = Vec::new();
    for a in file.accounts.values() {
        check_region(problems, &a.region, &mut seen_regions);
    }
    for spec in &file.tenants {
        if let Some(t) = tenant(problems, file, &defaults, spec, &mut seen_regions) {
            tenants.push(t);
        }
    }
    crate::duplicates::check(problems, &file.tenants, &tenants);
    let delivery = crate::delivery::delivery(problems, file, &accounts);
    Desired {
        accounts,
        tenants,
        delivery,
        redact: file.redact.iter().map(|r| r.value.clone()).collect(),
    }
}

fn check_region(problems: &mut Problems, region: &Sp<String>, seen: &mut Vec<String>) {
    // Warn once per distinct region, so 10,000 tenants in a typo'd default give one warning.
    if !seen.contains(&region.value) {
        seen.push(region.value.clone());
        rules::region(problems, region);
    }
}

fn secret(spec: &SecretRefSpec) -> SecretRef {
    match (&spec.env, &spec.file) {
        (Some(env), _) => SecretRef::Env(env.value.clone()),
        (None, Some(file)) => SecretRef::File(PathBuf::from(&file.value)),
        (None, None) => SecretRef::Env(String::new()),
    }
}

fn account(name: &str, spec: &crate::schema::AccountSpec) -> Account {
    Account {
        name: name.to_owned(),
        span: spec.name_span,
        subdomain: spec.subdomain.value.clone(),
        region: spec.region.value.clone(),
        cis_key: spec.cis_key.as_ref().map(secret),
        username: spec.username.as_ref().map(secret),
        password: spec.password.as_ref().map(secret),
        cloudfoundry: spec.cloudfoundry.as_ref().map(|cf| CfLogin {
            username: cf.username.as_ref().map(secret),
            password: cf.password.as_ref().map(secret),
            assertion: cf.assertion.as_ref().map(secret),
            origin: cf.origin.as_ref().map(|o| o.value.clone()),
        }),
    }
}

fn tenant(
    problems: &mut Problems,
    file: &CalmFile,
    defaults: &TenantDefaults,
    spec: &TenantSpec,
    seen_regions: &mut Vec<String>,
) -> Option<Tenant> {
    rules::tenant_name(problems, &spec.name);
    rules::subaccount(problems, &spec.subaccount);
    // A tenant whose account cannot be resolved is still checked field by field, so that one run
    // reports every problem of the file.
    let account_name = resolve_account(problems, file, defaults, spec);
    let account = account_name.as_ref().and_then(|n| file.accounts.get(n));
    let region = spec
        .region
        .as_ref()
        .or(defaults.region.as_ref())
        .or(account.map(|a| &a.region));
    if let Some(region) = region {
        check_region(problems, region, seen_regions);
    }
    let runtime = match spec
        .runtime
        .as_ref()
        .or(defaults.runtime.as_ref())
        .map(|r| r.value)
    {
        Some(RuntimeSpec::Cloudfoundry) => Runtime::Cloudfoundry,
        // SAP recommends the non-Cloud-Foundry path (btp-api.md §5.4), so it is the default.
        Some(RuntimeSpec::ServiceManager) | None => Runtime::ServiceManager,
    };
    // Explicit placement: the tenant's own, else its account's, else `defaults`.
    let placed = |field: fn(&TenantSpec) -> Option<&Sp<String>>,
                  account_field: Option<&Sp<String>>,
                  default_field: Option<&Sp<String>>| {
        field(spec).or(account_field).or(default_field).cloned()
    };
    let (org, cf_api) = match runtime {
        Runtime::Cloudfoundry => (
            placed(
                |s| s.org.as_ref(),
                account.and_then(|a| a.org.as_ref()),
                defaults.org.as_ref(),
            ),
            placed(
                |s| s.cf_api.as_ref(),
                account.and_then(|a| a.cf_api.as_ref()),
                defaults.cf_api.as_ref(),
            ),
        ),
        Runtime::ServiceManager => (None, None),
    };
    if let Some(api) = &cf_api {
        rules::cf_api(problems, api);
    }
    if let Some(org) = org.as_ref().filter(|o| o.value.trim().is_empty()) {
        problems
            .error("calm::org", "`org` is empty")
            .label(org.span, "empty")
            .help("name the Cloud Foundry org, or leave `org` out to use the one the subaccount's Cloud Foundry environment names")
            .push();
    }
    let retrieve = crate::retrieve::entries(problems, defaults, spec);
    let instances = if crate::retrieve::only(spec, &retrieve) {
        Some(Vec::new())
    } else {
        instances(problems, defaults, spec, runtime)
    };
    let space_roles = space_roles(problems, defaults, spec, runtime);
    let entitlement = entitlement(
        problems,
        spec.entitlement.as_ref().or(defaults.entitlement.as_ref()),
    );
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for map in [&defaults.labels, &spec.labels].into_iter().flatten() {
        labels.extend(map.iter().map(|(k, v)| (k.clone(), v.value.clone())));
    }
    Some(Tenant {
        name: spec.name.value.clone(),
        span: spec.name.span,
        subaccount: spec.subaccount.value.clone(),
        account: account_name?,
        region: region?.value.clone(),
        runtime,
        org_span: org.as_ref().map(|o| o.span),
        org: org.map(|o| o.value),
        cf_api_span: cf_api.as_ref().map(|a| a.span),
        cf_api: cf_api.map(|a| a.value.trim().trim_end_matches('/').to_owned()),
        entitlement: entitlement?,
        protect: spec
            .protect
            .as_ref()
            .or(defaults.protect.as_ref())
            .is_some_and(|p| p.value),
        labels,
        instances: instances?,
        space_roles: space_roles?,
        retrieve,
    })
}

/// `space_roles`: the tenant's list, else `defaults.space_roles`; Cloud Foundry tenants only
/// (one of a Service Manager tenant's own is an error, one inherited from `defaults` is not used).
fn space_roles(
    problems: &mut Problems,
    defaults: &TenantDefaults,
    spec: &TenantSpec,
    runtime: Runtime,
) -> Option<Vec<SpaceRole>> {
    if runtime == Runtime::ServiceManager {
        if let Some(first) = spec.space_roles.as_ref().and_then(|r| r.first()) {
            problems
                .error(
                    "calm::space_roles",
                    format!(
                        "tenant `{}` runs on Service Manager, which has no spaces",
                        spec.name.value
                    ),
                )
                .label_line(first.span, "a space role")
                .help("remove `space_roles` from this tenant, or give it `runtime: cloudfoundry`")
                .push();
            return None;
        }
        return Some(Vec::new());
    }
    let mut out: Vec<SpaceRole> = Vec::new();
    let mut ok = true;
    for r in spec
        .space_roles
        .as_ref()
        .or(defaults.space_roles.as_ref())
        .into_iter()
        .flatten()
    {
        for (field, value) in [("user", &r.user), ("origin", &r.origin)] {
            if value.value.trim().is_empty() {
                problems
                    .error("calm::space_roles", format!("a space role's `{field}` is empty"))
                    .label(value.span, "empty")
                    .help("name the user as its identity provider knows it, e.g. `user: ops@example.com, origin: sap.ids`")
                    .push();
                ok = false;
            }
        }
        let role = match r.role.as_ref().map(|r| r.value) {
            None | Some(SpaceRoleTypeSpec::SpaceDeveloper) => SpaceRoleType::SpaceDeveloper,
            Some(SpaceRoleTypeSpec::SpaceManager) => SpaceRoleType::SpaceManager,
            Some(SpaceRoleTypeSpec::SpaceAuditor) => SpaceRoleType::SpaceAuditor,
            Some(SpaceRoleTypeSpec::SpaceSupporter) => SpaceRoleType::SpaceSupporter,
        };
        let entry = SpaceRole {
            user: r.user.value.clone(),
            origin: r.origin.value.clone(),
            role,
        };
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    ok.then_some(out)
}

fn resolve_account(
    problems: &mut Problems,
    file: &CalmFile,
    defaults: &TenantDefaults,
    spec: &TenantSpec,
) -> Option<String> {
    let reference = spec.account.as_ref().or(defaults.account.as_ref());
    match reference {
        Some(r) if file.accounts.contains_key(&r.value) => Some(r.value.clone()),
        Some(r) => {
            let hint =
                crate::decode::did_you_mean(&r.value, file.accounts.keys().map(String::as_str))
                    .map(|a| format!("did you mean `{a}`? "))
                    .unwrap_or_default();
            problems
                .error(
                    "calm::unknown_account",
                    format!("account `{}` is not defined", r.value),
                )
                .label(r.span, "no such entry in `accounts`")
                .help(format!(
                    "{hint}define it under `accounts:` or use one of: {}",
                    names(file)
                ))
                .push();
            None
        }
        None if file.accounts.len() == 1 => file.accounts.keys().next().cloned(),
        None => {
            let (message, help) = if file.accounts.is_empty() {
                ("no account is defined", "add an `accounts:` entry with the global account's subdomain, region and credentials".to_owned())
            } else {
                (
                    "this tenant does not say which account it belongs to",
                    format!(
                        "set `defaults.account` or the tenant's `account` to one of: {}",
                        names(file)
                    ),
                )
            };
            problems
                .error("calm::unknown_account", message)
                .label(spec.name.span, "tenant without an account")
                .help(help)
                .push();
            None
        }
    }
}

fn names(file: &CalmFile) -> String {
    file.accounts
        .keys()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn entitlement(problems: &mut Problems, spec: Option<&EntitlementSpec>) -> Option<Entitlement> {
    let Some(spec) = spec else {
        return Some(Entitlement::Amount(1));
    };
    match (&spec.amount, &spec.enable) {
        (Some(a), None) if a.value >= 1 => Some(Entitlement::Amount(a.value)),
        (None, Some(e)) if e.value => Some(Entitlement::Enable(true)),
        (Some(a), None) => {
            problems.error("calm::entitlement", "an entitlement amount must be 1 or more").label(a.span, "0 would remove the entitlement").help("to stop managing a tenant, remove it from calm.yaml; calmctl only deletes with --allow-delete").push();
            None
        }
        (None, Some(e)) => {
            problems
                .error(
                    "calm::entitlement",
                    "`enable: false` would remove the entitlement",
                )
                .label(e.span, "here")
                .help("write `enable: true`, or remove the tenant from calm.yaml")
                .push();
            None
        }
        _ => {
            problems.error("calm::entitlement", "an entitlement needs exactly one of `amount` or `enable`").label_line(spec.span, "here").help("write `entitlement: { amount: 1 }` for plans with a quota, or `entitlement: { enable: true }`").push();
            None
        }
    }
}

fn instances(
    problems: &mut Problems,
    defaults: &TenantDefaults,
    spec: &TenantSpec,
    runtime: Runtime,
) -> Option<Vec<Instance>> {
    let base = defaults.instance.clone().unwrap_or_default();
    let specs: Vec<InstanceSpec> = match (&spec.instance, &spec.instances) {
        (Some(_), Some(list)) => {
            problems
                .error(
                    "calm::instances",
                    "a tenant has either `instance` or `instances`, not both",
                )
                .label_line(list.first().map_or(spec.span, |i| i.span), "second form")
                .help("list every instance under `instances`")
                .push();
            return None;
        }
        (Some(one), None) => vec![merge(&base, one)],
        (None, Some(list)) => list.iter().map(|i| merge(&base, i)).collect(),
        (None, None) => vec![base],
    };
    let space = spec.space.as_ref().or(defaults.space.as_ref());
    let keys = spec.keys.as_ref().or(defaults.keys.as_ref());
    let mut ok = true;
    let mut out = Vec::with_capacity(specs.len());
    for i in &specs {
        match instance(problems, spec, i, space, keys, runtime) {
            Some(instance) => out.push(instance),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Field-by-field: the tenant's instance settings win over `defaults.instance`.
fn merge(base: &InstanceSpec, over: &InstanceSpec) -> InstanceSpec {
    InstanceSpec {
        span: over.span,
        name: over.name.clone().or_else(|| base.name.clone()),
        plan: over.plan.clone().or_else(|| base.plan.clone()),
        space: over.space.clone().or_else(|| base.space.clone()),
        authorities: over
            .authorities
            .clone()
            .or_else(|| base.authorities.clone()),
        credential_types: over
            .credential_types
            .clone()
            .or_else(|| base.credential_types.clone()),
        parameters: over.parameters.clone().or_else(|| base.parameters.clone()),
        xsappname_span: if over.parameters.is_some() {
            over.xsappname_span
        } else {
            base.xsappname_span
        },
        keys: over.keys.clone().or_else(|| base.keys.clone()),
    }
}

fn instance(
    problems: &mut Problems,
    tenant: &TenantSpec,
    spec: &InstanceSpec,
    space: Option<&Sp<String>>,
    keys: Option<&Vec<KeySpec>>,
    runtime: Runtime,
) -> Option<Instance> {
    let Some(name) = &spec.name else {
        problems
            .error(
                "calm::missing_field",
                format!(
                    "tenant `{}` has an instance without a name",
                    tenant.name.value
                ),
            )
            .label(tenant.name.span, "this tenant")
            .help("set `defaults.instance.name`, or `instance: { name: calm-api }` on the tenant")
            .push();
        return None;
    };
    rules::instance_name(problems, name);
    let space = match runtime {
        Runtime::Cloudfoundry => match spec.space.as_ref().or(space) {
            Some(s) => Some(s.value.clone()),
            None => {
                problems
                    .error(
                        "calm::missing_space",
                        format!(
                            "tenant `{}` runs on Cloud Foundry but names no space",
                            tenant.name.value
                        ),
                    )
                    .label(tenant.name.span, "this tenant")
                    .help("set `defaults.space` or the tenant's `space`, e.g. `space: calm`")
                    .push();
                return None;
            }
        },
        Runtime::ServiceManager => None,
    };
    let parameters = parameters(problems, name, spec, runtime)?;
    let keys: Vec<Key> = spec
        .keys
        .as_ref()
        .or(keys)
        .map(|k| k.iter().filter_map(|k| key(problems, k)).collect())
        .unwrap_or_default();
    Some(Instance {
        name: name.value.clone(),
        span: name.span,
        space,
        plan: spec
            .plan
            .as_ref()
            .map_or_else(|| DEFAULT_PLAN.to_owned(), |p| p.value.clone()),
        parameters,
        parameters_stated: spec.authorities.is_some()
            || spec.credential_types.is_some()
            || spec.parameters.is_some(),
        keys,
    })
}

fn key(problems: &mut Problems, spec: &KeySpec) -> Option<Key> {
    rules::key_name(problems, &spec.name);
    let rotate = spec
        .rotate_after
        .as_ref()
        .map(|d| rules::duration(problems, d));
    let retire = spec
        .retire_after
        .as_ref()
        .map(|d| rules::duration(problems, d));
    Some(Key {
        name: spec.name.value.clone(),
        span: spec.name.span,
        rotate_after_secs: rotate.flatten(),
        retire_after_secs: retire.flatten().unwrap_or(DEFAULT_RETIRE_AFTER_SECS),
    })
}

/// The broker parameters: the raw `parameters`, with `xs-security` completed from the fields.
fn parameters(
    problems: &mut Problems,
    name: &Sp<String>,
    spec: &InstanceSpec,
    runtime: Runtime,
) -> Option<Value> {
    let _ = runtime;
    let mut params = spec
        .parameters
        .as_ref()
        .map(|p| p.value.clone())
        .unwrap_or_default();
    let span = spec.parameters.as_ref().map_or(name.span, |p| p.span);
    let security = params.entry("xs-security").or_insert_with(|| json!({}));
    let Value::Object(security) = security else {
        problems
            .error(
                "calm::parameters",
                "`parameters.xs-security` must be a mapping",
            )
            .label(span, "in these parameters")
            .push();
        return None;
    };
    match security.get("xsappname") {
        Some(Value::String(x)) if x != &name.value => {
            problems.error("calm::xsappname", format!("`xsappname` is `{x}` but the instance is named `{}`", name.value)).label(spec.xsappname_span.unwrap_or(span), "differs from the instance name").label(name.span, "instance name").help("Cloud ALM requires `xsappname` to equal the instance name; remove `xsappname` and calmctl sets it for you").push();
        }
        _ => {
            security.insert("xsappname".into(), Value::String(name.value.clone()));
        }
    }
    if let Some(authorities) = &spec.authorities {
        if security.contains_key("authorities") {
            problems
                .error("calm::authorities", "authorities are given twice")
                .label(span, "`parameters.xs-security.authorities`")
                .help(
                    "keep either the instance's `authorities` list or the raw parameter, not both",
                )
                .push();
        }
        let list: Vec<Value> = authorities
            .iter()
            .map(|a| Value::String(rules::authority(problems, a)))
            .collect();
        security.insert("authorities".into(), Value::Array(list));
    }
    let oauth = security
        .entry("oauth2-configuration")
        .or_insert_with(|| json!({}));
    if let Value::Object(oauth) = oauth
        && !oauth.contains_key("credential-types")
    {
        let types: Vec<Value> = match &spec.credential_types {
            Some(t) => t.iter().map(|s| Value::String(s.value.clone())).collect(),
            None => vec![Value::String("binding-secret".into())],
        };
        oauth.insert("credential-types".into(), Value::Array(types));
    }
    Some(Value::Object(params))
}
