//! The lease and the chunked apply under it, through the crate's API against btp-sim: a second
//! holder is refused while the first holds, and may take the lease once it is given back; an
//! apply of 100 tenants, cut into chunks of 32, 64 and the rest, leases each subaccount once and
//! gives every lease back.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use calm_engine::apply::NoopReporter;
use calm_engine::apply::lease::{self, LEASE_LABEL, LeaseOptions};
use calm_engine::ops::{self, ApplyOutcome, ApplyRequest};
use calm_engine::{ApplyOptions, Connections, EngineError};
use calm_test::Landscape;
use calm_test::configs::cf_only;

fn connections(l: &Landscape) -> Connections {
    Connections::new(&l.desired, l.client_config(), &l.env_lookup()).unwrap()
}

fn quick() -> LeaseOptions {
    LeaseOptions {
        wait: Duration::ZERO,
        settle: Duration::from_millis(20),
        ..LeaseOptions::default()
    }
}

fn leased_subaccounts(l: &Landscape) -> usize {
    l.sim.with_world(|w| {
        w.subaccounts
            .values()
            .filter(|s| s.labels.contains_key(LEASE_LABEL))
            .count()
    })
}

#[test]
fn a_second_holder_is_refused_until_the_first_gives_the_lease_back() {
    let yaml = cf_only(&[
        "name: alpha, subaccount: alpha",
        "name: beta, subaccount: beta",
    ]);
    let l = Landscape::quick(&yaml);
    let conns = connections(&l);
    let acquire = || {
        let cancel = Arc::new(AtomicBool::new(false));
        l.runtime.block_on(lease::acquire(
            &l.desired,
            &conns,
            None,
            &quick(),
            &NoopReporter,
            cancel,
        ))
    };
    let first = acquire().unwrap();
    assert_eq!(leased_subaccounts(&l), 2);
    // A second run (another holder id: a lease is per run, not per process) is refused at once.
    let second = acquire();
    match second {
        Err(EngineError::LeaseHeld {
            holder,
            subaccounts,
            ..
        }) => {
            assert_eq!(holder, first.holder());
            assert_eq!(subaccounts, 2);
        }
        other => panic!(
            "expected LeaseHeld, got {:?}",
            other.map(|l| l.holder().to_owned())
        ),
    }
    assert_eq!(l.runtime.block_on(first.release()), 0);
    assert_eq!(leased_subaccounts(&l), 0);
    let again = acquire();
    assert!(again.is_ok(), "the lease is free again");
    assert_eq!(l.runtime.block_on(again.unwrap().release()), 0);
}

#[test]
fn a_chunked_apply_leases_each_subaccount_once_and_gives_every_lease_back() {
    let names: Vec<String> = (0..100)
        .map(|i| format!("name: t{i:03}, subaccount: t{i:03}"))
        .collect();
    let lines: Vec<&str> = names.iter().map(String::as_str).collect();
    let l = Landscape::quick(&cf_only(&lines));
    let conns = connections(&l);
    let mut desired = l.desired.clone();
    desired.delivery = calm_core::Delivery::Dir(l.path("credentials"));
    let request = ApplyRequest {
        desired: &desired,
        saved: None,
        targets: None,
        allow_delete: false,
        rotate: BTreeSet::new(),
        enforce_parameters: false,
        offboard: BTreeSet::new(),
        options: ApplyOptions {
            parallelism: 32,
            verify: false,
            ..ApplyOptions::default()
        },
        lease: quick(),
    };
    let outcome = l
        .runtime
        .block_on(ops::apply(
            &conns,
            request,
            |_| true,
            Arc::new(NoopReporter),
        ))
        .unwrap();
    let ApplyOutcome::Applied(leased) = outcome else {
        panic!("approved");
    };
    assert!(leased.report.converged(), "{:?}", leased.report);
    assert_eq!(leased.unreleased, 0);
    assert_eq!(leased_subaccounts(&l), 0, "every lease was given back");
    // One write to take each subaccount's lease and one to give it back: no subaccount was
    // leased twice, whatever chunk it fell in.
    let label_writes: u64 = l
        .sim
        .stats()
        .routes
        .iter()
        .filter(|(route, _)| route.ends_with("/labels") && !route.starts_with("GET "))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(label_writes, 200, "{:?}", l.sim.stats().routes);
}
