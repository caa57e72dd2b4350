//! The outcome of an apply, per tenant: what was done, what failed and why (with the API's code
//! and correlation id, to quote to SAP support), what is left. Holds no secret: credentials are
//! named by tenant and key, never shown.

use serde::Serialize;

/// How a tenant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Converged: every change applied and every due key delivered (or nothing was needed).
    Done,
    /// A step failed; later steps of this tenant were not tried.
    Failed,
    /// Not started: the run was interrupted first.
    Skipped,
    /// Started, but interrupted before all steps ran; a re-run continues it.
    Pending,
}

impl TenantStatus {
    /// The word used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Done => "done",
            TenantStatus::Failed => "failed",
            TenantStatus::Skipped => "skipped",
            TenantStatus::Pending => "pending",
        }
    }
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The step, e.g. `create service_instance calm/calm-api`.
    pub step: String,
    /// What went wrong, with the API's own message (the broker's, for a failed job).
    pub message: String,
    /// The API's error code, e.g. `CF-UnprocessableEntity (10008)` or `30004`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The request or correlation id of the failing request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl Failure {
    /// A failure of `step` from an API error.
    pub(crate) fn api(step: &str, error: &calm_btp::Error) -> Failure {
        let (code, correlation_id) = match error {
            calm_btp::Error::Api(api) => {
                let code = match &api.body {
                    calm_btp::ErrorBody::CloudFoundry(entries) => {
                        entries.first().map(|e| format!("{} ({})", e.title, e.code))
                    }
                    calm_btp::ErrorBody::ServiceManager { error, .. } => Some(error.clone()),
                    calm_btp::ErrorBody::Accounts { code, .. } => code.map(|c| c.to_string()),
                    calm_btp::ErrorBody::Uaa { error, .. } => Some(error.clone()),
                    calm_btp::ErrorBody::Router { error, .. } => Some(error.clone()),
                    _ => None,
                }
                .or_else(|| Some(format!("HTTP {}", api.status)));
                (code, api.request_id.clone())
            }
            calm_btp::Error::JobFailed { errors, .. } => (
                errors.first().map(|e| format!("{} ({})", e.title, e.code)),
                None,
            ),
            _ => (None, None),
        };
        Failure {
            step: step.to_owned(),
            message: error.to_string(),
            code,
            correlation_id,
        }
    }

    /// A failure that is not an API error (a missing org, a sink that refused).
    pub(crate) fn other(step: &str, message: impl Into<String>) -> Failure {
        Failure {
            step: step.to_owned(),
            message: message.into(),
            code: None,
            correlation_id: None,
        }
    }
}

/// What happened to one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantReport {
    /// The tenant.
    pub tenant: String,
    /// How it ended.
    pub status: TenantStatus,
    /// Steps that were carried out, in order.
    pub done: Vec<String>,
    /// Steps not carried out (after a failure or an interruption).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remaining: Vec<String>,
    /// Keys whose credentials were delivered, as `<instance>/<key>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivered: Vec<String>,
    /// The failure, for `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// Things to know that did not stop the tenant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Per tenant, sorted by name.
    pub tenants: Vec<TenantReport>,
    /// The run was interrupted (Ctrl-C).
    pub interrupted: bool,
}

impl ApplyReport {
    /// True when every tenant converged.
    pub fn converged(&self) -> bool {
        !self.interrupted && self.tenants.iter().all(|t| t.status == TenantStatus::Done)
    }

    /// How many tenants ended with `status`.
    pub fn count(&self, status: TenantStatus) -> usize {
        self.tenants.iter().filter(|t| t.status == status).count()
    }
}
