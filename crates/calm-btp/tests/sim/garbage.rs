//! Hostile answers (btp-sim's garbage mode): each kind ends in a typed error that names the host
//! and the status, within seconds, without a panic, and no link or redirect to a foreign host is
//! followed. After the garbage stops, a repeated create finds what a processed request made
//! instead of making it twice.

use std::sync::Arc;
use std::time::Duration;

use btp_sim::{Api as SimApi, Faults, Garbage, GarbageKind};
use calm_btp::cf::{CfClient, NewServiceInstance, ServiceInstanceFilter, SpaceFilter};
use calm_btp::{Error, ErrorBody};

use crate::support::{Landscape, OFFERING, PLAN, Recorder, cf_client, config, landscape};

fn garbage(land: &Landscape, kind: GarbageKind, apis: &[SimApi], methods: &[&str]) {
    let mut garbage = Garbage::always(kind, apis);
    garbage.methods = methods.iter().map(|m| (*m).to_owned()).collect();
    land.sim.set_faults(Faults {
        garbage: Some(garbage),
        ..Faults::default()
    });
}

/// Runs `call` with a deadline: garbage must never make a client hang.
async fn within<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("the client gave up in time instead of hanging")
}

fn host(land: &Landscape) -> String {
    land.sim.url().trim_start_matches("http://").to_owned()
}

async fn list_spaces(cf: &CfClient) -> Result<usize, Error> {
    within(cf.list_spaces(&SpaceFilter::default()))
        .await
        .map(|s| s.len())
}

#[tokio::test]
async fn broken_bodies_are_typed_errors_naming_host_and_status() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    assert!(list_spaces(&cf).await.is_ok(), "a clean call works first");

    for (kind, status, says) in [
        (GarbageKind::TruncatedJson, 200, "EOF while parsing"),
        (
            GarbageKind::WrongContentType,
            200,
            "content type application/xml",
        ),
        (GarbageKind::Empty200, 200, "the body is empty"),
        (GarbageKind::HtmlErrorPage, 502, "502 Bad Gateway"),
        (GarbageKind::EnormousBody, 200, "larger than 16777216 bytes"),
    ] {
        garbage(&land, kind, &[SimApi::Cf], &["GET"]);
        let error = list_spaces(&cf).await.expect_err("garbage is an error");
        let message = error.to_string();
        assert_eq!(error.status(), Some(status), "{kind:?}: {message}");
        assert!(
            message.contains(&host(&land)),
            "{kind:?} names the host: {message}"
        );
        assert!(message.contains(&format!("HTTP {status}")), "{message}");
        assert!(message.contains(says), "{kind:?}: {message}");
        match (kind, &error) {
            (GarbageKind::HtmlErrorPage, Error::Api(e)) => {
                assert!(matches!(e.body, ErrorBody::Unparsed { .. }), "{e:?}");
            }
            (GarbageKind::EnormousBody, Error::BodyTooLarge { .. }) => {}
            (GarbageKind::HtmlErrorPage | GarbageKind::EnormousBody, other) => {
                panic!("{kind:?}: unexpected {other:?}")
            }
            (_, Error::Decode { .. }) => {}
            (_, other) => panic!("{kind:?}: unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_redirect_to_a_foreign_host_is_not_followed() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    garbage(&land, GarbageKind::RedirectForeign, &[SimApi::Cf], &["GET"]);
    let error = list_spaces(&cf).await.expect_err("a redirect is an error");
    let message = error.to_string();
    assert!(
        matches!(&error, Error::Redirect { status: 302, location, .. } if location == "http://evil.example.com/v3/spaces"),
        "{error:?}"
    );
    assert!(
        message.contains(&host(&land)) && message.contains("HTTP 302"),
        "{message}"
    );
    assert!(message.contains("not followed"), "{message}");
}

#[tokio::test]
async fn a_token_endpoint_answering_garbage_fails_the_login_clearly() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    for kind in [
        GarbageKind::TruncatedJson,
        GarbageKind::HtmlErrorPage,
        GarbageKind::RedirectForeign,
    ] {
        // A fresh client each time, so that it has no token yet.
        let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
        garbage(&land, kind, &[SimApi::Uaa], &[]);
        let error = list_spaces(&cf).await.expect_err("no token, no call");
        let message = error.to_string();
        assert!(
            message.starts_with("UAA POST /oauth/token at "),
            "{kind:?}: {message}"
        );
        assert!(message.contains(&host(&land)), "{message}");
        assert!(
            !message.contains("eyJ"),
            "no token fragment in the error: {message}"
        );
    }
    land.sim.set_faults(Faults::default());
    assert!(list_spaces(&cf).await.is_ok());
}

fn new_instance(land: &Landscape, plan: &str, name: &str) -> NewServiceInstance {
    NewServiceInstance {
        name: name.to_owned(),
        space_guid: land.space.clone(),
        service_plan_guid: plan.to_owned(),
        parameters: Some(serde_json::json!({"xs-security": {"xsappname": name}})),
        tags: Vec::new(),
        metadata: Default::default(),
    }
}

async fn instances_named(cf: &CfClient, land: &Landscape, name: &str) -> usize {
    let filter = ServiceInstanceFilter {
        names: vec![name.to_owned()],
        space_guids: vec![land.space.clone()],
        ..Default::default()
    };
    cf.list_service_instances(&filter)
        .await
        .expect("list")
        .len()
}

#[tokio::test]
async fn misleading_locations_are_refused_or_fail_and_a_rerun_makes_no_duplicate() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    let plan = cf.find_service_plans(OFFERING, PLAN).await.expect("plan")[0]
        .guid
        .clone();
    for (kind, name) in [
        (GarbageKind::LocationForeign, "calm-foreign"),
        (GarbageKind::LocationElsewhere, "calm-elsewhere"),
    ] {
        garbage(&land, kind, &[SimApi::Cf], &["POST"]);
        let new = new_instance(&land, &plan, name);
        let error = within(cf.create_service_instance(&new))
            .await
            .expect_err("a misleading Location is an error");
        let message = error.to_string();
        match kind {
            GarbageKind::LocationForeign => {
                assert!(
                    matches!(error, Error::ForeignLink { status: 202, .. }),
                    "{error:?}"
                );
                assert!(message.contains("evil.example.com"), "{message}");
                assert!(message.contains(&host(&land)), "{message}");
                assert!(
                    message.contains("outside the configured API hosts"),
                    "{message}"
                );
            }
            _ => {
                assert_eq!(error.status(), Some(404), "{message}");
                assert!(message.contains(&host(&land)), "{message}");
            }
        }
        // The request was processed: the instance exists. A clean retry finds it.
        land.sim.set_faults(Faults::default());
        let again = within(cf.create_service_instance(&new)).await;
        let found = match again {
            Ok(instance) => instance.name,
            // CF's answer to a second create of the same name is a 422 name conflict.
            Err(e) if e.is_conflict() => name.to_owned(),
            Err(e) => panic!("{kind:?}: retry failed: {e}"),
        };
        assert_eq!(found, name);
        assert_eq!(
            instances_named(&cf, &land, name).await,
            1,
            "{kind:?}: no duplicate"
        );
    }
}
