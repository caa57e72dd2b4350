//! calm-bench: runs calmctl's real code paths on generated landscapes and prints what it measured.
//!
//! Each scenario generates a config of N tenants across R regions in the shape of
//! `examples/quickstart.yaml`, runs the `calmctl` binary on it, and reports wall time and the
//! child's peak RSS. Peak RSS is measured with `getrusage(RUSAGE_CHILDREN)` in a separate
//! `calm-bench measure` process that runs exactly one child, so that each figure belongs to one
//! run of calmctl and nothing else.
//!
//! ```text
//! cargo build --release -p calmctl -p calm-bench
//! target/release/calm-bench                    # every scenario at full size
//! target/release/calm-bench --quick            # small sizes, as CI runs it
//! ```

mod generate;
mod measure;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "calm-bench")]
struct Args {
    /// Small sizes, to keep the harness working in CI.
    #[arg(long)]
    quick: bool,
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
    let calmctl = args.calmctl.clone().unwrap_or_else(|| sibling("calmctl"));
    let work = std::env::temp_dir().join(format!("calm-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("error: cannot create {}: {e}", work.display());
        return ExitCode::from(1);
    }
    let all = ["validate"];
    let chosen: Vec<&str> = if args.scenarios.is_empty() {
        all.to_vec()
    } else {
        args.scenarios.iter().map(String::as_str).collect()
    };
    println!("| scenario | tenants | regions | wall time | peak RSS | result |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut ok = true;
    for scenario in chosen {
        let result = match scenario {
            "validate" => validate(&calmctl, &work, if args.quick { 50 } else { 10_000 }),
            other => Err(format!(
                "unknown scenario `{other}` (known: {})",
                all.join(", ")
            )),
        };
        if let Err(e) = result {
            eprintln!("error: {scenario}: {e}");
            ok = false;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `calmctl validate` of N tenants across 3 regions, no network.
fn validate(
    calmctl: &std::path::Path,
    work: &std::path::Path,
    tenants: usize,
) -> Result<(), String> {
    let regions = 3;
    let path = work.join(format!("validate-{tenants}.yaml"));
    std::fs::write(&path, generate::config(tenants, regions)).map_err(|e| e.to_string())?;
    let run = measure::run(&[
        calmctl.display().to_string(),
        "validate".into(),
        "-f".into(),
        path.display().to_string(),
    ])?;
    let verdict = if run.exit_code == 0 {
        "valid"
    } else {
        "FAILED"
    };
    println!(
        "| validate | {tenants} | {regions} | {:.3} s | {:.1} MB | {verdict} |",
        run.wall_secs,
        run.max_rss_kb as f64 / 1024.0
    );
    if run.exit_code != 0 {
        return Err(format!("calmctl exited {}", run.exit_code));
    }
    Ok(())
}

/// A binary built next to this one (`target/release/calmctl` beside `target/release/calm-bench`).
fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}
