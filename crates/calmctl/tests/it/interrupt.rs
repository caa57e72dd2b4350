//! Ctrl-C during `calmctl apply`: no new step starts, the steps under way finish, the report says
//! which tenants are pending or skipped, the exit code is 1, and a re-run converges.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use btp_sim::JobTimings;

use crate::apply::assert_converged;
use calm_test::Landscape;

#[test]
fn ctrl_c_stops_new_steps_reports_and_a_rerun_converges() {
    let tenants = 24;
    let yaml = calm_test::configs::alternating(tenants);
    let l = Landscape::new(&yaml);
    // Jobs slow enough that the interrupt lands while instances are being created.
    l.sim.update_settings(|s| {
        s.jobs = JobTimings {
            processing_ms: 200,
            polling_ms: 800,
            entitlement_ms: 100,
        }
    });
    let mut child = l
        .process()
        .args(["apply", "--auto-approve", "--no-progress"])
        .args(["--parallelism", "4", "--report", "report.json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    // Interrupt once the first instance exists: some tenants are under way, most not started.
    for line in lines.by_ref() {
        let line = line.unwrap();
        let first_instance = line.contains("create service_instance") && line.ends_with(": ok");
        seen.push(line);
        if first_instance {
            let status = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            break;
        }
    }
    seen.extend(lines.map(Result::unwrap));
    let code = child.wait().unwrap().code();
    let err = seen.join("\n");
    assert_eq!(code, Some(1), "an interrupted run is not a success: {err}");
    assert!(
        err.contains("interrupted: no new steps are started"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true, "{report}");
    let count = |status: &str| {
        report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == status)
            .count()
    };
    assert_eq!(
        count("failed"),
        0,
        "nothing fails because of Ctrl-C: {report}"
    );
    // Entitlements go first for all tenants at once, so the others are pending (started) with
    // their remaining steps named, or skipped (not started).
    assert!(
        count("pending") + count("skipped") > 0,
        "unfinished tenants are reported: {report}"
    );
    assert!(
        report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "pending")
            .all(|t| !t["remaining"].as_array().unwrap().is_empty()),
        "a pending tenant names what is left: {report}"
    );
    assert!(count("done") < tenants, "{report}");
    assert_eq!(
        count("done") + count("pending") + count("skipped"),
        tenants,
        "{report}"
    );

    let (code, _, err) = l.apply(&[]);
    assert_eq!(
        code, 0,
        "the re-run continues where the interrupted one stopped: {err}"
    );
    assert_converged(&l, tenants);
    assert_eq!(l.run(&["plan"]).0, 0, "no changes left");
}
