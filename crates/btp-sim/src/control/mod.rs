//! The simulator's own controls: the `/_sim` admin API, statistics, faults and rate limits.

pub mod admin;
pub mod faults;
pub mod garbage;
pub mod ratelimit;
pub mod secrets;
pub mod stats;
