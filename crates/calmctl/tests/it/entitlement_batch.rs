//! One tenant asking for more entitlement than the global account has does not fail the others
//! of its batch: BTP refuses the whole request (FIDELITY.md §7), calmctl halves the batch until
//! the refused subaccount is alone, the other 19 converge in the same run, and the failed
//! tenant's report carries BTP's reason.

use calm_test::Landscape;
use calm_test::configs::alternating;
use serde_json::Value;

#[test]
fn one_tenant_over_quota_fails_alone_and_the_other_nineteen_converge() {
    // Quota for 20 tenants of one each, twice over (40): t007 asks for more than there is.
    let l = Landscape::quick(&alternating(20));
    let greedy = std::fs::read_to_string(l.path("calm.yaml")).unwrap().replace(
        "{ name: t007, subaccount: t007, runtime: service-manager }",
        "{ name: t007, subaccount: t007, runtime: service-manager, entitlement: { amount: 100 } }",
    );
    assert!(greedy.contains("amount: 100"));
    std::fs::write(l.path("calm.yaml"), greedy).unwrap();
    let (code, _, err) = l.apply(&["--report", "report.json"]);
    assert_ne!(code, 0, "one tenant failed: {err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    let tenants = report["tenants"].as_array().unwrap();
    let failed: Vec<&Value> = tenants.iter().filter(|t| t["status"] != "done").collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["tenant"], "t007");
    let message = failed[0]["error"].to_string();
    assert!(
        message.contains("Not enough quota"),
        "BTP's reason: {message}"
    );
    // The others converged: the next plan concerns t007 alone.
    let (code, plan, _) = l.run(&["plan", "--format", "json"]);
    assert_eq!(code, 2);
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let changing: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["tenant"].as_str())
        .collect();
    assert!(
        !changing.is_empty() && changing.iter().all(|t| *t == "t007"),
        "{changing:?}"
    );
}
