//! Before a run writes anything: may each account's Cloud Management token make the writes the
//! plan needs?
//!
//! An apply with changes writes with an account's `cis` key: lease labels on the subaccounts of
//! its changing tenants and, for a subaccount without one, a Service Manager access binding (both
//! `global-account.subaccount.update`), and entitlement changes
//! (`global-account.entitlement.subaccount.update`). A key of plan `central-viewer`, or a user
//! with only the Global Account Viewer role collection, can read everything `plan` needs but none
//! of this; BTP would refuse the first write with 403 after the run had started (btp-api.md §3.4).
//!
//! The scopes come with the token (the token response's `scope`, btp-api.md §3.1), which the read
//! before the plan already fetched: the check costs no request.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use calm_btp::auth::{ENTITLEMENT_UPDATE, SUBACCOUNT_UPDATE, grants};
use calm_core::{Desired, Plan, Resource};

use crate::{Connections, EngineError};

/// The scopes each account's writes need for `plan`, by account name.
fn needed<'a>(
    desired: &'a Desired,
    conns: &'a Connections,
    plan: &Plan,
) -> BTreeMap<&'a str, BTreeSet<&'static str>> {
    let account_of: HashMap<&str, &str> = desired
        .tenants
        .iter()
        .map(|t| (t.name.as_str(), t.account.as_str()))
        .collect();
    let mut needs: BTreeMap<&str, BTreeSet<&'static str>> = BTreeMap::new();
    for change in &plan.changes {
        // A tenant removed from the config may be in any of the accounts in use.
        let accounts: Vec<&str> = match account_of.get(change.tenant.as_str()) {
            Some(account) => vec![account],
            None => conns.account_names().collect(),
        };
        for account in accounts {
            let scopes = needs.entry(account).or_default();
            scopes.insert(SUBACCOUNT_UPDATE);
            if matches!(change.resource, Resource::Entitlement { .. }) {
                scopes.insert(ENTITLEMENT_UPDATE);
            }
        }
    }
    needs
}

/// Refuses, before any change, a plan whose writes an account's token may not make.
pub async fn check_write_access(
    desired: &Desired,
    conns: &Connections,
    plan: &Plan,
) -> Result<(), EngineError> {
    for (account, scopes) in needed(desired, conns, plan) {
        let conn = conns.account(account)?;
        let granted = conn
            .accounts
            .granted_scopes()
            .await
            .map_err(EngineError::api(format!(
                "getting a Cloud Management token for account `{account}`"
            )))?;
        let missing: Vec<String> = scopes
            .into_iter()
            .filter(|s| !grants(&granted, s))
            .map(str::to_owned)
            .collect();
        if !missing.is_empty() {
            return Err(EngineError::ReadOnly {
                account: account.to_owned(),
                missing,
                password_grant: conn.password_grant,
            });
        }
    }
    Ok(())
}
