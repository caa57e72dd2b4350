//! The GitHub Action (`action.yml`, scripts in `action/`): its shell steps run as the runner
//! runs them, in order, against btp-sim with the example's calm.yaml (a client-credentials
//! Cloud Management key, Cloud Foundry through the job's OIDC token), and against a stand-in for
//! the GitHub API on loopback that keeps comments and answers the run and OIDC look-ups.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use calm_test::{Landscape, root};

const TOKEN: &str = "gh-test-token";
const REPO: &str = "acme/infra";
const HEAD: &str = "1111111111111111111111111111111111111111";
const MERGE: &str = "2222222222222222222222222222222222222222";

/// What the stand-in holds: pull request 7's comments in creation order, and every request.
#[derive(Default)]
struct GitHub {
    comments: Vec<(u64, String)>,
    next_id: u64,
    requests: Vec<String>,
    assertion: String,
}

/// A GitHub API stand-in: one thread, one request per connection (curl's way across calls).
fn serve(state: Arc<Mutex<GitHub>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut headers = BTreeMap::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let target = parts.next().unwrap_or("").to_owned();
            let (status, answer) = route(
                &state,
                &method,
                &target,
                headers.get("authorization").map(String::as_str),
                &body,
            );
            let text = answer.map(|a| a.to_string()).unwrap_or_default();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    url
}

fn route(
    state: &Mutex<GitHub>,
    method: &str,
    target: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> (u16, Option<Value>) {
    let mut gh = state.lock().unwrap();
    gh.requests.push(format!("{method} {target}"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query: BTreeMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    if path == "/oidc" {
        if authorization != Some("bearer oidc-request-token")
            || query.get("audience") != Some(&"cf")
        {
            return (401, None);
        }
        return (200, Some(json!({ "value": gh.assertion })));
    }
    if authorization != Some(&format!("Bearer {TOKEN}")) {
        return (401, Some(json!({"message": "Bad credentials"})));
    }
    let comments = format!("/repos/{REPO}/issues/7/comments");
    let one = format!("/repos/{REPO}/issues/comments/");
    let text = || {
        serde_json::from_slice::<Value>(body).unwrap()["body"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    match method {
        "GET" if path == comments => {
            let per_page: usize = query["per_page"].parse().unwrap();
            let page: usize = query["page"].parse().unwrap();
            let list: Vec<Value> = gh
                .comments
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|(id, body)| json!({"id": id, "body": body}))
                .collect();
            (200, Some(Value::Array(list)))
        }
        "POST" if path == comments => {
            gh.next_id += 1;
            let id = gh.next_id;
            gh.comments.push((id, text()));
            (201, Some(json!({ "id": id })))
        }
        "PATCH" | "DELETE" if path.starts_with(&one) => {
            let id: u64 = path[one.len()..].parse().unwrap();
            let Some(i) = gh.comments.iter().position(|(c, _)| *c == id) else {
                return (404, None);
            };
            if method == "PATCH" {
                gh.comments[i].1 = text();
                (200, Some(json!({ "id": id })))
            } else {
                gh.comments.remove(i);
                (204, None)
            }
        }
        "GET"
            if path.starts_with(&format!("/repos/{REPO}/commits/")) && path.ends_with("/pulls") =>
        {
            // The merge commit came from pull request 7; other commits from none.
            let pulls = if path.contains(MERGE) {
                json!([{ "number": 7, "head": { "sha": HEAD } }])
            } else {
                json!([])
            };
            (200, Some(pulls))
        }
        "GET" if path == format!("/repos/{REPO}/actions/workflows/calmctl-plan.yml/runs") => {
            let found =
                query.get("head_sha") == Some(&HEAD) && query.get("status") == Some(&"success");
            let runs = if found {
                json!([{ "id": 4242 }])
            } else {
                json!([])
            };
            (200, Some(json!({ "workflow_runs": runs })))
        }
        _ => (404, Some(json!({"message": "Not Found"}))),
    }
}

/// A step of the action: its script, run by bash in the workspace as the runner runs it.
struct Step<'a> {
    l: &'a Landscape,
    env: Vec<(String, String)>,
    github_env: PathBuf,
}

impl Step<'_> {
    fn run(&self, script: &str, extra: &[(&str, &str)]) -> (i32, String, BTreeMap<String, String>) {
        let output_file = self.l.path("github-output");
        std::fs::write(&output_file, "").unwrap();
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(root().join("action").join(script))
            .current_dir(self.l.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", self.l.dir.path())
            .env("CI", "true")
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_ENV", &self.github_env);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        // What earlier steps put into $GITHUB_ENV, as the runner passes it on.
        for line in std::fs::read_to_string(&self.github_env).unwrap().lines() {
            if let Some((k, v)) = line.split_once('=') {
                cmd.env(k, v);
            }
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let outputs = std::fs::read_to_string(&output_file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (output.status.code().unwrap_or(-1), text, outputs)
    }
}

fn calmctl_comments(gh: &Mutex<GitHub>) -> Vec<(u64, String)> {
    gh.lock()
        .unwrap()
        .comments
        .iter()
        .filter(|(_, b)| b.starts_with("<!-- calmctl plan"))
        .cloned()
        .collect()
}

/// Every script `action.yml` runs exists, and every script here is run by `action.yml`.
fn scripts_of_action_yml() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let mut scripts: Vec<String> = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter_map(|r| r.split("$GITHUB_ACTION_PATH/action/").nth(1))
        .map(|r| r.trim_end_matches('"').to_owned())
        .collect();
    scripts.sort();
    let mut files: Vec<String> = std::fs::read_dir(root().join("action"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        scripts, files,
        "action.yml runs exactly the scripts in action/"
    );
    scripts
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("examples/github-actions").join(name)).unwrap()
}

#[test]
fn the_action_plans_comments_and_applies_the_example_against_btp_sim() {
    let scripts = scripts_of_action_yml();
    for script in [
        "oidc.sh",
        "plan.sh",
        "comment.sh",
        "find-plan.sh",
        "apply.sh",
    ] {
        assert!(scripts.iter().any(|s| s == script), "{script}");
    }
    for workflow in ["calmctl-plan.yml", "calmctl-apply.yml"] {
        let text = example(workflow);
        assert!(
            text.contains("uses: calmctl/calmctl@"),
            "{workflow} uses the action"
        );
        assert!(text.lines().count() < 40, "{workflow} is a few lines");
    }
    let config = example("calm.yaml");
    let l = Landscape::quick(&config);
    // The example's Cloud Management key is a client-credentials key, and btp-sim issues one.
    let cis: Value = serde_json::from_str(
        &l.env
            .iter()
            .find(|(k, _)| k == "CALM_CIS_KEY")
            .expect("the example's cis key")
            .1,
    )
    .unwrap();
    assert_eq!(cis["grant_type"], "client_credentials", "{cis}");
    std::fs::create_dir_all(l.path("scripts")).unwrap();
    let sink = l.path("scripts/store-in-vault.sh");
    std::fs::write(
        &sink,
        "#!/bin/sh\numask 077\nmkdir -p vault\ncat > \"vault/$CALMCTL_TENANT-$CALMCTL_KEY.json\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&sink, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let gh = Arc::new(Mutex::new(GitHub {
        assertion: l.sim.assertion_for("admin"),
        ..GitHub::default()
    }));
    {
        // 150 comments of people around three parts of an earlier calmctl plan: two pages.
        let mut g = gh.lock().unwrap();
        for i in 0..150u64 {
            let body = if [20, 120, 140].contains(&i) {
                format!(
                    "<!-- calmctl plan part {} of 3 -->\nold",
                    [20, 120, 140].iter().position(|x| *x == i).unwrap() + 1
                )
            } else {
                format!("looks good {i}")
            };
            g.comments.push((i + 1, body));
        }
        g.next_id = 150;
    }
    let api = serve(gh.clone());
    let github_env = l.path("github-env");
    std::fs::write(&github_env, "").unwrap();
    let calmctl = assert_cmd::cargo::cargo_bin("calmctl");
    let mut env: Vec<(String, String)> = l
        .env
        .iter()
        .filter(|(k, _)| k != "CALM_OIDC_TOKEN")
        .cloned()
        .collect();
    env.extend(
        [
            ("CALMCTL", calmctl.to_str().unwrap()),
            ("CALM_CONFIG", "calm.yaml"),
            ("PLAN_DIR", "calmctl-plan"),
            ("GITHUB_API_URL", api.as_str()),
            ("GITHUB_REPOSITORY", REPO),
            ("GITHUB_TOKEN", TOKEN),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let step = Step {
        l: &l,
        env,
        github_env: github_env.clone(),
    };

    // The OIDC step puts the job's token, masked, where calm.yaml looks for it.
    let oidc_url = format!("{api}/oidc?api-version=2.0");
    let (code, out, _) = step.run(
        "oidc.sh",
        &[
            ("OIDC_TOKEN_ENV", "CALM_OIDC_TOKEN"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &oidc_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "oidc-request-token"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let assertion = gh.lock().unwrap().assertion.clone();
    assert!(out.contains(&format!("::add-mask::{assertion}")), "{out}");
    assert_eq!(
        std::fs::read_to_string(&github_env).unwrap(),
        format!("CALM_OIDC_TOKEN={assertion}\n")
    );

    // Plan: changes, the saved plan and the comment parts.
    let (code, out, outputs) = step.run("plan.sh", &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(outputs["changes"], "true");
    assert_eq!(outputs["exit-code"], "2");
    assert!(l.path("calmctl-plan/plan.json").is_file());
    let part = std::fs::read_to_string(l.path("calmctl-plan/comment/plan-1.md")).unwrap();

    // The sticky comment: the first earlier part is edited, the others deleted, people's
    // comments untouched, over both pages.
    let (code, out, _) = step.run("comment.sh", &[("PR_NUMBER", "7")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(calmctl_comments(&gh), [(21, part.clone())]);
    assert_eq!(gh.lock().unwrap().comments.len(), 148);
    let (code, out, _) = step.run("comment.sh", &[("PR_NUMBER", "7")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        calmctl_comments(&gh),
        [(21, part.clone())],
        "edited again, not added"
    );
    gh.lock()
        .unwrap()
        .comments
        .retain(|(_, b)| !b.starts_with("<!-- calmctl"));
    let (code, out, _) = step.run("comment.sh", &[("PR_NUMBER", "7")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        calmctl_comments(&gh),
        [(151, part.clone())],
        "added when none was there"
    );
    let secrets = l.secrets();
    for (_, body) in &gh.lock().unwrap().comments {
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "a secret in a comment");
        }
    }

    // After merge: the reviewed plan's run, then the apply.
    let (code, out, outputs) = step.run(
        "find-plan.sh",
        &[
            ("GITHUB_SHA", MERGE),
            ("PLAN_WORKFLOW", "calmctl-plan.yml"),
            ("ARTIFACT", "calmctl-plan"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(outputs["run-id"], "4242");
    assert_eq!(outputs["artifact"], format!("calmctl-plan-{HEAD}"));
    let (code, out, _) = step.run("find-plan.sh", &[("GITHUB_SHA", HEAD)]);
    assert_eq!(
        code, 1,
        "a commit of no pull request has no reviewed plan: {out}"
    );

    let (code, out, _) = step.run("apply.sh", &[]);
    assert_eq!(code, 0, "{out}");
    for tenant in ["acme-prod", "acme-qa", "acme-dev"] {
        let file = l.path(&format!("vault/{tenant}-calm-key.json"));
        let key: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert!(key["uaa"]["clientsecret"].is_string(), "{tenant}");
    }
    let (code, out, outputs) = step.run("plan.sh", &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(outputs["changes"], "false", "applied: no changes left");
    assert_eq!(outputs["exit-code"], "0");

    // Failures fail the step.
    std::fs::remove_file(l.path("calmctl-plan/plan.json")).unwrap();
    let (code, out, _) = step.run("apply.sh", &[]);
    assert_eq!(code, 1);
    assert!(out.contains("::error::no reviewed plan"), "{out}");
    let (code, out, outputs) = step.run("plan.sh", &[("CALM_CONFIG", "missing.yaml")]);
    assert_eq!(code, 1);
    assert!(
        out.contains("::error::calmctl plan failed (exit 1)"),
        "{out}"
    );
    assert!(outputs.is_empty());
    let requests = gh.lock().unwrap().requests.clone();
    assert!(
        requests.iter().any(|r| r.contains("page=2")),
        "{requests:?}"
    );
}

/// The install step keys the binary cache by commit: a tag or branch is resolved to its commit,
/// a commit is taken as it is, and an unknown ref fails the step.
#[test]
fn the_install_step_resolves_the_ref_to_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            calm_test::stderr(&o)
        );
        calm_test::stdout(&o).trim().to_owned()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    git(&["tag", "v1"]);
    let v1 = git(&["rev-parse", "HEAD"]);
    git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    let main = git(&["rev-parse", "HEAD"]);
    let run = |reference: &str| {
        let out = dir.path().join("out");
        std::fs::write(&out, "").unwrap();
        let o = std::process::Command::new("bash")
            .arg(root().join("action/install.sh"))
            .env("CALMCTL_REPOSITORY", dir.path())
            .env("CALMCTL_REF", reference)
            .env("GITHUB_OUTPUT", &out)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            std::fs::read_to_string(&out).unwrap(),
        )
    };
    let (code, out) = run("v1");
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("rev={v1}\n")), "{out}");
    let (code, out) = run("main");
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("rev={main}\n")), "{out}");
    let (code, out) = run(&v1);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("rev={v1}\n")), "{out}");
    let (code, out) = run("v9");
    assert_eq!(code, 1);
    assert!(out.is_empty());
}
