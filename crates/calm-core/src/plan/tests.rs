//! The diff's promises, each on plain values.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::live::labels;
use crate::{
    Delivery, Entitlement, Instance, Key, LastOperation, LiveEntitlement, LiveInstance, LiveKey,
    LiveSpace, LiveTenant, Runtime, Span, Tenant,
};

pub(super) fn tenant(name: &str, runtime: Runtime) -> Tenant {
    let parameters = json!({"xs-security": {"xsappname": "calm-api", "authorities": ["$XSMASTERAPPNAME.imp-cdm-feature-display-ui"]}});
    Tenant {
        name: name.into(),
        span: Span::default(),
        subaccount: name.into(),
        account: "acme".into(),
        region: "eu10".into(),
        runtime,
        org: (runtime == Runtime::Cloudfoundry).then(|| name.to_owned()),
        org_span: None,
        cf_api: None,
        cf_api_span: None,
        entitlement: Entitlement::Amount(1),
        protect: false,
        labels: BTreeMap::new(),
        instances: vec![Instance {
            name: "calm-api".into(),
            span: Span::default(),
            space: (runtime == Runtime::Cloudfoundry).then(|| "calm".to_owned()),
            plan: "standard".into(),
            parameters,
            parameters_stated: true,
            keys: vec![Key {
                name: "calm-key".into(),
                span: Span::default(),
                rotate_after_secs: None,
                retire_after_secs: 1,
            }],
        }],
        space_roles: Vec::new(),
        retrieve: Vec::new(),
    }
}

pub(super) fn desired(tenants: Vec<Tenant>) -> Desired {
    Desired {
        accounts: Vec::new(),
        tenants,
        delivery: Delivery::Dir("credentials".into()),
        redact: Vec::new(),
    }
}

fn managed(tenant: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            labels::MANAGED_BY.to_owned(),
            labels::MANAGED_BY_VALUE.to_owned(),
        ),
        (labels::TENANT.to_owned(), tenant.to_owned()),
    ])
}

/// A tenant whose objects all exist and carry calmctl's labels.
pub(super) fn converged(t: &Tenant) -> LiveTenant {
    let i = &t.instances[0];
    let mut instance_metadata = managed(&t.name);
    instance_metadata.insert(labels::PARAMETERS_SHA256.into(), i.parameters_hash());
    instance_metadata.insert(labels::PARAMETERS.into(), i.parameters.to_string());
    let mut key_metadata = managed(&t.name);
    key_metadata.insert(labels::KEY.into(), "calm-key".into());
    LiveTenant {
        name: t.name.clone(),
        subaccount_guid: Some("sa-guid".into()),
        entitlement: Some(LiveEntitlement {
            amount: Some(1),
            enabled: true,
            state: "OK".into(),
        }),
        org_guid: Some("org-guid".into()),
        service_manager_unread: false,
        found_at: None,
        cf: None,
        spaces: vec![LiveSpace {
            guid: "space-guid".into(),
            name: "calm".into(),
            updated_at: "t".into(),
            metadata: managed(&t.name),
        }],
        instances: vec![LiveInstance {
            guid: "si-guid".into(),
            name: "calm-api".into(),
            space_guid: (t.runtime == Runtime::Cloudfoundry).then(|| "space-guid".to_owned()),
            plan: "standard".into(),
            updated_at: "t".into(),
            last_operation: Some(LastOperation {
                kind: "create".into(),
                state: "succeeded".into(),
                description: String::new(),
            }),
            metadata: instance_metadata,
        }],
        keys: vec![LiveKey {
            guid: "key-guid".into(),
            name: "calm-key".into(),
            instance_guid: "si-guid".into(),
            created_at: 0,
            last_operation: None,
            metadata: key_metadata,
        }],
        cf_user: None,
        roles: Vec::new(),
        // Its credentials file, written by an earlier run.
        files: [(
            crate::delivered::file_key("calm-api", "calm-key"),
            crate::delivered::secret_id("{}"),
        )]
        .into(),
    }
}

pub(super) fn live(tenants: Vec<LiveTenant>) -> Live {
    Live {
        tenants: tenants.into_iter().map(|t| (t.name.clone(), t)).collect(),
        orphans: Vec::new(),
    }
}

pub(super) fn actions(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes
        .iter()
        .map(|c| (c.resource.label(), c.action))
        .collect()
}

#[test]
fn fresh_cloudfoundry_tenant_is_created_in_dependency_order() {
    let plan = plan(
        &desired(vec![tenant("a", Runtime::Cloudfoundry)]),
        &Live::default(),
        &PlanOptions::default(),
    );
    let labels: Vec<String> = plan.changes.iter().map(|c| c.resource.label()).collect();
    assert_eq!(
        labels,
        [
            "entitlement SAPCloudALMAPIs/standard (a, amount 1)",
            "space a/calm",
            "service_instance calm/calm-api",
            "service_key calm-api/calm-key",
        ]
    );
    assert!(plan.changes.iter().all(|c| c.action == Action::Create));
}

#[test]
fn converged_landscape_has_no_changes() {
    let t = tenant("a", Runtime::Cloudfoundry);
    let s = tenant("b", Runtime::ServiceManager);
    let l = live(vec![converged(&t), converged(&s)]);
    let plan = plan(&desired(vec![t, s]), &l, &PlanOptions::default());
    assert!(plan.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.unchanged_tenants, ["a", "b"]);
}

#[test]
fn changed_authorities_are_an_update_with_a_field_diff() {
    let t = tenant("a", Runtime::ServiceManager);
    let l = live(vec![converged(&t)]);
    let mut changed = t.clone();
    changed.instances[0].parameters["xs-security"]["authorities"] =
        json!(["$XSMASTERAPPNAME.imp-cdm-feature-manage-ui"]);
    let plan = plan(&desired(vec![changed]), &l, &PlanOptions::default());
    assert_eq!(
        actions(&plan),
        [("service_instance calm-api".to_owned(), Action::Update)]
    );
    let field = &plan.changes[0].fields[0];
    assert_eq!(field.path, "parameters.xs-security.authorities");
    assert_eq!(
        field.before,
        Some(json!(["$XSMASTERAPPNAME.imp-cdm-feature-display-ui"]))
    );
}

#[test]
fn unlabelled_objects_with_the_right_name_are_adopted_and_generated_keys_left_alone() {
    let t = tenant("a", Runtime::Cloudfoundry);
    let mut l = converged(&t);
    l.spaces[0].metadata.clear();
    l.instances[0].metadata.clear();
    l.keys[0].metadata.clear();
    l.keys.push(LiveKey {
        guid: "sap".into(),
        name: "ABC_100_00".into(),
        instance_guid: "si-guid".into(),
        created_at: 0,
        last_operation: None,
        metadata: BTreeMap::new(),
    });
    let plan = plan(&desired(vec![t]), &live(vec![l]), &PlanOptions::default());
    assert!(
        plan.changes.iter().all(|c| c.action == Action::Adopt),
        "{:?}",
        actions(&plan)
    );
    assert_eq!(plan.changes.len(), 3);
    assert_eq!(plan.not_managed.len(), 1);
    assert!(plan.not_managed[0].reason.contains("generated by SAP"));
}

#[test]
fn removed_tenant_is_deleted_only_with_allow_delete_and_never_when_protected() {
    let gone = converged(&tenant("gone", Runtime::ServiceManager));
    let mut protected = converged(&tenant("kept", Runtime::ServiceManager));
    protected.instances[0]
        .metadata
        .insert(labels::PROTECT.into(), "true".into());
    let l = Live {
        tenants: BTreeMap::new(),
        orphans: vec![gone, protected],
    };
    let d = desired(Vec::new());
    let withheld = plan(&d, &l, &PlanOptions::default());
    assert!(withheld.is_empty());
    assert_eq!(withheld.withheld_deletes.len(), 2);
    assert_eq!(withheld.protected.len(), 2);
    let allowed = plan(
        &d,
        &l,
        &PlanOptions {
            allow_delete: true,
            ..PlanOptions::default()
        },
    );
    assert_eq!(
        actions(&allowed),
        [
            ("service_key calm-api/calm-key".to_owned(), Action::Delete),
            ("service_instance calm-api".to_owned(), Action::Delete),
        ]
    );
    assert!(allowed.changes.iter().all(|c| c.tenant == "gone"));
}

#[test]
fn failed_create_is_replaced_and_its_keys_created() {
    let t = tenant("a", Runtime::ServiceManager);
    let mut l = converged(&t);
    l.instances[0].last_operation = Some(LastOperation {
        kind: "create".into(),
        state: "failed".into(),
        description: "broker said no".into(),
    });
    l.keys.clear();
    let plan = plan(&desired(vec![t]), &live(vec![l]), &PlanOptions::default());
    assert_eq!(
        actions(&plan),
        [
            ("service_instance calm-api".to_owned(), Action::Replace),
            ("service_key calm-api/calm-key".to_owned(), Action::Create),
        ]
    );
    assert_eq!(
        plan.changes[0].reason.as_deref(),
        Some("the last create failed: broker said no")
    );
}

#[test]
fn targets_make_a_partial_plan() {
    let d = desired(vec![
        tenant("a", Runtime::ServiceManager),
        tenant("b", Runtime::ServiceManager),
    ]);
    let options = PlanOptions {
        allow_delete: false,
        targets: Some(["b".to_owned()].into()),
        ..PlanOptions::default()
    };
    let plan = plan(&d, &Live::default(), &options);
    assert!(plan.changes.iter().all(|c| c.tenant == "b"));
    assert_eq!(plan.targets, Some(vec!["b".to_owned()]));
}

const DAY: i64 = 86_400;

/// A converged tenant whose key was created on day 0 and may be rotated after 90 days.
fn rotating() -> (Tenant, LiveTenant) {
    let mut t = tenant("a", Runtime::ServiceManager);
    t.instances[0].keys[0].rotate_after_secs = Some(90 * 86_400);
    t.instances[0].keys[0].retire_after_secs = 7 * 86_400;
    let mut lt = converged(&t);
    lt.keys[0].created_at = DAY;
    (t, lt)
}

fn at(now_unix: i64) -> PlanOptions {
    PlanOptions {
        now_unix,
        ..PlanOptions::default()
    }
}

#[test]
fn a_key_is_rotated_once_older_than_rotate_after() {
    let (t, lt) = rotating();
    let d = desired(vec![t]);
    let l = live(vec![lt]);
    assert!(plan(&d, &l, &at(90 * DAY)).is_empty(), "89 days old");
    let p = plan(&d, &l, &at(91 * DAY + 3600 + 60));
    assert_eq!(
        actions(&p),
        [(
            "service_key calm-api/calm-key-197004020101".to_owned(),
            Action::Rotate
        )]
    );
    let c = &p.changes[0];
    assert_eq!(
        c.observed.as_ref().map(|o| o.guid.as_str()),
        Some("key-guid")
    );
    assert!(
        matches!(&c.resource, Resource::ServiceKey { rotates: Some(k), .. } if k == "calm-key")
    );
    assert!(
        c.reason.as_deref().unwrap_or_default().contains("90d old"),
        "{c:?}"
    );
}

#[test]
fn calmctl_rotate_asks_whatever_the_age() {
    let (t, lt) = rotating();
    let mut options = at(2 * DAY);
    options.rotate.insert(("a".into(), "calm-key".into()));
    let p = plan(&desired(vec![t]), &live(vec![lt]), &options);
    assert_eq!(p.count(Action::Rotate), 1);
    assert_eq!(p.count(Action::Delete), 0);
}

#[test]
fn a_retired_key_is_deleted_after_its_grace_period_only() {
    let (mut t, mut lt) = rotating();
    let mut retired = lt.keys[0].clone();
    retired.guid = "old-guid".into();
    retired.name = "calm-key-old".into();
    retired.created_at = 0;
    retired
        .metadata
        .insert(labels::RETIRED_AT.into(), (10 * DAY).to_string());
    lt.keys.push(retired);
    let d = desired(vec![t.clone()]);
    let l = live(vec![lt.clone()]);
    assert!(
        plan(&d, &l, &at(16 * DAY)).is_empty(),
        "6 days after retirement"
    );
    let p = plan(&d, &l, &at(17 * DAY));
    assert_eq!(
        actions(&p),
        [(
            "service_key calm-api/calm-key-old".to_owned(),
            Action::DeleteRetired
        )]
    );
    assert!(p.withheld_deletes.is_empty(), "needs no --allow-delete");
    t.protect = true;
    let p = plan(&desired(vec![t]), &l, &at(17 * DAY));
    assert_eq!(p.count(Action::DeleteRetired), 0, "a protected key stays");
    assert_eq!(p.protected.len(), 1);
}

#[test]
fn a_key_left_by_an_interrupted_rotation_is_deleted_and_the_old_one_kept() {
    let (t, mut lt) = rotating();
    let mut younger = lt.keys[0].clone();
    younger.guid = "new-guid".into();
    younger.name = "calm-key-197001050000".into();
    younger.created_at = 4 * DAY;
    lt.keys.push(younger);
    let p = plan(&desired(vec![t]), &live(vec![lt]), &at(5 * DAY));
    assert_eq!(
        actions(&p),
        [(
            "service_key calm-api/calm-key-197001050000".to_owned(),
            Action::DeleteRetired
        )]
    );
}

/// Issue 21: a key whose delivery failed, or whose file is gone, is due in the plan: the next
/// apply delivers it, where before only a missing file of a `dir` sink was noticed, and by apply
/// alone.
#[test]
fn a_key_whose_delivery_failed_or_whose_file_is_gone_is_due() {
    let t = tenant("alpha", Runtime::Cloudfoundry);
    let mut l = converged(&t);
    l.keys[0]
        .metadata
        .insert(labels::DELIVERY.into(), crate::delivered::FAILED.into());
    let p = plan(
        &desired(vec![t.clone()]),
        &live(vec![l]),
        &PlanOptions::default(),
    );
    assert_eq!(
        actions(&p),
        [("service_key calm-api/calm-key".to_owned(), Action::Deliver)]
    );
    assert_eq!(p.changes[0].reason.as_deref(), Some("last delivery failed"));
    assert_eq!(
        p.changes[0].observed.as_ref().map(|o| o.guid.as_str()),
        Some("key-guid")
    );
    let mut gone = converged(&t);
    gone.files.clear();
    let p = plan(
        &desired(vec![t]),
        &live(vec![gone]),
        &PlanOptions::default(),
    );
    assert_eq!(
        p.changes[0].reason.as_deref(),
        Some("its credentials file is missing")
    );
}

#[test]
fn offboarding_deletes_only_the_named_tenants_objects_without_allow_delete() {
    let a = tenant("a", Runtime::ServiceManager);
    let b = tenant("b", Runtime::ServiceManager);
    let gone = converged(&tenant("gone", Runtime::ServiceManager));
    let mut l = live(vec![converged(&a), converged(&b)]);
    l.orphans.push(gone);
    let d = desired(vec![a, b]);
    let options = PlanOptions {
        offboard: ["a".to_owned(), "gone".to_owned()].into(),
        targets: Some(["a".to_owned(), "gone".to_owned()].into()),
        ..PlanOptions::default()
    };
    let plan = plan(&d, &l, &options);
    assert_eq!(plan.count(Action::Delete), 4, "{:?}", actions(&plan));
    assert!(
        plan.changes
            .iter()
            .all(|c| c.action == Action::Delete && (c.tenant == "a" || c.tenant == "gone")),
        "{:?}",
        actions(&plan)
    );
    let key = plan
        .changes
        .iter()
        .find(|c| matches!(c.resource, Resource::ServiceKey { .. }))
        .unwrap();
    assert!(
        key.reason.as_deref().unwrap().contains("stop working"),
        "{key:?}"
    );
    assert_eq!(plan.offboarded, ["a", "gone"]);
    assert!(plan.withheld_deletes.is_empty());
}

#[test]
fn offboarding_keeps_protected_objects() {
    let a = tenant("a", Runtime::ServiceManager);
    let mut la = converged(&a);
    la.instances[0]
        .metadata
        .insert(labels::PROTECT.into(), "true".into());
    let options = PlanOptions {
        offboard: ["a".to_owned()].into(),
        ..PlanOptions::default()
    };
    let plan = plan(&desired(vec![a]), &live(vec![la]), &options);
    assert!(plan.is_empty(), "{:?}", actions(&plan));
    assert_eq!(plan.protected.len(), 2, "the instance and its key");
}
