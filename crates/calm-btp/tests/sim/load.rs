//! Rate limits: 429 in each `Retry-After` form is waited out (never failed), and 32 concurrent
//! tasks settle near a 20 requests/s limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use btp_sim::{Limit, RateLimits};
use calm_btp::auth::CisKey;
use calm_btp::{Btp, SecretString};

use crate::support::{Recorder, cf_client, config, landscape};

fn limits(change: impl FnOnce(&mut RateLimits)) -> RateLimits {
    let mut limits = RateLimits::default();
    change(&mut limits);
    limits
}

/// Two requests per three-second window: six calls cross two window ends. A client that honours
/// the server's wait sees one 429 per window end; one that guesses with backoff sees several.
fn two_per_window() -> Option<Limit> {
    Some(Limit {
        requests: 2,
        window_secs: 3,
    })
}

fn assert_waited_out(recorder: &Recorder, throttled: u64) {
    let waits = recorder.rate_limited();
    assert!(!waits.is_empty(), "no 429 was seen");
    assert_eq!(waits.len() as u64, throttled);
    assert!(
        throttled <= 3,
        "{throttled} 429s: the server's wait was not honoured ({waits:?})"
    );
    assert!(
        waits.iter().all(|w| *w <= Duration::from_secs(3)),
        "{waits:?}"
    );
}

#[tokio::test]
async fn cf_429_with_retry_after_seconds() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    cf.get_organization(&land.org)
        .await
        .expect("warm-up: token");
    // Injected 429s carry `Retry-After: 1` and no window headers, as a gateway would send them.
    land.sim.update_settings(|s| {
        s.faults.storm = Some(btp_sim::Storm {
            apis: vec![btp_sim::Api::Cf],
            requests: 2,
        })
    });
    let before = land.sim.stats().throttled;
    for _ in 0..3 {
        cf.get_organization(&land.org)
            .await
            .expect("never fails on 429");
    }
    assert_waited_out(&recorder, land.sim.stats().throttled - before);
}

#[tokio::test]
async fn cf_window_headers_are_honoured_before_a_429() {
    let land = landscape(|sim| sim).await;
    land.sim
        .update_settings(|s| s.rate_limits = limits(|l| l.cf = two_per_window()));
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    let started = Instant::now();
    for _ in 0..6 {
        cf.get_organization(&land.org)
            .await
            .expect("never fails on 429");
    }
    // `X-RateLimit-Remaining: 0` pauses the host until `X-RateLimit-Reset`: six calls at two per
    // three-second window span at least one whole window, and none is refused.
    assert_eq!(
        land.sim.stats().throttled,
        0,
        "{:?}",
        recorder.rate_limited()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn accounts_429_with_ratelimit_reset_in_epoch_milliseconds() {
    let land = landscape(|sim| sim).await;
    land.sim
        .update_settings(|s| s.rate_limits = limits(|l| l.accounts = two_per_window()));
    let recorder = Arc::new(Recorder::default());
    let btp = Btp::new(config(land.sim.url(), &recorder)).expect("config");
    let key = land
        .sim
        .cis_key(&land.global_account)
        .expect("cis key")
        .to_string();
    let key = CisKey::from_json(&key).expect("cis key parses");
    let grant = key.grant(Some((
        btp_sim::ADMIN_USER,
        SecretString::from(btp_sim::ADMIN_PASSWORD),
    )));
    let accounts = btp
        .accounts(
            &key.accounts_service_url,
            &key.token_url,
            grant.expect("password grant"),
        )
        .expect("accounts client");
    for _ in 0..6 {
        accounts
            .get_subaccount(&land.subaccount)
            .await
            .expect("never fails on 429");
    }
    assert_waited_out(&recorder, land.sim.stats().throttled);
}

#[tokio::test]
async fn service_manager_429_with_retry_after_http_date() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let btp = Btp::new(config(land.sim.url(), &recorder)).expect("config");
    let credentials = crate::btp::service_manager_credentials(&btp, &land).await;
    let sm = btp.service_manager(&credentials).expect("SM client");
    land.sim
        .update_settings(|s| s.rate_limits = limits(|l| l.service_manager = two_per_window()));
    for _ in 0..6 {
        sm.list_service_instances(None, None)
            .await
            .expect("never fails on 429");
    }
    assert_waited_out(&recorder, land.sim.stats().throttled);
}

#[tokio::test]
async fn thirty_two_tasks_stay_near_a_limit_of_twenty_per_second() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let (_btp, cf) = cf_client(config(land.sim.url(), &recorder)).await;
    cf.get_organization(&land.org)
        .await
        .expect("warm-up: token");
    land.sim.update_settings(|s| {
        s.rate_limits = limits(|l| {
            l.cf = Some(Limit {
                requests: 20,
                window_secs: 1,
            })
        })
    });
    let before = land.sim.stats();
    let started = Instant::now();
    let per_task = 6;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let cf = cf.clone();
            let org = land.org.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    cf.get_organization(&org).await?;
                }
                Ok::<_, calm_btp::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("task ran")
            .expect("no call fails because of 429");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = land.sim.stats();
    let served = (32 * per_task) as f64;
    let throttled = after.throttled - before.throttled;
    let rate = served / elapsed;
    println!("32 tasks: {served} calls in {elapsed:.1} s = {rate:.1}/s, {throttled} answered 429");
    // Near the limit: at least 60% of it on average, ramp-up and back-offs included, and 429s
    // stay a small share of all requests.
    assert!(rate >= 12.0, "{rate:.1} requests/s");
    assert!(rate <= 21.0, "{rate:.1} requests/s is above the limit");
    assert!(
        (throttled as f64) < served * 0.15,
        "{throttled} 429s for {served} calls"
    );
}
