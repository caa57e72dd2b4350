//! Cloud Foundry v3 (Cloud Controller).
//!
//! [`Btp::cloud_foundry`] discovers the UAA from `GET /` and returns a [`CfClient`]. List calls take
//! filters with many values (one call covers thousands of tenants); long value lists are split so
//! that no URL exceeds [`ClientConfig::max_url_len`](crate::ClientConfig::max_url_len), each part
//! is read with `per_page=5000`, and `pagination.next.href` is followed, only to the same host.

mod filter;
mod jobs;
mod keys;
mod organizations;
pub(crate) mod roles;
mod services;
mod types;
mod wire;

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

pub use filter::{
    OrganizationFilter, ServiceCredentialBindingFilter, ServiceInstanceFilter, ServicePlanFilter,
    SpaceFilter,
};
pub use roles::{NewRole, Role, RoleAssigned, RoleFilter, RoleTarget, RoleUser, User, UserFilter};
pub use types::{
    Credentials, Job, JobResource, JobState, Metadata, MetadataPatch, NewServiceInstance,
    NewServiceKey, NewSpace, Organization, PlanVisibility, ServiceCredentialBinding,
    ServiceInstance, ServiceInstanceUpdate, ServiceOffering, ServicePlan, Space,
};

use crate::auth::{Grant, TokenSource};
use crate::error::{Api, Error};
use crate::http::endpoint::{self, Endpoint};
use crate::http::{Auth, Btp, Request, Response};

/// Parts of one list call read at once.
const LIST_PARTS_AT_ONCE: usize = 6;

/// What `GET /` of a CF API says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The UAA base URL (`links.uaa.href`).
    pub uaa_url: String,
    /// The login server (`links.login.href`).
    pub login_url: Option<String>,
    /// The v3 API version (`links.cloud_controller_v3.meta.version`), e.g. `3.194.0`.
    pub api_version: Option<String>,
}

/// A client for one CF API endpoint (one region) and one identity.
#[derive(Clone, Debug)]
pub struct CfClient {
    btp: Btp,
    endpoint: Endpoint,
    token: Arc<TokenSource>,
    root: Root,
}

impl Btp {
    /// Connects to the CF API at `api_url` (e.g. `https://api.cf.eu10.hana.ondemand.com`):
    /// reads `GET /` to find the UAA and prepares a shared token source for `grant` (usually
    /// [`Grant::cf_password`] or [`Grant::cf_jwt_bearer`]). No token is fetched until the first
    /// authenticated call.
    pub async fn cloud_foundry(&self, api_url: &str, grant: Grant) -> Result<CfClient, Error> {
        let base = endpoint::parse(api_url)?;
        let endpoint = Endpoint::new(&base, self.route())?;
        let request =
            Request::get(Api::CloudFoundry, endpoint.url("/"), Auth::None).routed_for(&endpoint);
        let response = self.execute(&request).await?;
        let root = decode_root(&response)?;
        let token_url = TokenSource::token_url(&root.uaa_url)?;
        let token = TokenSource::shared(self, &token_url, grant)?;
        Ok(CfClient {
            btp: self.clone(),
            endpoint,
            token,
            root,
        })
    }
}

fn decode_root(response: &Response) -> Result<Root, Error> {
    let wire: wire::Root = response.json()?;
    let uaa = wire.links.uaa.ok_or_else(|| Error::Decode {
        context: Box::new(response.context.clone()),
        status: response.status.as_u16(),
        reason: "GET / has no links.uaa.href".into(),
        snippet: crate::http::redact::snippet(&response.body),
    })?;
    Ok(Root {
        uaa_url: uaa.href,
        login_url: wire.links.login.map(|l| l.href),
        api_version: wire
            .links
            .cloud_controller_v3
            .and_then(|v| v.meta)
            .and_then(|m| m.version),
    })
}

impl CfClient {
    /// What `GET /` said.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The API's base URL as configured (before routing).
    pub fn api_url(&self) -> &Url {
        self.endpoint.logical()
    }

    fn request(&self, method: Method, url: Url) -> Request {
        Request::new(
            Api::CloudFoundry,
            method,
            url,
            Auth::Bearer(self.token.clone()),
        )
        .routed_for(&self.endpoint)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let request = self.request(Method::GET, self.endpoint.url(path));
        self.btp.execute(&request).await?.json()
    }

    /// Reads every page of every part of a list call. Parts are read a few at a time (their
    /// results kept in order): a long value list split by the URL limit was otherwise a chain of
    /// round trips (`calm-bench plan-converged-cf`: 17 in a row per region).
    async fn list<W, T>(&self, path: &str, query: filter::Query) -> Result<Vec<T>, Error>
    where
        W: DeserializeOwned,
        T: From<W>,
    {
        let base = self.endpoint.url(path);
        let urls = query.urls(
            &base,
            self.btp.config().cf_per_page,
            self.btp.config().max_url_len,
        );
        let parts: Vec<Vec<T>> = futures::stream::iter(urls.into_iter().map(|url| self.pages(url)))
            .buffered(LIST_PARTS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Reads one part of a list call, following `pagination.next.href`.
    async fn pages<W, T>(&self, url: Url) -> Result<Vec<T>, Error>
    where
        W: DeserializeOwned,
        T: From<W>,
    {
        let mut out = Vec::new();
        let mut visited: std::collections::HashSet<Url> = std::collections::HashSet::new();
        let max_pages = self.btp.config().max_pages;
        let mut next = Some(url);
        while let Some(url) = next.take() {
            visited.insert(url.clone());
            let response = self
                .btp
                .execute(&self.request(Method::GET, url.clone()))
                .await?;
            let page: wire::Page<W> = response.json()?;
            out.extend(page.resources.into_iter().map(T::from));
            let Some(link) = page.pagination.next else {
                break;
            };
            let resolved = self.endpoint.resolve(&link.href)?;
            // A server whose links cycle (A → B → A) or never end would be read forever, growing
            // the list until memory runs out: stop with an error naming the link instead.
            let reason = if visited.contains(&resolved) {
                "pagination.next leads back to a page already read".to_owned()
            } else if visited.len() >= max_pages {
                format!("more than {max_pages} pages (the limit of one list)")
            } else {
                next = Some(resolved);
                continue;
            };
            return Err(Error::Pagination {
                context: Box::new(response.context.clone()),
                url: crate::http::redact::url_for_display(&resolved),
                reason,
            });
        }
        Ok(out)
    }

    /// Sends a request whose answer may be `202 Accepted` with a job `Location`; waits for the job.
    async fn run_to_completion(&self, request: Request) -> Result<Response, Error> {
        let response = self.btp.execute(&request).await?;
        if response.status == reqwest::StatusCode::ACCEPTED
            && let Some(location) = response.location_in(&self.endpoint)?
        {
            let location = location.to_owned();
            self.wait_for_job(&location).await?;
        }
        Ok(response)
    }
}

/// Decoders of single bodies for the fixture tests ([`crate::decode`]).
pub(crate) mod decoders {
    use super::{types, wire};
    use crate::decode::{as_type, context};
    use crate::error::{Api, Error};
    use crate::http;

    const CF: Api = Api::CloudFoundry;

    fn page<W: serde::de::DeserializeOwned, T: From<W>>(body: &[u8]) -> Result<Vec<T>, Error> {
        let page: wire::Page<W> = http::decode(&context(CF), 200, body)?;
        Ok(page.resources.into_iter().map(T::from).collect())
    }

    pub(crate) fn root(body: &[u8]) -> Result<super::Root, Error> {
        let response = http::Response {
            context: context(CF),
            status: reqwest::StatusCode::OK,
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_vec(),
        };
        super::decode_root(&response)
    }
    pub(crate) fn organization(body: &[u8]) -> Result<types::Organization, Error> {
        as_type::<wire::Organization, _>(CF, body)
    }
    pub(crate) fn organizations(body: &[u8]) -> Result<Vec<types::Organization>, Error> {
        page::<wire::Organization, _>(body)
    }
    pub(crate) fn space(body: &[u8]) -> Result<types::Space, Error> {
        as_type::<wire::Space, _>(CF, body)
    }
    pub(crate) fn spaces(body: &[u8]) -> Result<Vec<types::Space>, Error> {
        page::<wire::Space, _>(body)
    }
    pub(crate) fn service_offering(body: &[u8]) -> Result<types::ServiceOffering, Error> {
        as_type::<wire::ServiceOffering, _>(CF, body)
    }
    pub(crate) fn service_plan(body: &[u8]) -> Result<types::ServicePlan, Error> {
        as_type::<wire::ServicePlan, _>(CF, body)
    }
    pub(crate) fn service_plans(body: &[u8]) -> Result<Vec<types::ServicePlan>, Error> {
        page::<wire::ServicePlan, _>(body)
    }
    pub(crate) fn service_instance(body: &[u8]) -> Result<types::ServiceInstance, Error> {
        as_type::<wire::ServiceInstance, _>(CF, body)
    }
    pub(crate) fn service_instances(body: &[u8]) -> Result<Vec<types::ServiceInstance>, Error> {
        page::<wire::ServiceInstance, _>(body)
    }
    pub(crate) fn service_credential_binding(
        body: &[u8],
    ) -> Result<types::ServiceCredentialBinding, Error> {
        as_type::<wire::ServiceCredentialBinding, _>(CF, body)
    }
    pub(crate) fn service_credential_bindings(
        body: &[u8],
    ) -> Result<Vec<types::ServiceCredentialBinding>, Error> {
        page::<wire::ServiceCredentialBinding, _>(body)
    }
    pub(crate) fn details(body: &[u8]) -> Result<types::Credentials, Error> {
        let details: wire::BindingDetails = http::decode(&context(CF), 200, body)?;
        Ok(types::Credentials::from_json_value(&details.credentials))
    }
    pub(crate) fn job(body: &[u8]) -> Result<types::Job, Error> {
        as_type::<wire::Job, _>(CF, body)
    }
}
