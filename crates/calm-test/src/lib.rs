//! calm-test: what calmctl's integration tests share, so that no test file copies another's setup.
//!
//! - [`landscape`]: btp-sim started in-process from a calm.yaml ([`Landscape`]), the calmctl binary
//!   pointed at it, and objects "made by hand" through calm-btp as a person would make them
//!   ([`HandMade`]), also in Service Manager (`Landscape::hand_made_sm`).
//! - [`configs`]: the configs most tests start from ([`configs::MIXED`], [`configs::cf_only`]).
//! - [`text`]: the binary with a clean environment, its output as text, and scrubbing of GUIDs and
//!   times for snapshots.
//!
//! Used by `calmctl`'s `tests/it` and by `calm-engine`'s tests; never by a library.

pub mod configs;
pub mod landscape;
mod service_manager;
pub mod text;

pub use landscape::{
    ADMIN_TEST_PASSWORD, COLLEAGUE, COLLEAGUE_PASSWORD, HandMade, Landscape, add_calm_space,
    entitle, entitled_with_space,
};
pub use text::{calmctl, root, scrub, stderr, stdout, untimed};
