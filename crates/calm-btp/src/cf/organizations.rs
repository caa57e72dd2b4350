//! Organizations and spaces (btp-api.md §2.4, §2.5).

use reqwest::Method;
use serde::Serialize;

use super::filter::Query;
use super::wire::{self, MetadataBody, ToOne};
use super::{
    CfClient, MetadataPatch, NewSpace, Organization, OrganizationFilter, Space, SpaceFilter,
};
use crate::error::{Api, Error};
use crate::http::send::{Created, create_or_find};

#[derive(Serialize)]
struct SpaceCreate<'a> {
    name: &'a str,
    relationships: SpaceCreateRelationships<'a>,
    metadata: MetadataBody<'a>,
}

#[derive(Serialize)]
struct SpaceCreateRelationships<'a> {
    organization: ToOne<'a>,
}

#[derive(Serialize)]
struct MetadataUpdate<'a> {
    metadata: MetadataBody<'a>,
}

impl CfClient {
    /// Lists organizations matching `filter`.
    pub async fn list_organizations(
        &self,
        filter: &OrganizationFilter,
    ) -> Result<Vec<Organization>, Error> {
        let query = Query::default()
            .list("names", &filter.names)
            .list("guids", &filter.guids)
            .one("label_selector", filter.label_selector.as_deref());
        self.list::<wire::Organization, _>("/v3/organizations", query)
            .await
    }

    /// Reads one organization.
    pub async fn get_organization(&self, guid: &str) -> Result<Organization, Error> {
        let org: wire::Organization = self.get(&format!("/v3/organizations/{guid}")).await?;
        Ok(org.into())
    }

    /// Lists spaces matching `filter`.
    pub async fn list_spaces(&self, filter: &SpaceFilter) -> Result<Vec<Space>, Error> {
        let query = Query::default()
            .list("names", &filter.names)
            .list("guids", &filter.guids)
            .list("organization_guids", &filter.organization_guids)
            .one("label_selector", filter.label_selector.as_deref());
        self.list::<wire::Space, _>("/v3/spaces", query).await
    }

    /// Reads one space.
    pub async fn get_space(&self, guid: &str) -> Result<Space, Error> {
        let space: wire::Space = self.get(&format!("/v3/spaces/{guid}")).await?;
        Ok(space.into())
    }

    /// Creates a space (synchronous, 201). If the request fails ambiguously, the space is looked
    /// up by name in the org before the create is repeated, so it is never created twice.
    pub async fn create_space(&self, space: &NewSpace) -> Result<Space, Error> {
        let patch = MetadataPatch::from(&space.metadata);
        let body = SpaceCreate {
            name: &space.name,
            relationships: SpaceCreateRelationships {
                organization: wire::to_one(&space.organization_guid),
            },
            metadata: MetadataBody {
                labels: &patch.labels,
                annotations: &patch.annotations,
            },
        };
        let request = self
            .request(Method::POST, self.endpoint.url("/v3/spaces"))
            .json(&body);
        let filter = SpaceFilter {
            names: vec![space.name.clone()],
            organization_guids: vec![space.organization_guid.clone()],
            ..SpaceFilter::default()
        };
        let outcome = create_or_find(
            &self.btp,
            Api::CloudFoundry,
            || async { self.btp.execute(&request).await?.json::<wire::Space>() },
            || async { Ok(self.list_spaces(&filter).await?.into_iter().next()) },
        )
        .await?;
        Ok(match outcome {
            Created::Created(space) => space.into(),
            Created::Found(space) => space,
        })
    }

    /// Changes a space's labels and annotations.
    pub async fn update_space_metadata(
        &self,
        guid: &str,
        patch: &MetadataPatch,
    ) -> Result<Space, Error> {
        let body = MetadataUpdate {
            metadata: MetadataBody {
                labels: &patch.labels,
                annotations: &patch.annotations,
            },
        };
        let url = self.endpoint.url(&format!("/v3/spaces/{guid}"));
        let request = self.request(Method::PATCH, url).json(&body);
        let space: wire::Space = self.btp.execute(&request).await?.json()?;
        Ok(space.into())
    }

    /// Deletes a space and waits for the job. Careful: CF deletes the space's service instances
    /// and keys with it (btp-api.md §2.5). A space that is already gone is not an error.
    pub async fn delete_space(&self, guid: &str) -> Result<(), Error> {
        let url = self.endpoint.url(&format!("/v3/spaces/{guid}"));
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
