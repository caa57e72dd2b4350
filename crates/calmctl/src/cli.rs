//! The command line, declared with clap. Only argument shapes live here; each command's behaviour
//! is in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  calmctl validate -f calm.yaml
  calmctl schema > calm.schema.json
  calmctl completions bash > /etc/bash_completion.d/calmctl

Exit codes:
  0  success (validate: the file is valid)
  1  error (validate: the file has errors)";

/// Connect many SAP BTP subaccounts to SAP Cloud ALM, declaratively.
///
/// calmctl reads calm.yaml, which lists the tenants (subaccounts) to connect and how, and makes
/// BTP match it: entitlement, space, service instance, keys or bindings, and credential delivery.
#[derive(Debug, Parser)]
#[command(name = "calmctl", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check calm.yaml and report every problem with its line and column.
    #[command(
        after_help = "Examples:\n  calmctl validate\n  calmctl validate -f tenants/calm.yaml\n\nExit codes: 0 valid (warnings allowed), 1 invalid or unreadable."
    )]
    Validate(ValidateArgs),
    /// Print the JSON Schema of calm.yaml (draft-07), for editors and CI checks.
    #[command(
        after_help = "Example:\n  calmctl schema > schemas/calm.schema.json\n\nEditors pick it up from the first line of calm.yaml:\n  # yaml-language-server: $schema=../schemas/calm.schema.json"
    )]
    Schema,
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  calmctl completions bash > ~/.local/share/bash-completion/completions/calmctl\n  calmctl completions zsh > ~/.zfunc/_calmctl\n  calmctl completions fish > ~/.config/fish/completions/calmctl.fish"
    )]
    Completions(CompletionsArgs),
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The config file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "calm.yaml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells with completions.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}
