//! The scenarios and the table they print.

use std::path::PathBuf;

use btp_sim::JobTimings;

use crate::landscape::Landscape;
use crate::{generate, measure};

/// Every scenario, in the order they run.
pub const ALL: &[&str] = &["validate", "plan-fresh"];

/// Concurrency calm-engine uses for per-subaccount Service Manager reads.
const SM_READ_CONCURRENCY: f64 = 16.0;

/// Shared settings of a run.
pub struct Bench {
    pub calmctl: PathBuf,
    pub work: PathBuf,
    pub quick: bool,
}

/// One line of the table.
pub struct Row {
    pub scenario: String,
    pub tenants: usize,
    pub regions: usize,
    pub requests: Option<u64>,
    pub peak_concurrency: Option<usize>,
    pub wall_secs: f64,
    pub lower_bound_secs: Option<f64>,
    pub max_rss_kb: i64,
    pub throttled: Option<u64>,
    pub result: String,
}

impl Row {
    pub fn header() -> String {
        "| scenario | tenants | regions | requests | per tenant | peak concurrent | wall time | lower bound | ratio | peak RSS | 429s | result |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|".to_owned()
    }

    pub fn line(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "–".into());
        format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} s | {} | {} | {:.1} MB | {} | {} |",
            self.scenario,
            self.tenants,
            self.regions,
            opt(self.requests.map(|r| r.to_string())),
            opt(self
                .requests
                .map(|r| format!("{:.3}", r as f64 / self.tenants.max(1) as f64))),
            opt(self.peak_concurrency.map(|p| p.to_string())),
            self.wall_secs,
            opt(self.lower_bound_secs.map(|b| format!("{b:.2} s"))),
            opt(self
                .lower_bound_secs
                .map(|b| format!("{:.2}×", self.wall_secs / b.max(1e-9)))),
            self.max_rss_kb as f64 / 1024.0,
            opt(self.throttled.map(|t| t.to_string())),
            self.result,
        )
    }
}

impl Bench {
    pub async fn run(&self, scenario: &str) -> Result<Vec<Row>, String> {
        match scenario {
            "validate" => Ok(vec![
                self.validate(if self.quick { 50 } else { 10_000 }).await?,
            ]),
            "plan-fresh" => Ok(vec![
                self.plan_fresh(if self.quick { 50 } else { 1_000 }).await?,
            ]),
            other => Err(format!(
                "unknown scenario `{other}` (known: {})",
                ALL.join(", ")
            )),
        }
    }

    fn latency_ms(&self) -> u64 {
        if self.quick { 5 } else { 50 }
    }

    /// `calmctl validate` of N tenants across 3 regions, no network.
    async fn validate(&self, tenants: usize) -> Result<Row, String> {
        let regions = 3;
        let path = self.work.join(format!("validate-{tenants}.yaml"));
        std::fs::write(&path, generate::config(tenants, regions)).map_err(|e| e.to_string())?;
        let args = vec![
            self.calmctl.display().to_string(),
            "validate".into(),
            "-f".into(),
            path.display().to_string(),
        ];
        let run = tokio::task::spawn_blocking(move || measure::run(&args, &[]))
            .await
            .map_err(|e| e.to_string())??;
        Ok(Row {
            scenario: "validate".into(),
            tenants,
            regions,
            requests: None,
            peak_concurrency: None,
            wall_secs: run.wall_secs,
            lower_bound_secs: None,
            max_rss_kb: run.max_rss_kb,
            throttled: None,
            result: if run.exit_code == 0 {
                "valid".into()
            } else {
                format!("FAILED (exit {})", run.exit_code)
            },
        })
    }

    /// `calmctl plan` of N tenants (both runtimes) where nothing exists yet.
    async fn plan_fresh(&self, tenants: usize) -> Result<Row, String> {
        let regions = 3;
        let latency = self.latency_ms();
        let l = Landscape::start(
            &self.work,
            "plan-fresh",
            &generate::config(tenants, regions),
            latency,
            JobTimings::default(),
        )
        .await?;
        let before = l.requests();
        let args = vec![
            self.calmctl.display().to_string(),
            "plan".into(),
            "-f".into(),
            l.config.display().to_string(),
        ];
        let env = l.env.clone();
        let run = tokio::task::spawn_blocking(move || measure::run(&args, &env))
            .await
            .map_err(|e| e.to_string())??;
        let stats = l.sim.stats();
        let sm_tenants = l
            .desired
            .tenants
            .iter()
            .filter(|t| t.runtime == calm_core::Runtime::ServiceManager)
            .count();
        Ok(Row {
            scenario: "plan-fresh".into(),
            tenants,
            regions,
            requests: Some(stats.total - before),
            peak_concurrency: Some(stats.peak_concurrency),
            wall_secs: run.wall_secs,
            lower_bound_secs: Some(plan_lower_bound(sm_tenants, latency)),
            max_rss_kb: run.max_rss_kb,
            throttled: Some(stats.throttled),
            result: match run.exit_code {
                2 => "changes (exit 2)".into(),
                0 => "no changes (exit 0)".into(),
                code => format!("FAILED (exit {code})"),
            },
        })
    }
}

/// The lower bound of a plan: the longest chain of dependent requests. Accounts: token, then
/// subaccounts and assignments together (2 rounds); CF per region: root, token, then orgs,
/// spaces, instances, keys (6 rounds); Service Manager per tenant: binding, token, instances,
/// bindings (4 rounds), for `sm_tenants / concurrency` tenants in a row.
fn plan_lower_bound(sm_tenants: usize, latency_ms: u64) -> f64 {
    let latency = latency_ms as f64 / 1000.0;
    let chain = (2.0 + 6.0) * latency;
    let sm = (sm_tenants as f64 / SM_READ_CONCURRENCY).ceil() * 4.0 * latency;
    chain.max(2.0 * latency + sm)
}
