//! Every response body of the recorded real traffic in `tests/fixtures/recorded/` decodes into
//! calm-btp's types: successes, 4xx/5xx errors, failed jobs and failed last operations.
//!
//! CF cassettes (`cf-terraform/`) are raw CF v3 + UAA traffic. BTP cassettes
//! (`btp-cli-terraform/`) are BTP CLI server traffic: their bodies are the Accounts, Entitlements
//! and Service Manager objects the server relays, so those are decoded as backend objects
//! (SOURCES.md §2). Bodies that belong to endpoints calmctl does not use (apps, brokers, creating
//! users, space features, the CLI server's own login) are counted as out of scope, but their error
//! bodies must still decode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calm_btp::decode;
use calm_btp::operation::OperationState;
use calm_btp::{Api, ErrorBody};
use serde::Deserialize;

#[derive(Deserialize)]
struct Cassette {
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    request: RecordedRequest,
    response: RecordedResponse,
}

#[derive(Deserialize)]
struct RecordedRequest {
    url: String,
    method: String,
}

#[derive(Deserialize)]
struct RecordedResponse {
    code: u16,
    #[serde(default)]
    body: String,
    #[serde(default)]
    headers: BTreeMap<String, Vec<String>>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/recorded")
}

fn cassettes(dir: &str) -> Vec<(String, Cassette)> {
    let mut files = Vec::new();
    let mut stack = vec![fixtures().join(dir)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture folder exists") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no cassettes in {dir}");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable cassette");
            let cassette: Cassette =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.display().to_string(), cassette)
        })
        .collect()
}

/// The path of a URL with GUIDs replaced by `{guid}` and the query removed.
fn shape(url: &str) -> String {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = path.find('/').map_or("/", |i| &path[i..]);
    let path = path.split('?').next().unwrap_or(path);
    path.split('/')
        .map(|seg| {
            if seg.len() == 36 && seg.matches('-').count() == 4 {
                "{guid}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Default, Debug)]
struct Tally {
    decoded: usize,
    errors: usize,
    empty: usize,
    out_of_scope: usize,
    failed_jobs: usize,
    failed_last_operations: usize,
    cf_codes: Vec<i64>,
    roles: usize,
}

fn check_error(api: Api, body: &str, where_: &str, tally: &mut Tally) {
    match decode::error_body(api, body.as_bytes()) {
        ErrorBody::CloudFoundry(entries) => {
            assert!(!entries.is_empty(), "{where_}: empty CF errors");
            tally.cf_codes.extend(entries.iter().map(|e| e.code));
        }
        ErrorBody::Empty => tally.empty += 1,
        ErrorBody::Unparsed { snippet } => panic!("{where_}: error body not understood: {snippet}"),
        _ => {}
    }
    tally.errors += 1;
}

fn decode_cf(method: &str, path: &str, body: &[u8], tally: &mut Tally) -> Result<bool, String> {
    let e = |e: calm_btp::Error| e.to_string();
    match (method, path) {
        ("GET", "/") => {
            let root = decode::cf_root(body).map_err(e)?;
            assert!(root.uaa_url.starts_with("https://"), "{root:?}");
        }
        ("POST", "/oauth/token") => {
            let (expires_in, _) = decode::token(body).map_err(e)?;
            assert!(expires_in.is_some());
        }
        ("GET", "/v3/organizations") => drop(decode::cf_organizations(body).map_err(e)?),
        ("GET", "/v3/organizations/{guid}") => drop(decode::cf_organization(body).map_err(e)?),
        ("GET", "/v3/spaces") => drop(decode::cf_spaces(body).map_err(e)?),
        ("POST", "/v3/spaces") | ("GET" | "PATCH", "/v3/spaces/{guid}") => {
            drop(decode::cf_space(body).map_err(e)?)
        }
        ("GET", "/v3/service_offerings/{guid}") => {
            drop(decode::cf_service_offering(body).map_err(e)?)
        }
        ("GET", "/v3/service_plans") => drop(decode::cf_service_plans(body).map_err(e)?),
        ("GET", "/v3/service_plans/{guid}") => drop(decode::cf_service_plan(body).map_err(e)?),
        ("GET", "/v3/service_instances") => {
            for instance in decode::cf_service_instances(body).map_err(e)? {
                let failed = instance
                    .last_operation
                    .as_ref()
                    .is_some_and(|op| op.state == OperationState::Failed);
                if failed {
                    tally.failed_last_operations += 1;
                }
            }
        }
        ("GET" | "PATCH", "/v3/service_instances/{guid}") => {
            drop(decode::cf_service_instance(body).map_err(e)?)
        }
        ("GET", "/v3/service_credential_bindings") => {
            drop(decode::cf_service_credential_bindings(body).map_err(e)?)
        }
        ("GET" | "PATCH", "/v3/service_credential_bindings/{guid}") => {
            drop(decode::cf_service_credential_binding(body).map_err(e)?)
        }
        ("GET", "/v3/service_credential_bindings/{guid}/details") => {
            let credentials = decode::cf_service_credential_binding_details(body).map_err(e)?;
            assert!(credentials.expose_json().starts_with('{'));
            assert_eq!(format!("{credentials:?}"), "Credentials([REDACTED])");
        }
        ("GET", "/v3/roles") => {
            for role in decode::cf_roles(body).map_err(e)? {
                assert!(
                    role.organization_guid.is_some() != role.space_guid.is_some(),
                    "a role is an org role or a space role: {role:?}"
                );
                tally.roles += 1;
            }
        }
        ("POST", "/v3/roles") | ("GET", "/v3/roles/{guid}") => {
            let role = decode::cf_role(body).map_err(e)?;
            assert!(!role.user_guid.is_empty(), "{role:?}");
            tally.roles += 1;
        }
        ("GET", "/v3/users")
        | ("GET", "/v3/organizations/{guid}/users")
        | ("GET", "/v3/spaces/{guid}/users") => {
            for user in decode::cf_users(body).map_err(e)? {
                assert!(user.username.is_some() && user.origin.is_some(), "{user:?}");
            }
        }
        ("GET", "/v3/jobs/{guid}") => {
            let job = decode::cf_job(body).map_err(e)?;
            if job.state == calm_btp::cf::JobState::Failed {
                assert!(!job.errors.is_empty(), "a failed job without errors");
                tally.failed_jobs += 1;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

#[test]
fn every_recorded_cf_body_decodes() {
    let mut tally = Tally::default();
    for (file, cassette) in cassettes("cf-terraform") {
        for (index, interaction) in cassette.interactions.iter().enumerate() {
            let where_ = format!("{file} #{index}");
            let request = &interaction.request;
            let response = &interaction.response;
            let path = shape(&request.url);
            let api = if path == "/oauth/token" {
                Api::Uaa
            } else {
                Api::CloudFoundry
            };
            if response.code >= 400 {
                check_error(api, &response.body, &where_, &mut tally);
                continue;
            }
            if response.body.trim().is_empty() {
                tally.empty += 1;
                continue;
            }
            match decode_cf(&request.method, &path, response.body.as_bytes(), &mut tally) {
                Ok(true) => tally.decoded += 1,
                Ok(false) => tally.out_of_scope += 1,
                Err(message) => panic!("{where_}: {} {path}: {message}", request.method),
            }
        }
    }
    // Out of scope: apps, app and space features, isolation segments, service brokers.
    println!("CF cassettes: {tally:?}");
    assert!(tally.decoded >= 150, "{tally:?}");
    assert!(tally.failed_jobs >= 1, "no failed job seen");
    assert!(tally.roles >= 40, "roles decoded: {tally:?}");
    assert!(
        tally.failed_last_operations >= 1,
        "no failed last operation seen"
    );
    for code in [10008, 10010, 120004, 90007, 10001] {
        assert!(
            tally.cf_codes.contains(&code),
            "CF error code {code} not seen"
        );
    }
}

fn decode_btp(command: &str, backend_status: u16, body: &[u8]) -> Result<bool, String> {
    let e = |e: calm_btp::Error| e.to_string();
    // The CLI server relays SM lists as bare arrays (REST wraps them in `items`): decode each.
    let each = |decode: &dyn Fn(&[u8]) -> Result<(), String>| -> Result<(), String> {
        let items: Vec<serde_json::Value> =
            serde_json::from_slice(body).map_err(|e| e.to_string())?;
        for item in items {
            decode(&serde_json::to_vec(&item).map_err(|e| e.to_string())?)?;
        }
        Ok(())
    };
    match command {
        "accounts/subaccount?list" => {
            assert!(!decode::subaccounts(body).map_err(e)?.is_empty());
        }
        "accounts/subaccount?get" => drop(decode::subaccount(body).map_err(e)?),
        "accounts/label?list" => drop(decode::subaccount_labels(body).map_err(e)?),
        "accounts/entitlement?list" => {
            let assignments = decode::entitlement_assignments(body).map_err(e)?;
            assert!(!assignments.entitled_services.is_empty());
        }
        "accounts/entitlement?assign" => {
            assert!(decode::entitlement_job_id(body).is_some(), "no job id");
        }
        "services/offering?get" => drop(decode::sm_offering(body).map_err(e)?),
        "services/plan?get" => drop(decode::sm_plan(body).map_err(e)?),
        "services/plan?list" => each(&|item| decode::sm_plan(item).map(drop).map_err(e))?,
        "services/instance?list" => {
            each(&|item| decode::sm_service_instance(item).map(drop).map_err(e))?
        }
        "services/instance?get" | "services/instance?create" if backend_status != 202 => {
            let instance = decode::sm_service_instance(body).map_err(e)?;
            if instance
                .last_operation
                .as_ref()
                .is_some_and(|op| op.state.is_pending())
            {
                assert!(!instance.ready);
            }
        }
        "services/binding?get" | "services/binding?create" => {
            let binding = decode::sm_service_binding(body).map_err(e)?;
            assert!(!format!("{binding:?}").contains("client_secret\":\"redacted"));
        }
        // `{}` answers to deletes.
        "services/instance?delete" | "services/binding?delete" => {
            let value: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| e.to_string())?;
            assert!(value.as_object().is_some_and(|o| o.is_empty()));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

#[test]
fn every_recorded_btp_body_decodes_as_the_backend_object() {
    let mut tally = Tally::default();
    for (file, cassette) in cassettes("btp-cli-terraform") {
        for (index, interaction) in cassette.interactions.iter().enumerate() {
            let where_ = format!("{file} #{index}");
            let response = &interaction.response;
            let url = &interaction.request.url;
            let command = url.split_once("/command/").map(|(_, rest)| {
                let (path, verb) = rest.split_once('?').unwrap_or((rest, ""));
                let object = path.split_once('/').map_or(path, |(_, object)| object);
                format!("{object}?{verb}")
            });
            let Some(command) = command else {
                // `POST /login/…` belongs to the CLI server protocol, not to any backend API.
                tally.out_of_scope += 1;
                continue;
            };
            let backend_status = response
                .headers
                .get("X-Cpcli-Backend-Status")
                .and_then(|v| v.first())
                .and_then(|v| v.parse().ok())
                .unwrap_or(response.code);
            let api = if command.starts_with("services/") {
                Api::ServiceManager
            } else {
                Api::Accounts
            };
            if backend_status >= 400 {
                check_error(api, &response.body, &where_, &mut tally);
                continue;
            }
            if response.body.trim().is_empty() {
                tally.empty += 1;
                continue;
            }
            match decode_btp(&command, backend_status, response.body.as_bytes()) {
                Ok(true) => tally.decoded += 1,
                Ok(false) => tally.out_of_scope += 1,
                Err(message) => panic!("{where_}: {command}: {message}"),
            }
        }
    }
    // Out of scope: the CLI server's own login, `global-account?get`, and the CLI server's own
    // `{id, command, description}` answer to asynchronous creates/updates.
    println!("BTP cassettes: {tally:?}");
    assert!(tally.decoded >= 100, "{tally:?}");
    assert!(tally.errors >= 5, "{tally:?}");
}

#[test]
fn truncated_bodies_are_errors_not_panics() {
    let mut checked = 0;
    for (_, cassette) in cassettes("cf-terraform")
        .into_iter()
        .chain(cassettes("btp-cli-terraform"))
    {
        for interaction in cassette.interactions.iter().take(6) {
            let body = interaction.response.body.as_bytes();
            for cut in [
                1,
                body.len() / 3,
                body.len() / 2,
                body.len().saturating_sub(1),
            ] {
                let part = &body[..cut.min(body.len())];
                let complete = body.trim_ascii_end().len();
                if cut < complete {
                    // A JSON document cut short is never valid; it must be an error with the
                    // first bytes kept, never a panic.
                    assert!(decode::cf_job(part).is_err());
                }
                let _ = decode::cf_service_instance(part);
                let _ = decode::subaccounts(part);
                let _ = decode::sm_service_instance(part);
                let _ = decode::error_body(Api::CloudFoundry, part);
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
}
