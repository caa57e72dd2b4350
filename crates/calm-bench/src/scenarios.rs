//! The scenarios and the table they print.

use std::path::PathBuf;

use btp_sim::{JobTimings, StatsSnapshot};

use crate::landscape::Landscape;
use crate::{generate, measure};

/// Every scenario, in the order they run.
pub const ALL: &[&str] = &[
    "validate",
    "validate-duplicates",
    "plan-fresh",
    "plan-converged",
    "plan-converged-cf",
    "apply-fresh",
    "apply-noop",
];

/// Concurrency calm-engine uses for per-subaccount Service Manager reads.
const SM_READ_CONCURRENCY: f64 = 16.0;

/// Shared settings of a run.
pub struct Bench {
    pub calmctl: PathBuf,
    pub work: PathBuf,
    pub quick: bool,
    /// Overrides every scenario's size.
    pub tenants: Option<usize>,
    /// Print requests per route to stderr.
    pub routes: bool,
}

/// One line of the table.
#[derive(Clone)]
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
            "| {} | {} | {} | {} | {} | {} | {:.2} s | {} | {} | {} | {} | {} |",
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
            // In-process rows (the baseline) have no RSS of their own.
            if self.max_rss_kb < 0 {
                "–".to_owned()
            } else {
                format!("{:.1} MB", self.max_rss_kb as f64 / 1024.0)
            },
            opt(self.throttled.map(|t| t.to_string())),
            self.result,
        )
    }
}

impl Bench {
    pub async fn run(&self, scenario: &str) -> Result<Vec<Row>, String> {
        match scenario {
            "validate" => Ok(vec![self.validate(self.size(50, 10_000)).await?]),
            "validate-duplicates" => Ok(vec![
                self.validate_duplicates(self.size(5_000, 100_000)).await?,
            ]),
            "plan-fresh" => Ok(vec![self.plan_fresh(self.size(50, 1_000)).await?]),
            "plan-converged" => {
                let sizes: Vec<usize> = match (self.tenants, self.quick) {
                    (Some(n), _) => vec![n],
                    (None, true) => vec![50],
                    (None, false) => vec![1_000, 10_000],
                };
                let mut rows = Vec::new();
                for n in sizes {
                    rows.push(
                        self.converged("plan-converged", n, true, &["plan"])
                            .await?
                            .0,
                    );
                }
                Ok(rows)
            }
            "plan-converged-cf" => {
                let n = self.size(50, 1_000);
                let (row, l) = self
                    .converged("plan-converged-cf", n, false, &["plan"])
                    .await?;
                let before = l.sim.stats();
                let wall_secs = crate::baseline::read(&l.sim, &l.desired).await?;
                let after = l.sim.stats();
                let baseline = Row {
                    scenario: "baseline (per-resource, 8 parallel)".into(),
                    requests: Some(after.total - before.total),
                    peak_concurrency: Some(after.peak_concurrency),
                    wall_secs,
                    max_rss_kb: -1,
                    throttled: Some(after.throttled - before.throttled),
                    result: format!(
                        "baseline time / calmctl time = {:.1}",
                        wall_secs / row.wall_secs
                    ),
                    ..row.clone()
                };
                Ok(vec![row, baseline])
            }
            "apply-noop" => {
                let n = self.size(50, 1_000);
                let args = ["apply", "--auto-approve", "--no-progress", "--no-verify"];
                Ok(vec![self.converged("apply-noop", n, true, &args).await?.0])
            }
            "apply-fresh" => Ok(vec![self.apply_fresh(self.size(50, 1_000)).await?]),
            other => Err(format!(
                "unknown scenario `{other}` (known: {})",
                ALL.join(", ")
            )),
        }
    }

    /// A scenario's size: `--tenants`, else the quick or the full one.
    fn size(&self, quick: usize, full: usize) -> usize {
        self.tenants
            .unwrap_or(if self.quick { quick } else { full })
    }

    /// With `--routes`, prints where and when the requests between two snapshots went.
    fn print_routes(&self, scenario: &str, before: &StatsSnapshot, after: &StatsSnapshot) {
        if self.routes {
            crate::routes::print(scenario, before, after);
        }
    }

    fn latency_ms(&self) -> u64 {
        if self.quick { 5 } else { 50 }
    }

    /// `calmctl validate -f PATH`, measured.
    async fn run_validate(&self, path: &std::path::Path) -> Result<measure::Run, String> {
        let args = vec![
            self.calmctl.display().to_string(),
            "validate".into(),
            "-f".into(),
            path.display().to_string(),
        ];
        let dir = self.work.clone();
        tokio::task::spawn_blocking(move || measure::run(&args, &[], &dir))
            .await
            .map_err(|e| e.to_string())?
    }

    /// `calmctl validate` of N tenants across 3 regions, no network.
    async fn validate(&self, tenants: usize) -> Result<Row, String> {
        let regions = 3;
        let path = self.work.join(format!("validate-{tenants}.yaml"));
        std::fs::write(&path, generate::config(tenants, regions)).map_err(|e| e.to_string())?;
        let run = self.run_validate(&path).await?;
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

    /// `calmctl validate` of N tenants of which 16% repeat an earlier tenant (an inventory exported
    /// twice): it must say so quickly, once per name, in a bounded output.
    async fn validate_duplicates(&self, tenants: usize) -> Result<Row, String> {
        let regions = 3;
        let duplicates = tenants * 16 / 100;
        let path = self
            .work
            .join(format!("validate-duplicates-{tenants}.yaml"));
        let yaml = generate::config_with_duplicates(tenants, regions, duplicates);
        std::fs::write(&path, yaml).map_err(|e| e.to_string())?;
        let run = self.run_validate(&path).await?;
        Ok(Row {
            scenario: "validate-duplicates".into(),
            tenants,
            regions,
            requests: None,
            peak_concurrency: None,
            wall_secs: run.wall_secs,
            lower_bound_secs: None,
            max_rss_kb: run.max_rss_kb,
            throttled: None,
            result: if run.exit_code == 1 {
                format!(
                    "{duplicates} duplicates refused, {:.1} KB of diagnostics",
                    run.stderr_bytes as f64 / 1024.0
                )
            } else {
                format!("FAILED (exit {}, duplicates not refused)", run.exit_code)
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
        let dir = self.work.clone();
        let run = tokio::task::spawn_blocking(move || measure::run(&args, &env, &dir))
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
            // A fresh subaccount has no Service Manager binding: one round finds that out.
            lower_bound_secs: Some(plan_lower_bound(sm_tenants, latency, 1.0)),
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

impl Bench {
    fn command(&self, config: &std::path::Path, args: &[&str]) -> Vec<String> {
        let mut out = vec![self.calmctl.display().to_string()];
        out.extend(args.iter().map(|a| (*a).to_owned()));
        out.extend(["-f".to_owned(), config.display().to_string()]);
        out
    }

    /// Runs a command on a landscape that a first apply (no latency, instant jobs) converged.
    async fn converged(
        &self,
        scenario: &str,
        tenants: usize,
        mixed: bool,
        args: &[&str],
    ) -> Result<(Row, Landscape), String> {
        let regions = 3;
        let yaml = generate::config_with(tenants, regions, mixed);
        let l = Landscape::start(&self.work, scenario, &yaml, 0, JobTimings::instant()).await?;
        let converge = self.command(
            &l.config,
            &[
                "apply",
                "--auto-approve",
                "--no-progress",
                "--no-verify",
                "--parallelism",
                "64",
            ],
        );
        let env = l.env.clone();
        let dir = self.work.clone();
        let first = tokio::task::spawn_blocking(move || measure::run(&converge, &env, &dir))
            .await
            .map_err(|e| e.to_string())??;
        if first.exit_code != 0 {
            return Err(format!("the converging apply exited {}", first.exit_code));
        }
        let latency = self.latency_ms();
        l.sim.update_settings(|s| s.latency_ms = latency);
        let before = l.sim.stats();
        let command = self.command(&l.config, args);
        let env = l.env.clone();
        let dir = self.work.clone();
        let run = tokio::task::spawn_blocking(move || measure::run(&command, &env, &dir))
            .await
            .map_err(|e| e.to_string())??;
        let after = l.sim.stats();
        self.print_routes(scenario, &before, &after);
        let sm_tenants = l
            .desired
            .tenants
            .iter()
            .filter(|t| t.runtime == calm_core::Runtime::ServiceManager)
            .count();
        let writes: u64 = after
            .routes
            .iter()
            .filter(|(route, _)| !route.starts_with("GET") && !route.contains("/oauth/token"))
            .map(|(route, n)| n - before.routes.get(route).copied().unwrap_or(0))
            .sum();
        let row = Row {
            scenario: scenario.into(),
            tenants,
            regions,
            requests: Some(after.total - before.total),
            peak_concurrency: Some(after.peak_concurrency),
            wall_secs: run.wall_secs,
            lower_bound_secs: Some(plan_lower_bound(sm_tenants, latency, 4.0)),
            max_rss_kb: run.max_rss_kb,
            throttled: Some(after.throttled - before.throttled),
            result: format!("exit {}, {writes} writes", run.exit_code),
        };
        Ok((row, l))
    }

    /// A first apply of N tenants, both runtimes, 2 s jobs, 100 requests/s per API.
    async fn apply_fresh(&self, tenants: usize) -> Result<Row, String> {
        let regions = 3;
        let latency = self.latency_ms();
        let job_ms = if self.quick { 200 } else { 2_000 };
        let jobs = JobTimings {
            processing_ms: job_ms / 4,
            polling_ms: job_ms * 3 / 4,
            entitlement_ms: job_ms,
        };
        let yaml = generate::config(tenants, regions);
        let l = Landscape::start(&self.work, "apply-fresh", &yaml, latency, jobs).await?;
        let limit = Some(btp_sim::Limit {
            requests: 100,
            window_secs: 1,
        });
        l.sim.update_settings(|s| {
            s.rate_limits = btp_sim::RateLimits {
                uaa: limit.clone(),
                cf: limit.clone(),
                accounts: limit.clone(),
                entitlements: limit.clone(),
                service_manager: limit.clone(),
            };
        });
        let before = l.sim.stats();
        let parallelism: usize = if self.quick { 8 } else { 256 };
        let parallelism_arg = parallelism.to_string();
        let command = self.command(
            &l.config,
            &[
                "apply",
                "--auto-approve",
                "--no-progress",
                "--parallelism",
                &parallelism_arg,
            ],
        );
        let env = l.env.clone();
        let dir = self.work.clone();
        let run = tokio::task::spawn_blocking(move || measure::run(&command, &env, &dir))
            .await
            .map_err(|e| e.to_string())??;
        let after = l.sim.stats();
        self.print_routes("apply-fresh", &before, &after);
        let requests = after.total - before.total;
        // Lower bound, the larger of: the whole run's dependency chain (the entitlement job, then
        // one tenant's path); tenants divided by parallelism times one tenant's path (an instance
        // job and a key or binding job, about 10 round trips); the busiest API's requests at
        // its limit of 100/s.
        let job = job_ms as f64 / 1000.0;
        let tenant_path = 2.0 * job + 10.0 * latency as f64 / 1000.0;
        let chain = job + tenant_path;
        let waves = (tenants as f64 / parallelism as f64).ceil() * tenant_path;
        let busiest = after.routes.iter().fold(
            std::collections::BTreeMap::<&str, u64>::new(),
            |mut m, (route, n)| {
                let api = api_of(route);
                *m.entry(api).or_default() += n - before.routes.get(route).copied().unwrap_or(0);
                m
            },
        );
        let by_rate = busiest.values().copied().max().unwrap_or(0) as f64 / 100.0;
        let bound = chain.max(waves).max(by_rate);
        Ok(Row {
            scenario: "apply-fresh".into(),
            tenants,
            regions,
            requests: Some(requests),
            peak_concurrency: Some(after.peak_concurrency),
            wall_secs: run.wall_secs,
            lower_bound_secs: Some(bound),
            max_rss_kb: run.max_rss_kb,
            throttled: Some(after.throttled - before.throttled),
            result: if run.exit_code == 0 {
                "all converged".into()
            } else {
                format!("FAILED (exit {})", run.exit_code)
            },
        })
    }
}

/// Which API a route of the simulator's statistics belongs to.
fn api_of(route: &str) -> &'static str {
    if route.contains("/oauth/token") {
        "uaa"
    } else if route.contains("/v3/") || route.ends_with(" /") {
        "cf"
    } else if route.contains("/accounts/") || route.contains("/provisioning/") {
        "accounts"
    } else if route.contains("/entitlements/") || route.contains("/jobs-management/") {
        "entitlements"
    } else {
        "service_manager"
    }
}

/// The lower bound of a plan: the longest chain of dependent requests. Accounts: token, then
/// subaccounts and assignments together (2 rounds); CF per region: root, token, then orgs,
/// spaces, instances, keys (6 rounds); Service Manager per tenant: binding, token, instances,
/// bindings (`sm_rounds`: 4 when converged, 1 when there is no binding yet), for
/// `sm_tenants / concurrency` tenants in a row.
fn plan_lower_bound(sm_tenants: usize, latency_ms: u64, sm_rounds: f64) -> f64 {
    let latency = latency_ms as f64 / 1000.0;
    let chain = (2.0 + 6.0) * latency;
    let sm = (sm_tenants as f64 / SM_READ_CONCURRENCY).ceil() * sm_rounds * latency;
    chain.max(2.0 * latency + sm)
}
