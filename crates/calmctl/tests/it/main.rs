//! calmctl's integration tests: the binary, driven as a user drives it. One test binary for the
//! whole crate keeps link time down on small machines.

mod action;
mod adopt;
mod adoption;
mod apply;
mod cis_access;
mod cli;
mod crash;
mod deletion_marks;
mod discover;
mod docs;
mod entitlement_batch;
mod faults;
mod garbage;
mod hostile_config;
mod hostile_delivery;
mod hostile_inventory;
mod hostile_server;
mod interrupt;
mod inventory;
mod landscapes;
mod lease;
mod matrix;
mod plan;
mod plan_scenarios;
mod retrieve;
mod roles;
mod rotate;
mod sandbox;
mod secrets;
mod sm_labels;
mod stale_lease;
mod targeting;
mod umask;
mod validate;
mod xssec;

pub use calm_test::{calmctl, root, stderr, stdout};
