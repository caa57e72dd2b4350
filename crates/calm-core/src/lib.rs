//! calm-core
