//! calm-bench: runs calmctl's real code paths on generated landscapes and prints what it measured.
//!
//! Each scenario generates a config of N tenants across R regions in the shape of
//! `examples/quickstart.yaml`, starts btp-sim in this process with the scenario's latency, job
//! durations and rate limits, runs the `calmctl` binary against it, and prints one table row:
//! requests (from the simulator's own counters), peak concurrency, wall time, the scenario's
//! lower bound and the ratio to it, calmctl's peak RSS, and 429s. Peak RSS is measured with
//! `getrusage(RUSAGE_CHILDREN)` in a separate `calm-bench --measure` process that runs exactly
//! one child, so that each figure belongs to one run of calmctl and nothing else.
//!
//! ```text
//! cargo build --release -p calmctl -p calm-bench
//! target/release/calm-bench                    # every scenario at full size
//! target/release/calm-bench --quick            # small sizes, as CI runs it
//! target/release/calm-bench --tenants 200 --routes apply-fresh   # where the requests go
//! ```

mod baseline;
mod generate;
mod landscape;
mod measure;
mod routes;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "calm-bench")]
struct Args {
    /// Small sizes and latencies, to keep the harness working in CI.
    #[arg(long)]
    quick: bool,
    /// Tenants per scenario, instead of the scenario's own sizes (for profiling).
    #[arg(long)]
    tenants: Option<usize>,
    /// Print each scenario's requests per route, and per API and second, to stderr (where and
    /// when the requests go).
    #[arg(long)]
    routes: bool,
    /// Append calmctl's stderr (progress lines, errors) to this file.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// The calmctl binary to measure (default: next to this binary).
    #[arg(long)]
    calmctl: Option<PathBuf>,
    /// Scenarios to run (default: all).
    scenarios: Vec<String>,
    /// Internal: run one command and print its wall time and peak RSS.
    #[arg(long, hide = true, num_args = 1.., allow_hyphen_values = true)]
    measure: Option<Vec<String>>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(command) = &args.measure {
        return measure::child_main(command);
    }
    if let Some(log) = &args.log {
        let _ = measure::LOG.set(log.clone());
    }
    let calmctl = args.calmctl.clone().unwrap_or_else(|| sibling("calmctl"));
    let work = std::env::temp_dir().join(format!("calm-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("error: cannot create {}: {e}", work.display());
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let chosen: Vec<String> = if args.scenarios.is_empty() {
        scenarios::ALL.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.scenarios.clone()
    };
    let bench = scenarios::Bench {
        calmctl,
        work: work.clone(),
        quick: args.quick,
        tenants: args.tenants,
        routes: args.routes,
    };
    println!("{}", scenarios::Row::header());
    let mut ok = true;
    for scenario in &chosen {
        match runtime.block_on(bench.run(scenario)) {
            Ok(rows) => rows.iter().for_each(|r| println!("{}", r.line())),
            Err(e) => {
                eprintln!("error: {scenario}: {e}");
                ok = false;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A binary built next to this one (`target/release/calmctl` beside `target/release/calm-bench`).
fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}
