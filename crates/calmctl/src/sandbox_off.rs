//! A build without the cargo feature `sandbox`: no simulator is linked, and `--sandbox` is an
//! error that says how to get it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;

use calm_core::Desired;

/// No sandbox can exist in this build: the type has no value.
pub(crate) struct Sandbox {
    pub(crate) secrets: HashMap<String, String>,
    never: Infallible,
}

impl Sandbox {
    pub(crate) async fn start(_: &Desired, _: Option<&Path>) -> Result<Sandbox, String> {
        Err(
            "this calmctl was built without the sandbox; build it with the cargo feature \
             `sandbox` (on by default) to use --sandbox"
                .into(),
        )
    }

    pub(crate) fn desired(&self, _: &Desired) -> Desired {
        match self.never {}
    }

    pub(crate) fn url(&self) -> &str {
        match self.never {}
    }

    pub(crate) fn save(&self, _: &Path) -> Result<(), String> {
        match self.never {}
    }

    pub(crate) async fn stop(self) {}
}
