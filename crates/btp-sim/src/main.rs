//! `btp-sim`: the simulator as a command.
//!
//! `btp-sim --from-config calm.yaml [--listen ADDR] [--latency-ms N] [--faults PROFILE] [--seed N]`
//! or `btp-sim --world FILE`. When ready it prints, on stdout, `export CALMCTL_API_URL=...`, one
//! `export NAME=value` line per credential the config references by `{ env: NAME }`, then
//! `# btp-sim ready`, and serves until killed. Logs go to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use btp_sim::{ADMIN_PASSWORD, ADMIN_USER, Faults, Sim, SimHandle, World};
use calm_core::{Desired, SecretRef};
use clap::Parser;

/// A simulator of the SAP BTP and Cloud Foundry APIs, on loopback.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Build a world with everything this calm.yaml refers to.
    #[arg(long, value_name = "FILE", conflicts_with = "world")]
    from_config: Option<PathBuf>,
    /// Load a world file (JSON or YAML, see the crate README).
    #[arg(long, value_name = "FILE")]
    world: Option<PathBuf>,
    /// Address to listen on (loopback only: the admin API has no login).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Latency added to every API request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fault profile: none, flaky or chaos.
    #[arg(long, default_value = "none")]
    faults: String,
    /// Seed for generated ids, secrets and fault sequences.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `export NAME=value` lines for each credential `desired` references by environment variable.
fn exports(desired: &Desired, sim: &SimHandle) -> Vec<String> {
    let mut lines = Vec::new();
    for (reference, value) in sim.secrets_for(desired) {
        match reference {
            SecretRef::Env(name) => lines.push(format!("export {name}={}", shell_quote(&value))),
            SecretRef::File(path) => tracing::warn!(
                "{} is a file reference; btp-sim only prints environment variables",
                path.display()
            ),
        }
    }
    lines
}

fn load_world(path: &PathBuf) -> Result<World, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let parsed: Result<World, String> = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| format!("{}: not a world file: {e}", path.display()))
}

async fn run(args: Args) -> Result<(), String> {
    let faults = Faults::profile(&args.faults).ok_or_else(|| {
        format!(
            "unknown fault profile `{}` (none, flaky, chaos)",
            args.faults
        )
    })?;
    let (world, desired) = match (&args.from_config, &args.world) {
        (Some(config), _) => {
            let loaded =
                calm_config::load_file(config).map_err(|e| format!("{}: {e}", config.display()))?;
            (
                World::from_desired(&loaded.desired, args.seed),
                Some(loaded.desired),
            )
        }
        (None, Some(path)) => (load_world(path)?, None),
        (None, None) => {
            let mut world = World::new(args.seed);
            world.add_user(ADMIN_USER, ADMIN_PASSWORD);
            (world, None)
        }
    };
    let sim = Sim::from_world(world)
        .seed(args.seed)
        .listen(args.listen)
        .latency_ms(args.latency_ms)
        .faults(faults)
        .start()
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    println!("export CALMCTL_API_URL={}", sim.url());
    if let Some(desired) = &desired {
        for line in exports(desired, &sim) {
            println!("{line}");
        }
    }
    println!("# btp-sim ready");
    tracing::info!("btp-sim ready at {}", sim.url());
    let _ = tokio::signal::ctrl_c().await;
    sim.stop().await;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BTP_SIM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("btp-sim: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("btp-sim: {message}");
            ExitCode::from(2)
        }
    }
}
