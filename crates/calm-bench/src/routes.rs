//! `--routes`: where a scenario's requests went (per route) and when (per API and second).

use btp_sim::{Api, Second, StatsSnapshot};

/// Prints the requests per route between two snapshots, the 429s per API, and a timeline of
/// requests per API and second (429s in brackets), so that an idle or an overloaded API shows.
pub fn print(scenario: &str, before: &StatsSnapshot, after: &StatsSnapshot) {
    eprintln!("{scenario}: requests per route");
    let mut rows: Vec<(u64, &String)> = after
        .routes
        .iter()
        .map(|(route, n)| (n - before.routes.get(route).copied().unwrap_or(0), route))
        .filter(|(n, _)| *n > 0)
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    for (n, route) in rows {
        eprintln!("  {n:>8}  {route}");
    }
    for (api, n) in &after.throttled_by_api {
        let n = n - before.throttled_by_api.get(api).copied().unwrap_or(0);
        if n > 0 {
            eprintln!("  {n:>8}  429s from {api:?}");
        }
    }
    let apis = [
        (Api::Uaa, "uaa"),
        (Api::Cf, "cf"),
        (Api::Accounts, "accounts"),
        (Api::Entitlements, "entitlements"),
        (Api::ServiceManager, "service manager"),
    ];
    eprintln!("{scenario}: requests per second (429s in brackets)");
    let header: String = apis.iter().map(|(_, name)| format!("{name:>16}")).collect();
    eprintln!("  {:>6}{header}", "second");
    let first = before.timeline.len().saturating_sub(1);
    for (offset, second) in after.timeline.iter().skip(first).enumerate() {
        let earlier = if offset == 0 {
            before.timeline.last()
        } else {
            None
        };
        let cells: String = apis
            .iter()
            .map(|(api, _)| {
                let now = second.get(api).copied().unwrap_or_default();
                let was = earlier
                    .and_then(|s| s.get(api))
                    .copied()
                    .unwrap_or_default();
                format!("{:>16}", cell(now, was))
            })
            .collect();
        eprintln!("  {offset:>6}{cells}");
    }
}

fn cell(now: Second, was: Second) -> String {
    let requests = now.requests - was.requests;
    let throttled = now.throttled - was.throttled;
    match (requests, throttled) {
        (0, _) => "·".to_owned(),
        (n, 0) => n.to_string(),
        (n, t) => format!("{n} ({t})"),
    }
}
