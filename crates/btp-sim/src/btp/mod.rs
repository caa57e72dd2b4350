//! The BTP Accounts, Entitlements and Provisioning services (btp-api.md §3): Cloud Management
//! (`cis`) APIs.

mod accounts;
mod entitlements;
mod labels;
mod provisioning;
pub mod scopes;

use axum::Router;

use crate::server::Shared;

/// Accounts, Entitlements and jobs-management routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .merge(accounts::routes())
        .merge(entitlements::routes())
        .merge(labels::routes())
        .merge(provisioning::routes())
}
