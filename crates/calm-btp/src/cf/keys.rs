//! Service credential bindings of type `key` (service keys), btp-api.md §2.8.

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::filter::Query;
use super::wire::{self, MetadataBody, ToOne};
use super::{
    CfClient, Credentials, MetadataPatch, NewServiceKey, ServiceCredentialBinding,
    ServiceCredentialBindingFilter,
};
use crate::error::{Api, Error};
use crate::http::send::{Created, create_or_find};
use crate::operation::{OperationState, OperationType};

#[derive(Serialize)]
struct KeyCreate<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    relationships: KeyRelationships<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Value>,
    metadata: MetadataBody<'a>,
}

#[derive(Serialize)]
struct KeyRelationships<'a> {
    service_instance: ToOne<'a>,
}

#[derive(Serialize)]
struct MetadataUpdate<'a> {
    metadata: MetadataBody<'a>,
}

impl CfClient {
    /// Lists service keys (`type=key`) matching `filter`.
    pub async fn list_service_keys(
        &self,
        filter: &ServiceCredentialBindingFilter,
    ) -> Result<Vec<ServiceCredentialBinding>, Error> {
        let query = Query::default()
            .list("names", &filter.names)
            .list("guids", &filter.guids)
            .list("service_instance_guids", &filter.service_instance_guids)
            .one("label_selector", filter.label_selector.as_deref())
            .one("type", Some("key"));
        self.list::<wire::ServiceCredentialBinding, _>("/v3/service_credential_bindings", query)
            .await
    }

    /// Reads one service credential binding.
    pub async fn get_service_credential_binding(
        &self,
        guid: &str,
    ) -> Result<ServiceCredentialBinding, Error> {
        let binding: wire::ServiceCredentialBinding = self
            .get(&format!("/v3/service_credential_bindings/{guid}"))
            .await?;
        Ok(binding.into())
    }

    /// The key named `name` of an instance, if any.
    pub async fn find_service_key(
        &self,
        name: &str,
        service_instance_guid: &str,
    ) -> Result<Option<ServiceCredentialBinding>, Error> {
        let filter = ServiceCredentialBindingFilter {
            names: vec![name.to_owned()],
            service_instance_guids: vec![service_instance_guid.to_owned()],
            ..ServiceCredentialBindingFilter::default()
        };
        let found = self.list_service_keys(&filter).await?;
        Ok(found.into_iter().find(|k| k.name == name))
    }

    /// The credentials of a binding (`GET …/details`). Secret.
    pub async fn service_credential_binding_details(
        &self,
        guid: &str,
    ) -> Result<Credentials, Error> {
        let details: wire::BindingDetails = self
            .get(&format!("/v3/service_credential_bindings/{guid}/details"))
            .await?;
        Ok(Credentials::from_json_value(&details.credentials))
    }

    /// Creates a service key and waits for its job. Create the key only after the instance's own
    /// operation finished, or CF answers 422 (btp-api.md §7 item 3). An ambiguous failure is
    /// followed by a lookup by name before the create is repeated, so the key is never created
    /// twice; a key left in `create failed` is replaced by the repeated create.
    pub async fn create_service_key(
        &self,
        new: &NewServiceKey,
    ) -> Result<ServiceCredentialBinding, Error> {
        let patch = MetadataPatch::from(&new.metadata);
        let body = KeyCreate {
            kind: "key",
            name: &new.name,
            relationships: KeyRelationships {
                service_instance: wire::to_one(&new.service_instance_guid),
            },
            parameters: new.parameters.as_ref(),
            metadata: MetadataBody {
                labels: &patch.labels,
                annotations: &patch.annotations,
            },
        };
        let url = self.endpoint.url("/v3/service_credential_bindings");
        let request = self.request(Method::POST, url).json(&body);
        let find = || async {
            let found = self
                .find_service_key(&new.name, &new.service_instance_guid)
                .await?;
            Ok(found.filter(|k| {
                !k.last_operation.as_ref().is_some_and(|op| {
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
            Created::Found(key) => return self.wait_for_service_key(&key.guid).await,
            Created::Created(response) => response,
        };
        if response.status != StatusCode::ACCEPTED {
            let key: wire::ServiceCredentialBinding = response.json()?;
            return Ok(key.into());
        }
        let from_job = match response.location_in(&self.endpoint)? {
            Some(location) => self.wait_for_job(location).await?.resource,
            None => None,
        };
        let guid = match from_job {
            Some(resource) => resource.guid,
            None => self
                .find_service_key(&new.name, &new.service_instance_guid)
                .await?
                .map(|k| k.guid)
                .ok_or_else(|| Error::OperationFailed {
                    api: Api::CloudFoundry,
                    resource: "service key",
                    resource_id: new.name.clone(),
                    operation: "create".into(),
                    description: "the create job completed but the key is not listed".into(),
                })?,
        };
        self.wait_for_service_key(&guid).await
    }

    /// Polls a key until its last operation is no longer in progress.
    pub async fn wait_for_service_key(
        &self,
        guid: &str,
    ) -> Result<ServiceCredentialBinding, Error> {
        let what = format!("service key {guid}");
        let key = self
            .btp
            .poll(Api::CloudFoundry, &what, || async {
                let key = self.get_service_credential_binding(guid).await?;
                Ok(match &key.last_operation {
                    Some(op) if op.state.is_pending() => Err(format!("{} {}", op.kind, op.state)),
                    _ => Ok(key),
                })
            })
            .await?;
        if let Some(op) = &key.last_operation
            && op.state == OperationState::Failed
        {
            return Err(Error::OperationFailed {
                api: Api::CloudFoundry,
                resource: "service key",
                resource_id: key.guid.clone(),
                operation: op.kind.to_string(),
                description: op.description.clone().unwrap_or_default(),
            });
        }
        Ok(key)
    }

    /// Changes a binding's labels and annotations (the only thing a key allows to change).
    pub async fn update_service_credential_binding_metadata(
        &self,
        guid: &str,
        patch: &MetadataPatch,
    ) -> Result<ServiceCredentialBinding, Error> {
        let body = MetadataUpdate {
            metadata: MetadataBody {
                labels: &patch.labels,
                annotations: &patch.annotations,
            },
        };
        let url = self
            .endpoint
            .url(&format!("/v3/service_credential_bindings/{guid}"));
        let request = self.request(Method::PATCH, url).json(&body);
        let binding: wire::ServiceCredentialBinding = self.btp.execute(&request).await?.json()?;
        Ok(binding.into())
    }

    /// Deletes a binding and waits for its job. Already gone is not an error.
    pub async fn delete_service_credential_binding(&self, guid: &str) -> Result<(), Error> {
        let url = self
            .endpoint
            .url(&format!("/v3/service_credential_bindings/{guid}"));
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
