//! Resolving secret references (`{ env: NAME }`, `{ file: PATH }`) into secrets, at the edge.
//! The environment is passed in as a function, so that only the CLI reads the process
//! environment and tests can supply their own.

use std::path::{Path, PathBuf};

use calm_btp::SecretString;
use calm_core::SecretRef;

use crate::EngineError;

/// Looks up an environment variable.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Reads the secret a reference points at. The error names the reference, never the value.
pub fn resolve(
    reference: &SecretRef,
    env: &EnvLookup,
    what: &str,
) -> Result<SecretString, EngineError> {
    match reference {
        SecretRef::Env(name) => match env(name) {
            Some(value) if !value.is_empty() => Ok(SecretString::from(value)),
            _ => Err(EngineError::MissingSecret {
                what: what.to_owned(),
                reference: format!("environment variable {name}"),
                help: format!("export {name}=... before running calmctl"),
            }),
        },
        SecretRef::File(path) => {
            let path = expand_home(path, env);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(SecretString::from(
                    text.trim_end_matches(['\n', '\r']).to_owned(),
                )),
                Err(e) => Err(EngineError::MissingSecret {
                    what: what.to_owned(),
                    reference: format!("file {}", path.display()),
                    help: format!("cannot read it: {e}"),
                }),
            }
        }
    }
}

fn expand_home(path: &Path, env: &EnvLookup) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => env("HOME").map_or_else(|| path.to_owned(), |home| Path::new(&home).join(rest)),
        Err(_) => path.to_owned(),
    }
}
