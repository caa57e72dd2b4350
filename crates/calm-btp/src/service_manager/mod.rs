//! SAP Service Manager: the "other environment" path (instance + binding without CF).
//!
//! Lists are filtered with `fieldQuery`/`labelQuery` and paged with `token` (btp-api.md §4.2).
//! Offering and plan lookups are cached per client, because SM allows only 100 such calls a
//! minute (btp-api.md §4.5). Creates, updates and deletes run with `async=true` and their operation
//! (the relative `Location`) is polled.

mod bindings;
pub(crate) mod decoders;
mod types;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) use types::CredentialsWire;
pub use types::{
    LabelChange, NewServiceBinding, NewServiceInstance, Offering, Operation, Plan, PlanChoice,
    ServiceBinding, ServiceInstance, ServiceInstanceUpdate, ServiceManagerCredentials, SmLabels,
    quote,
};

use crate::auth::TokenSource;
use crate::error::{Api, Error};
use crate::http::endpoint::Endpoint;
use crate::http::send::{Created, create_or_find};
use crate::http::{Auth, Btp, Request, Response};
use crate::operation::OperationState;

/// A client for one subaccount's Service Manager.
#[derive(Clone, Debug)]
pub struct ServiceManagerClient {
    btp: Btp,
    endpoint: Endpoint,
    token: Arc<TokenSource>,
    offerings: Arc<Mutex<HashMap<String, Offering>>>,
    plans: Arc<Mutex<HashMap<(String, String), Plan>>>,
}

impl Btp {
    /// A Service Manager client for `credentials` (client-credentials grant at its `url`).
    pub fn service_manager(
        &self,
        credentials: &ServiceManagerCredentials,
    ) -> Result<ServiceManagerClient, Error> {
        let endpoint = Endpoint::new(&credentials.sm_url, self.route())?;
        let token = TokenSource::shared(self, &credentials.token_url, credentials.grant())?;
        Ok(ServiceManagerClient {
            btp: self.clone(),
            endpoint,
            token,
            offerings: Arc::default(),
            plans: Arc::default(),
        })
    }
}

#[derive(Serialize)]
struct InstanceCreate<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_plan_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_offering_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_plan_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Value>,
    labels: &'a SmLabels,
}

#[derive(Serialize)]
struct InstanceUpdate<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_plan_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels: Vec<LabelOp<'a>>,
}

#[derive(Serialize)]
struct LabelOp<'a> {
    op: &'static str,
    key: &'a str,
    values: &'a [String],
}

impl ServiceManagerClient {
    fn request(&self, method: Method, path: &str) -> Request {
        let url = self.endpoint.url(path);
        Request::new(
            Api::ServiceManager,
            method,
            url,
            Auth::Bearer(self.token.clone()),
        )
    }

    /// Reads every page of `GET path` with the given queries.
    async fn list<W, T>(
        &self,
        path: &str,
        field_query: Option<&str>,
        label_query: Option<&str>,
    ) -> Result<Vec<T>, Error>
    where
        W: DeserializeOwned,
        T: From<W>,
    {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self.request(Method::GET, path);
            {
                let mut pairs = request.url.query_pairs_mut();
                if let Some(query) = field_query {
                    pairs.append_pair("fieldQuery", query);
                }
                if let Some(query) = label_query {
                    pairs.append_pair("labelQuery", query);
                }
                if let Some(token) = &token {
                    pairs.append_pair("token", token);
                }
            }
            let page: wire::Page<W> = self.btp.execute(&request).await?.json()?;
            out.extend(page.items.into_iter().map(T::from));
            match page.token.filter(|t| !t.is_empty()) {
                // A server repeating its token would loop forever.
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// The offering whose catalog name is `catalog_name` (e.g. `SAPCloudALMAPIs`); cached.
    pub async fn find_offering(&self, catalog_name: &str) -> Result<Option<Offering>, Error> {
        if let Some(hit) = lock(&self.offerings).get(catalog_name) {
            return Ok(Some(hit.clone()));
        }
        let query = format!("catalog_name eq {}", quote(catalog_name));
        let found: Vec<Offering> = self
            .list::<wire::Offering, _>("/v1/service_offerings", Some(&query), None)
            .await?;
        let offering = found.into_iter().next();
        if let Some(offering) = &offering {
            lock(&self.offerings).insert(catalog_name.to_owned(), offering.clone());
        }
        Ok(offering)
    }

    /// The plan `plan` (catalog name) of offering `offering` (catalog name); cached.
    pub async fn find_plan(&self, offering: &str, plan: &str) -> Result<Option<Plan>, Error> {
        let key = (offering.to_owned(), plan.to_owned());
        if let Some(hit) = lock(&self.plans).get(&key) {
            return Ok(Some(hit.clone()));
        }
        let Some(found_offering) = self.find_offering(offering).await? else {
            return Ok(None);
        };
        let query = format!(
            "catalog_name eq {} and service_offering_id eq {}",
            quote(plan),
            quote(&found_offering.id)
        );
        let plans: Vec<Plan> = self
            .list::<wire::Plan, _>("/v1/service_plans", Some(&query), None)
            .await?;
        let found = plans.into_iter().next();
        if let Some(found) = &found {
            lock(&self.plans).insert(key, found.clone());
        }
        Ok(found)
    }

    /// Lists instances, e.g. `label_query = "calmctl.sap/managed-by eq 'calmctl'"`.
    pub async fn list_service_instances(
        &self,
        field_query: Option<&str>,
        label_query: Option<&str>,
    ) -> Result<Vec<ServiceInstance>, Error> {
        self.list::<wire::Instance, _>("/v1/service_instances", field_query, label_query)
            .await
    }

    /// Reads one instance.
    pub async fn get_service_instance(&self, id: &str) -> Result<ServiceInstance, Error> {
        let request = self.request(Method::GET, &format!("/v1/service_instances/{id}"));
        let instance: wire::Instance = self.btp.execute(&request).await?.json()?;
        Ok(instance.into())
    }

    /// The instance named `name`, if any.
    pub async fn find_service_instance(
        &self,
        name: &str,
    ) -> Result<Option<ServiceInstance>, Error> {
        let query = format!("name eq {}", quote(name));
        Ok(self
            .list_service_instances(Some(&query), None)
            .await?
            .into_iter()
            .next())
    }

    /// Creates an instance and waits for it. An ambiguous failure is followed by a lookup by name
    /// before the create is repeated, so it is never created twice.
    pub async fn create_service_instance(
        &self,
        new: &NewServiceInstance,
    ) -> Result<ServiceInstance, Error> {
        let (id, offering, plan) = match &new.plan {
            PlanChoice::Id(id) => (Some(id.as_str()), None, None),
            PlanChoice::Names { offering, plan } => {
                (None, Some(offering.as_str()), Some(plan.as_str()))
            }
        };
        let body = InstanceCreate {
            name: &new.name,
            service_plan_id: id,
            service_offering_name: offering,
            service_plan_name: plan,
            parameters: new.parameters.as_ref(),
            labels: &new.labels,
        };
        let request = self
            .request(Method::POST, "/v1/service_instances?async=true")
            .json(&body);
        let outcome = create_or_find(
            &self.btp,
            Api::ServiceManager,
            || async { self.btp.execute(&request).await },
            || self.find_service_instance(&new.name),
        )
        .await?;
        let id = match outcome {
            Created::Found(instance) => instance.id,
            Created::Created(response) => self.settle(response, "/v1/service_instances/").await?,
        };
        self.wait_for_service_instance(&id).await
    }

    /// Follows a create/update answer: waits for the operation of a 202 and returns the object id.
    async fn settle(&self, response: Response, prefix: &str) -> Result<String, Error> {
        if response.status == StatusCode::ACCEPTED
            && let Some(location) = response.location_in(&self.endpoint)?
        {
            let location = location.to_owned();
            let operation = self.wait_for_operation(&location).await?;
            // The id is the path segment after the collection (sap-btp-service-operator
            // `ExtractInstanceID`), or the operation's resource_id.
            let from_path = location
                .split_once(prefix)
                .and_then(|(_, rest)| rest.split('/').next())
                .map(str::to_owned);
            if let Some(id) = from_path.or(operation.resource_id) {
                return Ok(id);
            }
        }
        #[derive(serde::Deserialize)]
        struct WithId {
            id: String,
        }
        Ok(response.json::<WithId>()?.id)
    }

    /// Polls the operation at `location` (a path like
    /// `/v1/service_instances/<id>/operations/<op>`) until it succeeds or fails.
    pub async fn wait_for_operation(&self, location: &str) -> Result<Operation, Error> {
        let url = self.endpoint.resolve(location)?;
        let what = format!("operation {}", url.path());
        let operation = self
            .btp
            .poll_started(Api::ServiceManager, &what, || {
                let url = url.clone();
                async move {
                    let request = Request::new(
                        Api::ServiceManager,
                        Method::GET,
                        url,
                        Auth::Bearer(self.token.clone()),
                    );
                    let operation: Operation = self
                        .btp
                        .execute(&request)
                        .await?
                        .json::<wire::Operation>()?
                        .into();
                    Ok(if operation.state.is_pending() {
                        Err(format!("{} {}", operation.kind, operation.state))
                    } else {
                        Ok(operation)
                    })
                }
            })
            .await?;
        if operation.state == OperationState::Failed {
            return Err(Error::OperationFailed {
                api: Api::ServiceManager,
                resource: "operation",
                resource_id: operation
                    .resource_id
                    .clone()
                    .unwrap_or_else(|| operation.id.clone()),
                operation: operation.kind.to_string(),
                description: operation
                    .description
                    .clone()
                    .or_else(|| operation.errors.clone())
                    .unwrap_or_default(),
            });
        }
        Ok(operation)
    }

    /// Polls an instance until its last operation is no longer in progress; a failed one becomes
    /// [`Error::OperationFailed`] with the broker's message.
    pub async fn wait_for_service_instance(&self, id: &str) -> Result<ServiceInstance, Error> {
        let what = format!("service instance {id}");
        let instance = self
            .btp
            .poll(Api::ServiceManager, &what, || async {
                let instance = self.get_service_instance(id).await?;
                Ok(match &instance.last_operation {
                    Some(op) if op.state.is_pending() => Err(format!("{} {}", op.kind, op.state)),
                    _ => Ok(instance),
                })
            })
            .await?;
        if let Some(op) = &instance.last_operation
            && op.state == OperationState::Failed
        {
            return Err(Error::OperationFailed {
                api: Api::ServiceManager,
                resource: "service instance",
                resource_id: instance.id.clone(),
                operation: op.kind.to_string(),
                description: op.description.clone().unwrap_or_default(),
            });
        }
        Ok(instance)
    }

    /// Updates an instance and waits for the operation. Service Manager stores a PATCH's label
    /// additions before its removals (btp-api.md §10 item 2), so additions to a key that the
    /// same update removes from go in a second request, after the first one finished.
    pub async fn update_service_instance(
        &self,
        id: &str,
        update: &ServiceInstanceUpdate,
    ) -> Result<ServiceInstance, Error> {
        let removed: Vec<&str> = update
            .labels
            .iter()
            .filter_map(|change| match change {
                LabelChange::Remove { key, .. } => Some(key.as_str()),
                LabelChange::Add { .. } => None,
            })
            .collect();
        let (first, later): (Vec<&LabelChange>, Vec<&LabelChange>) =
            update.labels.iter().partition(|change| match change {
                LabelChange::Add { key, .. } => !removed.contains(&key.as_str()),
                LabelChange::Remove { .. } => true,
            });
        let body = InstanceUpdate {
            parameters: update.parameters.as_ref(),
            service_plan_id: update.service_plan_id.as_deref(),
            labels: first.into_iter().map(label_op).collect(),
        };
        self.patch_instance(id, &body).await?;
        if !later.is_empty() {
            let body = InstanceUpdate {
                parameters: None,
                service_plan_id: None,
                labels: later.into_iter().map(label_op).collect(),
            };
            self.patch_instance(id, &body).await?;
        }
        self.wait_for_service_instance(id).await
    }

    async fn patch_instance(&self, id: &str, body: &InstanceUpdate<'_>) -> Result<(), Error> {
        let path = format!("/v1/service_instances/{id}?async=true");
        let response = self
            .btp
            .execute(&self.request(Method::PATCH, &path).json(body))
            .await?;
        self.settle(response, "/v1/service_instances/").await?;
        Ok(())
    }

    /// Deletes an instance and waits. 404 and 410 mean it is already gone.
    pub async fn delete_service_instance(&self, id: &str) -> Result<(), Error> {
        self.delete(&format!("/v1/service_instances/{id}?async=true"))
            .await
    }

    /// Deletes and waits for the delete's operation. Gone means done: 404 or 410 to the DELETE,
    /// and 404 to a poll of its operation, which Service Manager no longer finds once the object
    /// is deleted (sap-btp-service-operator `client/sm/client.go`, `delete` and `Status`). A 404
    /// of the Cloud Foundry router is none of these ([`Error::is_not_found`]).
    async fn delete(&self, path: &str) -> Result<(), Error> {
        let gone =
            |e: &Error| e.is_not_found() || (e.status() == Some(410) && !e.is_router_error());
        match self.btp.execute(&self.request(Method::DELETE, path)).await {
            Ok(response) => {
                if response.status == StatusCode::ACCEPTED
                    && let Some(location) = response.location_in(&self.endpoint)?
                {
                    match self.wait_for_operation(location).await {
                        Ok(_) => {}
                        Err(e) if e.is_not_found() => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Err(e) if gone(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn label_op(change: &LabelChange) -> LabelOp<'_> {
    match change {
        LabelChange::Add { key, values } => LabelOp {
            op: "add",
            key,
            values,
        },
        LabelChange::Remove { key, values } => LabelOp {
            op: "remove",
            key,
            values,
        },
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The caches hold plain values, valid after any panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
