//! Replay of recorded real Cloud Foundry traffic (cassettes in tests/fixtures/recorded/cf-terraform).
//!
//! For each cassette: seed a world with what the recording shows as existing (seed.rs), start the
//! simulator with instant jobs, replay every request in order (method, path+query, body; recorded
//! GUIDs of objects the simulator creates are mapped to the simulator's GUIDs as they appear),
//! and require the same status code and the same JSON shape (keys and JSON types, recursively;
//! error `code`/`title` by value). Credentials in requests are redacted in the recordings, so the
//! replay substitutes working ones: a real bearer token, the seeded user `xx`/`xxxx`, a real refresh
//! token and an assertion the simulator accepts. The bearer token is `admin`'s, who holds the
//! roles the recorded requests need and no other (seed_roles.rs): nobody is a CF admin.

use std::collections::BTreeMap;

use btp_sim::{JobTimings, Sim};
use serde_json::Value;

use crate::cassette::{self, learn_guids, path_and_query, shape_diff};
use crate::seed;

/// Requests to endpoints calmctl never uses and the simulator does not serve, with the reason:
/// (method, or `*` for any; part of the path; reason).
const SKIPPED: &[(&str, &str, &str)] = &[
    ("*", "/v3/apps", "apps: calmctl deploys no apps"),
    (
        "*",
        "/v3/service_brokers",
        "service brokers: calmctl registers no brokers",
    ),
    (
        "POST",
        "/v3/users",
        "creating CF users: only a CF admin may (the simulator answers 403: nobody is one); \
         reading users is replayed",
    ),
    (
        "*",
        "/features",
        "space features (ssh): not used by calmctl",
    ),
    (
        "*",
        "/relationships/isolation_segment",
        "isolation segments: not used by calmctl",
    ),
    (
        "*",
        "<guid of a recorded app binding>",
        "requests on app bindings (`type: app`): apps are not simulated",
    ),
];

/// Differences accepted on purpose: (cassette file, JSON path prefix, reason).
const EXEMPTIONS: &[(&str, &str, &str)] = &[];

/// Recorded list items the simulator cannot have, removed before comparing, with the reason.
const FILTERED: &[(&str, &str)] = &[(
    "app bindings (`type: app`) in service_credential_bindings lists",
    "apps are not simulated (calmctl deploys none), so neither are their bindings; keys are compared",
)];

/// Apply FILTERED to a recorded body.
fn without_app_bindings(mut body: Value) -> Value {
    if let Some(resources) = body.get_mut("resources").and_then(Value::as_array_mut) {
        resources.retain(|r| r["type"] != "app");
    }
    body
}

fn skipped(method: &str, path: &str) -> Option<&'static str> {
    SKIPPED
        .iter()
        .find(|(m, p, _)| (*m == "*" || *m == method) && path.contains(p))
        .map(|(_, _, reason)| *reason)
}

/// Every `refresh_token=<value>` of a form body becomes the working refresh token (recordings
/// carry expired or redacted ones).
fn with_refresh_token(body: &str, refresh: &str) -> String {
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("refresh_token", _)) => format!("refresh_token={refresh}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn substitute(text: &str, guids: &BTreeMap<String, String>) -> String {
    guids
        .iter()
        .fold(text.to_owned(), |acc, (recorded, served)| {
            acc.replace(recorded, served)
        })
}

struct Outcome {
    replayed: usize,
    skipped: usize,
    failures: Vec<String>,
}

async fn replay(file: &str) -> Outcome {
    let path = cassette::fixtures("cf-terraform").join(file);
    let cassette = cassette::load(&path);
    let seen = seed::scan(&cassette);
    let world = crate::seed_world::world(&seen);
    let sim = Sim::from_world(world)
        .jobs(JobTimings::instant())
        .start()
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{}/oauth/token", sim.url()))
        .header("authorization", "Basic Y2Y6")
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
    let login: Value = login.json().await.unwrap_or_default();
    let token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let assertion = sim.assertion_for("xx");
    let mut guids = BTreeMap::new();
    // Jobs started by skipped requests (e.g. service brokers) are skipped too.
    let mut skipped_jobs: Vec<String> = Vec::new();
    let app_bindings: Vec<String> = cassette
        .interactions
        .iter()
        .filter_map(|i| i.response.json())
        .flat_map(|b| b["resources"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["type"] == "app")
        .filter_map(|r| r["guid"].as_str().map(str::to_owned))
        .collect();
    let mut outcome = Outcome {
        replayed: 0,
        skipped: 0,
        failures: Vec::new(),
    };
    for interaction in &cassette.interactions {
        let (req, rec) = (&interaction.request, &interaction.response);
        let target = path_and_query(&req.url);
        let on_app_binding = app_bindings
            .iter()
            .any(|g| target.starts_with(&format!("/v3/service_credential_bindings/{g}")));
        if skipped(&req.method, &target).is_some()
            || on_app_binding
            || skipped_jobs.iter().any(|j| target.ends_with(j.as_str()))
        {
            if let Some(job) = rec.header("location").and_then(|l| l.rsplit('/').next()) {
                skipped_jobs.push(job.to_owned());
            }
            outcome.skipped += 1;
            continue;
        }
        let url = format!("{}{}", sim.url(), substitute(&target, &guids));
        let body = with_refresh_token(&substitute(&req.body, &guids), &refresh)
            .replace("assertion=redacted", &format!("assertion={assertion}"));
        let method =
            reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = http.request(method, &url).body(body);
        for (name, values) in &req.headers {
            let lower = name.to_ascii_lowercase();
            if ["content-length", "host", "accept-encoding"].contains(&lower.as_str()) {
                continue;
            }
            for value in values {
                let value = if value == "Bearer redacted" {
                    format!("Bearer {token}")
                } else {
                    value.clone()
                };
                request = request.header(name.as_str(), value);
            }
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{file} #{}: {e}", interaction.id));
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.unwrap_or_default();
        outcome.replayed += 1;
        let at = format!("{file} #{} {} {target}", interaction.id, req.method);
        if status != rec.code {
            outcome.failures.push(format!(
                "{at}: status {status}, recorded {} (body {text})",
                rec.code
            ));
            continue;
        }
        if let (Some(recorded), Some(served)) = (rec.header("location"), &location) {
            learn_guids(
                &Value::String(recorded.to_owned()),
                &Value::String(served.clone()),
                &mut guids,
            );
        } else if rec.header("location").is_some() {
            outcome.failures.push(format!("{at}: no Location header"));
        }
        let Some(recorded) = rec.json().map(without_app_bindings) else {
            continue;
        };
        let Ok(served) = serde_json::from_str::<Value>(&text) else {
            outcome.failures.push(format!("{at}: not JSON: {text}"));
            continue;
        };
        learn_guids(&recorded, &served, &mut guids);
        let exempt = |p: &str| {
            EXEMPTIONS
                .iter()
                .any(|(f, prefix, _)| (*f == "*" || *f == file) && p.starts_with(prefix))
        };
        let mut diffs = Vec::new();
        shape_diff(&recorded, &served, "$", &exempt, &mut diffs);
        outcome
            .failures
            .extend(diffs.into_iter().map(|d| format!("{at}: {d}")));
    }
    sim.stop().await;
    outcome
}

#[tokio::test]
async fn cf_cassettes_replay_with_the_recorded_status_and_shape() {
    let dir = cassette::fixtures("cf-terraform");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.push("010287dc/resource_service_instance_managed.yaml".to_owned());
    files.sort();
    let (mut replayed, mut skipped, mut failures) = (0, 0, Vec::new());
    for file in &files {
        let outcome = replay(file).await;
        replayed += outcome.replayed;
        skipped += outcome.skipped;
        failures.extend(outcome.failures);
    }
    for (method, what, reason) in SKIPPED {
        println!("not replayed: {method} {what}: {reason}");
    }
    for (what, reason) in FILTERED {
        println!("not replayed: {what}: {reason}");
    }
    for (file, path, reason) in EXEMPTIONS {
        println!("exempt: {file} {path}: {reason}");
    }
    println!(
        "replayed {replayed} recorded CF interactions from {} cassettes ({skipped} skipped, see SKIPPED)",
        files.len()
    );
    assert!(replayed >= 360, "too few interactions replayed: {replayed}");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
