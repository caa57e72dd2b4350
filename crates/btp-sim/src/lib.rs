//! btp-sim: being built.
