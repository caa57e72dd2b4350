//! The BTP Entitlements service (btp-api.md §3.3): read all assignments of a global account in one
//! call, change many subaccounts in one PUT, and wait for the change.

use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::auth::{Grant, TokenSource};
use crate::error::{Api, Error};
use crate::http::endpoint::{self, Endpoint};
use crate::http::{Auth, Btp, Request};
use crate::observer::{Event, RetryReason};

/// All assignments visible to the caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignments {
    /// Services with plans assigned to subaccounts or directories.
    pub assigned_services: Vec<AssignedService>,
    /// Services the global account is entitled to.
    pub entitled_services: Vec<EntitledService>,
}

/// A service with assigned plans.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedService {
    /// Technical name, e.g. `SAPCloudALMAPIs`.
    pub name: String,
    /// Plans.
    pub service_plans: Vec<AssignedPlan>,
}

/// A plan and where it is assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedPlan {
    /// Plan name, e.g. `standard`.
    pub name: String,
    /// Unique identifier (needed when plan names repeat).
    pub unique_identifier: Option<String>,
    /// Category; quota-based plans take `amount`, others `enable`.
    pub category: Option<String>,
    /// The assignments.
    pub assignments: Vec<Assignment>,
}

/// One assignment of a plan to an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The subaccount (or directory, global account) GUID.
    pub entity_id: String,
    /// `SUBACCOUNT`, `DIRECTORY` or `GLOBAL_ACCOUNT`.
    pub entity_type: String,
    /// Amount assigned.
    pub amount: Option<f64>,
    /// `STARTED`, `PROCESSING`, `PROCESSING_FAILED` or `OK`.
    pub entity_state: Option<String>,
    /// Why a change failed.
    pub state_message: Option<String>,
    /// Assigned automatically; cannot be removed.
    pub auto_assigned: bool,
}

/// A service the global account is entitled to.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitledService {
    /// Technical name.
    pub name: String,
    /// Plans with their quota.
    pub service_plans: Vec<EntitledPlan>,
}

/// A plan the global account is entitled to.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitledPlan {
    /// Plan name.
    pub name: String,
    /// Unique identifier.
    pub unique_identifier: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Total quota.
    pub amount: Option<f64>,
    /// Quota left.
    pub remaining_amount: Option<f64>,
    /// Unlimited quota.
    pub unlimited: bool,
}

impl Assignments {
    /// The assignment of `service`/`plan` to `subaccount_guid`, if any.
    pub fn find(&self, subaccount_guid: &str, service: &str, plan: &str) -> Option<&Assignment> {
        self.of_plan(service, plan)
            .find(|a| a.entity_id == subaccount_guid)
    }

    /// Every assignment of `service`/`plan`, in the order listed.
    pub fn of_plan<'s, 'q>(
        &'s self,
        service: &'q str,
        plan: &'q str,
    ) -> impl Iterator<Item = &'s Assignment> + use<'s, 'q> {
        self.assigned_services
            .iter()
            .filter(move |s| s.name == service)
            .flat_map(move |s| s.service_plans.iter().filter(move |p| p.name == plan))
            .flat_map(|p| p.assignments.iter())
    }
}

/// Filter for [`EntitlementsClient::list_assignments`]; all empty reads the whole global account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentFilter {
    /// One subaccount.
    pub subaccount_guid: Option<String>,
    /// One service.
    pub service_name: Option<String>,
    /// One plan.
    pub plan_name: Option<String>,
}

/// How much of a plan a subaccount gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quota {
    /// For plans without a numeric quota: `enable` (false removes it).
    Enable(bool),
    /// For quota-based plans: `amount` (0 removes it).
    Amount(f64),
}

/// A change of one plan for several subaccounts.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanAssignment {
    /// Service, e.g. `SAPCloudALMAPIs`.
    pub service_name: String,
    /// Plan, e.g. `standard`.
    pub plan_name: String,
    /// Plan unique identifier, when plan names repeat.
    pub plan_unique_identifier: Option<String>,
    /// Subaccounts and what they get.
    pub subaccounts: Vec<(String, Quota)>,
}

mod wire;

pub(crate) use wire::{decode_assignments, job_id};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutBody<'a> {
    subaccount_service_plans: Vec<PutPlan<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutPlan<'a> {
    service_name: &'a str,
    service_plan_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_plan_unique_identifier: Option<&'a str>,
    assignment_info: Vec<PutAssignment<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutAssignment<'a> {
    #[serde(rename = "subaccountGUID")]
    subaccount_guid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    enable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<f64>,
}

#[derive(Deserialize)]
struct JobStatus {
    #[serde(default)]
    status: String,
    #[serde(default)]
    description: Option<String>,
}

/// A client for the Entitlements service of one global account.
#[derive(Clone, Debug)]
pub struct EntitlementsClient {
    btp: Btp,
    endpoint: Endpoint,
    token: Arc<TokenSource>,
}

impl Btp {
    /// An Entitlements client for `entitlements_service_url` with a token from `token_url`.
    pub fn entitlements(
        &self,
        entitlements_service_url: &Url,
        token_url: &Url,
        grant: Grant,
    ) -> Result<EntitlementsClient, Error> {
        endpoint::check_scheme(entitlements_service_url)?;
        let endpoint = Endpoint::new(entitlements_service_url, self.route())?;
        let token = TokenSource::shared(self, token_url, grant)?;
        Ok(EntitlementsClient {
            btp: self.clone(),
            endpoint,
            token,
        })
    }
}

/// Entitlement lock: another change of the same global account is running (btp-api.md §3,
/// seen through the CLI server as `[Error: 30004/400]`). Waiting and repeating the same PUT is safe.
const ENTITLEMENT_LOCKED: i64 = 30004;

impl EntitlementsClient {
    fn request(&self, method: Method, path: &str) -> Request {
        let url = self.endpoint.url(path);
        Request::new(
            Api::Entitlements,
            method,
            url,
            Auth::Bearer(self.token.clone()),
        )
    }

    /// Reads assignments. 204 (nothing assigned) gives an empty result.
    pub async fn list_assignments(&self, filter: &AssignmentFilter) -> Result<Assignments, Error> {
        let mut request = self.request(Method::GET, "/entitlements/v1/assignments");
        {
            let mut pairs = request.url.query_pairs_mut();
            if let Some(guid) = &filter.subaccount_guid {
                pairs.append_pair("subaccountGUID", guid);
            }
            if let Some(name) = &filter.service_name {
                pairs.append_pair("serviceName", name);
            }
            if let Some(name) = &filter.plan_name {
                pairs.append_pair("planName", name);
            }
        }
        let response = self.btp.execute(&request).await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Assignments::default());
        }
        Ok(response.json::<wire::Assignments>()?.into())
    }

    /// Assigns or changes plans for several subaccounts in one PUT and returns the job id, if the
    /// answer names one. The entitlement lock (30004) and 409 are waited out and the PUT repeated.
    pub async fn assign(&self, changes: &[PlanAssignment]) -> Result<Option<String>, Error> {
        let body = PutBody {
            subaccount_service_plans: changes
                .iter()
                .map(|change| PutPlan {
                    service_name: &change.service_name,
                    service_plan_name: &change.plan_name,
                    service_plan_unique_identifier: change.plan_unique_identifier.as_deref(),
                    assignment_info: change
                        .subaccounts
                        .iter()
                        .map(|(guid, quota)| PutAssignment {
                            subaccount_guid: guid,
                            enable: match quota {
                                Quota::Enable(on) => Some(*on),
                                Quota::Amount(_) => None,
                            },
                            amount: match quota {
                                Quota::Amount(amount) => Some(*amount),
                                Quota::Enable(_) => None,
                            },
                        })
                        .collect(),
                })
                .collect(),
        };
        let request = self
            .request(Method::PUT, "/entitlements/v1/subaccountServicePlans")
            .json(&body);
        let policy = &self.btp.config().retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.btp.execute(&request).await {
                Ok(response) => return Ok(job_id(&response.body)),
                Err(e) if attempt < policy.max_attempts && is_locked(&e) => {
                    let wait = policy.backoff(attempt + 2);
                    self.btp.emit(Event::Retrying {
                        api: Api::Entitlements,
                        host: e
                            .api_error()
                            .map(|a| a.context.host.clone())
                            .unwrap_or_default(),
                        reason: RetryReason::Status(e.status().unwrap_or_default()),
                        wait,
                        attempt: attempt + 1,
                    });
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits for an entitlement job (`/jobs-management/v1/jobs/{id}/status`) to complete.
    pub async fn wait_for_job(&self, job_id: &str) -> Result<(), Error> {
        let path = format!("/jobs-management/v1/jobs/{job_id}/status");
        let what = format!("entitlement job {job_id}");
        let status = self
            .btp
            .poll_started(Api::Entitlements, &what, || async {
                let status: JobStatus = self
                    .btp
                    .execute(&self.request(Method::GET, &path))
                    .await?
                    .json()?;
                Ok(match status.status.as_str() {
                    "COMPLETED" | "FAILED" => Ok(status),
                    other => Err(other.to_owned()),
                })
            })
            .await?;
        if status.status == "FAILED" {
            return Err(Error::OperationFailed {
                api: Api::Entitlements,
                resource: "entitlement job",
                resource_id: job_id.to_owned(),
                operation: "assign".into(),
                description: status.description.unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Polls the assignment of `service`/`plan` to `subaccount_guid` until its `entityState` is
    /// `OK` (returned) or `PROCESSING_FAILED` ([`Error::OperationFailed`] with `stateMessage`).
    /// With `expect_removed`, waits until the assignment is gone instead.
    pub async fn wait_for_assignment(
        &self,
        subaccount_guid: &str,
        service: &str,
        plan: &str,
        expect_removed: bool,
    ) -> Result<Option<Assignment>, Error> {
        let filter = AssignmentFilter {
            subaccount_guid: Some(subaccount_guid.to_owned()),
            service_name: Some(service.to_owned()),
            plan_name: Some(plan.to_owned()),
        };
        let what = format!("entitlement {service}/{plan} of {subaccount_guid}");
        let found = self
            .btp
            .poll(Api::Entitlements, &what, || async {
                let assignments = self.list_assignments(&filter).await?;
                let found = assignments.find(subaccount_guid, service, plan).cloned();
                let state = found.as_ref().and_then(|a| a.entity_state.clone());
                Ok(match (found, state.as_deref(), expect_removed) {
                    (None, _, true) => Ok(None),
                    (Some(a), Some("OK"), false) => Ok(Some(a)),
                    (Some(a), Some("PROCESSING_FAILED"), _) => Ok(Some(a)),
                    (_, state, _) => Err(state.unwrap_or("not assigned").to_owned()),
                })
            })
            .await?;
        if let Some(a) = &found
            && a.entity_state.as_deref() == Some("PROCESSING_FAILED")
        {
            return Err(Error::OperationFailed {
                api: Api::Entitlements,
                resource: "entitlement",
                resource_id: format!("{service}/{plan} of {subaccount_guid}"),
                operation: "assign".into(),
                description: a.state_message.clone().unwrap_or_default(),
            });
        }
        Ok(found)
    }
}

/// Outcome of one subaccount in [`EntitlementsClient::wait_for_assignments`].
pub type AssignmentOutcome = Result<Assignment, Error>;

impl EntitlementsClient {
    /// Like [`EntitlementsClient::wait_for_assignment`] for many subaccounts of this global
    /// account at once: each poll is one read of the plan's assignments across the account, not
    /// one per subaccount. Returns an outcome per subaccount, in the order given; a subaccount
    /// whose assignment failed gets [`Error::OperationFailed`] with BTP's `stateMessage`. The
    /// outer error is the polling's own (an API error, or a timeout), which concerns them all.
    pub async fn wait_for_assignments(
        &self,
        subaccount_guids: &[String],
        service: &str,
        plan: &str,
    ) -> Result<Vec<(String, AssignmentOutcome)>, Error> {
        let filter = AssignmentFilter {
            subaccount_guid: None,
            service_name: Some(service.to_owned()),
            plan_name: Some(plan.to_owned()),
        };
        let what = format!(
            "entitlement {service}/{plan} of {} subaccounts",
            subaccount_guids.len()
        );
        let polled = self
            .btp
            .poll(Api::Entitlements, &what, || async {
                let assignments = self.list_assignments(&filter).await?;
                let mut pending = 0usize;
                let found: Vec<Option<Assignment>> = subaccount_guids
                    .iter()
                    .map(|guid| {
                        let a = assignments.find(guid, service, plan).cloned();
                        let settled = a.as_ref().is_some_and(|a| {
                            matches!(
                                a.entity_state.as_deref(),
                                Some("OK") | Some("PROCESSING_FAILED")
                            )
                        });
                        if !settled {
                            pending += 1;
                        }
                        a
                    })
                    .collect();
                Ok(if pending == 0 {
                    Ok(found)
                } else {
                    Err(format!("{pending} of {} pending", subaccount_guids.len()))
                })
            })
            .await;
        let found = polled?;
        Ok(subaccount_guids
            .iter()
            .zip(found)
            .map(|(guid, a)| {
                let outcome = match a {
                    Some(a) if a.entity_state.as_deref() == Some("OK") => Ok(a),
                    other => Err(Error::OperationFailed {
                        api: Api::Entitlements,
                        resource: "entitlement",
                        resource_id: format!("{service}/{plan} of {guid}"),
                        operation: "assign".into(),
                        description: other
                            .and_then(|a| a.state_message)
                            .unwrap_or_else(|| "not assigned".into()),
                    }),
                };
                (guid.clone(), outcome)
            })
            .collect())
    }
}

fn is_locked(error: &Error) -> bool {
    let Some(api) = error.api_error() else {
        return false;
    };
    api.status == 409
        || matches!(&api.body, crate::ErrorBody::Accounts { code: Some(code), .. } if *code == ENTITLEMENT_LOCKED)
}
