//! The `exec` sink as a contained child: the command gets a key's credentials on stdin and
//! nothing else of calmctl.
//!
//! - **Environment**: cleared, then only `PATH`, `HOME`, the variables calm.yaml names in
//!   `delivery.env` ([`ExecSetup::env`], resolved by the caller), and `CALMCTL_TENANT`,
//!   `CALMCTL_INSTANCE`, `CALMCTL_KEY`. calmctl's own credentials (`BTP_PASSWORD`, the Cloud
//!   Management key) never reach it.
//! - **Process group**: the command runs in a group of its own, so a terminal's Ctrl-C does not
//!   reach it directly and calmctl can end it with everything it started: the group is killed when
//!   the timeout passes (`delivery.timeout`), when the run is interrupted, and when the delivery is
//!   dropped (calmctl exits or panics).
//! - **kill -9**: a process killed outright cleans up nothing, so the command can run under a
//!   *guard* ([`ExecSetup::guard`], `calmctl` itself in a hidden mode, [`guard_main`]): the guard
//!   starts the command in its own group, reads the credentials from calmctl on a pipe that calmctl
//!   keeps open, and kills the group when that pipe closes without calmctl having asked — which is
//!   what happens when calmctl dies.
//!
//! The guard protocol on its stdin: 8 bytes (little-endian length), the credentials JSON, then
//! nothing until calmctl is done. Its exit status is the command's (128 + signal when the command
//! was killed by one).

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use calm_core::ExecDelivery;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;

/// How calmctl runs `exec` commands.
#[derive(Debug, Clone, Default)]
pub struct ExecSetup {
    /// The guard's command line (program and arguments), to which `--` and the command are
    /// appended; `None` runs the command directly (no protection against kill -9).
    pub guard: Option<Vec<String>>,
    /// The environment the command gets besides the `CALMCTL_*` variables: `PATH`, `HOME` and
    /// the variables `delivery.env` names, as calmctl's environment has them.
    pub env: Vec<(String, String)>,
}

/// Which key a delivery is for: the command reads these from its environment.
pub(crate) struct Target<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) instance: &'a str,
    pub(crate) key: &'a str,
}

/// Kills a process group when dropped, unless it was reaped and disarmed.
struct Group(Option<i32>);

impl Group {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // ESRCH (already gone) is what we want anyway.
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `exec` for one key with `json` on its stdin, within its timeout; `cancel` (Ctrl-C) ends
/// it at once.
pub(crate) async fn deliver(
    exec: &ExecDelivery,
    setup: &ExecSetup,
    cancel: &calm_btp::Cancel,
    target: &Target<'_>,
    json: &[u8],
) -> Result<(), String> {
    let (program, args) = exec
        .command
        .split_first()
        .ok_or_else(|| "delivery.exec is empty".to_owned())?;
    let mut command = match setup.guard.as_deref() {
        Some([guard, guard_args @ ..]) => {
            let mut c = tokio::process::Command::new(guard);
            c.args(guard_args).arg("--").arg(program).args(args);
            c
        }
        _ => {
            let mut c = tokio::process::Command::new(program);
            c.args(args);
            c
        }
    };
    command
        .env_clear()
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .env("CALMCTL_TENANT", target.tenant)
        .env("CALMCTL_INSTANCE", target.instance)
        .env("CALMCTL_KEY", target.key)
        .process_group(0)
        .kill_on_drop(true)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let mut group = Group(child.id().and_then(|id| i32::try_from(id).ok()));
    let mut stdin = child.stdin.take();
    let guarded = setup.guard.is_some();
    let timeout = Duration::from_secs(exec.timeout_secs.max(1));
    let run = async {
        if let Some(pipe) = stdin.as_mut() {
            if guarded {
                let len = u64::try_from(json.len()).unwrap_or(u64::MAX).to_le_bytes();
                pipe.write_all(&len).await?;
            }
            pipe.write_all(json).await?;
            pipe.flush().await?;
        }
        if !guarded {
            // End of the credentials. The guard's pipe stays open until the command is done.
            drop(stdin.take());
        }
        child.wait().await
    };
    enum Ended {
        Exited(std::io::Result<std::process::ExitStatus>),
        TimedOut,
        Interrupted,
    }
    let ended = tokio::select! {
        status = run => Ended::Exited(status),
        () = tokio::time::sleep(timeout) => Ended::TimedOut,
        () = cancel.cancelled() => Ended::Interrupted,
    };
    // Whatever the command left running in its group goes with it, whichever way it ended.
    group.kill();
    match ended {
        Ended::Interrupted => Err(format!("`{program}` was stopped: the run was interrupted")),
        Ended::TimedOut => Err(format!(
            "`{program}` did not finish within {} s (delivery.timeout); it was killed",
            timeout.as_secs()
        )),
        Ended::Exited(Err(e)) => Err(format!("`{program}` did not take the credentials: {e}")),
        Ended::Exited(Ok(status)) if status.success() => Ok(()),
        Ended::Exited(Ok(status)) => Err(format!("`{program}` exited with {status}")),
    }
}

/// The guard's `main`: runs `command` (program and arguments) with the credentials framed on
/// stdin, kills its process group if stdin closes before the command ends, and returns the exit
/// status to exit with.
pub fn guard_main(command: &[String]) -> i32 {
    let Some((program, args)) = command.split_first() else {
        eprintln!("calmctl: the delivery guard needs a command");
        return 125;
    };
    let mut input = std::io::stdin().lock();
    let mut len = [0u8; 8];
    let mut json = Vec::new();
    let framed = input.read_exact(&mut len).and_then(|()| {
        let n = u64::from_le_bytes(len);
        (&mut input).take(n).read_to_end(&mut json)?;
        if json.len() as u64 == n {
            Ok(())
        } else {
            Err(std::io::ErrorKind::UnexpectedEof.into())
        }
    });
    if framed.is_err() {
        eprintln!("calmctl: the delivery guard got no credentials");
        return 125;
    }
    drop(input);
    let mut child = match std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("calmctl: cannot start `{program}`: {e}");
            return if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading fails on its own exit status.
        let _ = stdin.write_all(&json);
    }
    // calmctl keeps the pipe open while it waits for the command: its end means calmctl is gone.
    std::thread::spawn(|| {
        let mut rest = Vec::new();
        let _ = std::io::stdin().lock().read_to_end(&mut rest);
        let _ = killpg(nix::unistd::getpgrp(), Signal::SIGKILL);
    });
    match child.wait() {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(125)
        }
        Err(e) => {
            eprintln!("calmctl: lost `{program}`: {e}");
            125
        }
    }
}
