//! Progress of `apply`, drawn from the engine's [`Reporter`] events. Two faces:
//!
//! - [`Bars`] on a terminal: an overall bar (tenants done out of total, with ETA), one line per
//!   active tenant with its current step, and a line for the latest wait ("Cloud Foundry: rate
//!   limited on …, retrying in 4 s"), so that a long run never looks hung.
//! - [`Lines`] otherwise (CI logs, `--no-progress`): one timestamped line per finished step on
//!   stderr, plus rate-limit, retry and lease-wait notices. Job polling is left out: it would flood a log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use calm_engine::apply::{ApplyEvent, ClientEvent};
use calm_engine::{Reporter, TenantStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output;

/// `HH:MM:SS` (UTC) of now, for plain lines.
fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// "waiting for <holder>, which holds the lease of N subaccount(s) …".
fn lease_line(event: &ApplyEvent<'_>) -> String {
    let ApplyEvent::LeaseWaiting {
        holder,
        subaccounts,
        expires_in_secs,
        retry_in,
    } = event
    else {
        return String::new();
    };
    format!(
        "waiting for another calmctl run ({holder}), which holds the lease of {subaccounts} subaccount(s) for up to {expires_in_secs} s; looking again in {:.1} s",
        retry_in.as_secs_f64()
    )
}

const INTERRUPTED: &str = "interrupted: no new steps are started; waiting for the steps under way";

/// Plain, timestamped lines on stderr.
pub(crate) struct Lines;

impl Reporter for Lines {
    fn on_event(&self, event: &ApplyEvent<'_>) {
        let line = match event {
            ApplyEvent::Started { tenants } => format!("applying to {tenants} tenants"),
            ApplyEvent::StepFinished {
                tenant,
                step,
                error: None,
            } => format!("{tenant}: {step}: ok"),
            ApplyEvent::StepFinished {
                tenant,
                step,
                error: Some(e),
            } => format!("{tenant}: {step}: FAILED: {e}"),
            ApplyEvent::TenantFinished { tenant, status } => {
                format!("{tenant}: {}", status.as_str())
            }
            ApplyEvent::Client(
                e @ (ClientEvent::RateLimited { .. } | ClientEvent::Retrying { .. }),
            ) => e.to_string(),
            ApplyEvent::LeaseWaiting { .. } => lease_line(event),
            ApplyEvent::Interrupted => INTERRUPTED.to_owned(),
            _ => return,
        };
        output::stderr(&format!("{} {line}\n", clock()));
    }
}

/// Progress bars on a terminal.
pub(crate) struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    waits: ProgressBar,
    tenants: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    pub(crate) fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} tenants, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let waits = multi.add(ProgressBar::new_spinner());
        waits.set_style(
            ProgressStyle::with_template("  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Bars {
            multi,
            overall,
            waits,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn tenant_line(&self, tenant: &str) -> ProgressBar {
        let mut lines = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lines
            .entry(tenant.to_owned())
            .or_insert_with(|| {
                let bar = self
                    .multi
                    .insert_before(&self.waits, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {prefix:20} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(tenant.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }

    /// Prints `text` on stderr above the bars, and forgets the last client event (it belonged to
    /// what came before, e.g. the reads behind a plan).
    pub(crate) fn print(&self, text: &str) {
        self.waits.set_message("");
        self.multi.suspend(|| output::stderr(text));
    }

    /// Removes the bars, leaving the terminal clean for the report.
    pub(crate) fn finish(&self) {
        self.waits.finish_and_clear();
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Reporter for Bars {
    fn on_event(&self, event: &ApplyEvent<'_>) {
        match event {
            ApplyEvent::Started { tenants } => {
                self.overall.set_length(*tenants as u64);
            }
            ApplyEvent::StepStarted { tenant, step } => {
                self.tenant_line(tenant).set_message(step.to_string());
            }
            ApplyEvent::StepFinished {
                tenant,
                step,
                error: Some(e),
            } => {
                self.multi
                    .suspend(|| output::stderr(&format!("{tenant}: {step}: FAILED: {e}\n")));
            }
            ApplyEvent::TenantFinished { tenant, status } => {
                self.overall.inc(1);
                let bar = self
                    .tenants
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(*tenant);
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if *status != TenantStatus::Done {
                    self.multi
                        .suspend(|| output::stderr(&format!("{tenant}: {}\n", status.as_str())));
                }
            }
            ApplyEvent::Client(e) => self.waits.set_message(e.to_string()),
            ApplyEvent::LeaseWaiting { .. } => self.waits.set_message(lease_line(event)),
            ApplyEvent::Interrupted => self
                .multi
                .suspend(|| output::stderr(&format!("{INTERRUPTED}\n"))),
            _ => {}
        }
    }
}
