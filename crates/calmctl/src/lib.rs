//! calmctl: the command line over calmctl's engine.
//!
//! This crate is deliberately thin. [`main`] parses arguments ([`cli`]), builds the [`Context`]
//! (environment and terminal facts, read once), runs one function from `commands/` and turns its
//! result into an exit code. Each command calls one operation of the library crates
//! (`calm-config` to load and validate, `calm_engine::ops` for plan, apply, rotate and discover)
//! and renders what it returns: data on stdout, diagnostics and progress on stderr.

pub mod cli;
mod commands;
mod context;
mod logging;
mod output;
mod progress;
mod render;
mod runtime;
#[cfg(feature = "sandbox")]
mod sandbox;
#[cfg(not(feature = "sandbox"))]
#[path = "sandbox_off.rs"]
mod sandbox;

use std::process::ExitCode;

use clap::Parser;

pub use context::Context;

/// How a command ended. Documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything went as asked.
    Success,
    /// The input was invalid or an operation failed.
    Failure,
    /// `plan`: there are changes to apply.
    Changes,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        match status {
            Status::Success => ExitCode::SUCCESS,
            Status::Failure => ExitCode::from(1),
            Status::Changes => ExitCode::from(2),
        }
    }
}

/// Runs calmctl with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr. A usage
            // error exits 1 like every other failure: 2 means only "plan has changes".
            let _ = e.print();
            return if e.use_stderr() {
                Status::Failure.into()
            } else {
                Status::Success.into()
            };
        }
    };
    let ctx = Context::from_env();
    logging::init(cli.verbose, &ctx);
    commands::run(&cli, &ctx).into()
}
