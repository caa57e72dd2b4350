//! The Cloud ALM API offering every world starts with.

use serde_json::json;

use super::{CredentialsStyle, Offering, Plan, World, now_ms};

/// Technical name of the Cloud ALM API offering (btp-api.md §5.1).
pub const CALM_OFFERING: &str = calm_core::SERVICE_OFFERING;
/// The plan used for it (btp-api.md §5.1).
pub const CALM_PLAN: &str = calm_core::DEFAULT_PLAN;

/// Add `SAPCloudALMAPIs` with plan `standard`. The plan is an `organization` plan: it only becomes
/// visible once the org's subaccount holds the entitlement (btp-api.md §2.6). Whether Cloud ALM
/// supports fetching parameters is not known (btp-api.md §2.7 [U]); like xsuaa, which it is built
/// on, it does not.
pub(super) fn add_calm_catalog(world: &mut World) {
    let now = now_ms();
    let offering_guid = world.guid();
    let offering_sm_id = world.guid();
    let plan_guid = world.guid();
    let plan_sm_id = world.guid();
    let broker = world.guid();
    world.offerings.insert(
        offering_guid.clone(),
        Offering {
            guid: offering_guid.clone(),
            sm_id: offering_sm_id.clone(),
            name: CALM_OFFERING.to_owned(),
            description: "SAP Cloud ALM API".to_owned(),
            tags: vec!["sapcloudalm".to_owned()],
            catalog_id: offering_sm_id.clone(),
            catalog_metadata: json!({"displayName": "SAP Cloud ALM API"}),
            instances_retrievable: false,
            bindings_retrievable: false,
            credentials_style: CredentialsStyle::CloudAlm,
            documentation_url: Some("https://help.sap.com/docs/cloud-alm".to_owned()),
            broker_guid: broker,
            created_ms: now,
        },
    );
    world.plans.insert(
        plan_guid.clone(),
        Plan {
            guid: plan_guid,
            sm_id: plan_sm_id.clone(),
            name: CALM_PLAN.to_owned(),
            offering: offering_guid,
            description: "Standard plan of the SAP Cloud ALM API".to_owned(),
            free: true,
            public: false,
            catalog_id: plan_sm_id.clone(),
            catalog_metadata: json!({"supportedPlatforms": ["cloudfoundry", "sapbtp", "kubernetes"]}),
            schemas: serde_json::Value::Null,
            created_ms: now,
        },
    );
}
