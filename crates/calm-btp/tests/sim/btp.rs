//! Accounts, Entitlements and Service Manager flows against the simulator.

use std::sync::Arc;

use calm_btp::auth::CisKey;
use calm_btp::entitlements::{AssignmentFilter, PlanAssignment, Quota};
use calm_btp::service_manager::{
    NewServiceBinding, NewServiceInstance, PlanChoice, ServiceManagerCredentials, SmLabels, quote,
};
use calm_btp::{Btp, SecretString};

use crate::support::{Landscape, OFFERING, PLAN, Recorder, config, landscape};

fn cis(land: &Landscape) -> CisKey {
    let key = land
        .sim
        .cis_key(&land.global_account)
        .expect("cis key")
        .to_string();
    CisKey::from_json(&key).expect("cis key parses")
}

fn admin_grant(key: &CisKey) -> calm_btp::auth::Grant {
    key.grant(Some((
        btp_sim::ADMIN_USER,
        SecretString::from(btp_sim::ADMIN_PASSWORD),
    )))
    .expect("password grant")
}

/// The subaccount's Service Manager credentials via the Accounts API (created on first use).
pub async fn service_manager_credentials(btp: &Btp, land: &Landscape) -> ServiceManagerCredentials {
    let key = cis(land);
    let accounts = btp
        .accounts(&key.accounts_service_url, &key.token_url, admin_grant(&key))
        .expect("client");
    let first = accounts
        .service_management_binding(&land.subaccount)
        .await
        .expect("binding");
    let again = accounts
        .service_management_binding(&land.subaccount)
        .await
        .expect("existing");
    assert_eq!(
        first.client_id, again.client_id,
        "a second binding was created"
    );
    first
}

#[tokio::test]
async fn subaccounts_are_listed_and_read() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let btp = Btp::new(config(land.sim.url(), &recorder)).expect("config");
    let key = cis(&land);
    let accounts = btp
        .accounts(&key.accounts_service_url, &key.token_url, admin_grant(&key))
        .expect("client");
    let all = accounts
        .list_subaccounts(&Default::default())
        .await
        .expect("list");
    assert!(all.iter().any(|s| s.guid == land.subaccount), "{all:?}");
    let one = accounts
        .get_subaccount(&land.subaccount)
        .await
        .expect("get");
    assert_eq!(one.subdomain, "tenant-1");
    let missing = accounts
        .get_subaccount("00000000-0000-4000-8000-000000000000")
        .await;
    assert!(missing.expect_err("unknown subaccount").is_not_found());
}

#[tokio::test]
async fn entitlements_are_assigned_for_several_subaccounts_in_one_put() {
    let land = landscape(|sim| sim).await;
    let second = land
        .sim
        .with_world(|world| world.add_subaccount(&land.global_account, "tenant-2", "eu10", None));
    let recorder = Arc::new(Recorder::default());
    let btp = Btp::new(config(land.sim.url(), &recorder)).expect("config");
    let key = cis(&land);
    let entitlements = btp
        .entitlements(
            &key.entitlements_service_url,
            &key.token_url,
            admin_grant(&key),
        )
        .expect("client");
    let change = PlanAssignment {
        service_name: OFFERING.into(),
        plan_name: PLAN.into(),
        plan_unique_identifier: None,
        subaccounts: vec![(second.clone(), Quota::Amount(1.0))],
    };
    let job = entitlements.assign(&[change]).await.expect("PUT");
    if let Some(job) = job {
        entitlements
            .wait_for_job(&job)
            .await
            .expect("job completes");
    }
    let assignment = entitlements
        .wait_for_assignment(&second, OFFERING, PLAN, false)
        .await
        .expect("assignment becomes OK")
        .expect("assigned");
    assert_eq!(assignment.entity_state.as_deref(), Some("OK"));
    // One call reads the whole global account.
    let all = entitlements
        .list_assignments(&AssignmentFilter::default())
        .await
        .expect("list");
    assert!(all.find(&land.subaccount, OFFERING, PLAN).is_some());
    assert!(all.find(&second, OFFERING, PLAN).is_some());
}

#[tokio::test]
async fn service_manager_instance_and_binding_with_labels() {
    let land = landscape(|sim| sim).await;
    let recorder = Arc::new(Recorder::default());
    let btp = Btp::new(config(land.sim.url(), &recorder)).expect("config");
    let credentials = service_manager_credentials(&btp, &land).await;
    let sm = btp.service_manager(&credentials).expect("SM client");
    let plan = sm
        .find_plan(OFFERING, PLAN)
        .await
        .expect("lookup")
        .expect("plan exists");
    let cached = sm
        .find_plan(OFFERING, PLAN)
        .await
        .expect("lookup")
        .expect("plan exists");
    assert_eq!(plan, cached);
    let offering_calls = land
        .sim
        .stats()
        .routes
        .get("GET /v1/service_offerings")
        .copied();
    assert_eq!(offering_calls, Some(1), "offering lookups are not cached");

    let mut labels = calm_btp::service_manager::SmLabels::new();
    labels.insert("calmctl.sap/managed-by".into(), vec!["calmctl".into()]);
    let instance = sm
        .create_service_instance(&NewServiceInstance {
            name: "calm-api".into(),
            plan: PlanChoice::Id(plan.id.clone()),
            parameters: Some(serde_json::json!({"xs-security": {"xsappname": "calm-api"}})),
            labels: labels.clone(),
        })
        .await
        .expect("create instance");
    assert!(instance.ready, "{instance:?}");
    // By offering and plan name, as calm-engine creates them: same plan, no catalog read.
    let by_names = sm
        .create_service_instance(&NewServiceInstance {
            name: "calm-api-by-names".into(),
            plan: PlanChoice::Names {
                offering: OFFERING.into(),
                plan: PLAN.into(),
            },
            parameters: None,
            labels: SmLabels::new(),
        })
        .await
        .expect("create by names");
    assert_eq!(by_names.service_plan_id, plan.id);
    let unknown = sm
        .create_service_instance(&NewServiceInstance {
            name: "calm-api-unknown-plan".into(),
            plan: PlanChoice::Names {
                offering: OFFERING.into(),
                plan: "no-such-plan".into(),
            },
            parameters: None,
            labels: SmLabels::new(),
        })
        .await
        .expect_err("no such plan");
    assert_eq!(unknown.status(), Some(404), "{unknown}");
    sm.delete_service_instance(&by_names.id)
        .await
        .expect("delete");
    let selected = sm
        .list_service_instances(
            None,
            Some(&format!("calmctl.sap/managed-by eq {}", quote("calmctl"))),
        )
        .await
        .expect("labelQuery");
    assert_eq!(selected.len(), 1);

    let binding = sm
        .create_service_binding(&NewServiceBinding {
            name: "calm-key".into(),
            service_instance_id: instance.id.clone(),
            parameters: None,
            labels,
        })
        .await
        .expect("create binding");
    let credentials = binding
        .credentials
        .expect("a binding read alone has credentials");
    let json: serde_json::Value =
        serde_json::from_str(credentials.expose_json()).expect("credentials are JSON");
    let secret = json
        .pointer("/uaa/clientsecret")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    assert!(!secret.is_empty(), "{json}");
    assert!(!format!("{credentials:?}").contains(secret));

    sm.delete_service_binding(&binding.id)
        .await
        .expect("delete binding");
    sm.delete_service_instance(&instance.id)
        .await
        .expect("delete instance");
    sm.delete_service_instance(&instance.id)
        .await
        .expect("deleting twice is fine");
    assert!(
        sm.find_service_instance("calm-api")
            .await
            .expect("lookup")
            .is_none()
    );
}
