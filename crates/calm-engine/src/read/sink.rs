//! The local half of the live state: which credentials files a `dir` delivery holds, and what
//! they hold (a 64-bit prefix of the SHA-256 of their content, never the content). With the
//! delivery records on the keys, the plan tells a key whose file is missing or was overwritten
//! with other credentials (calm_core::delivered).

use std::io::Read;
use std::path::Path;

use calm_core::delivered::{credentials_path, file_key, file_secret_id};
use calm_core::{Delivery, Desired, Live};

/// A credentials file larger than this is not one calmctl wrote (a key's JSON is a few KB).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Fills [`calm_core::LiveTenant::files`] of the tenants in `live` (nothing for `exec`).
pub(crate) fn read_files(desired: &Desired, live: &mut Live) {
    let Delivery::Dir(dir) = &desired.delivery else {
        return;
    };
    for t in &desired.tenants {
        let Some(lt) = live.tenants.get_mut(&t.name) else {
            continue;
        };
        for i in &t.instances {
            for k in &i.keys {
                if let Some(id) = secret_id(&credentials_path(dir, t, &i.name, &k.name)) {
                    lt.files.insert(file_key(&i.name, &k.name), id);
                }
            }
        }
    }
}

/// The secret id of a regular file calmctl could have written; `None` for anything else (missing,
/// a symlink, a folder, unreadable, too large): the key is then due, and its delivery says why.
fn secret_id(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(file_secret_id(&bytes))
}
