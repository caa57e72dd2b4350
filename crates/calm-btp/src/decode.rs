//! Decoders for single response bodies, so that tests can check recorded real traffic against the
//! private wire types without making them public. Not part of the API: names and signatures may
//! change at any time.

use serde::de::DeserializeOwned;

use crate::accounts::Subaccount;
use crate::cf::{
    Credentials, Job, Organization, Role, Root, ServiceCredentialBinding, ServiceInstance,
    ServiceOffering, ServicePlan, Space, User,
};
use crate::entitlements::Assignments;
use crate::error::{Api, Error, ErrorBody, RequestContext};
use crate::http;
use crate::service_manager as sm;

pub(crate) fn context(api: Api) -> RequestContext {
    RequestContext {
        api,
        method: "DECODE".into(),
        host: String::new(),
        path: String::new(),
    }
}

/// Decodes `body` as wire type `W` and converts it.
pub(crate) fn as_type<W: DeserializeOwned, T: From<W>>(api: Api, body: &[u8]) -> Result<T, Error> {
    http::decode::<W>(&context(api), 200, body).map(T::from)
}

/// An error body of any API.
pub fn error_body(api: Api, body: &[u8]) -> ErrorBody {
    http::error_body::parse(api, body)
}

/// A UAA token response: returns `expires_in` and whether a refresh token came with it.
pub fn token(body: &[u8]) -> Result<(Option<u64>, bool), Error> {
    #[derive(serde::Deserialize)]
    struct Token {
        #[allow(dead_code)]
        access_token: secrecy::SecretString,
        #[serde(default)]
        refresh_token: Option<secrecy::SecretString>,
        #[serde(default)]
        expires_in: Option<u64>,
    }
    let token: Token = http::decode(&context(Api::Uaa), 200, body)?;
    Ok((token.expires_in, token.refresh_token.is_some()))
}

/// CF `GET /`.
pub fn cf_root(body: &[u8]) -> Result<Root, Error> {
    crate::cf::decoders::root(body)
}

/// CF organization.
pub fn cf_organization(body: &[u8]) -> Result<Organization, Error> {
    crate::cf::decoders::organization(body)
}

/// CF list of organizations.
pub fn cf_organizations(body: &[u8]) -> Result<Vec<Organization>, Error> {
    crate::cf::decoders::organizations(body)
}

/// CF space.
pub fn cf_space(body: &[u8]) -> Result<Space, Error> {
    crate::cf::decoders::space(body)
}

/// CF list of spaces.
pub fn cf_spaces(body: &[u8]) -> Result<Vec<Space>, Error> {
    crate::cf::decoders::spaces(body)
}

/// CF role.
pub fn cf_role(body: &[u8]) -> Result<Role, Error> {
    crate::cf::roles::decoders::role(body)
}

/// CF list of roles.
pub fn cf_roles(body: &[u8]) -> Result<Vec<Role>, Error> {
    crate::cf::roles::decoders::roles(body)
}

/// CF list of users.
pub fn cf_users(body: &[u8]) -> Result<Vec<User>, Error> {
    crate::cf::roles::decoders::users(body)
}

/// CF service offering.
pub fn cf_service_offering(body: &[u8]) -> Result<ServiceOffering, Error> {
    crate::cf::decoders::service_offering(body)
}

/// CF service plan.
pub fn cf_service_plan(body: &[u8]) -> Result<ServicePlan, Error> {
    crate::cf::decoders::service_plan(body)
}

/// CF list of service plans.
pub fn cf_service_plans(body: &[u8]) -> Result<Vec<ServicePlan>, Error> {
    crate::cf::decoders::service_plans(body)
}

/// CF service instance.
pub fn cf_service_instance(body: &[u8]) -> Result<ServiceInstance, Error> {
    crate::cf::decoders::service_instance(body)
}

/// CF list of service instances.
pub fn cf_service_instances(body: &[u8]) -> Result<Vec<ServiceInstance>, Error> {
    crate::cf::decoders::service_instances(body)
}

/// CF service credential binding.
pub fn cf_service_credential_binding(body: &[u8]) -> Result<ServiceCredentialBinding, Error> {
    crate::cf::decoders::service_credential_binding(body)
}

/// CF list of service credential bindings.
pub fn cf_service_credential_bindings(body: &[u8]) -> Result<Vec<ServiceCredentialBinding>, Error> {
    crate::cf::decoders::service_credential_bindings(body)
}

/// CF binding details.
pub fn cf_service_credential_binding_details(body: &[u8]) -> Result<Credentials, Error> {
    crate::cf::decoders::details(body)
}

/// CF job.
pub fn cf_job(body: &[u8]) -> Result<Job, Error> {
    crate::cf::decoders::job(body)
}

/// Accounts: list of subaccounts (`{"value":[…]}`).
pub fn subaccounts(body: &[u8]) -> Result<Vec<Subaccount>, Error> {
    crate::accounts::decoders::subaccounts(body)
}

/// Accounts: one subaccount.
pub fn subaccount(body: &[u8]) -> Result<Subaccount, Error> {
    crate::accounts::decoders::subaccount(body)
}

/// Accounts: subaccount labels (`{"labels":{…}}`).
pub fn subaccount_labels(
    body: &[u8],
) -> Result<std::collections::BTreeMap<String, Vec<String>>, Error> {
    crate::accounts::decoders::labels(body)
}

/// Entitlements: assignments.
pub fn entitlement_assignments(body: &[u8]) -> Result<Assignments, Error> {
    crate::entitlements::decode_assignments(body).map_err(|e| Error::Decode {
        context: Box::new(context(Api::Entitlements)),
        status: 200,
        reason: e.to_string(),
        snippet: http::redact::snippet(body),
    })
}

/// Entitlements: the job id of a PUT answer.
pub fn entitlement_job_id(body: &[u8]) -> Option<String> {
    crate::entitlements::job_id(body)
}

/// Service Manager offering.
pub fn sm_offering(body: &[u8]) -> Result<sm::Offering, Error> {
    sm::decoders::offering(body)
}

/// Service Manager plan.
pub fn sm_plan(body: &[u8]) -> Result<sm::Plan, Error> {
    sm::decoders::plan(body)
}

/// Service Manager instance.
pub fn sm_service_instance(body: &[u8]) -> Result<sm::ServiceInstance, Error> {
    sm::decoders::instance(body)
}

/// Service Manager binding.
pub fn sm_service_binding(body: &[u8]) -> Result<sm::ServiceBinding, Error> {
    sm::decoders::binding(body)
}

/// Service Manager operation.
pub fn sm_operation(body: &[u8]) -> Result<sm::Operation, Error> {
    sm::decoders::operation(body)
}
