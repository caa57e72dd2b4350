//! calm-config
