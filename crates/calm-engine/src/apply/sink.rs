//! Where credentials go, and the IO of putting them there.
//!
//! - `dir`: `<dir>/<tenant>/<key>.json`, written to a temporary file in the same folder (mode
//!   0600 from creation) and renamed over the target, so a reader never sees half a file. Folders
//!   are 0700, whatever the umask. A target that is a symlink, or a folder that group or others
//!   can read, is refused; an existing file that group or others can read is narrowed to 0600.
//! - `exec`: the JSON on the command's stdin, with `CALMCTL_TENANT` and `CALMCTL_KEY` set.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use calm_btp::cf::Credentials;
use calm_core::Delivery;
use tokio::io::AsyncWriteExt;

/// Where credentials go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// Files under a folder.
    Dir(PathBuf),
    /// A command reading the JSON on stdin.
    Exec(Vec<String>),
}

impl From<&Delivery> for Sink {
    fn from(delivery: &Delivery) -> Self {
        match delivery {
            Delivery::Dir(dir) => Sink::Dir(dir.clone()),
            Delivery::Exec(argv) => Sink::Exec(argv.clone()),
        }
    }
}

impl Sink {
    /// The file a key goes to (`dir` only).
    pub fn path(&self, tenant: &str, key: &str) -> Option<PathBuf> {
        match self {
            Sink::Dir(dir) => Some(dir.join(tenant).join(format!("{key}.json"))),
            Sink::Exec(_) => None,
        }
    }

    /// Whether the sink lacks this key (only a folder can tell).
    pub(crate) fn missing(&self, tenant: &str, key: &str) -> bool {
        self.path(tenant, key)
            .is_some_and(|p| std::fs::symlink_metadata(p).is_err())
    }

    /// Narrows an existing credentials file that group or others can read to 0600 (a file copied
    /// in, or written under an older tool): a file calmctl does not rewrite is fixed in place.
    pub(crate) fn protect(&self, tenant: &str, key: &str) -> Result<(), String> {
        let Some(path) = self.path(tenant, key) else {
            return Ok(());
        };
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() && meta.mode() & 0o077 != 0 => {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| format!("cannot protect {}: {e}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// Writes the credentials; returns where they went.
    pub(crate) async fn put(
        &self,
        tenant: &str,
        key: &str,
        credentials: &Credentials,
    ) -> Result<String, String> {
        match self {
            Sink::Dir(dir) => {
                let path = write_file(dir, tenant, key, credentials.expose_json().as_bytes())?;
                Ok(path.display().to_string())
            }
            Sink::Exec(argv) => {
                run_command(argv, tenant, key, credentials.expose_json().as_bytes()).await?;
                Ok(format!("`{}`", argv.join(" ")))
            }
        }
    }
}

/// A folder that exists must be ours alone; a missing one is made 0700.
fn private_dir(dir: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => Err(format!(
            "{} is a symlink; calmctl writes credentials only into a real folder",
            dir.display()
        )),
        Ok(meta) if !meta.is_dir() => Err(format!("{} is not a folder", dir.display())),
        Ok(meta) if meta.mode() & 0o077 != 0 => Err(format!(
            "{} can be read by group or others (mode {:o}); run `chmod 700 {}`",
            dir.display(),
            meta.mode() & 0o777,
            dir.display()
        )),
        Ok(_) => Ok(()),
        Err(_) => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            // The umask can only remove bits, but a parent made by `recursive` may differ:
            // set the mode explicitly on the folder that holds secrets.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("cannot protect {}: {e}", dir.display()))
        }
    }
}

fn write_file(dir: &Path, tenant: &str, key: &str, json: &[u8]) -> Result<PathBuf, String> {
    private_dir(dir)?;
    let folder = dir.join(tenant);
    private_dir(&folder)?;
    let target = folder.join(format!("{key}.json"));
    if let Ok(meta) = std::fs::symlink_metadata(&target)
        && !meta.is_file()
    {
        return Err(format!(
            "{} is a symlink or not a file; refusing to write credentials there",
            target.display()
        ));
    }
    // NamedTempFile creates the file with mode 0600 whatever the umask.
    let mut file = tempfile::Builder::new()
        .prefix(".calmctl-")
        .tempfile_in(&folder)
        .map_err(|e| format!("cannot write in {}: {e}", folder.display()))?;
    file.write_all(json)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| format!("cannot write in {}: {e}", folder.display()))?;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot protect {}: {e}", file.path().display()))?;
    file.persist(&target)
        .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    Ok(target)
}

async fn run_command(argv: &[String], tenant: &str, key: &str, json: &[u8]) -> Result<(), String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "delivery.exec is empty".to_owned())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("CALMCTL_TENANT", tenant)
        .env("CALMCTL_KEY", key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(json)
            .await
            .map_err(|e| format!("`{program}` did not read the credentials: {e}"))?;
    }
    let status = child
        .wait()
        .await
        .map_err(|e| format!("`{program}` failed: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program}` exited with {status}"))
    }
}
