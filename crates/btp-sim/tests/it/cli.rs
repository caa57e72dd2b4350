//! The command-line contract: `btp-sim --from-config examples/quickstart.yaml` prints the URL, one
//! export per referenced credential and `# btp-sim ready`, and the printed cis key logs in.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::Reply;

#[tokio::test]
async fn from_config_prints_the_contract_and_the_cis_key_works() {
    let config =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_btp-sim"))
        .args(["--from-config"])
        .arg(&config)
        .args(["--seed", "9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line == "# btp-sim ready";
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .unwrap_or_default();
    let value = |name: &str| -> Option<String> {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("export {name}=")))?;
        let raw = line.split_once('=')?.1;
        Some(raw.trim_matches('\'').replace(r"'\''", "'"))
    };
    assert_eq!(
        lines.last().map(String::as_str),
        Some("# btp-sim ready"),
        "{lines:?}"
    );
    let url = value("CALMCTL_API_URL").unwrap_or_default();
    assert!(url.starts_with("http://127.0.0.1:"), "{lines:?}");
    assert_eq!(value("BTP_USERNAME").as_deref(), Some("admin"));
    assert_eq!(value("BTP_PASSWORD").as_deref(), Some("admin"));
    let key: serde_json::Value =
        serde_json::from_str(&value("ACME_CIS_KEY").unwrap_or_default()).unwrap_or_default();
    assert_eq!(key["endpoints"]["accounts_service_url"], url.as_str());
    assert_eq!(key["uaa"]["url"], url.as_str());

    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{url}/oauth/token"))
        .basic_auth(
            key["uaa"]["clientid"].as_str().unwrap_or_default(),
            key["uaa"]["clientsecret"].as_str(),
        )
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let access = token["access_token"].as_str().unwrap_or_default();
    let response = http
        .get(format!("{url}/accounts/v1/subaccounts"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reply = Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.json().await.unwrap_or_default(),
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(reply.status, 200);
    let subdomains: Vec<&str> = reply.body["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|s| s["subdomain"].as_str()).collect())
        .unwrap_or_default();
    assert!(subdomains.contains(&"acme-prod"), "{subdomains:?}");
    let guids: Vec<&str> = reply.body["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|s| s["guid"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        guids.contains(&"6c3e5d1a-0f7e-4d5e-9a43-1b2c3d4e5f60"),
        "a subaccount given as GUID keeps it: {guids:?}"
    );
}
