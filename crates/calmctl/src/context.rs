//! Facts about the environment, read once at start-up so that commands never read the environment
//! themselves (and tests can set them explicitly).

use std::io::IsTerminal;
use std::sync::Arc;

/// Environment variable names calmctl reads.
pub mod env {
    /// Any non-empty value turns colour off (<https://no-color.org>).
    pub const NO_COLOR: &str = "NO_COLOR";
    /// Routes every BTP API to one base URL (the simulator, or a proxy).
    pub const API_URL: &str = calm_btp::API_URL_ENV;
    /// Test hook: the current time as Unix seconds, instead of the clock. Tests use it to age keys
    /// past `rotate_after` and retired keys past `retire_after` without waiting.
    pub const NOW: &str = "CALMCTL_NOW";
    /// A `tracing` filter (e.g. `calm_btp=debug`); overrides `-v`.
    pub const RUST_LOG: &str = "RUST_LOG";
}

/// What a command may know about the world outside its arguments.
#[derive(Clone)]
pub struct Context {
    /// Whether diagnostics on stderr may use colour.
    pub stderr_color: bool,
    /// Whether data on stdout may use colour (the text plan).
    pub stdout_color: bool,
    /// Width used to wrap diagnostics.
    pub width: usize,
    /// `CALMCTL_API_URL`, if set.
    pub api_url: Option<String>,
    /// `RUST_LOG`, if set.
    pub rust_log: Option<String>,
    /// The current time (Unix seconds), read once (`CALMCTL_NOW` overrides it in tests).
    pub now_unix: i64,
    /// Reads environment variables named by `{ env: NAME }` references.
    pub env: Arc<calm_engine::EnvLookup>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("stderr_color", &self.stderr_color)
            .field("stdout_color", &self.stdout_color)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Reads the process environment.
    pub fn from_env() -> Context {
        let no_color = std::env::var_os(env::NO_COLOR).is_some_and(|v| !v.is_empty());
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let now_unix = std::env::var(env::NOW)
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(clock);
        Context {
            stderr_color: !no_color && std::io::stderr().is_terminal(),
            stdout_color: !no_color && std::io::stdout().is_terminal(),
            width: 100,
            api_url: std::env::var(env::API_URL).ok().filter(|v| !v.is_empty()),
            rust_log: std::env::var(env::RUST_LOG).ok().filter(|v| !v.is_empty()),
            now_unix,
            env: Arc::new(|name: &str| std::env::var(name).ok()),
        }
    }
}
