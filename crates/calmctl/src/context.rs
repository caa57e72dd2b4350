//! Facts about the environment, read once at start-up so that commands never read the environment
//! themselves (and tests can set them explicitly).

use std::io::IsTerminal;

/// Environment variable names calmctl reads.
pub mod env {
    /// Any non-empty value turns colour off (<https://no-color.org>).
    pub const NO_COLOR: &str = "NO_COLOR";
}

/// What a command may know about the world outside its arguments.
#[derive(Debug, Clone)]
pub struct Context {
    /// Whether diagnostics on stderr may use colour.
    pub stderr_color: bool,
    /// Width used to wrap diagnostics.
    pub width: usize,
}

impl Context {
    /// Reads the process environment.
    pub fn from_env() -> Context {
        let no_color = std::env::var_os(env::NO_COLOR).is_some_and(|v| !v.is_empty());
        Context {
            stderr_color: !no_color && std::io::stderr().is_terminal(),
            width: 100,
        }
    }
}
