//! calmctl: the command line over calmctl's engine.
//!
//! This crate is deliberately thin. [`main`] parses arguments ([`cli`]), builds the [`Context`]
//! (environment and terminal facts, read once), runs one function from `commands/` and turns its
//! result into an exit code. Each command calls into the library crates (`calm-config` today;
//! `calm-engine` for plan and apply) and renders what they return: data on stdout, diagnostics and
//! progress on stderr.

pub mod cli;
mod commands;
mod context;
mod logging;
mod output;
mod progress;
mod render;
mod runtime;
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
            // clap prints help and version to stdout with exit 0, usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1));
        }
    };
    let ctx = Context::from_env();
    logging::init(cli.verbose, &ctx);
    commands::run(&cli, &ctx).into()
}
