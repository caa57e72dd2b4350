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
  1  error, a mistyped flag included (validate: the file has errors)
  2  plan only: the plan has changes";

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
    /// Log to stderr: -v requests and waits, -vv each step and response, -vvv everything, HTTP
    /// internals included. `RUST_LOG` overrides. Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check calm.yaml and report every problem with its line and column.
    #[command(
        after_help = "Examples:\n  calmctl validate\n  calmctl validate -f tenants/calm.yaml\n\nExit codes: 0 valid (warnings allowed), 1 invalid or unreadable."
    )]
    Validate(ValidateArgs),
    /// Read live BTP state, compare it with calm.yaml, and print what would change.
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Make BTP match calm.yaml (or a saved plan): entitlements, spaces, instances, keys, and
    /// credential delivery.
    #[command(after_help = APPLY_HELP)]
    Apply(ApplyArgs),
    /// Rotate keys now, whatever their age: create, deliver and verify a new key, then retire
    /// the old one (deleted after its `retire_after` by a later apply).
    #[command(after_help = ROTATE_HELP)]
    Rotate(RotateArgs),
    /// Remove calmctl's objects of the named tenants (keys or bindings, then instances), whether
    /// or not they are still in calm.yaml: their credentials stop working.
    #[command(after_help = OFFBOARD_HELP)]
    Offboard(OffboardArgs),
    /// Write a calm.yaml (or a CSV inventory) for the subaccounts of a global account, marking
    /// those that are onboarded already.
    #[command(after_help = DISCOVER_HELP)]
    Discover(DiscoverArgs),
    /// Print the JSON Schema of calm.yaml (draft-07), for editors and CI checks.
    #[command(
        after_help = "Example:\n  calmctl schema > schemas/calm.schema.json\n\nEditors pick it up from the first line of calm.yaml:\n  # yaml-language-server: $schema=../schemas/calm.schema.json\n\nExit codes: 0 printed, 1 error."
    )]
    Schema,
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  calmctl completions bash > ~/.local/share/bash-completion/completions/calmctl\n  calmctl completions zsh > ~/.zfunc/_calmctl\n  calmctl completions fish > ~/.config/fish/completions/calmctl.fish\n\nExit codes: 0 printed, 1 error."
    )]
    Completions(CompletionsArgs),
    /// Runs a `delivery.exec` command for calmctl and kills it with everything it started if
    /// calmctl goes away (internal: calmctl starts it itself).
    #[command(name = "__sink-guard", hide = true)]
    SinkGuard(SinkGuardArgs),
}

/// Arguments of the hidden `__sink-guard`.
#[derive(Debug, Args)]
pub struct SinkGuardArgs {
    /// The delivery command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
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

const PLAN_HELP: &str = "\
Examples:
  calmctl plan
  calmctl plan --format markdown --out-dir plan-comment/     # for a pull-request comment
  calmctl plan --out plan.json                               # review now, apply this plan later
  calmctl plan --tenant acme-prod --tenant acme-test
  calmctl plan --sandbox -f examples/quickstart.yaml         # against a built-in simulator

Exit codes:
  0  no changes
  1  error
  2  changes present";

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terraform-style text.
    Text,
    /// Markdown for a pull-request comment (split into parts under GitHub's size limit).
    Markdown,
    /// JSON, as described by schemas/plan.schema.json.
    Json,
}

/// The config file every command reads.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "calm.yaml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
}

/// Which tenants a command works on; all of them without either option.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Only this tenant (repeatable). A partial plan says so.
    #[arg(long = "tenant", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// Only tenants with this label (repeatable, all must match).
    #[arg(long = "select", value_name = "KEY=VALUE")]
    pub select: Vec<String>,
}

/// The built-in simulator instead of BTP.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Run against a built-in simulator seeded from the config (no BTP account needed).
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: load the simulated world from this file and save it back afterwards.
    #[arg(long, value_name = "FILE", requires = "sandbox")]
    pub sandbox_state: Option<PathBuf>,
}

/// How a run that changes BTP goes: shared by `apply` and `rotate`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Apply without asking (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Tenants worked on at once. A tenant mostly waits for BTP's jobs, and each API host's
    /// request rate is paced separately, so this bounds the jobs in flight rather than the load.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub parallelism: usize,
    /// Wait this long for another calmctl run on the same subaccounts to finish (0: refuse at
    /// once). Each run holds a lease label on its subaccounts while it works.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub lease_wait: u64,
    /// Lifetime of the lease without renewal (renewed every third of it); for tests.
    #[arg(long, default_value_t = 600, value_name = "SECONDS", hide = true)]
    pub lease_ttl: u64,
    /// The host name the lease names instead of this machine's; for tests.
    #[arg(long, value_name = "NAME", hide = true)]
    pub lease_host: Option<String>,
    /// The PID namespace the lease names instead of this process's (`none`: unknown); for tests.
    #[arg(long, value_name = "ID", hide = true)]
    pub lease_namespace: Option<String>,
    /// Also write the final report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Plain progress lines instead of progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Do not get a token with each delivered key.
    #[arg(long)]
    pub no_verify: bool,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: TargetArgs,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also save the plan as JSON, for `calmctl apply FILE` after review.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write Markdown parts as files `plan-1.md`, `plan-2.md`, ... into this folder.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Include deletions of objects calmctl manages that calm.yaml no longer lists.
    #[arg(long)]
    pub allow_delete: bool,
    /// Overwrite the parameters of instances calmctl did not make (it cannot read them: Cloud
    /// ALM does not return them) with those calm.yaml states. Without it they are kept.
    #[arg(long)]
    pub enforce_parameters: bool,
    /// Plan the offboarding of this tenant (repeatable): delete every object calmctl made for
    /// it, as `calmctl offboard` does; a saved plan (`--out`) records it for `calmctl apply PLAN`.
    #[arg(long, value_name = "NAME")]
    pub offboard: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sandbox: SandboxArgs,
}

const APPLY_HELP: &str = "\
Examples:
  calmctl apply                                   # plan, show, ask, apply
  calmctl apply --auto-approve --report report.json
  calmctl plan --out plan.json && calmctl apply plan.json
  calmctl apply --sandbox -f examples/quickstart.yaml --auto-approve

Credentials of new keys go to the calm.yaml `delivery` sink (default ./credentials/<tenant>/<key>.json,
mode 0600), never to the output.

Exit codes:
  0  every tenant converged
  1  error, refusal, or a tenant failed or is pending";

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `calmctl plan --out`; without it, apply plans first.
    #[arg(value_name = "PLAN")]
    pub saved_plan: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Include deletions of objects calmctl manages that calm.yaml no longer lists.
    #[arg(long)]
    pub allow_delete: bool,
    /// Overwrite the parameters of instances calmctl did not make (it cannot read them: Cloud
    /// ALM does not return them) with those calm.yaml states. Without it they are kept.
    #[arg(long)]
    pub enforce_parameters: bool,
    /// Refuse to run if the plan deletes more than N objects (default 0 when CI is set).
    #[arg(long, value_name = "N")]
    pub max_delete: Option<usize>,
    /// Refuse a saved plan older than this many hours.
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    pub max_plan_age: u64,
    /// Fetch and deliver the credentials of every key, not only new ones.
    #[arg(long)]
    pub refresh_credentials: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sandbox: SandboxArgs,
}

const DISCOVER_HELP: &str = "\
Examples:
  calmctl discover --account acme --label calm-onboarding=yes > calm.yaml
  calmctl discover --account acme --directory 0f5e... --region eu10 --out calm.yaml
  calmctl discover --format csv --out tenants.csv        # for `tenants_from: tenants.csv`
  calmctl discover --global-account acme-ga --cis-key-env ACME_CIS_KEY \\
      --username-env BTP_USERNAME --password-env BTP_PASSWORD   # without a calm.yaml

Secrets of existing keys and bindings are never read.

Exit codes:
  0  the file was written
  1  error";

/// Output formats of `discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiscoverFormat {
    /// A complete calm.yaml.
    Yaml,
    /// A CSV inventory for `tenants_from`.
    Csv,
}

/// Arguments of `discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The config file whose `accounts` entry is used (not needed with --cis-key-env/--cis-key-file).
    #[arg(
        short = 'f',
        long = "file",
        default_value = "calm.yaml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
    /// The account (connection) to read; the only one in the file when not given.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Only subaccounts in this directory.
    #[arg(long, value_name = "GUID")]
    pub directory: Option<String>,
    /// Only subaccounts with this label (repeatable, all must match).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Only subaccounts in this region.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = DiscoverFormat::Yaml)]
    pub format: DiscoverFormat,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Without a calm.yaml: the environment variable holding the Cloud Management service key.
    #[arg(
        long,
        value_name = "VAR",
        conflicts_with = "cis_key_file",
        requires = "global_account"
    )]
    pub cis_key_env: Option<String>,
    /// Without a calm.yaml: the file holding the Cloud Management service key.
    #[arg(long, value_name = "PATH", requires = "global_account")]
    pub cis_key_file: Option<PathBuf>,
    /// Without a calm.yaml: the global account's subdomain.
    #[arg(long, value_name = "SUBDOMAIN")]
    pub global_account: Option<String>,
    /// Without a calm.yaml: the region of the global account's Cloud Management instance.
    #[arg(long, value_name = "REGION", default_value = "eu10")]
    pub global_account_region: String,
    /// Without a calm.yaml: the environment variable holding the BTP user name.
    #[arg(long, value_name = "VAR")]
    pub username_env: Option<String>,
    /// Without a calm.yaml: the environment variable holding the BTP password.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
}

const ROTATE_HELP: &str = "\
Examples:
  calmctl rotate --tenant acme-prod --auto-approve
  calmctl rotate --tenant acme-prod --key calm-key
  calmctl rotate --select env=prod --auto-approve

Other pending changes of the tenant are applied too. If the new key cannot be delivered or gets no
token, it is deleted and the old key stays as it was.

Exit codes:
  0  every tenant converged
  1  error, refusal, or a tenant failed or is pending";

/// Arguments of `rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: TargetArgs,
    /// Only this key (its name in calm.yaml); all of the tenants' keys without it.
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sandbox: SandboxArgs,
}

const OFFBOARD_HELP: &str = "\
Examples:
  calmctl offboard --tenant acme-old                  # shows the plan, asks, deletes
  calmctl offboard --tenant acme-old --auto-approve --max-delete 2
  calmctl plan --offboard acme-old --out plan.json    # review in a pull request, then
  calmctl apply plan.json

What is deleted: every key or binding and instance calmctl made for these tenants (the same
deletions `--allow-delete` plans for a tenant removed from calm.yaml). Entitlements, Cloud Foundry
spaces and roles stay; objects calmctl did not make are left alone. A protected tenant (`protect:
true`, or objects labelled `calmctl.sap/protect=true`) is refused. `--max-delete` counts these
deletions (0 when CI is set).

Exit codes:
  0  every tenant converged
  1  error, refusal (a protected or unknown tenant, too many deletions), or a tenant failed";

/// Arguments of `offboard`.
#[derive(Debug, Args)]
pub struct OffboardArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Refuse to run if the plan deletes more than N objects (default 0 when CI is set).
    #[arg(long, value_name = "N")]
    pub max_delete: Option<usize>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sandbox: SandboxArgs,
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
