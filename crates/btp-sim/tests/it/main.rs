//! btp-sim integration tests: one binary (link time matters on 2 cores).
#![allow(missing_docs)]

mod btp_shapes;
mod cassette;
mod cis;
mod cli;
mod faults;
mod flows;
mod garbage;
mod generated;
mod labels;
mod landscapes;
mod python;
mod replay;
mod roles;
mod seed;
mod seed_roles;
mod seed_world;
mod tokens;

use btp_sim::world::RoleType;
use btp_sim::{JobTimings, Sim, SimHandle, World};
use serde_json::Value;

/// A small HTTP helper around a running simulator.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Api {
    pub fn new(sim: &SimHandle) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: sim.url().to_owned(),
        }
    }

    /// Password grant with client `cf` (Basic `Y2Y6`).
    pub async fn login(&self, user: &str, password: &str) -> String {
        let reply = self
            .form(
                "/oauth/token",
                Some("Basic Y2Y6"),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "login failed: {}", reply.body);
        reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Password grant through the default Cloud Management key (plan `central`, grant type
    /// `user_token`) of a global account: the token the Accounts and Entitlements APIs take.
    pub async fn cis_login(&self, sim: &SimHandle, global_account: &str, user: &str) -> String {
        let key = sim
            .cis_key(global_account)
            .unwrap_or_else(|| panic!("no global account {global_account}"));
        let basic = format!(
            "Basic {}",
            crate::flows::base64_encode(&format!(
                "{}:{}",
                key["uaa"]["clientid"].as_str().unwrap_or_default(),
                key["uaa"]["clientsecret"].as_str().unwrap_or_default()
            ))
        );
        let reply = self
            .form(
                "/oauth/token",
                Some(&basic),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", user),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "cis login failed: {}", reply.body);
        reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The subaccount's Service Manager access binding (created with the Cloud Management token
    /// `cis`) and a client-credentials token of it.
    pub async fn sm_login(&self, cis: &str, sub: &str) -> String {
        let access = self
            .call(
                "POST",
                &format!("/accounts/v1/subaccounts/{sub}/serviceManagementBinding"),
                cis,
                None,
            )
            .await
            .body;
        let basic = format!(
            "Basic {}",
            crate::flows::base64_encode(&format!(
                "{}:{}",
                access["clientid"].as_str().unwrap_or_default(),
                access["clientsecret"].as_str().unwrap_or_default()
            ))
        );
        self.form(
            "/oauth/token",
            Some(&basic),
            &[("grant_type", "client_credentials")],
        )
        .await
        .body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn form(&self, path: &str, auth: Option<&str>, form: &[(&str, &str)]) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        Self::finish(request).await
    }

    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::finish(request).await
    }

    async fn finish(request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Poll a CF job until it is COMPLETE or FAILED.
    pub async fn wait_job(&self, location: &str, token: &str) -> Value {
        for _ in 0..200 {
            let job = self.call("GET", location, token, None).await.body;
            if job["state"] == "COMPLETE" || job["state"] == "FAILED" {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("job {location} did not finish");
    }
}

/// A world with one global account, one subaccount with a CF org, and `admin`, Org Manager of
/// the org and nothing more (what BTP gives the user who enables Cloud Foundry).
pub fn small_world() -> (World, String, String) {
    let mut world = World::new(1);
    world.add_user("admin", "admin");
    let ga = world.add_global_account("ga-one", "eu10");
    world.add_quota(&ga, "SAPCloudALMAPIs", "standard", Some(10));
    let sub = world.add_subaccount(&ga, "tenant-one", "eu10", None);
    let org = world.add_org("org-one", Some(&sub));
    world.add_role("admin", RoleType::OrganizationManager, &org);
    (world, sub, org)
}

pub async fn start(world: World) -> SimHandle {
    Sim::from_world(world)
        .jobs(JobTimings {
            processing_ms: 20,
            polling_ms: 60,
            entitlement_ms: 50,
        })
        .start()
        .await
        .unwrap_or_else(|e| panic!("start: {e}"))
}
