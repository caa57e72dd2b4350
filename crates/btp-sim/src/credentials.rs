//! Credentials of keys and bindings, shared by CF service keys and SM bindings.
//!
//! A Cloud ALM key is `{"endpoints":{"Api"},"uaa":{...}}` (btp-api.md §5.4); an xsuaa key has the
//! `uaa` fields at top level (cassette resource_service_credential_binding_managed_service_key.yaml).
//! Every URL points at the simulator, so `uaa.url + "/oauth/token"` with the key's own
//! `clientid`/`clientsecret` gets a token from it.

use serde_json::{Value, json};

use crate::world::{CredentialsStyle, InstanceClient, Subaccount, World};

/// The credential type of new keys of an instance: the first entry of
/// `oauth2-configuration.credential-types` (under `xs-security` or at top level), default
/// `binding-secret` (btp-api.md §5.2; xsuaa's default).
pub fn credential_type(parameters: &Value) -> String {
    let config = parameters.get("xs-security").unwrap_or(parameters);
    config
        .pointer("/oauth2-configuration/credential-types/0")
        .and_then(Value::as_str)
        .filter(|t| *t == "instance-secret" || *t == "binding-secret")
        .unwrap_or("binding-secret")
        .to_owned()
}

/// The broker's OAuth client for a new instance. `xsappname` comes from the parameters (it must
/// equal the instance name for Cloud ALM, btp-api.md §5.2), else the instance name.
pub fn new_client(
    world: &mut World,
    style: CredentialsStyle,
    name: &str,
    parameters: &Value,
) -> InstanceClient {
    let xsappname = parameters
        .get("xs-security")
        .unwrap_or(parameters)
        .get("xsappname")
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_owned();
    let n = world.next_id % 100_000;
    let (client_id, xsappname) = match style {
        // `sb-<instance>!b123|sapcloudalm!b456` (btp-api.md §5.1).
        CredentialsStyle::CloudAlm => (
            format!("sb-{xsappname}!b{n}|sapcloudalm!b1"),
            format!("{xsappname}!b{n}|sapcloudalm!b1"),
        ),
        // `sb-tf-test1!t4176` (recorded xsuaa key).
        CredentialsStyle::Xsuaa => (format!("sb-{xsappname}!t{n}"), format!("{xsappname}!t{n}")),
    };
    InstanceClient {
        client_id,
        xsappname,
        instance_secret: world.secret_value(),
    }
}

/// The `uaadomain` of credentials: the simulator's `host:port`. Token validators fetch the signing
/// keys from `https://<uaadomain>/token_keys` (`@sap/xssec`), which the simulator answers on the
/// same port (tls.rs).
pub fn uaa_domain(base_url: &str) -> &str {
    base_url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
}

/// Render the credentials of one key or binding.
pub fn render(
    style: CredentialsStyle,
    base_url: &str,
    client: &InstanceClient,
    secret: &str,
    credential_type: &str,
    subaccount: Option<&Subaccount>,
    instance_id: &str,
) -> Value {
    let host = uaa_domain(base_url);
    let (zone, zone_id) = subaccount.map_or(("btp-sim", "btp-sim"), |s| {
        (s.subdomain.as_str(), s.guid.as_str())
    });
    let uaa = json!({
        "tenantmode": "dedicated",
        "sburl": base_url,
        "subaccountid": zone_id,
        "credential-type": credential_type,
        "clientid": client.client_id,
        "xsappname": client.xsappname,
        "clientsecret": secret,
        "serviceInstanceId": instance_id,
        "url": base_url,
        "uaadomain": host,
        // The key the simulator's tokens are signed with, as `/token_keys` serves it.
        "verificationkey": crate::auth::signing_key().public_pem(),
        "apiurl": base_url,
        "identityzone": zone,
        "identityzoneid": zone_id,
        "tenantid": zone_id,
        "zoneid": zone_id,
    });
    match style {
        CredentialsStyle::Xsuaa => uaa,
        CredentialsStyle::CloudAlm => {
            json!({"endpoints": {"Api": format!("{base_url}/api")}, "uaa": uaa})
        }
    }
}

/// `rendered` with `uaa.identityzone` set to `zone`, when a key or binding carries one of its
/// own (`identity_zone`; worlds only).
pub fn in_zone(mut rendered: Value, zone: Option<&str>) -> Value {
    if let Some(zone) = zone {
        let uaa = match rendered.get_mut("uaa") {
            Some(uaa) => uaa,
            None => &mut rendered,
        };
        if let Some(map) = uaa.as_object_mut() {
            map.insert("identityzone".into(), Value::String(zone.to_owned()));
        }
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_type_follows_the_first_listed_type() {
        assert_eq!(credential_type(&json!({})), "binding-secret");
        let p = json!({"xs-security": {"oauth2-configuration": {"credential-types": ["instance-secret", "x509"]}}});
        assert_eq!(credential_type(&p), "instance-secret");
        assert_eq!(
            credential_type(
                &json!({"oauth2-configuration": {"credential-types": ["binding-secret"]}})
            ),
            "binding-secret"
        );
    }
}
