//! calmctl's integration tests: the binary, driven as a user drives it. One test binary for the
//! whole crate keeps link time down on small machines.

mod adopt;
mod apply;
mod cis_access;
mod cli;
mod crash;
mod discover;
mod docs;
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
mod roles;
mod rotate;
mod secrets;
mod sm_labels;
mod umask;
mod validate;
mod xssec;

pub use calm_test::{calmctl, root, stderr, stdout};
