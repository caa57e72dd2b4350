//! `btp-sim`: the simulator as a command (see the crate README for the contract).
fn main() {}
