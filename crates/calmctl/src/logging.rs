//! Logs on stderr, for `-v` and `RUST_LOG`. stdout stays data only.
//!
//! `-v` shows what calm-btp reports (rate limits, retries, waits), `-vv` also each apply step and
//! each HTTP response (method, redacted path, status), `-vvv` everything down to reqwest's and
//! hyper's internals. `RUST_LOG` replaces these levels with its own filter. Nothing logged
//! carries a secret: calm-btp logs no header, body or token, and the end-to-end secret hygiene
//! test (`tests/it/secrets.rs`) checks it at the highest verbosity.

use tracing_subscriber::EnvFilter;

use crate::Context;

/// Installs the stderr logger, unless neither `-v` nor `RUST_LOG` asks for logs.
pub(crate) fn init(verbose: u8, ctx: &Context) {
    let filter = match (&ctx.rust_log, verbose) {
        (Some(filter), _) => filter.as_str(),
        (None, 0) => return,
        (None, 1) => "warn,calm_btp=info,calm_engine=info,calmctl=info",
        (None, 2) => "warn,calm_btp=debug,calm_engine=debug,calmctl=debug",
        (None, _) => "trace,btp_sim=info",
    };
    let Ok(filter) = EnvFilter::try_new(filter) else {
        // A malformed RUST_LOG must not stop the command; say so and carry on without logs.
        eprintln!("warning: RUST_LOG is not a valid filter; logging is off");
        return;
    };
    // `try_init` fails only if a logger is already installed (not the case in the binary).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ctx.stderr_color)
        .with_target(true)
        .try_init();
}
