//! Decoders of single bodies for the fixture tests ([`crate::decode`]).

use super::{Offering, Operation, Plan, ServiceBinding, ServiceInstance, wire};
use crate::decode::as_type;
use crate::error::{Api, Error};

const SM: Api = Api::ServiceManager;

pub(crate) fn offering(body: &[u8]) -> Result<Offering, Error> {
    as_type::<wire::Offering, _>(SM, body)
}
pub(crate) fn plan(body: &[u8]) -> Result<Plan, Error> {
    as_type::<wire::Plan, _>(SM, body)
}
pub(crate) fn instance(body: &[u8]) -> Result<ServiceInstance, Error> {
    as_type::<wire::Instance, _>(SM, body)
}
pub(crate) fn binding(body: &[u8]) -> Result<ServiceBinding, Error> {
    as_type::<wire::Binding, _>(SM, body)
}
pub(crate) fn operation(body: &[u8]) -> Result<Operation, Error> {
    as_type::<wire::Operation, _>(SM, body)
}
