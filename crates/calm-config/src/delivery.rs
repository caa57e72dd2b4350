//! The `delivery` section: exactly one sink, each field meaningful. A delivery that cannot work
//! (`exec: []`, `dir: ''`) or that says two things (`dir` and `exec`, of which one would be
//! ignored) is an error, not a silent default: credentials that go nowhere are lost.

use std::path::PathBuf;

use calm_core::{Account, DEFAULT_EXEC_TIMEOUT_SECS, Delivery, ExecDelivery, SecretRef};

use crate::diagnostic::Problems;
use crate::rules;
use crate::schema::{CalmFile, DeliverySpec};

/// The folder used when calm.yaml names no delivery.
const DEFAULT_DIR: &str = "credentials";

/// Checks `delivery` and resolves it.
pub(crate) fn delivery(problems: &mut Problems, file: &CalmFile, accounts: &[Account]) -> Delivery {
    let Some(d) = &file.delivery else {
        return Delivery::Dir(PathBuf::from(DEFAULT_DIR));
    };
    if let (Some(dir), Some(exec)) = (&d.dir, &d.exec) {
        problems
            .error("calm::delivery", "`delivery` has both `dir` and `exec`")
            .label(dir.span, "files here")
            .label(exec.span, "and a command here")
            .help("choose one: `dir` writes each key to a file, `exec` pipes each key to a command")
            .push();
    }
    if let Some(dir) = &d.dir
        && dir.value.trim().is_empty()
    {
        problems
            .error("calm::delivery", "`dir` is empty")
            .label(dir.span, "no folder")
            .help("name the folder for credentials files, e.g. `dir: ./credentials`")
            .push();
    }
    match &d.exec {
        Some(exec) => Delivery::Exec(exec_delivery(problems, d, exec, accounts)),
        None => {
            for (name, span) in [
                (
                    "env",
                    d.env.as_ref().and_then(|e| e.first()).map(|e| e.span),
                ),
                ("timeout", d.timeout.as_ref().map(|t| t.span)),
            ] {
                if let Some(span) = span {
                    problems
                        .error("calm::delivery", format!("`{name}` applies to `exec` only"))
                        .label(span, "no command to apply it to")
                        .help(format!("remove `{name}`, or deliver with `exec: [...]`"))
                        .push();
                }
            }
            let dir = d.dir.as_ref().map_or(DEFAULT_DIR, |dir| dir.value.as_str());
            Delivery::Dir(PathBuf::from(dir))
        }
    }
}

fn exec_delivery(
    problems: &mut Problems,
    d: &DeliverySpec,
    exec: &crate::schema::Sp<Vec<crate::schema::Sp<String>>>,
    accounts: &[Account],
) -> ExecDelivery {
    match exec.value.first() {
        None => problems
            .error("calm::delivery", "`exec` is empty")
            .label(exec.span, "no command")
            .help("name the program and its arguments, e.g. `exec: [vault-put, secret/calm]`")
            .push(),
        Some(program) if program.value.trim().is_empty() => problems
            .error("calm::delivery", "the program of `exec` is empty")
            .label(program.span, "no program")
            .help("the first item of `exec` is the program to run, e.g. `vault-put`")
            .push(),
        Some(_) => {}
    }
    let credentials = credential_variables(accounts);
    let mut env = Vec::new();
    for name in d.env.iter().flatten() {
        let valid = name
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            problems
                .error(
                    "calm::delivery",
                    format!("`{}` is not an environment variable name", name.value),
                )
                .label(
                    name.span,
                    "letters, digits and `_`, not starting with a digit",
                )
                .help("name variables of calmctl's environment to pass on, e.g. `VAULT_ADDR`")
                .push();
        } else if credentials.contains(&name.value.as_str()) {
            problems
                .error(
                    "calm::delivery",
                    format!("`{}` holds one of calmctl's own credentials", name.value),
                )
                .label(name.span, "referenced by `accounts` as a secret")
                .help(
                    "the delivery command must not see calmctl's BTP credentials; give it its \
                     own variables",
                )
                .push();
        } else {
            env.push(name.value.clone());
        }
    }
    let timeout_secs = d
        .timeout
        .as_ref()
        .and_then(|t| rules::duration(problems, t))
        .unwrap_or(DEFAULT_EXEC_TIMEOUT_SECS);
    ExecDelivery {
        command: exec.value.iter().map(|a| a.value.clone()).collect(),
        env,
        timeout_secs,
    }
}

/// The environment variables calm.yaml reads credentials from.
fn credential_variables(accounts: &[Account]) -> Vec<&str> {
    let mut names = Vec::new();
    for a in accounts {
        let cf = a.cloudfoundry.as_ref();
        for r in [
            a.cis_key.as_ref(),
            a.username.as_ref(),
            a.password.as_ref(),
            cf.and_then(|c| c.username.as_ref()),
            cf.and_then(|c| c.password.as_ref()),
            cf.and_then(|c| c.assertion.as_ref()),
        ]
        .into_iter()
        .flatten()
        {
            if let SecretRef::Env(name) = r {
                names.push(name.as_str());
            }
        }
    }
    names
}
