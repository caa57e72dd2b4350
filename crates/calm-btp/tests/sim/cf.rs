//! Cloud Foundry flows: creates that survive a cut connection without duplicates, pagination and
//! split filters, failed jobs, and HTML error pages.

use std::sync::Arc;

use btp_sim::Faults;
use calm_btp::cf::{NewServiceInstance, ServiceInstanceFilter, SpaceFilter};
use calm_btp::{Error, ErrorBody};

use crate::support::{
    Landscape, Mischief, OFFERING, PLAN, Recorder, cf_client, config, landscape, proxy,
};

async fn plan_guid(cf: &calm_btp::cf::CfClient) -> String {
    let plans = cf
        .find_service_plans(OFFERING, PLAN)
        .await
        .expect("plan lookup");
    plans
        .first()
        .expect("the Cloud ALM plan is visible")
        .guid
        .clone()
}

fn new_instance(land: &Landscape, plan: &str, name: &str) -> NewServiceInstance {
    let mut new = NewServiceInstance {
        name: name.to_owned(),
        space_guid: land.space.clone(),
        service_plan_guid: plan.to_owned(),
        parameters: Some(serde_json::json!({"xs-security": {"xsappname": name}})),
        tags: Vec::new(),
        metadata: Default::default(),
    };
    new.metadata
        .labels
        .insert("calmctl.sap/managed-by".into(), "calmctl".into());
    new
}

async fn instances_named(cf: &calm_btp::cf::CfClient, land: &Landscape, name: &str) -> usize {
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
async fn connection_cut_after_the_create_took_effect_creates_no_duplicate() {
    let land = landscape(|sim| sim).await;
    let (url, misdeeds) = proxy(
        land.sim.url(),
        Mischief::ResetAfterForward("/v3/service_instances"),
    )
    .await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(&url, &recorder)).await;
    let plan = plan_guid(&cf).await;
    let created = cf
        .create_service_instance(&new_instance(&land, &plan, "calm-api"))
        .await
        .expect("the create is found after the cut connection");
    assert_eq!(misdeeds.hits(), 1, "the proxy did not cut the create");
    assert_eq!(created.name, "calm-api");
    assert_eq!(
        land.sim
            .stats()
            .routes
            .get("POST /v3/service_instances")
            .copied(),
        Some(1)
    );
    assert_eq!(instances_named(&cf, &land, "calm-api").await, 1);
}

#[tokio::test]
async fn connection_cut_before_the_create_arrived_creates_exactly_one() {
    let land = landscape(|sim| sim).await;
    let (url, misdeeds) = proxy(
        land.sim.url(),
        Mischief::ResetBeforeForward("/v3/service_instances"),
    )
    .await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(&url, &recorder)).await;
    let plan = plan_guid(&cf).await;
    let created = cf
        .create_service_instance(&new_instance(&land, &plan, "calm-api"))
        .await
        .expect("create");
    assert_eq!(misdeeds.hits(), 1);
    assert!(
        recorder
            .events()
            .iter()
            .any(|e| matches!(e, calm_btp::Event::Retrying { .. })),
        "the create was not repeated after the lookup"
    );
    assert_eq!(created.space_guid, land.space);
    assert_eq!(instances_named(&cf, &land, "calm-api").await, 1);
}

#[tokio::test]
async fn pagination_and_split_filters_cover_every_page() {
    let land = landscape(|sim| sim).await;
    land.sim.with_world(|world| {
        for i in 0..4 {
            world.add_space(&land.org, &format!("extra-{i}"));
        }
    });
    let recorder = Arc::new(Recorder::default());
    let mut config = config(land.sim.url(), &recorder);
    config.cf_per_page = 2;
    config.max_url_len = 1500;
    let (_btp, cf) = cf_client(config).await;
    // 120 organisation GUIDs, one of them real: the URL limit splits the filter into parts and
    // each part is paged two spaces at a time.
    let mut organization_guids: Vec<String> = (0..119)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    organization_guids.push(land.org.clone());
    let filter = SpaceFilter {
        organization_guids,
        ..Default::default()
    };
    let spaces = cf.list_spaces(&filter).await.expect("list spaces");
    assert_eq!(spaces.len(), 5, "{spaces:?}");
    let requests = land
        .sim
        .stats()
        .routes
        .get("GET /v3/spaces")
        .copied()
        .unwrap_or_default();
    // Three pages for the part with the real org, one empty page for every other part.
    assert!(requests >= 5, "{requests} requests");
}

#[tokio::test]
async fn a_failed_job_is_surfaced_with_the_broker_message() {
    let land = landscape(|sim| {
        sim.faults(Faults {
            fail_names: vec!["doomed".into()],
            ..Faults::default()
        })
    })
    .await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    let plan = plan_guid(&cf).await;
    let error = cf
        .create_service_instance(&new_instance(&land, &plan, "doomed"))
        .await
        .expect_err("the broker fails this create");
    let Error::JobFailed {
        errors,
        resource_guid,
        operation,
        ..
    } = &error
    else {
        panic!("not a job failure: {error}")
    };
    assert_eq!(operation, "service_instance.create");
    assert!(
        errors
            .iter()
            .any(|e| e.detail.contains("simulated failure")),
        "{errors:?}"
    );
    assert!(resource_guid.is_some(), "the failed instance is not named");
    assert!(error.to_string().contains("simulated failure"), "{error}");

    // The failed record stays; creating it again with the same name replaces it.
    land.sim.set_faults(Faults::default());
    let again = cf
        .create_service_instance(&new_instance(&land, &plan, "doomed"))
        .await
        .expect("retry");
    assert_eq!(instances_named(&cf, &land, "doomed").await, 1);
    assert!(
        again
            .last_operation
            .is_some_and(|op| !op.state.is_pending())
    );
}

#[tokio::test]
async fn an_html_502_page_is_retried_and_then_reported_with_its_first_bytes() {
    let land = landscape(|sim| sim).await;
    // One 502 page: a GET is repeated and succeeds.
    let (url, misdeeds) = proxy(land.sim.url(), Mischief::Html502("/v3/spaces", 1)).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(&url, &recorder)).await;
    let spaces = cf
        .list_spaces(&SpaceFilter::default())
        .await
        .expect("retried after the 502");
    assert_eq!((spaces.len(), misdeeds.hits()), (1, 1));

    // 502 pages only: the typed error keeps the start of the page.
    let (url, _) = proxy(land.sim.url(), Mischief::Html502("/v3/spaces", usize::MAX)).await;
    let mut config = config(&url, &recorder);
    config.retry.max_attempts = 2;
    let (_btp, cf) = cf_client(config).await;
    let error = cf
        .list_spaces(&SpaceFilter::default())
        .await
        .expect_err("only 502s");
    let api = error.api_error().expect("an API error");
    assert_eq!(api.status, 502);
    let ErrorBody::Unparsed { snippet } = &api.body else {
        panic!("{:?}", api.body)
    };
    assert!(snippet.contains("502 Bad Gateway"), "{snippet}");
    assert!(error.to_string().contains("/v3/spaces"), "{error}");
}
