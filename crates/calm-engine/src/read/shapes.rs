//! API objects into the live model's shapes, shared by the Cloud Foundry and Service Manager
//! reads and by `discover`.

/// A CF service key as the live model holds it.
pub(crate) fn live_key(k: &calm_btp::cf::ServiceCredentialBinding) -> calm_core::LiveKey {
    calm_core::LiveKey {
        guid: k.guid.clone(),
        name: k.name.clone(),
        instance_guid: k.service_instance_guid.clone(),
        created_at: unix_seconds(k.created_at.as_deref()),
        last_operation: k.last_operation.as_ref().map(last_operation),
        metadata: merge_metadata(&k.metadata),
    }
}

/// Labels and annotations merged into one map (Service Manager has only labels).
pub(crate) fn merge_metadata(metadata: &calm_btp::cf::Metadata) -> calm_core::live::Metadata {
    let mut out = metadata.labels.clone();
    out.extend(
        metadata
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out
}

pub(crate) fn last_operation(op: &calm_btp::operation::LastOperation) -> calm_core::LastOperation {
    calm_core::LastOperation {
        kind: op.kind.to_string(),
        state: op.state.to_string(),
        description: op.description.clone().unwrap_or_default(),
    }
}

/// RFC 3339 (`2026-11-23T12:00:00Z`) to Unix seconds; 0 when unreadable.
pub(crate) fn unix_seconds(text: Option<&str>) -> i64 {
    text.and_then(|t| {
        let (date, time) = t.split_once('T')?;
        let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, day) = (d.next()??, d.next()??, d.next()??);
        let mut c = time
            .trim_end_matches('Z')
            .split(':')
            .map(|p| p.split('.').next()?.parse::<i64>().ok());
        let (hh, mm, ss) = (c.next()??, c.next()??, c.next()??);
        Some(days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss)
    })
    .unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
