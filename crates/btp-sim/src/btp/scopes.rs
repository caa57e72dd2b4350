//! The scope each Accounts and Entitlements operation requires, and the 403 without it.
//!
//! Scopes are those the published specs name per operation ("Required scope: $XSAPPNAME.…",
//! `docs/specs/btp-{accounts,entitlements}-service-api-go.swagger.json`, btp-api.md §3.4); a token
//! holds them with the `cis-central!b14.` prefix. `GET /entitlements/v1/assignments` accepts either
//! of its two scopes, as its spec says. An operation not in the table requires a scope no token has.
//!
//! The refusal: 403 (every operation's spec lists "403 Forbidden") with the services' error body
//! (SAP's "Error Response Format" page, [S9] `error-response-format-77fef2f.md`), code 11004 and the
//! message "User is unauthorized for this operation" that BTP gives for an operation outside the
//! caller's authorizations (relayed by the BTP CLI server as `[Error: 11004/…]`,
//! SAP/terraform-provider-btp issue #1231). The body is checked before anything else: a caller
//! without the scope learns nothing about the subaccount it names.

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::errors;

/// The scopes of which a caller needs one for `method` on the matched route `route`.
pub fn required(method: &Method, route: &str) -> &'static [&'static str] {
    const SUBACCOUNT_READ: &[&str] = &["global-account.subaccount.read"];
    const SUBACCOUNT_UPDATE: &[&str] = &["global-account.subaccount.update"];
    let read = method == Method::GET || method == Method::HEAD;
    match route {
        "/accounts/v1/subaccounts" | "/accounts/v1/subaccounts/{guid}" if read => SUBACCOUNT_READ,
        "/accounts/v1/subaccounts/{guid}/labels"
        | "/accounts/v1/subaccounts/{guid}/serviceManagementBinding" => {
            if read {
                SUBACCOUNT_READ
            } else {
                SUBACCOUNT_UPDATE
            }
        }
        // The Provisioning service's scope for reading environment instances is not in the
        // specs read (btp-api.md §3.6): the simulator asks for the subaccount-read scope that
        // both `central` and `central-viewer` hold, and refuses tokens without it.
        "/provisioning/v1/environments" if read => SUBACCOUNT_READ,
        "/entitlements/v1/assignments" if read => &[
            "global-account.entitlement.read",
            "directory.entitlement.read",
        ],
        "/entitlements/v1/subaccountServicePlans" if method == Method::PUT => {
            &["global-account.entitlement.subaccount.update"]
        }
        "/jobs-management/v1/jobs/{id}/status" if read => &["job.read"],
        _ => &[],
    }
}

/// 403 for a caller without the operation's scope.
pub fn forbidden(path: &str) -> Response {
    errors::btp(
        StatusCode::FORBIDDEN,
        11004,
        "User is unauthorized for this operation",
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_need_update_scopes_and_reads_read_scopes() {
        let labels = "/accounts/v1/subaccounts/{guid}/labels";
        assert_eq!(
            required(&Method::PUT, labels),
            ["global-account.subaccount.update"]
        );
        assert_eq!(
            required(&Method::DELETE, labels),
            ["global-account.subaccount.update"]
        );
        assert_eq!(
            required(&Method::GET, labels),
            ["global-account.subaccount.read"]
        );
        assert_eq!(
            required(
                &Method::POST,
                "/accounts/v1/subaccounts/{guid}/serviceManagementBinding"
            ),
            ["global-account.subaccount.update"]
        );
        assert!(required(&Method::DELETE, "/accounts/v1/subaccounts/{guid}").is_empty());
    }
}
