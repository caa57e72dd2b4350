//! Fuzzing of every API response decoder: CF (root, lists, single objects, jobs, credentials,
//! errors), Accounts, Entitlements, Service Manager and UAA token responses. Random bytes,
//! mutated recorded bodies (`tests/fixtures/recorded`) and JSON whose values have the wrong type
//! must each give `Ok` or a typed `Error` — never a panic — and a decode error never quotes more
//! than a short, redacted snippet of the body.
//!
//! `CALM_FUZZ_CASES` sets the number of bodies per test (default 500, a few seconds in CI);
//! a longer run: `CALM_FUZZ_CASES=200000 cargo test --release -p calm-btp --test fuzz -- --nocapture`.
//! Each test prints its executions and time on stderr.

use std::path::Path;
use std::time::Instant;

use calm_btp::{Api, Error, decode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Cassette {
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    response: Recorded,
}

#[derive(Deserialize)]
struct Recorded {
    #[serde(default)]
    body: String,
}

/// Bodies up to this size are used as seeds; larger ones only slow the debug build down.
const SEED_MAX: usize = 16 * 1024;

/// Every distinct recorded response body (small enough), plus a few hand-written edge shapes.
fn seeds() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    let mut stack =
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/recorded")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out: Vec<Vec<u8>> = vec![
        br#"{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","token_type":"bearer","expires_in":1199}"#.to_vec(),
        br#"{"errors":[{"detail":"x","title":"CF-X","code":1}]}"#.to_vec(),
        br#"{"error":{"code":20004,"message":"m","correlationID":"c"}}"#.to_vec(),
        br#"{"error":"NotFound","description":"d"}"#.to_vec(),
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).expect("cassette");
        let Ok(cassette) = serde_saphyr::from_str::<Cassette>(&text) else {
            continue;
        };
        for i in cassette.interactions {
            let body = i.response.body.into_bytes();
            if !body.is_empty() && body.len() <= SEED_MAX && !out.contains(&body) {
                out.push(body);
            }
        }
    }
    assert!(out.len() > 50, "only {} seed bodies", out.len());
    out
}

/// Runs every decoder on `body`; returns how many ran. A panic fails the test.
fn decode_all(body: &[u8]) -> u64 {
    fn check<T>(result: Result<T, Error>) {
        if let Err(e) = result {
            // Typed, and quoting at most the 512-byte snippet plus the fixed text around it.
            let message = e.to_string();
            assert!(
                message.len() < 2048,
                "an error quotes too much: {} bytes",
                message.len()
            );
        }
    }
    check(decode::token(body));
    check(decode::cf_root(body));
    check(decode::cf_organization(body));
    check(decode::cf_organizations(body));
    check(decode::cf_space(body));
    check(decode::cf_spaces(body));
    check(decode::cf_service_offering(body));
    check(decode::cf_service_plan(body));
    check(decode::cf_service_plans(body));
    check(decode::cf_service_instance(body));
    check(decode::cf_service_instances(body));
    check(decode::cf_service_credential_binding(body));
    check(decode::cf_service_credential_bindings(body));
    check(decode::cf_service_credential_binding_details(body));
    check(decode::cf_job(body));
    check(decode::subaccounts(body));
    check(decode::subaccount(body));
    check(decode::subaccount_labels(body));
    check(decode::entitlement_assignments(body));
    let _ = decode::entitlement_job_id(body);
    check(decode::sm_offering(body));
    check(decode::sm_plan(body));
    check(decode::sm_service_instance(body));
    check(decode::sm_service_binding(body));
    check(decode::sm_operation(body));
    for api in [
        Api::Uaa,
        Api::CloudFoundry,
        Api::Accounts,
        Api::Entitlements,
        Api::ServiceManager,
    ] {
        let _ = decode::error_body(api, body).to_string();
    }
    30
}

fn cases() -> u32 {
    std::env::var("CALM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// Runs `strategy` for [`cases`] bodies and prints executions and time.
fn fuzz<S: Strategy>(name: &str, strategy: S, body: impl Fn(&S::Value) -> Vec<u8>) {
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let started = Instant::now();
    let executions = std::sync::atomic::AtomicU64::new(0);
    let result = runner.run(&strategy, |value| {
        let n = decode_all(&body(&value));
        executions.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    eprintln!(
        "fuzz {name}: {cases} bodies, {} decoder executions in {:.1} s",
        executions.into_inner(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, &'static str),
    Delete(usize, usize),
    Flip(usize, u8),
    Truncate(usize),
}

const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "-0",
    "1e999",
    "18446744073709551616",
    "-9223372036854775809",
    "\"guid\":",
    "\"resources\":",
    "\u{feff}",
    "é",
    "\u{0}",
    " ",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), prop::sample::select(FRAGMENTS)).prop_map(|(i, f)| Mutation::Insert(i, f)),
        (any::<usize>(), 1usize..32).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Insert(i, f) => {
                let at = (i % len).min(bytes.len());
                bytes.splice(at..at, f.bytes());
            }
            Mutation::Delete(i, n) => {
                let at = (i % len).min(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Flip(i, b) => {
                if !bytes.is_empty() {
                    let at = i % bytes.len();
                    bytes[at] = *b;
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

/// Values of the wrong type, size or sign for any field.
fn wrong_value(pick: usize) -> Value {
    let values = [
        Value::Null,
        serde_json::json!(0),
        serde_json::json!(-1),
        serde_json::json!(1.5e300),
        serde_json::json!(u64::MAX),
        serde_json::json!(""),
        serde_json::json!("not-a-guid"),
        serde_json::json!("2024-13-45T99:99:99Z"),
        serde_json::json!(true),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!([null, 1, "x"]),
        serde_json::json!({"guid": 1, "href": "http://evil.example.com"}),
    ];
    values[pick % values.len()].clone()
}

/// Replaces the `n`-th value (in document order) of `value`; returns whether it was found.
fn replace_nth(value: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *value = with.clone();
        return true;
    }
    *n -= 1;
    match value {
        Value::Object(map) => map.values_mut().any(|v| replace_nth(v, n, with)),
        Value::Array(items) => items.iter_mut().any(|v| replace_nth(v, n, with)),
        _ => false,
    }
}

#[test]
fn random_bytes_never_panic_a_decoder() {
    fuzz(
        "random bytes",
        prop::collection::vec(any::<u8>(), 0..1024),
        Clone::clone,
    );
}

#[test]
fn mutated_recorded_bodies_never_panic_a_decoder() {
    let seeds = seeds();
    fuzz(
        "mutated recorded bodies",
        (
            prop::sample::select(seeds),
            prop::collection::vec(mutation(), 1..6),
        ),
        |(seed, mutations)| mutate(seed, mutations),
    );
}

#[test]
fn recorded_bodies_with_wrong_value_types_never_panic_a_decoder() {
    let seeds: Vec<Value> = seeds()
        .iter()
        .filter_map(|b| serde_json::from_slice(b).ok())
        .collect();
    fuzz(
        "recorded bodies with wrong value types",
        (
            prop::sample::select(seeds),
            prop::collection::vec((any::<usize>(), any::<usize>()), 1..4),
        ),
        |(seed, changes)| {
            let mut value = seed.clone();
            for (at, pick) in changes {
                let mut n = at % 400;
                replace_nth(&mut value, &mut n, &wrong_value(*pick));
            }
            serde_json::to_vec(&value).unwrap_or_default()
        },
    );
}
