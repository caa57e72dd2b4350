//! `calmctl completions SHELL`: print completions for bash, zsh or fish.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::{Status, output};

pub(crate) fn completions(args: &CompletionsArgs) -> Status {
    let target = match args.shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
    };
    let mut buffer = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "calmctl", &mut buffer);
    match output::stdout(&String::from_utf8_lossy(&buffer)) {
        Ok(()) => Status::Success,
        Err(e) => {
            output::stderr(&format!("error: cannot write completions: {e}\n"));
            Status::Failure
        }
    }
}
