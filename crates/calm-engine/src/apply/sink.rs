//! Where credentials go, and the IO of putting them there.
//!
//! - `dir`: `<dir>/<tenant>/<key>.json` (`<dir>/<tenant>/<instance>/<key>.json` when two instances
//!   of the tenant have a key of that name: calm_core::delivered::credentials_path), written to a
//!   temporary file in the same folder (mode 0600 from creation) and renamed over the target, so a
//!   reader never sees half a file. Folders are 0700, whatever the umask. A target that is a
//!   symlink, or a folder that group or others can read, is refused; an existing file that group
//!   or others can read is narrowed to 0600.
//! - `exec`: the JSON on the command's stdin, the command contained (exec.rs).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use calm_btp::cf::Credentials;
use calm_core::delivered::credentials_path;
use calm_core::{Delivery, ExecDelivery, Tenant};

use super::exec::{self, ExecSetup, Target};

/// Where credentials go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// Files under a folder.
    Dir(PathBuf),
    /// A command reading the JSON on stdin.
    Exec(ExecDelivery),
}

impl From<&Delivery> for Sink {
    fn from(delivery: &Delivery) -> Self {
        match delivery {
            Delivery::Dir(dir) => Sink::Dir(dir.clone()),
            Delivery::Exec(exec) => Sink::Exec(exec.clone()),
        }
    }
}

impl Sink {
    /// The file a key goes to (`dir` only).
    pub fn path(&self, t: &Tenant, instance: &str, key: &str) -> Option<PathBuf> {
        match self {
            Sink::Dir(dir) => Some(credentials_path(dir, t, instance, key)),
            Sink::Exec(_) => None,
        }
    }

    /// Whether the sink lacks this key (only a folder can tell).
    pub(crate) fn missing(&self, t: &Tenant, instance: &str, key: &str) -> bool {
        self.path(t, instance, key)
            .is_some_and(|p| std::fs::symlink_metadata(p).is_err())
    }

    /// Narrows an existing credentials file that group or others can read to 0600 (a file copied
    /// in, or written under an older tool): a file calmctl does not rewrite is fixed in place.
    pub(crate) fn protect(&self, t: &Tenant, instance: &str, key: &str) -> Result<(), String> {
        let Some(path) = self.path(t, instance, key) else {
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
        setup: &ExecSetup,
        cancel: &calm_btp::Cancel,
        t: &Tenant,
        instance: &str,
        key: &str,
        credentials: &Credentials,
    ) -> Result<String, String> {
        let json = credentials.expose_json().as_bytes();
        match self {
            Sink::Dir(dir) => {
                let path = credentials_path(dir, t, instance, key);
                write_file(dir, &path, json)?;
                Ok(path.display().to_string())
            }
            Sink::Exec(exec) => {
                let target = Target {
                    tenant: &t.name,
                    instance,
                    key,
                };
                exec::deliver(exec, setup, cancel, &target, json).await?;
                Ok(format!("`{}`", exec.command.join(" ")))
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

/// Writes `json` to `target` (a file below `dir`) atomically; `dir` and every folder between it
/// and the file (the tenant's, an instance's) must be private, and are made 0700 when missing.
fn write_file(dir: &Path, target: &Path, json: &[u8]) -> Result<(), String> {
    let folder = target
        .parent()
        .ok_or_else(|| format!("{} has no folder", target.display()))?;
    let below = folder
        .strip_prefix(dir)
        .map_err(|_| format!("{} is not in {}", target.display(), dir.display()))?;
    private_dir(dir)?;
    let mut current = dir.to_path_buf();
    for part in below.components() {
        current.push(part);
        private_dir(&current)?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(target)
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
        .tempfile_in(folder)
        .map_err(|e| format!("cannot write in {}: {e}", folder.display()))?;
    file.write_all(json)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| format!("cannot write in {}: {e}", folder.display()))?;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot protect {}: {e}", file.path().display()))?;
    file.persist(target)
        .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    Ok(())
}
