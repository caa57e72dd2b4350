//! Wall time and peak RSS of one child process.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use nix::sys::resource::{UsageWho, getrusage};

/// What one run of a command cost.
pub struct Run {
    pub exit_code: i32,
    pub wall_secs: f64,
    pub max_rss_kb: i64,
}

/// Runs `command` through `calm-bench --measure`, so that RUSAGE_CHILDREN sees only that child.
/// It runs in `dir`, so that what calmctl writes (credential files) stays in the scenario's
/// scratch folder instead of the caller's working folder.
pub fn run(command: &[String], env: &[(String, String)], dir: &Path) -> Result<Run, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(me)
        .current_dir(dir)
        .arg("--measure")
        .args(command)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(LOG.get().map(|path| (LOG_ENV, path)))
        .output()
        .map_err(|e| format!("cannot start the measuring process: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        [code, wall, rss] => Ok(Run {
            exit_code: code
                .parse()
                .map_err(|_| format!("bad measure output: {line}"))?,
            wall_secs: wall
                .parse()
                .map_err(|_| format!("bad measure output: {line}"))?,
            max_rss_kb: rss
                .parse()
                .map_err(|_| format!("bad measure output: {line}"))?,
        }),
        _ => Err(format!(
            "bad measure output: {line:?}; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

/// Names the file the measured command's stderr is appended to, if set.
const LOG_ENV: &str = "CALM_BENCH_LOG";

/// Set by `--log`: where the measured commands' stderr goes.
pub static LOG: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The measuring process: run the command (its output discarded), then print
/// `<exit code> <wall seconds> <peak RSS in KiB>`.
pub fn child_main(command: &[String]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        return ExitCode::from(2);
    };
    // `calm-bench --log FILE` keeps calmctl's stderr (its timestamped progress lines).
    let stderr = std::env::var_os(LOG_ENV)
        .and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        })
        .map_or_else(std::process::Stdio::null, std::process::Stdio::from);
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .status();
    let wall = start.elapsed().as_secs_f64();
    let Ok(status) = status else {
        return ExitCode::from(2);
    };
    let rss = getrusage(UsageWho::RUSAGE_CHILDREN).map_or(-1, |u| u.max_rss());
    println!("{} {wall:.4} {rss}", status.code().unwrap_or(-1));
    ExitCode::SUCCESS
}
