//! Shared setup: a seeded simulator, a client configuration routed to it, an observer that
//! records events, and a small proxy that misbehaves in ways the simulator cannot (a connection
//! cut *after* the simulator processed a create, an HTML 502 page).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use btp_sim::world::RoleType;
use btp_sim::{Sim, SimHandle};
use calm_btp::auth::Grant;
use calm_btp::cf::CfClient;
use calm_btp::{Btp, ClientConfig, Event, Observer, RetryPolicy, SecretString};

/// The logical CF API URL; every request is routed to the simulator.
pub const CF_API: &str = "https://api.cf.eu10.hana.ondemand.com";
/// The Cloud ALM offering and plan (btp-api.md §5.1).
pub const OFFERING: &str = "SAPCloudALMAPIs";
pub const PLAN: &str = "standard";

/// Records every event the clients report.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<Event>>);

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

impl Recorder {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn rate_limited(&self) -> Vec<Duration> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::RateLimited { wait, .. } => Some(wait),
                _ => None,
            })
            .collect()
    }

    pub fn token_refreshes(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| matches!(e, Event::TokenRefreshed { .. }))
            .count()
    }
}

/// A simulator world with one global account, one entitled subaccount, its org and a space, in
/// which `admin` is Org Manager and Space Developer.
pub struct Landscape {
    pub sim: SimHandle,
    pub global_account: String,
    pub subaccount: String,
    pub org: String,
    pub space: String,
}

pub async fn landscape(configure: impl FnOnce(Sim) -> Sim) -> Landscape {
    let mut sim = Sim::new().seed(7);
    let world = sim.world_mut();
    let global_account = world.add_global_account("ga-test", "eu10");
    world.add_quota(&global_account, OFFERING, PLAN, None);
    let subaccount = world.add_subaccount(&global_account, "tenant-1", "eu10", None);
    world.entitle(&subaccount, OFFERING, PLAN, 1);
    let org = world.add_org("tenant-1-org", Some(&subaccount));
    let space = world.add_space(&org, "calm");
    // What the user who enabled Cloud Foundry has, plus the role instances and keys need.
    world.add_role(btp_sim::ADMIN_USER, RoleType::OrganizationManager, &org);
    world.add_role(btp_sim::ADMIN_USER, RoleType::SpaceDeveloper, &space);
    let sim = configure(sim).start().await.expect("the simulator starts");
    Landscape {
        sim,
        global_account,
        subaccount,
        org,
        space,
    }
}

/// Fast polling and short backoff, routed to `url`.
pub fn config(url: &str, recorder: &Arc<Recorder>) -> ClientConfig {
    ClientConfig {
        api_url: Some(url.parse().expect("simulator URL")),
        poll_first: Duration::ZERO,
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(200),
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        },
        observer: recorder.clone(),
        ..ClientConfig::default()
    }
}

pub fn admin() -> Grant {
    Grant::cf_password(
        btp_sim::ADMIN_USER,
        SecretString::from(btp_sim::ADMIN_PASSWORD),
        None,
    )
}

pub async fn cf_client(config: ClientConfig) -> (Btp, CfClient) {
    let btp = Btp::new(config).expect("client config is valid");
    let cf = btp
        .cloud_foundry(CF_API, admin())
        .await
        .expect("CF root discovery");
    (btp, cf)
}

/// How the proxy misbehaves.
#[derive(Clone, Copy, Debug)]
pub enum Mischief {
    /// Forward the first `POST <path>` to the simulator, then cut the connection.
    ResetAfterForward(&'static str),
    /// Cut the connection of the first `POST <path>` without forwarding it.
    ResetBeforeForward(&'static str),
    /// Answer the first `times` `GET <path>` with an HTML 502 page.
    Html502(&'static str, usize),
}

struct ProxyState {
    target: String,
    own: Mutex<String>,
    mischief: Mischief,
    hits: AtomicUsize,
    client: reqwest::Client,
}

/// A proxy in front of the simulator at `target`; returns its URL and the count of misdeeds.
pub async fn proxy(target: &str, mischief: Mischief) -> (String, Arc<ProxyCounter>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let own = format!("http://{}", listener.local_addr().expect("proxy address"));
    let state = Arc::new(ProxyState {
        target: target.to_owned(),
        own: Mutex::new(own.clone()),
        mischief,
        hits: AtomicUsize::new(0),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("proxy client"),
    });
    let counter = Arc::new(ProxyCounter(state.clone()));
    let app = axum::Router::new().fallback(forward).with_state(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (own, counter)
}

/// How often the proxy misbehaved.
pub struct ProxyCounter(Arc<ProxyState>);

impl ProxyCounter {
    pub fn hits(&self) -> usize {
        self.0.hits.load(Ordering::SeqCst)
    }
}

fn broken() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "proxy cut the connection",
        ))
    });
    Response::new(Body::from_stream(stream))
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    // Counts only the misdeeds: the first `times` matching requests.
    let first = |wanted: &str, times: usize| {
        path == wanted
            && state
                .hits
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < times).then_some(n + 1)
                })
                .is_ok()
    };
    match state.mischief {
        Mischief::ResetBeforeForward(p) if method == "POST" && first(p, 1) => return broken(),
        Mischief::Html502(p, times) if method == "GET" && first(p, times) => {
            let page = "<html><head><title>502 Bad Gateway</title></head>\
                        <body><h1>502 Bad Gateway</h1><p>gorouter</p></body></html>";
            let mut response = Response::new(Body::from(page));
            *response.status_mut() = axum::http::StatusCode::BAD_GATEWAY;
            response
                .headers_mut()
                .insert("content-type", "text/html".parse().expect("header"));
            return response;
        }
        _ => {}
    }
    let mut outgoing = state
        .client
        .request(method.clone(), format!("{}{path_and_query}", state.target));
    for name in ["authorization", "content-type", "accept"] {
        if let Some(value) = headers.get(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(answer) = outgoing.body(body.to_vec()).send().await else {
        return broken();
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let own = state.own.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let text = answer
        .text()
        .await
        .unwrap_or_default()
        .replace(&state.target, &own);
    if let Mischief::ResetAfterForward(p) = state.mischief
        && method == "POST"
        && first(p, 1)
    {
        return broken();
    }
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    for (name, value) in &answer_headers {
        if name == "content-length" || name == "transfer-encoding" {
            continue;
        }
        let value = value
            .to_str()
            .unwrap_or_default()
            .replace(&state.target, &own);
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name.clone(), value);
        }
    }
    response
}
