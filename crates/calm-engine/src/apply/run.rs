//! The bottom layer of an apply: what every step needs. The run's options and context ([`Run`]),
//! how a step fails ([`Fail`]), and the small lookups every step makes (the GUID a change names,
//! the instance of the config, waiting for an object to become visible).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use calm_btp::{Api, Event};
use std::collections::BTreeSet;

use calm_core::{Action, Change, Desired, Instance, Plan, Tenant};

use super::events::{ApplyEvent, Reporter};
use super::report::Failure;
use super::sink::Sink;
use crate::{Connections, EngineError};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Tenants worked on at once.
    pub parallelism: usize,
    /// Refuse the whole run if the plan deletes more objects than this.
    pub max_delete: Option<usize>,
    /// Fetch and deliver the credentials of every key, not only new ones.
    pub refresh_credentials: bool,
    /// Get a token with each delivered key before calling it done.
    pub verify: bool,
    /// The tenants the run covers (`None`: all of the config's).
    pub targets: Option<BTreeSet<String>>,
    /// The current time (Unix seconds), written on keys retired by a rotation.
    pub now_unix: i64,
    /// How `exec` delivery commands are run: their environment and their guard.
    pub exec: super::exec::ExecSetup,
    /// Tenants being offboarded: their objects are deleted and nothing is delivered to them.
    pub offboard: BTreeSet<String>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 32,
            max_delete: None,
            refresh_credentials: false,
            verify: true,
            targets: None,
            now_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            exec: super::exec::ExecSetup::default(),
            offboard: BTreeSet::new(),
        }
    }
}

/// What a run works with.
pub(crate) struct Run<'a> {
    pub(crate) desired: &'a Desired,
    pub(crate) conns: &'a Connections,
    pub(crate) options: &'a ApplyOptions,
    pub(crate) reporter: &'a dyn Reporter,
    pub(crate) cancel: &'a AtomicBool,
    pub(crate) sink: Sink,
}

impl Run<'_> {
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Why a step failed, before it is named.
pub(crate) enum Fail {
    /// The API said no.
    Api(calm_btp::Error),
    /// Anything else.
    Other(String),
}

impl From<calm_btp::Error> for Fail {
    fn from(e: calm_btp::Error) -> Self {
        Fail::Api(e)
    }
}

impl Fail {
    /// What went wrong, in words.
    pub(crate) fn message(&self) -> String {
        match self {
            Fail::Api(e) => e.to_string(),
            Fail::Other(m) => m.clone(),
        }
    }

    /// Whether the step stopped because the run was interrupted (Ctrl-C ended a wait): the step
    /// is pending, not failed.
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self, Fail::Api(calm_btp::Error::Cancelled { .. }))
    }

    pub(crate) fn named(self, step: &str) -> Failure {
        match self {
            Fail::Api(e) => Failure::api(step, &e),
            Fail::Other(message) => Failure::other(step, message),
        }
    }
}

/// The GUID the plan observed: updates, adoptions, replacements and deletions name their object.
pub(crate) fn guid_of(c: &Change) -> Result<&str, Fail> {
    c.observed
        .as_ref()
        .map(|o| o.guid.as_str())
        .ok_or_else(|| Fail::Other("the plan does not name the object's GUID".into()))
}

pub(crate) fn instance_of<'t>(t: &'t Tenant, name: &str) -> Result<&'t Instance, Fail> {
    t.instances
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| Fail::Other(format!("instance {name} is not in the config")))
}

/// Polls `probe` until it finds something, reporting each wait; gives up after five minutes.
pub(crate) async fn until_visible<T, F, Fut>(
    run: &Run<'_>,
    api: Api,
    what: &str,
    mut probe: F,
) -> Result<T, Fail>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, calm_btp::Error>>,
{
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(Fail::Other(format!(
                "{what} did not become visible within 5 minutes"
            )));
        }
        let event = Event::Waiting {
            api,
            what: what.to_owned(),
            state: "not visible yet".into(),
            wait,
        };
        run.reporter.on_event(&ApplyEvent::Client(&event));
        let cancel = &run.conns.btp().config().cancel;
        if cancel.cancelled_during(wait).await {
            return Err(Fail::Api(calm_btp::Error::Cancelled {
                api,
                what: what.to_owned(),
            }));
        }
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

pub(crate) fn step_of(c: &Change) -> String {
    format!("{} {}", c.action.verb(), c.resource.label())
}

/// Every targeted tenant of the config (delivery may be due without a change), then tenants that
/// only the plan knows (removed from the config: deletions).
pub(crate) fn run_names(desired: &Desired, plan: &Plan, options: &ApplyOptions) -> Vec<String> {
    let mut names: Vec<String> = desired
        .tenants
        .iter()
        .filter(|t| options.targets.as_ref().is_none_or(|s| s.contains(&t.name)))
        .map(|t| t.name.clone())
        .collect();
    let mut seen: BTreeSet<String> = names.iter().cloned().collect();
    for c in &plan.changes {
        if seen.insert(c.tenant.clone()) {
            names.push(c.tenant.clone());
        }
    }
    names
}

/// Refuses a plan that deletes more objects than `max_delete`, before any request.
pub(crate) fn refuse_too_many_deletes(
    plan: &Plan,
    options: &ApplyOptions,
) -> Result<(), EngineError> {
    let deletes = plan.count(Action::Delete);
    match options.max_delete {
        Some(max) if deletes > max => Err(EngineError::TooManyDeletes { deletes, max }),
        _ => Ok(()),
    }
}
