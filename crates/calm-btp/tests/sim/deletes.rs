//! Service Manager deletes and label updates against the simulator's strict rules (btp-sim
//! FIDELITY.md §4 and §6): a delete whose operation is no longer found succeeded, a 404 of the
//! Cloud Foundry router is retried and never read as "already deleted", and an update that
//! removes and adds one key is sent as two requests.

use std::sync::Arc;

use btp_sim::{Faults, JobTimings};
use calm_btp::service_manager::{
    LabelChange, NewServiceInstance, PlanChoice, ServiceInstanceUpdate, ServiceManagerClient,
    SmLabels,
};
use calm_btp::{Btp, Event};

use crate::btp::service_manager_credentials;
use crate::support::{Landscape, OFFERING, PLAN, Recorder, config, landscape};

async fn client(land: &Landscape, recorder: &Arc<Recorder>) -> ServiceManagerClient {
    let btp = Btp::new(config(land.sim.url(), recorder)).expect("config");
    let credentials = service_manager_credentials(&btp, land).await;
    btp.service_manager(&credentials).expect("SM client")
}

async fn create(sm: &ServiceManagerClient, name: &str, labels: SmLabels) -> String {
    sm.create_service_instance(&NewServiceInstance {
        name: name.into(),
        plan: PlanChoice::Names {
            offering: OFFERING.into(),
            plan: PLAN.into(),
        },
        parameters: None,
        labels,
    })
    .await
    .expect("create")
    .id
}

/// Operations that take a moment, so that a delete's first poll finds it running and a later one
/// finds its resource gone.
fn slow() -> JobTimings {
    JobTimings {
        processing_ms: 100,
        polling_ms: 300,
        entitlement_ms: 0,
    }
}

#[tokio::test]
async fn a_delete_whose_operation_is_no_longer_found_succeeded() {
    let land = landscape(|sim| sim.jobs(slow())).await;
    let recorder = Arc::new(Recorder::default());
    let sm = client(&land, &recorder).await;
    let id = create(&sm, "short-lived", SmLabels::new()).await;
    sm.delete_service_instance(&id)
        .await
        .expect("a delete whose operation answers 404 once done is a success");
    let polls = land
        .sim
        .stats()
        .routes
        .get("GET /v1/{kind}/{id}/operations/{operation}")
        .copied()
        .unwrap_or_default();
    assert!(
        polls >= 2,
        "the delete's operation was polled until it was gone ({polls})"
    );
    assert!(land.sim.export_world().sm_instances.is_empty());
}

#[tokio::test]
async fn a_router_404_is_retried_and_never_taken_for_already_deleted() {
    let land = landscape(|sim| sim.jobs(JobTimings::instant())).await;
    let recorder = Arc::new(Recorder::default());
    let sm = client(&land, &recorder).await;
    let id = create(&sm, "kept", SmLabels::new()).await;
    land.sim.set_faults(Faults {
        unknown_route_rate: 1.0,
        ..Faults::default()
    });
    let error = sm
        .delete_service_instance(&id)
        .await
        .expect_err("every answer is the router's 404");
    assert!(error.is_router_error(), "{error}");
    assert!(!error.is_not_found(), "{error}");
    assert!(error.to_string().contains("unknown_route"), "{error}");
    let retries = recorder
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .count();
    assert!(retries >= 2, "the DELETE was repeated ({retries})");
    land.sim.set_faults(Faults::default());
    assert_eq!(
        land.sim.export_world().sm_instances.len(),
        1,
        "the instance was never deleted"
    );

    // Now and then, as in the flaky profile: every call gets through in the end.
    land.sim.set_faults(Faults {
        unknown_route_rate: 0.3,
        ..Faults::default()
    });
    let other = create(&sm, "through-the-router", SmLabels::new()).await;
    sm.delete_service_instance(&other).await.expect("delete");
    sm.delete_service_instance(&id).await.expect("delete");
    land.sim.set_faults(Faults::default());
    assert!(land.sim.export_world().sm_instances.is_empty());
}

#[tokio::test]
async fn an_update_that_removes_and_adds_one_key_is_sent_as_two_requests() {
    let land = landscape(|sim| sim.jobs(JobTimings::instant())).await;
    let recorder = Arc::new(Recorder::default());
    let sm = client(&land, &recorder).await;
    let mut labels = SmLabels::new();
    labels.insert("hash".into(), vec!["old".into()]);
    labels.insert("kept".into(), vec!["1".into()]);
    let id = create(&sm, "relabelled", labels).await;
    let patches = || {
        land.sim
            .stats()
            .routes
            .get("PATCH /v1/service_instances/{id}")
            .copied()
            .unwrap_or_default()
    };
    let updated = sm
        .update_service_instance(
            &id,
            &ServiceInstanceUpdate {
                parameters: Some(serde_json::json!({"xs-security": {"xsappname": "relabelled"}})),
                service_plan_id: None,
                labels: vec![
                    LabelChange::Remove {
                        key: "hash".into(),
                        values: Vec::new(),
                    },
                    LabelChange::Add {
                        key: "hash".into(),
                        values: vec!["new".into()],
                    },
                    LabelChange::Add {
                        key: "fresh".into(),
                        values: vec!["x".into()],
                    },
                ],
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.labels.get("hash"), Some(&vec!["new".to_owned()]));
    assert_eq!(updated.labels.get("fresh"), Some(&vec!["x".to_owned()]));
    assert_eq!(updated.labels.get("kept"), Some(&vec!["1".to_owned()]));
    assert_eq!(
        patches(),
        2,
        "the removal and the addition of `hash` went apart"
    );
}
