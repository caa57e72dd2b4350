//! `calmctl discover`: list what exists in a global account and write a calm.yaml (or a CSV
//! inventory) whose first plan adopts it.

use std::sync::Arc;

use calm_btp::ClientConfig;
use calm_core::{Account, SecretRef};
use calm_engine::Connections;
use calm_engine::discover::{DiscoverOptions, discover as read};

use crate::cli::{DiscoverArgs, DiscoverFormat};
use crate::commands::session::load_config;
use crate::{Context, Status, output};

pub(crate) fn discover(args: &DiscoverArgs, ctx: &Context) -> Status {
    match run(args, ctx) {
        Ok(status) => status,
        Err(message) => {
            output::stderr(&format!("error: {message}\n"));
            Status::Failure
        }
    }
}

fn run(args: &DiscoverArgs, ctx: &Context) -> Result<Status, String> {
    let Some(account) = account(args, ctx)? else {
        return Ok(Status::Failure);
    };
    let mut labels = Vec::new();
    for l in &args.labels {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| format!("--label {l}: write KEY=VALUE"))?;
        labels.push((k.to_owned(), v.to_owned()));
    }
    let options = DiscoverOptions {
        account: account.name.clone(),
        directory: args.directory.clone(),
        labels,
        region: args.region.clone(),
    };
    let mut config = ClientConfig::default();
    if let Some(url) = &ctx.api_url {
        config.api_url = Some(
            url.parse()
                .map_err(|e| format!("CALMCTL_API_URL={url}: {e}"))?,
        );
    }
    let env = Arc::clone(&ctx.env);
    let found = crate::runtime::block_on(async {
        let conns = Connections::for_account(&account, config, env.as_ref())?;
        read(&conns, &options).await
    });
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            output::stderr(&output::render_error(&e));
            return Ok(Status::Failure);
        }
    };
    let draft = calm_engine::discover::draft(&account, &found);
    let text = match args.format {
        DiscoverFormat::Yaml => calm_config::draft::to_yaml(&draft),
        DiscoverFormat::Csv => calm_config::draft::to_csv(&draft)?,
    };
    let onboarded = found.iter().filter(|f| f.runtime.is_some()).count();
    match &args.out {
        Some(path) => std::fs::write(path, &text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => output::stdout(&text).map_err(|e| format!("cannot write to stdout: {e}"))?,
    }
    output::stderr(&format!(
        "discovered {} subaccounts in account `{}` ({onboarded} onboarded already)\n",
        found.len(),
        account.name
    ));
    Ok(Status::Success)
}

/// The account to read: from flags (bootstrap, no calm.yaml needed) or from calm.yaml. `None`
/// when calm.yaml is invalid (its problems were printed).
fn account(args: &DiscoverArgs, ctx: &Context) -> Result<Option<Account>, String> {
    let cis_key = match (&args.cis_key_env, &args.cis_key_file) {
        (Some(var), _) => Some(SecretRef::Env(var.clone())),
        (None, Some(path)) => Some(SecretRef::File(path.clone())),
        (None, None) => None,
    };
    if let Some(cis_key) = cis_key {
        let subdomain = args
            .global_account
            .clone()
            .ok_or("--global-account is required with --cis-key-env or --cis-key-file")?;
        return Ok(Some(Account {
            name: args.account.clone().unwrap_or_else(|| subdomain.clone()),
            span: calm_core::Span::default(),
            subdomain,
            region: args.global_account_region.clone(),
            cis_key: Some(cis_key),
            username: args.username_env.clone().map(SecretRef::Env),
            password: args.password_env.clone().map(SecretRef::Env),
            cloudfoundry: None,
        }));
    }
    let Some(loaded) = load_config(&args.file, ctx) else {
        return Ok(None);
    };
    let accounts = loaded.desired.accounts;
    let chosen = match &args.account {
        Some(name) => accounts
            .into_iter()
            .find(|a| &a.name == name)
            .ok_or_else(|| {
                format!(
                    "--account {name}: {} has no account of that name",
                    args.file.display()
                )
            })?,
        None if accounts.len() == 1 => accounts.into_iter().next().ok_or("no account")?,
        None => {
            return Err(format!(
                "{} has {} accounts; choose one with --account NAME",
                args.file.display(),
                accounts.len()
            ));
        }
    };
    Ok(Some(chosen))
}
