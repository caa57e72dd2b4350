//! Service Manager objects made by hand: what a colleague makes in a subaccount's Service
//! Manager with an access binding of their own, which they remove afterwards, so that calmctl
//! finds instances and bindings but no access binding to read them with.

use btp_sim::world::ClientCredentials;
use calm_btp::service_manager::{NewServiceBinding, NewServiceInstance, PlanChoice};
use serde_json::Value;

use crate::Landscape;

impl Landscape {
    /// Makes instance `instance` (with `parameters`) and bindings `bindings` in the Service
    /// Manager of subaccount `subdomain`, without labels, through an access binding that is gone
    /// afterwards unless the subaccount had one already. Returns the instance's id.
    pub fn hand_made_sm(
        &self,
        subdomain: &str,
        instance: &str,
        parameters: Value,
        bindings: &[&str],
    ) -> String {
        let had = self.sim.with_world(|w| {
            let s = w
                .subaccounts
                .values_mut()
                .find(|s| s.subdomain == subdomain)
                .expect("the subaccount exists");
            let had = s.service_manager_binding.is_some();
            if !had {
                s.service_manager_binding = Some(ClientCredentials {
                    client_id: format!("sb-by-hand-{subdomain}!b4065|service-manager!b4065"),
                    client_secret: format!("made-by-hand-{subdomain}"),
                });
            }
            had
        });
        let sm = self.sm(subdomain);
        let id = self.runtime.block_on(async {
            let created = sm
                .create_service_instance(&NewServiceInstance {
                    name: instance.to_owned(),
                    plan: PlanChoice::Names {
                        offering: "SAPCloudALMAPIs".into(),
                        plan: "standard".into(),
                    },
                    parameters: Some(parameters),
                    labels: Default::default(),
                })
                .await
                .unwrap();
            for name in bindings {
                sm.create_service_binding(&NewServiceBinding {
                    name: (*name).to_owned(),
                    service_instance_id: created.id.clone(),
                    parameters: None,
                    labels: Default::default(),
                })
                .await
                .unwrap();
            }
            created.id
        });
        if !had {
            self.sim.with_world(|w| {
                if let Some(s) = w
                    .subaccounts
                    .values_mut()
                    .find(|s| s.subdomain == subdomain)
                {
                    s.service_manager_binding = None;
                }
            });
        }
        id
    }
}
