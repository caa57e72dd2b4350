//! Throughput of the simulator on loopback, with state checked afterwards.
//!
//! `cargo run --release -p btp-sim --example load -- [SECONDS] [CONNECTIONS]`
//!
//! Starts an in-process simulator on a 2-worker runtime (the build machines have 2 cores), then
//! `CONNECTIONS` clients run a calmctl-like mix for `SECONDS`: 70% reads (org lookup by name,
//! instance list by label, job GET), 20% metadata PATCHes of a space, 10% creates of keys (async
//! jobs). Prints requests per second and checks the world: every created key exists exactly once
//! and every request got an answer without an unexpected status.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use btp_sim::{JobTimings, Sim, World};
use serde_json::{Value, json};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(run(seconds, connections));
}

async fn run(seconds: u64, connections: usize) {
    let mut world = World::new(1);
    world.add_user("admin", "admin");
    let ga = world.add_global_account("load-ga", "eu10");
    world.add_quota(&ga, "SAPCloudALMAPIs", "standard", Some(1000));
    let sub = world.add_subaccount(&ga, "load-sub", "eu10", None);
    world.entitle(&sub, "SAPCloudALMAPIs", "standard", 1);
    let org = world.add_org("load-org", Some(&sub));
    let space = world.add_space(&org, "load-space");
    let sim = Sim::from_world(world)
        .jobs(JobTimings {
            processing_ms: 5,
            polling_ms: 20,
            entitlement_ms: 20,
        })
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = sim.url().to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let login: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("cf", Some(""))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let plan: Value = http
        .get(format!("{base}/v3/service_plans?names=standard"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let plan = plan["resources"][0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let create = http
        .post(format!("{base}/v3/service_instances"))
        .bearer_auth(&token)
        .json(&json!({"type": "managed", "name": "load-api", "relationships": {"space": {"data": {"guid": space}}, "service_plan": {"data": {"guid": plan}}}, "metadata": {"labels": {"managed-by": "load"}}}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let job = create
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let instances: Value = http
        .get(format!("{base}/v3/service_instances?names=load-api"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let instance = instances["resources"][0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let done = Arc::new(AtomicU64::new(0));
    let unexpected = Arc::new(AtomicU64::new(0));
    let keys_created = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (http, base, token, space, instance, job) = (
            http.clone(),
            base.clone(),
            token.clone(),
            space.clone(),
            instance.clone(),
            job.clone(),
        );
        let (done, unexpected, keys_created) =
            (done.clone(), unexpected.clone(), keys_created.clone());
        tasks.push(tokio::spawn(async move {
            let mut n: u64 = 0;
            while Instant::now() < deadline {
                n += 1;
                let request = match n % 10 {
                    0 => http.post(format!("{base}/v3/service_credential_bindings")).json(&json!({"type": "key", "name": format!("k-{worker}-{n}"), "relationships": {"service_instance": {"data": {"guid": instance}}}})),
                    1 | 2 => http.patch(format!("{base}/v3/spaces/{space}")).json(&json!({"metadata": {"annotations": {format!("w{worker}"): n.to_string()}}})),
                    3 | 4 => http.get(format!("{base}/v3/organizations?names=load-org")),
                    5 | 6 => http.get(format!("{base}/v3/service_instances?label_selector=managed-by%3Dload")),
                    _ => http.get(&job),
                };
                match request.bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => {
                        if n.is_multiple_of(10) {
                            keys_created.fetch_add(1, Ordering::Relaxed);
                        }
                        let _ = r.bytes().await;
                    }
                    _ => {
                        unexpected.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = done.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let world = sim.export_world();
    let keys = world.service_keys.len() as u64;
    let mut names: Vec<&str> = world
        .service_keys
        .values()
        .map(|k| k.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let stats = sim.stats();
    println!(
        "{total} requests in {elapsed:.1} s over {connections} connections: {:.0} requests/s",
        total as f64 / elapsed
    );
    println!(
        "unexpected statuses: {}; keys accepted {}, keys in the world {keys} ({} distinct names); peak concurrency {}",
        unexpected.load(Ordering::Relaxed),
        keys_created.load(Ordering::Relaxed),
        names.len(),
        stats.peak_concurrency
    );
    let consistent = unexpected.load(Ordering::Relaxed) == 0
        && keys == keys_created.load(Ordering::Relaxed)
        && names.len() as u64 == keys
        && stats.total >= total;
    println!("state consistent: {consistent}");
    if !consistent {
        std::process::exit(1);
    }
}
