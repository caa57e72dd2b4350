//! The checks SAP Cloud ALM's Landscape Management app makes before it accepts credentials
//! ("Managing Your Service Credentials", btp-api.md §10 item 8), made before calmctl delivers
//! retrieved credentials: valid JSON; `uaa.clientid` and `uaa.clientsecret` present;
//! `uaa.identityzone` the tenant's subaccount (its subdomain); `uaa.credential-type`
//! `binding-secret` without Cloud Foundry, `instance-secret` with it. Messages name fields and
//! expected values, never a value that could be secret.

use calm_core::Runtime;
use serde_json::Value;

/// The credential type Landscape Management expects of a runtime's credentials.
pub(crate) fn expected_type(runtime: Runtime) -> &'static str {
    match runtime {
        Runtime::Cloudfoundry => "instance-secret",
        Runtime::ServiceManager => "binding-secret",
    }
}

/// Checks `json` (the credentials) against the rules for a tenant whose subaccount has the
/// subdomain `subdomain` and whose credentials come from `runtime`.
pub(crate) fn landscape_rules(json: &str, subdomain: &str, runtime: Runtime) -> Result<(), String> {
    let value: Value =
        serde_json::from_str(json).map_err(|_| "the credentials are not valid JSON".to_owned())?;
    // Cloud ALM keys nest the fields under `uaa`; plain xsuaa keys have them at the top level.
    let uaa = value.get("uaa").unwrap_or(&value);
    let field = |name: &str| {
        uaa.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let missing: Vec<&str> = ["clientid", "clientsecret"]
        .into_iter()
        .filter(|f| field(f).is_none())
        .collect();
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|f| format!("`uaa.{f}`")).collect();
        return Err(format!(
            "the credentials have no {} (Landscape Management needs both `uaa.clientid` and \
             `uaa.clientsecret`)",
            list.join(" and ")
        ));
    }
    match field("identityzone") {
        None => {
            return Err(format!(
                "the credentials have no `uaa.identityzone`; Landscape Management needs the \
                 tenant's, `{subdomain}`"
            ));
        }
        Some(zone) if !zone.eq_ignore_ascii_case(subdomain) => {
            return Err(format!(
                "`uaa.identityzone` is `{}`, not this tenant's subaccount `{subdomain}`: the \
                 credentials belong to another tenant",
                printable(zone)
            ));
        }
        Some(_) => {}
    }
    let expected = expected_type(runtime);
    match field("credential-type") {
        Some(t) if t == expected => Ok(()),
        found => Err(format!(
            "`uaa.credential-type` is {}, but Landscape Management accepts only `{expected}` for \
             credentials {} Cloud Foundry",
            found.map_or_else(|| "missing".to_owned(), |t| format!("`{}`", printable(t))),
            match runtime {
                Runtime::Cloudfoundry => "with",
                Runtime::ServiceManager => "without",
            }
        )),
    }
}

/// A server-supplied value fit for a message: short and without control characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(zone: &str, kind: &str, secret: bool) -> String {
        let mut uaa = serde_json::json!({"clientid": "sb-x!b1|sapcloudalm!b1", "identityzone": zone,
            "credential-type": kind});
        if secret {
            uaa["clientsecret"] = "s3cr3t-value".into();
        }
        serde_json::json!({"endpoints": {"Api": "https://x/api"}, "uaa": uaa}).to_string()
    }

    #[test]
    fn each_rule_refuses_with_a_message_that_holds_no_secret() {
        let sm = Runtime::ServiceManager;
        let cf = Runtime::Cloudfoundry;
        assert!(landscape_rules(&key("sub-1", "binding-secret", true), "sub-1", sm).is_ok());
        assert!(landscape_rules(&key("sub-1", "instance-secret", true), "sub-1", cf).is_ok());
        let wrong_zone = landscape_rules(&key("sub-2", "binding-secret", true), "sub-1", sm);
        assert!(wrong_zone.as_ref().unwrap_err().contains("another tenant"));
        let wrong_type = landscape_rules(&key("sub-1", "binding-secret", true), "sub-1", cf);
        assert!(wrong_type.unwrap_err().contains("`instance-secret`"));
        let no_secret = landscape_rules(&key("sub-1", "binding-secret", false), "sub-1", sm);
        assert!(
            no_secret
                .as_ref()
                .unwrap_err()
                .contains("`uaa.clientsecret`")
        );
        assert!(landscape_rules("{not json", "sub-1", sm).is_err());
        for r in [wrong_zone, no_secret] {
            assert!(!r.unwrap_err().contains("s3cr3t"));
        }
    }
}
