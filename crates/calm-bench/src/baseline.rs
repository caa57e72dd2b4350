//! The per-resource baseline: the converged landscape read the way per-resource tools read it
//! (one data source per object, as Terraform's BTP and CF providers do): per tenant the
//! org by name, then its space, then the instance, then the instance's keys, then the subaccount's
//! entitlement, one tenant after another with 8 tenants in parallel. It runs in this process
//! through calm-btp, against the same simulator, so that its requests and wall time stand beside
//! calmctl's.

use std::collections::BTreeMap;
use std::time::Instant;

use btp_sim::{ADMIN_PASSWORD, ADMIN_USER, SimHandle};
use calm_btp::auth::{CisKey, Grant};
use calm_btp::cf::{CfClient, OrganizationFilter, ServiceCredentialBindingFilter, SpaceFilter};
use calm_btp::entitlements::{AssignmentFilter, EntitlementsClient};
use calm_btp::{Btp, ClientConfig, LimiterConfig, SecretString};
use calm_core::{Desired, Tenant};
use futures::StreamExt;

/// Tenants read at once, like Terraform's default `-parallelism=10` rounded to the 8 the issue
/// names.
const PARALLEL: usize = 8;

/// Reads every Cloud Foundry tenant of `desired` one resource at a time; returns the wall time.
pub async fn read(sim: &SimHandle, desired: &Desired) -> Result<f64, String> {
    let config = ClientConfig {
        api_url: Some(sim.url().parse().map_err(|e| format!("{e}"))?),
        // Per-resource tools do not pace themselves; 8 tasks cannot exceed this.
        limiter: LimiterConfig {
            initial_rate: 500.0,
            burst: 500.0,
            ..LimiterConfig::default()
        },
        ..ClientConfig::default()
    };
    let btp = Btp::new(config).map_err(|e| e.to_string())?;
    let account = desired.accounts.first().ok_or("no account")?;
    let key = sim
        .cis_key(&account.subdomain)
        .ok_or("no cis key in the simulator")?
        .to_string();
    let key = CisKey::from_json(&key).map_err(|e| e.to_string())?;
    let grant = key
        .grant(Some((ADMIN_USER, SecretString::from(ADMIN_PASSWORD))))
        .map_err(|e| e.to_string())?;
    let entitlements = btp
        .entitlements(&key.entitlements_service_url, &key.token_url, grant)
        .map_err(|e| e.to_string())?;
    // Subaccount GUIDs as a per-resource config would hold them (not counted: admin API).
    let guids: BTreeMap<String, String> = sim.with_world(|w| {
        w.subaccounts
            .values()
            .map(|s| (s.subdomain.clone(), s.guid.clone()))
            .collect()
    });
    let mut regions = BTreeMap::new();
    for t in &desired.tenants {
        if !regions.contains_key(&t.region) {
            let grant = Grant::cf_password(ADMIN_USER, ADMIN_PASSWORD.to_owned().into(), None);
            let url = format!("https://api.cf.{}.hana.ondemand.com", t.region);
            let cf = btp
                .cloud_foundry(&url, grant)
                .await
                .map_err(|e| e.to_string())?;
            regions.insert(t.region.clone(), cf);
        }
    }
    let started = Instant::now();
    let results: Vec<Result<(), String>> = futures::stream::iter(
        desired
            .tenants
            .iter()
            .filter(|t| t.runtime == calm_core::Runtime::Cloudfoundry)
            .map(|t| tenant(&regions[&t.region], &entitlements, t, &guids)),
    )
    .buffer_unordered(PARALLEL)
    .collect()
    .await;
    results.into_iter().collect::<Result<(), String>>()?;
    Ok(started.elapsed().as_secs_f64())
}

async fn tenant(
    cf: &CfClient,
    entitlements: &EntitlementsClient,
    t: &Tenant,
    guids: &BTreeMap<String, String>,
) -> Result<(), String> {
    let e = |e: calm_btp::Error| e.to_string();
    let org = cf
        .list_organizations(&OrganizationFilter {
            // The org btp-sim's `from_desired` makes: calm.yaml's `org`, else the tenant's name.
            names: vec![t.org.clone().unwrap_or_else(|| t.name.clone())],
            ..Default::default()
        })
        .await
        .map_err(e)?;
    let org = org.first().ok_or("org not found")?;
    for instance in &t.instances {
        let spaces = cf
            .list_spaces(&SpaceFilter {
                names: vec![instance.space.clone().unwrap_or_default()],
                organization_guids: vec![org.guid.clone()],
                ..Default::default()
            })
            .await
            .map_err(e)?;
        let space = spaces.first().ok_or("space not found")?;
        let found = cf
            .find_service_instance(&instance.name, &space.guid)
            .await
            .map_err(e)?
            .ok_or("instance not found")?;
        cf.list_service_keys(&ServiceCredentialBindingFilter {
            service_instance_guids: vec![found.guid],
            ..Default::default()
        })
        .await
        .map_err(e)?;
    }
    let guid = guids.get(&t.subaccount).cloned().unwrap_or_default();
    entitlements
        .list_assignments(&AssignmentFilter {
            subaccount_guid: Some(guid),
            ..Default::default()
        })
        .await
        .map_err(e)?;
    Ok(())
}
