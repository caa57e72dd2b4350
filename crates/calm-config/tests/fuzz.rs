//! Property tests: no input makes the config reader panic, and every rejection is located.
//!
//! 10,000 documents in all (4,000 mutated real configs, 3,000 grammar-built documents, 3,000
//! random byte strings) go through `load_bytes`, the function `calmctl validate` calls. Each test
//! prints its count and time on stderr; `CALM_FUZZ_CASES=N` sets the count of every test, e.g.
//! `CALM_FUZZ_CASES=100000 cargo test --release -p calm-config --test fuzz -- --nocapture`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const SEEDS: &[&str] = &[
    include_str!("../../../examples/quickstart.yaml"),
    include_str!("../../../tests/configs/invalid/several-type-errors.yaml"),
    include_str!("../../../tests/configs/invalid/duplicate-instance.yaml"),
    include_str!("../../../tests/configs/invalid/literal-pem.yaml"),
    include_str!("../../../tests/configs/warnings/unknown-region-and-authority.yaml"),
];

/// Fragments that tend to break YAML parsers and our decoder.
const FRAGMENTS: &[&str] = &[
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "? ",
    "|",
    ">-",
    "\"",
    "'",
    "#",
    "\t",
    "\n",
    "\n  ",
    "~",
    "null",
    "yes",
    "0x1F",
    "1e999",
    "-1",
    "\u{feff}",
    "\r\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "name: ",
    "keys: ",
    "instances: ",
    "xs-security: ",
    "password: x",
    "-----BEGIN KEY-----",
    "\u{0}",
    "é",
    "𝄞",
];

fn check(bytes: &[u8]) {
    match calm_config::load_bytes("fuzz.yaml", bytes) {
        Ok(loaded) => {
            // A valid file resolves to tenants that each have at least one instance.
            assert!(
                loaded
                    .desired
                    .tenants
                    .iter()
                    .all(|t| !t.instances.is_empty())
            );
        }
        Err(calm_config::ConfigError::Invalid { problems, .. }) => {
            assert!(!problems.is_empty());
            for p in &problems {
                let (span, _) = p.labels.first().expect("every problem is located");
                assert!(span.offset <= bytes.len(), "span inside the file: {p:?}");
            }
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, &'static str),
    Delete(usize, usize),
    Flip(usize, u8),
    DuplicateLine(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), prop::sample::select(FRAGMENTS)).prop_map(|(i, f)| Mutation::Insert(i, f)),
        (any::<usize>(), 1usize..20).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(seed: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Insert(i, f) => {
                let at = i % len;
                bytes.splice(at..at, f.bytes());
            }
            Mutation::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            Mutation::Flip(i, b) => {
                if !bytes.is_empty() {
                    let at = i % bytes.len();
                    bytes[at] = *b;
                }
            }
            Mutation::DuplicateLine(i) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let lines: Vec<&str> = text.split_inclusive('\n').collect();
                if !lines.is_empty() {
                    let at = i % lines.len();
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(at, lines[at]);
                    bytes = out.concat().into_bytes();
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

/// Documents built from calm.yaml's own vocabulary, so that the decoder (not only the parser)
/// is exercised deeply.
fn document() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "version",
        "accounts",
        "defaults",
        "tenants",
        "name",
        "subaccount",
        "org",
        "account",
        "region",
        "runtime",
        "space",
        "instance",
        "instances",
        "keys",
        "entitlement",
        "amount",
        "enable",
        "protect",
        "labels",
        "authorities",
        "parameters",
        "xs-security",
        "xsappname",
        "env",
        "file",
        "cis_key",
        "subdomain",
        "rotate_after",
        "delivery",
        "dir",
        "exec",
        "redact",
    ]);
    let scalar = prop::sample::select(vec![
        "1",
        "0",
        "-5",
        "true",
        "no",
        "null",
        "acme",
        "eu10",
        "cloudfoundry",
        "service-manager",
        "calm.api",
        "ABC_100_00",
        "90d",
        "[]",
        "{}",
        "\"\"",
        "6c3e5d1a-0f7e-4d5e-9a43-1b2c3d4e5f60",
    ]);
    let leaf = (key.clone(), scalar).prop_map(|(k, v)| format!("{k}: {v}"));
    leaf.prop_recursive(4, 64, 6, move |inner| {
        (
            key.clone(),
            prop::collection::vec(inner, 1..6),
            any::<bool>(),
        )
            .prop_map(|(k, items, list)| {
                let body: Vec<String> = items
                    .iter()
                    .map(|i| {
                        let indented = i.replace('\n', "\n    ");
                        if list {
                            format!("  - {indented}")
                        } else {
                            format!("  {indented}")
                        }
                    })
                    .collect();
                format!("{k}:\n{}", body.join("\n"))
            })
    })
}

/// Runs `strategy` for `default_cases` documents (or `CALM_FUZZ_CASES`) and prints the executions
/// and time on stderr, for the robustness report.
fn fuzz<S: Strategy>(
    name: &str,
    default_cases: u32,
    strategy: S,
    document: impl Fn(&S::Value) -> Vec<u8>,
) {
    let cases = std::env::var("CALM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let result = runner.run(&strategy, |value| {
        check(&document(&value));
        Ok(())
    });
    eprintln!(
        "fuzz {name}: {cases} documents parsed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

#[test]
fn mutated_configs_never_panic() {
    fuzz(
        "mutated configs",
        4_000,
        (
            prop::sample::select(SEEDS),
            prop::collection::vec(mutation(), 1..8),
        ),
        |(seed, m)| apply(seed, m),
    );
}

#[test]
fn grammar_documents_never_panic() {
    fuzz(
        "grammar documents",
        3_000,
        prop::collection::vec(document(), 1..5),
        |docs| format!("version: 1\n{}\n", docs.join("\n")).into_bytes(),
    );
}

#[test]
fn random_bytes_never_panic() {
    fuzz(
        "random bytes",
        3_000,
        prop::collection::vec(any::<u8>(), 0..512),
        Clone::clone,
    );
}
