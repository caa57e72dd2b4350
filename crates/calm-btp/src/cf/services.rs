//! Service offerings, plans and instances (btp-api.md §2.6, §2.7).

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::filter::Query;
use super::wire::{self, MetadataBody, ToOne};
use super::{
    CfClient, MetadataPatch, NewServiceInstance, PlanVisibility, ServiceInstance,
    ServiceInstanceFilter, ServiceInstanceUpdate, ServiceOffering, ServicePlan, ServicePlanFilter,
};
use crate::error::{Api, Error};
use crate::http::send::{Created, create_or_find};
use crate::operation::{OperationState, OperationType};

#[derive(Serialize)]
struct InstanceCreate<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Value>,
    tags: &'a [String],
    relationships: InstanceRelationships<'a>,
    metadata: MetadataBody<'a>,
}

#[derive(Serialize)]
struct InstanceRelationships<'a> {
    space: ToOne<'a>,
    service_plan: ToOne<'a>,
}

#[derive(Serialize)]
struct InstanceUpdate<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relationships: Option<PlanRelationship<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<MetadataBody<'a>>,
}

#[derive(Serialize)]
struct PlanRelationship<'a> {
    service_plan: ToOne<'a>,
}

impl CfClient {
    /// Lists service offerings by name (case-insensitive).
    pub async fn list_service_offerings(
        &self,
        names: &[String],
    ) -> Result<Vec<ServiceOffering>, Error> {
        let query = Query::default().list("names", names);
        self.list::<wire::ServiceOffering, _>("/v3/service_offerings", query)
            .await
    }

    /// Reads one service offering.
    pub async fn get_service_offering(&self, guid: &str) -> Result<ServiceOffering, Error> {
        let offering: wire::ServiceOffering =
            self.get(&format!("/v3/service_offerings/{guid}")).await?;
        Ok(offering.into())
    }

    /// Lists service plans matching `filter`.
    pub async fn list_service_plans(
        &self,
        filter: &ServicePlanFilter,
    ) -> Result<Vec<ServicePlan>, Error> {
        let query = Query::default()
            .list("names", &filter.names)
            .list("service_offering_names", &filter.service_offering_names)
            .list("organization_guids", &filter.organization_guids)
            .list("space_guids", &filter.space_guids);
        self.list::<wire::ServicePlan, _>("/v3/service_plans", query)
            .await
    }

    /// The plans named `plan` of the offering named `offering`, e.g. `SAPCloudALMAPIs`/`standard`:
    /// one call (btp-api.md §2.6). Empty if the plan is not visible to this user.
    pub async fn find_service_plans(
        &self,
        offering: &str,
        plan: &str,
    ) -> Result<Vec<ServicePlan>, Error> {
        let filter = ServicePlanFilter {
            names: vec![plan.to_owned()],
            service_offering_names: vec![offering.to_owned()],
            ..ServicePlanFilter::default()
        };
        self.list_service_plans(&filter).await
    }

    /// Reads one service plan.
    pub async fn get_service_plan(&self, guid: &str) -> Result<ServicePlan, Error> {
        let plan: wire::ServicePlan = self.get(&format!("/v3/service_plans/{guid}")).await?;
        Ok(plan.into())
    }

    /// Who may see a plan; after an entitlement the subaccount's org appears here.
    pub async fn service_plan_visibility(&self, guid: &str) -> Result<PlanVisibility, Error> {
        let visibility: wire::PlanVisibility = self
            .get(&format!("/v3/service_plans/{guid}/visibility"))
            .await?;
        Ok(visibility.into())
    }

    /// Lists service instances matching `filter`.
    pub async fn list_service_instances(
        &self,
        filter: &ServiceInstanceFilter,
    ) -> Result<Vec<ServiceInstance>, Error> {
        let query = Query::default()
            .list("names", &filter.names)
            .list("guids", &filter.guids)
            .list("space_guids", &filter.space_guids)
            .list("organization_guids", &filter.organization_guids)
            .list("service_plan_guids", &filter.service_plan_guids)
            .one("label_selector", filter.label_selector.as_deref());
        self.list::<wire::ServiceInstance, _>("/v3/service_instances", query)
            .await
    }

    /// Reads one service instance.
    pub async fn get_service_instance(&self, guid: &str) -> Result<ServiceInstance, Error> {
        let instance: wire::ServiceInstance =
            self.get(&format!("/v3/service_instances/{guid}")).await?;
        Ok(instance.into())
    }

    /// The instance named `name` in `space_guid`, if any.
    pub async fn find_service_instance(
        &self,
        name: &str,
        space_guid: &str,
    ) -> Result<Option<ServiceInstance>, Error> {
        let filter = ServiceInstanceFilter {
            names: vec![name.to_owned()],
            space_guids: vec![space_guid.to_owned()],
            ..ServiceInstanceFilter::default()
        };
        // Names are case-sensitive for instances (btp-api.md §7 item 7).
        let found = self.list_service_instances(&filter).await?;
        Ok(found.into_iter().find(|i| i.name == name))
    }

    /// Creates a managed service instance and waits until it is ready.
    ///
    /// The 202's job is polled; the new GUID comes from the job's links, else from a lookup by
    /// name. If the request fails ambiguously, the instance is looked up by name and space first
    /// and only created again if it is not there, so it is never created twice. A failed job
    /// becomes [`Error::JobFailed`] carrying the broker's message; the instance then stays in
    /// `create failed`, and creating it again with the same name replaces it.
    pub async fn create_service_instance(
        &self,
        new: &NewServiceInstance,
    ) -> Result<ServiceInstance, Error> {
        let patch = MetadataPatch::from(&new.metadata);
        let body = InstanceCreate {
            kind: "managed",
            name: &new.name,
            parameters: new.parameters.as_ref(),
            tags: &new.tags,
            relationships: InstanceRelationships {
                space: wire::to_one(&new.space_guid),
                service_plan: wire::to_one(&new.service_plan_guid),
            },
            metadata: MetadataBody {
                labels: &patch.labels,
                annotations: &patch.annotations,
            },
        };
        let request = self
            .request(Method::POST, self.endpoint.url("/v3/service_instances"))
            .json(&body);
        let find = || async {
            let found = self
                .find_service_instance(&new.name, &new.space_guid)
                .await?;
            // A record left by an earlier failed create is replaced by a new POST (btp-api.md
            // §2.7), so it does not count as "our create took effect".
            Ok(found.filter(|i| {
                !i.last_operation.as_ref().is_some_and(|op| {
                    op.kind == OperationType::Create && op.state == OperationState::Failed
                })
            }))
        };
        let outcome = create_or_find(
            &self.btp,
            Api::CloudFoundry,
            || async { self.btp.execute(&request).await },
            find,
        )
        .await?;
        let response = match outcome {
            Created::Found(instance) => {
                return self.wait_for_service_instance(&instance.guid).await;
            }
            Created::Created(response) => response,
        };
        if response.status != StatusCode::ACCEPTED {
            let instance: wire::ServiceInstance = response.json()?;
            return Ok(instance.into());
        }
        let guid = match response.location_in(&self.endpoint)? {
            Some(location) => match self.wait_for_job(location).await {
                Ok(job) => job.resource.map(|r| r.guid),
                Err(Error::JobFailed {
                    api,
                    job_guid,
                    operation,
                    errors,
                    resource_guid,
                }) => {
                    let resource_guid = match resource_guid {
                        Some(guid) => Some(guid),
                        None => self
                            .find_service_instance(&new.name, &new.space_guid)
                            .await?
                            .map(|i| i.guid),
                    };
                    return Err(Error::JobFailed {
                        api,
                        job_guid,
                        operation,
                        errors,
                        resource_guid,
                    });
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let guid = match guid {
            Some(guid) => guid,
            None => match self
                .find_service_instance(&new.name, &new.space_guid)
                .await?
            {
                Some(instance) => instance.guid,
                None => {
                    return Err(Error::OperationFailed {
                        api: Api::CloudFoundry,
                        resource: "service instance",
                        resource_id: new.name.clone(),
                        operation: "create".into(),
                        description: "the create job completed but the instance is not listed"
                            .into(),
                    });
                }
            },
        };
        self.wait_for_service_instance(&guid).await
    }

    /// Polls an instance until its last operation is no longer in progress. Returns the instance
    /// if it succeeded, [`Error::OperationFailed`] with the broker's message if it failed.
    pub async fn wait_for_service_instance(&self, guid: &str) -> Result<ServiceInstance, Error> {
        let what = format!("service instance {guid}");
        let instance = self
            .btp
            .poll(Api::CloudFoundry, &what, || async {
                let instance = self.get_service_instance(guid).await?;
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
                api: Api::CloudFoundry,
                resource: "service instance",
                resource_id: instance.guid.clone(),
                operation: op.kind.to_string(),
                description: op.description.clone().unwrap_or_default(),
            });
        }
        Ok(instance)
    }

    /// Updates an instance. Parameters or a plan change make CF answer 202 with a job, which is
    /// waited for; metadata-only updates are synchronous.
    pub async fn update_service_instance(
        &self,
        guid: &str,
        update: &ServiceInstanceUpdate,
    ) -> Result<ServiceInstance, Error> {
        let body = InstanceUpdate {
            parameters: update.parameters.as_ref(),
            tags: update.tags.as_deref(),
            relationships: update
                .service_plan_guid
                .as_deref()
                .map(|plan| PlanRelationship {
                    service_plan: wire::to_one(plan),
                }),
            metadata: update.metadata.as_ref().map(|m| MetadataBody {
                labels: &m.labels,
                annotations: &m.annotations,
            }),
        };
        let url = self.endpoint.url(&format!("/v3/service_instances/{guid}"));
        let response = self
            .run_to_completion(self.request(Method::PATCH, url).json(&body))
            .await?;
        if response.status == StatusCode::ACCEPTED {
            return self.wait_for_service_instance(guid).await;
        }
        let instance: wire::ServiceInstance = response.json()?;
        Ok(instance.into())
    }

    /// Deletes an instance (and its keys) and waits for the job. Already gone is not an error.
    pub async fn delete_service_instance(&self, guid: &str) -> Result<(), Error> {
        let url = self.endpoint.url(&format!("/v3/service_instances/{guid}"));
        match self
            .run_to_completion(self.request(Method::DELETE, url))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}
