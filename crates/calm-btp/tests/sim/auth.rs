//! Tokens: renewed before they expire, and renewed once (not once per task) after a 401.

use std::sync::Arc;
use std::time::{Duration, Instant};

use calm_btp::cf::OrganizationFilter;

use crate::support::{Recorder, cf_client, config, landscape};

#[tokio::test]
async fn token_expiry_in_the_middle_of_a_run() {
    let land = landscape(|sim| sim.token_ttl_secs(2)).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    let started = Instant::now();
    let mut calls = 0;
    // Five seconds of work with two-second tokens: at least two renewals, and no call may fail.
    while started.elapsed() < Duration::from_secs(5) {
        let orgs = cf
            .list_organizations(&OrganizationFilter::default())
            .await
            .expect("list orgs");
        assert_eq!(orgs.len(), 1);
        calls += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(calls >= 20, "{calls}");
    assert!(
        recorder.token_refreshes() >= 3,
        "{} token fetches",
        recorder.token_refreshes()
    );
    let stats = land.sim.stats();
    assert_eq!(
        stats.routes.get("POST /oauth/token").copied(),
        Some(recorder.token_refreshes() as u64)
    );
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_for_all_tasks() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    cf.get_organization(&land.org).await.expect("first call");
    assert_eq!(recorder.token_refreshes(), 1);

    // A new signing secret invalidates the cached access and refresh tokens: the next calls get
    // 401 CF-InvalidAuthToken (1000), as after a server-side revocation.
    let mut world = land.sim.export_world();
    world.secret = "rotated-signing-secret".to_owned();
    land.sim.import_world(world);

    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let cf = cf.clone();
            let org = land.org.clone();
            tokio::spawn(async move { cf.get_organization(&org).await })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("task ran")
            .expect("call succeeds after the refresh");
    }
    // One new token for sixteen tasks: the refresh is single-flight.
    assert_eq!(recorder.token_refreshes(), 2, "{:?}", recorder.events());
}
