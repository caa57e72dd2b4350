//! calm-btp: being built.
