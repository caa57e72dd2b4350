//! calmctl
