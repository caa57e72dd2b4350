//! Service Manager bindings: list, read (with credentials), create once, delete.

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::{NewServiceBinding, ServiceBinding, ServiceManagerClient, SmLabels, quote, wire};
use crate::error::{Api, Error};
use crate::http::send::{Created, create_or_find};

#[derive(Serialize)]
struct BindingCreate<'a> {
    name: &'a str,
    service_instance_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<&'a Value>,
    labels: &'a SmLabels,
}

impl ServiceManagerClient {
    /// Lists bindings, e.g. `field_query = "service_instance_id in ('a','b')"`. Lists do not
    /// carry credentials; read one binding for them.
    pub async fn list_service_bindings(
        &self,
        field_query: Option<&str>,
        label_query: Option<&str>,
    ) -> Result<Vec<ServiceBinding>, Error> {
        self.list::<wire::Binding, _>("/v1/service_bindings", field_query, label_query)
            .await
    }

    /// Reads one binding, credentials included.
    pub async fn get_service_binding(&self, id: &str) -> Result<ServiceBinding, Error> {
        let request = self.request(Method::GET, &format!("/v1/service_bindings/{id}"));
        let binding: wire::Binding = self.btp.execute(&request).await?.json()?;
        Ok(binding.into())
    }

    /// The binding named `name` of an instance, if any.
    pub async fn find_service_binding(
        &self,
        name: &str,
        service_instance_id: &str,
    ) -> Result<Option<ServiceBinding>, Error> {
        let query = format!(
            "name eq {} and service_instance_id eq {}",
            quote(name),
            quote(service_instance_id)
        );
        Ok(self
            .list_service_bindings(Some(&query), None)
            .await?
            .into_iter()
            .next())
    }

    /// Creates a binding, waits for it, and returns it with its credentials. Never creates it
    /// twice (lookup by name after an ambiguous failure).
    pub async fn create_service_binding(
        &self,
        new: &NewServiceBinding,
    ) -> Result<ServiceBinding, Error> {
        let body = BindingCreate {
            name: &new.name,
            service_instance_id: &new.service_instance_id,
            parameters: new.parameters.as_ref(),
            labels: &new.labels,
        };
        let request = self
            .request(Method::POST, "/v1/service_bindings?async=true")
            .json(&body);
        let outcome = create_or_find(
            &self.btp,
            Api::ServiceManager,
            || async { self.btp.execute(&request).await },
            || self.find_service_binding(&new.name, &new.service_instance_id),
        )
        .await?;
        let id = match outcome {
            Created::Found(binding) => binding.id,
            Created::Created(response) => self.settle(response, "/v1/service_bindings/").await?,
        };
        self.get_service_binding(&id).await
    }

    /// Deletes a binding and waits. 404 and 410 mean it is already gone.
    pub async fn delete_service_binding(&self, id: &str) -> Result<(), Error> {
        self.delete(&format!("/v1/service_bindings/{id}?async=true"))
            .await
    }
}
