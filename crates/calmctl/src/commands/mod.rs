//! One function per subcommand, each a thin layer over a library operation.

mod apply;
mod completions;
mod discover;
mod offboard;
mod plan;
mod rotate;
mod schema;
mod session;
mod validate;

use crate::cli::{Cli, Command};
use crate::{Context, Status};

/// Runs the chosen subcommand.
pub(crate) fn run(cli: &Cli, ctx: &Context) -> Status {
    match &cli.command {
        Command::Validate(args) => validate::validate(args, ctx),
        Command::Plan(args) => plan::plan(args, ctx),
        Command::Apply(args) => apply::apply(args, ctx),
        Command::Rotate(args) => rotate::rotate(args, ctx),
        Command::Offboard(args) => offboard::offboard(args, ctx),
        Command::Discover(args) => discover::discover(args, ctx),
        Command::Schema => schema::schema(),
        Command::Completions(args) => completions::completions(args),
        // Handled before the context is built (lib.rs); kept here for completeness.
        Command::SinkGuard(args) => match calm_engine::apply::guard_main(&args.command) {
            0 => Status::Success,
            _ => Status::Failure,
        },
    }
}
