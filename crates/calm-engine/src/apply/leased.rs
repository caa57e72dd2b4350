//! An apply under lease, pipelined: the tenants that change are leased, read again and applied
//! in chunks, so that taking and giving back leases overlaps the work instead of preceding and
//! following all of it.
//!
//! ```text
//! approved plan ─▶ chunks of changing tenants (a subaccount's tenants stay together),
//!                  sized 32, 64, 128, … (work starts soon; few chunks in all)
//!   producer, three chunks at a time: lease ─▶ read again (while the lease settles) ─▶ compare
//!                                    ─▶ entitlements (one chunk at a time: BTP locks an
//!                                    account's entitlements)
//!   workers (`parallelism`):         tenant steps ─▶ a subaccount's lease is given back as soon
//!                                    as its tenants are done
//! ```
//!
//! Measured with `calm-bench --routes apply-fresh` (1,000 tenants): with one lease for the whole
//! run, 32 s went to reading, leasing and reading again before the first create and 13 s to
//! giving leases back after the last one, with Cloud Foundry and Service Manager idle; chunked,
//! the first create comes at second 13 and the run takes 74 s instead of 99 s.
//!
//! The producer never waits for the workers (the queue is unbounded): a preparation inside
//! `buffered` is polled only while the producer polls that stream, and one left unpolled while
//! it holds a client's token lock or a limiter slot would stop the workers that need it.
//!
//! The read under the lease is compared with the approved plan, tenant by tenant. A tenant whose
//! changes are those approved, or (not for a saved plan) only some of them because another run
//! did the rest, goes on with the fresh read. A tenant that now needs something nobody approved
//! fails with what moved, and a re-run plans it again.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use calm_core::{Desired, Live, Plan, PlanOptions};
use futures::StreamExt;

use super::chunks::{chunked, reconcile};
use super::entitlements::{self, Gates};
use super::events::{ApplyEvent, Reporter};
use super::lease::{self, Lease, LeaseOptions};
use super::report::{ApplyReport, Failure};
use super::run::{ApplyOptions, Run};
use super::saved::Approved;
use super::sink::Sink;
use super::tenant;
use crate::{Connections, EngineError};

/// The first chunk's size; each next one is twice the last. Small enough that work starts
/// about a second after the plan (its lease is one PUT per subaccount); large enough that a few
/// tenants, as in most runs, are a single chunk: each chunk costs a lease round, with its
/// settling pause, and an entitlement job.
const FIRST_CHUNK: usize = 32;

/// The report of an apply under lease, and what happened to its leases.
pub struct LeasedReport {
    /// What happened to each tenant.
    pub report: ApplyReport,
    /// Another run that took over one of this run's leases while it worked.
    pub lost_to: Option<String>,
    /// Lease labels that could not be removed (they expire on their own).
    pub unreleased: usize,
    /// The read-only deliveries (`retrieve:`), made after the changes.
    pub retrieved: calm_core::retrieved::RetrieveReport,
}

/// One chunk, ready for the workers: the state read under its lease and the plan from it.
struct Chunk<'a> {
    live: Cow<'a, Live>,
    plan: Cow<'a, Plan>,
    gates: Gates,
    lease: Option<Lease>,
    /// Tenants not finished yet: at zero the chunk's remaining leases are given back.
    remaining: AtomicUsize,
    /// Tenants not finished yet, per subaccount GUID: at zero its lease is given back.
    left: Mutex<HashMap<String, usize>>,
}

impl Chunk<'_> {
    /// Counts `names` per subaccount, as `live` found them.
    fn count(live: &Live, names: &[String]) -> Mutex<HashMap<String, usize>> {
        let mut left: HashMap<String, usize> = HashMap::new();
        for name in names {
            if let Some(guid) = live
                .tenants
                .get(name)
                .and_then(|t| t.subaccount_guid.clone())
            {
                *left.entry(guid).or_default() += 1;
            }
        }
        Mutex::new(left)
    }

    /// A tenant is finished: gives its subaccount's lease back once all of the chunk's tenants
    /// there are. Returns false if a lease label could not be removed.
    async fn finished(&self, name: &str) -> bool {
        let Some(lease) = &self.lease else {
            return true;
        };
        let Some(guid) = self
            .live
            .tenants
            .get(name)
            .and_then(|t| t.subaccount_guid.clone())
        else {
            return true;
        };
        let last = self
            .left
            .lock()
            .is_ok_and(|mut left| match left.get_mut(&guid) {
                Some(n) => {
                    *n = n.saturating_sub(1);
                    *n == 0
                }
                None => false,
            });
        !last || lease.release_subaccount(&guid).await
    }
}

/// Applies an approved plan: tenants without changes at once (delivery may be due), the others
/// chunk by chunk under lease. Fails before any change when the first chunk's lease cannot be
/// taken or its read fails; later chunks' failures fail their tenants only.
#[allow(clippy::too_many_arguments)]
pub async fn apply_leased(
    desired: &Desired,
    conns: &Connections,
    approved: Approved<'_>,
    plan_options: &PlanOptions,
    options: &ApplyOptions,
    lease_options: &LeaseOptions,
    reporter: &dyn Reporter,
    cancel: Arc<AtomicBool>,
) -> Result<LeasedReport, EngineError> {
    super::run::refuse_too_many_deletes(approved.plan, options)?;
    let run = Run {
        desired,
        conns,
        options,
        reporter,
        cancel: &cancel,
        sink: Sink::from(&desired.delivery),
    };
    let names = super::run::run_names(desired, approved.plan, options);
    let changing: BTreeSet<&str> = approved
        .plan
        .changes
        .iter()
        .map(|c| c.tenant.as_str())
        .collect();
    let parallelism = options.parallelism.max(1);
    let subaccount_of: HashMap<&str, String> = desired
        .tenants
        .iter()
        .map(|t| {
            let key = format!("{}/{}", t.account, t.subaccount.to_ascii_lowercase());
            (t.name.as_str(), key)
        })
        .collect();
    let changing_names: Vec<String> = names
        .iter()
        .filter(|n| changing.contains(n.as_str()))
        .cloned()
        .collect();
    let mut chunks = chunked(
        &changing_names,
        |n| {
            subaccount_of
                .get(n)
                .cloned()
                .unwrap_or_else(|| n.to_owned())
        },
        FIRST_CHUNK,
    )
    .into_iter();
    reporter.on_event(&ApplyEvent::Started {
        tenants: names.len(),
    });
    let lost: Mutex<Option<String>> = Mutex::new(None);
    let unreleased = AtomicUsize::new(0);
    let preparer = Preparer {
        run: &run,
        approved: &approved,
        plan_options,
        lease_options,
        cancel: &cancel,
        entitlement_turn: tokio::sync::Mutex::new(()),
    };
    // The first chunk is prepared before anything starts: if its lease is refused or its read
    // fails, nothing has been changed.
    let first = match chunks.next() {
        Some(names) => {
            let chunk = preparer.prepare(&names).await?;
            Some((names, chunk))
        }
        None => None,
    };
    // Unbounded, so that the producer never waits for the workers (see the overview above); it
    // holds names and shared chunks, a few bytes per tenant.
    let (tx, rx) = futures::channel::mpsc::unbounded::<(String, Arc<Chunk<'_>>)>();
    let producer = async {
        // Owned here, so that the workers' stream ends when the producer does.
        let tx = tx;
        let unchanged = Arc::new(Chunk {
            live: Cow::Borrowed(approved.live),
            plan: Cow::Borrowed(approved.plan),
            gates: Gates::new(),
            lease: None,
            remaining: AtomicUsize::new(usize::MAX),
            left: Mutex::new(HashMap::new()),
        });
        for name in names.iter().filter(|n| !changing.contains(n.as_str())) {
            if tx
                .unbounded_send((name.clone(), unchanged.clone()))
                .is_err()
            {
                return;
            }
        }
        let preparer = &preparer;
        let rest = futures::stream::iter(chunks)
            .map(|names| async move {
                let chunk = preparer.prepare_or_fail(&names).await;
                (names, chunk)
            })
            .buffered(3);
        let all = futures::stream::iter(first).chain(rest);
        futures::pin_mut!(all);
        while let Some((names, chunk)) = all.next().await {
            let chunk = Arc::new(chunk);
            for name in names {
                if tx.unbounded_send((name, chunk.clone())).is_err() {
                    return;
                }
            }
        }
    };
    let workers = rx
        .map(|(name, chunk)| {
            let (run, lost, unreleased) = (&run, &lost, &unreleased);
            async move {
                let gate = chunk.gates.get(&name).cloned();
                let report = tenant::apply(run, &name, &chunk.live, &chunk.plan, gate).await;
                run.reporter.on_event(&ApplyEvent::TenantFinished {
                    tenant: &name,
                    status: report.status,
                });
                // A subaccount's lease is given back as soon as its tenants are done; the
                // chunk's last tenant gives back whatever is left.
                if !chunk.finished(&name).await {
                    unreleased.fetch_add(1, Ordering::SeqCst);
                }
                if chunk.remaining.fetch_sub(1, Ordering::SeqCst) == 1
                    && let Some(held) = &chunk.lease
                {
                    if let (Some(other), Ok(mut l)) = (held.lost_to(), lost.lock()) {
                        *l = Some(other);
                    }
                    unreleased.fetch_add(held.release().await, Ordering::SeqCst);
                }
                (name, report)
            }
        })
        .buffer_unordered(parallelism)
        .collect::<BTreeMap<String, _>>();
    let ((), reports) = futures::join!(producer, workers);
    Ok(LeasedReport {
        report: ApplyReport {
            tenants: reports.into_values().collect(),
            interrupted: run.cancelled(),
        },
        lost_to: lost.into_inner().ok().flatten(),
        unreleased: unreleased.into_inner(),
        retrieved: Default::default(),
    })
}

/// What preparing a chunk works with.
struct Preparer<'p, 'a> {
    run: &'p Run<'p>,
    approved: &'p Approved<'a>,
    plan_options: &'p PlanOptions,
    lease_options: &'p LeaseOptions,
    cancel: &'p Arc<AtomicBool>,
    /// Held while a chunk's entitlements are written: BTP allows one entitlement change per
    /// account at a time (30004), and two chunks are prepared at once.
    entitlement_turn: tokio::sync::Mutex<()>,
}

impl<'a> Preparer<'_, 'a> {
    /// A chunk as the approved plan saw it, with `gates` for its tenants: the state a cancelled
    /// run reports from, or a failed chunk's.
    fn as_approved(&self, names: &[String], gates: Gates) -> Chunk<'a> {
        Chunk {
            live: Cow::Borrowed(self.approved.live),
            plan: Cow::Borrowed(self.approved.plan),
            gates,
            lease: None,
            remaining: AtomicUsize::new(names.len()),
            left: Mutex::new(HashMap::new()),
        }
    }

    /// [`Preparer::prepare`], where an error fails the chunk's tenants instead of the run.
    async fn prepare_or_fail(&self, names: &[String]) -> Chunk<'a> {
        match self.prepare(names).await {
            Ok(chunk) => chunk,
            Err(e) => {
                let failure = Failure::other("lease and read the tenant again", e.to_string());
                let gates = names
                    .iter()
                    .map(|n| (n.clone(), Err(failure.clone())))
                    .collect();
                self.as_approved(names, gates)
            }
        }
    }

    /// Leases the chunk's subaccounts, reads its tenants again, keeps the approved changes that
    /// still hold, and applies its entitlement changes.
    async fn prepare(&self, names: &[String]) -> Result<Chunk<'a>, EngineError> {
        let run = self.run;
        if run.cancelled() {
            return Ok(self.as_approved(names, Gates::new()));
        }
        let set: BTreeSet<String> = names.iter().cloned().collect();
        // Tenants removed from the config are found by reading their whole regions, which a
        // read narrowed to the chunk's tenants does not do.
        let known: BTreeSet<&str> = run
            .desired
            .tenants
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let removed = names.iter().any(|n| !known.contains(n.as_str()));
        let options = PlanOptions {
            targets: if removed {
                self.plan_options.targets.clone()
            } else {
                Some(set.clone())
            },
            ..self.plan_options.clone()
        };
        // The read runs while the written lease settles (lease::acquire_with).
        let approved_live = self.approved.live;
        let read_again = || async {
            super::chunks::open_unread(run, approved_live, names).await?;
            crate::ops::plan_changes(run.desired, run.conns, &options).await
        };
        let (held, read) = lease::acquire_with(
            run.desired,
            run.conns,
            Some(&set),
            self.lease_options,
            run.reporter,
            self.cancel.clone(),
            read_again,
        )
        .await?;
        let (live, fresh) = match read {
            Ok(read) => read,
            Err(e) => {
                held.release().await;
                return Err(e);
            }
        };
        let (plan, mut gates) = reconcile(self.approved, fresh, names);
        {
            let _turn = self.entitlement_turn.lock().await;
            gates.extend(entitlements::apply(run, &live, &plan).await);
        }
        let left = Chunk::count(&live, names);
        Ok(Chunk {
            live: Cow::Owned(live),
            plan: Cow::Owned(plan),
            gates,
            left,
            lease: Some(held),
            remaining: AtomicUsize::new(names.len()),
        })
    }
}
