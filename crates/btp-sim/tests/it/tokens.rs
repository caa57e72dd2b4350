//! Tokens as XSUAA and UAA issue them: RS256 with a `kid` that `/token_keys` serves, the claims
//! real clients read, verifiable with a delivered key's `verificationkey`, revoked by a world with
//! another secret, surviving an export and import, and the keys served over https on the same port.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use btp_sim::{CisGrantType, CisPlan, World};
use serde_json::{Value, json};

use crate::flows::base64_encode;
use crate::{Api, small_world, start};

/// Header and payload of a compact JWT.
fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let mut next = || {
        let part = URL_SAFE_NO_PAD
            .decode(it.next().unwrap_or_default())
            .unwrap_or_default();
        serde_json::from_slice(&part).unwrap_or(Value::Null)
    };
    let header = next();
    (header, next())
}

/// Does `token` carry an RS256 signature by the key of `pem` (`-----BEGIN PUBLIC KEY-----`)?
fn signed_by(token: &str, pem: &str) -> bool {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap_or_default();
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
        .verify(input.as_bytes(), &signature)
        .is_ok()
}

async fn client_token(api: &Api, id: &str, secret: &str) -> crate::Reply {
    let basic = format!("Basic {}", base64_encode(&format!("{id}:{secret}")));
    api.form(
        "/oauth/token",
        Some(&basic),
        &[("grant_type", "client_credentials")],
    )
    .await
}

#[tokio::test]
async fn tokens_are_rs256_with_the_claims_of_xsuaa_and_verify_with_the_served_key() {
    let (world, _, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let key = sim
        .new_cis_key("ga-one", CisPlan::Central, CisGrantType::ClientCredentials)
        .unwrap_or_default();
    let reply = client_token(
        &api,
        key["uaa"]["clientid"].as_str().unwrap_or_default(),
        key["uaa"]["clientsecret"].as_str().unwrap_or_default(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap_or_default();
    let (header, claims) = parts(token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["jku"], format!("{}/token_keys", sim.url()));
    let client = key["uaa"]["clientid"].clone();
    for claim in [
        "jti",
        "ext_attr",
        "sub",
        "scope",
        "client_id",
        "cid",
        "azp",
        "grant_type",
        "rev_sig",
        "iat",
        "exp",
        "iss",
        "zid",
        "aud",
    ] {
        assert!(!claims[claim].is_null(), "claim {claim} missing: {claims}");
    }
    assert_eq!(claims["cid"], client);
    assert_eq!(claims["azp"], client);
    assert_eq!(claims["iss"], format!("{}/oauth/token", sim.url()));
    assert_eq!(claims["zid"], key["uaa"]["identityzoneid"]);
    assert_eq!(claims["ext_attr"]["enhancer"], "XSUAA");
    assert_eq!(claims["ext_attr"]["zdn"], "ga-one");
    assert_eq!(claims["ext_attr"]["globalaccountid"], claims["zid"]);
    assert_eq!(claims["authorities"], claims["scope"]);
    assert!(
        claims["aud"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("cis-central!b14.global-account.subaccount"))),
        "each scope's resource is an audience: {}",
        claims["aud"]
    );
    assert!(
        claims["aud"]
            .as_array()
            .is_some_and(|a| a.contains(&client))
    );
    assert_eq!(
        reply.body["scope"].as_str().map(|s| s.split(' ').count()),
        claims["scope"].as_array().map(Vec::len),
        "the response's scope lists the token's scopes"
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap_or_default() - claims["iat"].as_u64().unwrap_or_default(),
        1199
    );

    // The key that verifies it: served at /token_keys and delivered as `verificationkey`.
    let keys = api.call("GET", "/token_keys", "", None).await;
    assert_eq!(keys.status, 200);
    let jwk = &keys.body["keys"][0];
    assert_eq!(jwk["kid"], header["kid"]);
    assert_eq!(
        (&jwk["kty"], &jwk["alg"], &jwk["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig"))
    );
    assert_eq!(jwk["value"], key["uaa"]["verificationkey"]);
    let pem = key["uaa"]["verificationkey"].as_str().unwrap_or_default();
    assert!(
        signed_by(token, pem),
        "the delivered verificationkey verifies the token"
    );
    let (head, rest) = token.split_once('.').unwrap_or_default();
    let (_, signature) = rest.split_once('.').unwrap_or_default();
    let mut forged = claims.clone();
    forged["scope"] = json!(["cis-central!b14.global-account.subaccount.update"]);
    let forged = format!(
        "{head}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(forged.to_string())
    );
    assert!(!signed_by(&forged, pem));
    let refused = api
        .call("GET", "/accounts/v1/subaccounts", &forged, None)
        .await;
    assert_eq!(
        refused.status, 401,
        "a changed token is refused: {}",
        refused.body
    );
}

#[tokio::test]
async fn user_tokens_carry_the_user_id_name_and_origin() {
    let (mut world, _, _) = small_world();
    world.add_user("dev@example.com", "dev@example.com");
    let sim = start(world).await;
    let api = Api::new(&sim);
    let cf = api.login("admin", "admin").await;
    let (_, claims) = parts(&cf);
    assert_eq!(claims["user_name"], "admin");
    assert_eq!(claims["origin"], "uaa");
    assert_eq!(claims["zid"], "uaa");
    assert_eq!(claims["cid"], "cf");
    assert_eq!(claims["grant_type"], "password");
    let user_id = claims["user_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(user_id.len(), 36, "a GUID: {user_id}");
    assert_eq!(claims["sub"], user_id.as_str());
    assert!(
        claims["scope"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("cloud_controller.write")))
    );
    let mut aud: Vec<String> = serde_json::from_value(claims["aud"].clone()).unwrap_or_default();
    aud.sort();
    assert_eq!(
        aud,
        ["cf", "cloud_controller", "openid", "password", "uaa"],
        "as CF's UAA sets it"
    );
    // The same user through a Cloud Management key: the same id, the global account's zone.
    let cis = api.cis_login(&sim, "ga-one", "admin").await;
    let (_, cis_claims) = parts(&cis);
    assert_eq!(cis_claims["user_id"], user_id.as_str());
    assert_eq!(cis_claims["ext_attr"]["zdn"], "ga-one");
    assert_ne!(cis_claims["zid"], "uaa");
    assert_eq!(
        cis_claims["xs.system.attributes"]["xs.rolecollections"],
        json!(["Global Account Administrator"])
    );
    assert!(cis_claims["auth_time"].is_u64());
    let mail = api.login("dev@example.com", "dev@example.com").await;
    let (_, mail_claims) = parts(&mail);
    assert_eq!(mail_claims["email"], "dev@example.com");
    assert_ne!(mail_claims["user_id"], user_id.as_str());
}

#[tokio::test]
async fn tokens_survive_an_export_and_import_and_another_secret_revokes_them() {
    let (world, _, org) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.login("admin", "admin").await;
    let saved: World =
        serde_json::from_str(&serde_json::to_string(&sim.export_world()).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    sim.stop().await;

    let sim = start(saved.clone()).await;
    let api = Api::new(&sim);
    let org_path = format!("/v3/organizations/{org}");
    let reply = api.call("GET", &org_path, &token, None).await;
    assert_eq!(
        reply.status, 200,
        "the token outlives the export: {}",
        reply.body
    );

    let mut rotated = saved;
    rotated.secret = "another-secret".to_owned();
    sim.import_world(rotated);
    let reply = api.call("GET", &org_path, &token, None).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.body["errors"][0]["code"], 1000);
}

#[tokio::test]
async fn the_port_answers_https_with_a_certificate_of_the_simulators_ca() {
    let (world, _, _) = small_world();
    let sim = start(world).await;
    let ca = btp_sim::ca_certificate_pem().unwrap_or_else(|e| panic!("{e}"));
    let https = sim.url().replace("http://", "https://");
    let trusting = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(ca.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
        )
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let keys: Value = trusting
        .get(format!("{https}/token_keys?zid=uaa"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("https: {e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(keys["keys"][0]["alg"], "RS256");
    let untrusting = reqwest::Client::new()
        .get(format!("{https}/token_keys"))
        .send()
        .await;
    assert!(
        untrusting.is_err(),
        "the certificate is not publicly trusted"
    );
    // Plain HTTP goes on working beside it.
    let plain = Api::new(&sim).call("GET", "/token_keys", "", None).await;
    assert_eq!(plain.status, 200);
}
