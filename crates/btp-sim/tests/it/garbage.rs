//! Garbage mode: each hostile answer kind, as a raw HTTP client sees it, and whether the request
//! took effect.

use btp_sim::{Api as SimApi, Faults, Garbage, GarbageKind};
use serde_json::json;

use crate::{Api, small_world, start};

struct Raw {
    status: u16,
    content_type: String,
    location: Option<String>,
    fault: String,
    body: Vec<u8>,
}

async fn raw(request: reqwest::RequestBuilder) -> Raw {
    let response = request.send().await.unwrap_or_else(|e| panic!("send: {e}"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, location, fault) = (
        header("content-type").unwrap_or_default(),
        header("location"),
        header("x-sim-fault").unwrap_or_default(),
    );
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    Raw {
        status,
        content_type,
        location,
        fault,
        body,
    }
}

#[tokio::test]
async fn every_garbage_kind_answers_as_documented() {
    let (world, _, org) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let token = api.login("admin", "admin").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let spaces = || sim.export_world().spaces.len();
    for (n, kind) in GarbageKind::ALL.into_iter().enumerate() {
        sim.set_faults(Faults {
            garbage: Some(Garbage::always(kind, &[SimApi::Cf])),
            ..Faults::default()
        });
        let before = spaces();
        let create = http
            .post(format!("{}/v3/spaces", sim.url()))
            .bearer_auth(&token)
            .json(&json!({"name": format!("s{n}"), "relationships": {"organization": {"data": {"guid": org}}}}));
        let r = raw(create).await;
        let name = serde_json::to_value(kind).unwrap_or_default();
        assert_eq!(
            r.fault,
            format!("garbage-{}", name.as_str().unwrap_or_default()),
            "{kind:?}"
        );
        let created = spaces() - before;
        assert_eq!(
            created,
            usize::from(kind.processed()),
            "{kind:?} took effect"
        );
        match kind {
            GarbageKind::TruncatedJson => {
                assert_eq!(r.status, 201);
                assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
                assert!(r.body.starts_with(b"{"));
            }
            GarbageKind::HtmlErrorPage => {
                assert_eq!(r.status, 502);
                assert!(r.content_type.starts_with("text/html"));
                assert!(r.body.starts_with(b"<html>"));
            }
            GarbageKind::WrongContentType => {
                assert_eq!(
                    (r.status, r.content_type.as_str()),
                    (200, "application/xml")
                );
            }
            GarbageKind::Empty200 => assert_eq!((r.status, r.body.len()), (200, 0)),
            GarbageKind::EnormousBody => {
                assert_eq!(r.status, 200);
                assert!(r.body.len() > 64 * 1024 * 1024, "{} bytes", r.body.len());
            }
            GarbageKind::LocationElsewhere => {
                assert_eq!(r.status, 201);
                assert_eq!(
                    r.location,
                    Some(format!("{}/elsewhere/v3/spaces", sim.url()))
                );
            }
            GarbageKind::LocationForeign => {
                assert_eq!(r.status, 201);
                assert_eq!(
                    r.location.as_deref(),
                    Some("http://evil.example.com/v3/spaces")
                );
            }
            GarbageKind::RedirectForeign => {
                assert_eq!(r.status, 302);
                assert_eq!(
                    r.location.as_deref(),
                    Some("http://evil.example.com/v3/spaces")
                );
            }
        }
    }
    // Other APIs are spared, and garbage is counted as a fault.
    let sm = api.call("GET", "/v1/service_offerings", &token, None).await;
    assert_ne!(sm.status, 502);
    assert!(sim.stats().faults >= 8);
}

#[tokio::test]
async fn garbage_is_set_through_the_admin_api_and_issued_tokens_are_listed() {
    let (world, _, _) = small_world();
    let sim = start(world).await;
    let api = Api::new(&sim);
    let put = api
        .http
        .put(format!("{}/_sim/faults", sim.url()))
        .json(&json!({"garbage": {"kinds": ["html_error_page"], "rate": 1.0, "apis": ["uaa"], "methods": ["POST"]}}))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(put.ok(), Some(200));
    let login = api
        .form(
            "/oauth/token",
            Some("Basic Y2Y6"),
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "admin"),
            ],
        )
        .await;
    assert_eq!(login.status, 502);
    sim.set_faults(Faults::default());
    let token = api.login("admin", "admin").await;
    let secrets = sim.issued_secrets();
    assert!(secrets.contains(&token), "the access token is listed");
    assert!(
        secrets.iter().any(|s| s == "admin"),
        "the password is listed"
    );
    let ga = sim
        .export_world()
        .global_accounts
        .values()
        .next()
        .map(|g| g.cis_client_secret.clone());
    assert!(
        ga.is_some_and(|s| secrets.contains(&s)),
        "the cis secret is listed"
    );
}
