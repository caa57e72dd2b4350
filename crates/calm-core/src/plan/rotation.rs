//! Key rotation and the end of retired keys.
//!
//! A key is rotated when it is older than its `rotate_after`, or when `calmctl rotate` asks
//! ([`PlanOptions::rotate`]). The plan then holds one [`Action::Rotate`] change: the resource is the
//! new key, `<name>-<yyyymmddhhmm>` (UTC, from [`PlanOptions::now_unix`]), and `observed` names the
//! key it replaces. The engine creates, delivers and verifies the new key, and only then marks the
//! old one retired (label `calmctl.sap/retired-at`). A retired key is deleted
//! ([`Action::DeleteRetired`]) by the first plan made after its `retire_after` grace period, unless
//! it is protected. Keys with the same calm.yaml name that are neither current nor retired were
//! left by an interrupted rotation (never verified): they are deleted, and the current key is
//! delivered again in case the sink already held theirs.

use serde_json::json;

use super::support::{key_version, observed};
use super::{Action, Change, FieldChange, Plan, PlanOptions, Resource};
use crate::live::{LiveKey, Metadata, labels};
use crate::{Instance, Key, Tenant};

/// When the key was retired (Unix seconds), if it was.
pub(crate) fn retired_at(metadata: &Metadata) -> Option<i64> {
    metadata
        .get(labels::RETIRED_AT)
        .map(|v| v.trim().parse::<i64>().unwrap_or(0))
}

/// Plans the rotation of `current`, the live key of `k`, if it is due.
pub(super) fn rotate(
    t: &Tenant,
    i: &Instance,
    k: &Key,
    current: &LiveKey,
    taken: &[&LiveKey],
    options: &PlanOptions,
    out: &mut Plan,
) {
    let asked = options.rotate.contains(&(t.name.clone(), k.name.clone()));
    let age = options.now_unix - current.created_at;
    let aged = k.rotate_after_secs.is_some_and(|limit| {
        current.created_at > 0 && u64::try_from(age).is_ok_and(|age| age >= limit)
    });
    if !asked && !aged {
        return;
    }
    let reason = if aged {
        format!(
            "{} is {} old, rotate_after is {}; the old key is retired once the new one is verified",
            current.name,
            duration(u64::try_from(age).unwrap_or(0)),
            duration(k.rotate_after_secs.unwrap_or(0)),
        )
    } else {
        format!(
            "rotation asked for; {} is retired once the new key is verified",
            current.name
        )
    };
    let stamp = stamp(options.now_unix);
    let mut name = format!("{}-{stamp}", k.name);
    let mut n = 2;
    while taken.iter().any(|lk| lk.name == name) {
        name = format!("{}-{stamp}-{n}", k.name);
        n += 1;
    }
    out.changes.push(Change {
        tenant: t.name.clone(),
        resource: Resource::ServiceKey {
            instance: i.name.clone(),
            name,
            rotates: Some(k.name.clone()),
        },
        action: Action::Rotate,
        reason: Some(reason),
        fields: vec![FieldChange {
            path: "retires".into(),
            before: None,
            after: Some(json!(current.name)),
            unknown_before: false,
        }],
        observed: Some(observed(
            &current.guid,
            &key_version(current),
            &current.metadata,
        )),
    });
}

/// A key left by an interrupted rotation: never verified, never delivered for good.
pub(super) fn leftover(t: &Tenant, i: &Instance, k: &Key, lk: &LiveKey, out: &mut Plan) {
    out.changes.push(Change {
        tenant: t.name.clone(),
        resource: Resource::ServiceKey {
            instance: i.name.clone(),
            name: lk.name.clone(),
            rotates: Some(k.name.clone()),
        },
        action: Action::DeleteRetired,
        reason: Some(
            "left by an interrupted rotation and never verified; the current key is kept".into(),
        ),
        fields: Vec::new(),
        observed: Some(observed(&lk.guid, &key_version(lk), &lk.metadata)),
    });
}

/// Deletes a retired key whose grace period is over; protected keys are listed instead.
pub(super) fn expire(
    tenant: &str,
    instance: &str,
    lk: &LiveKey,
    retire_after_secs: u64,
    protected: bool,
    options: &PlanOptions,
    out: &mut Plan,
) {
    let Some(at) = retired_at(&lk.metadata) else {
        return;
    };
    let elapsed = options.now_unix - at;
    if u64::try_from(elapsed).is_ok_and(|e| e >= retire_after_secs) {
        let resource = Resource::ServiceKey {
            instance: instance.to_owned(),
            name: lk.name.clone(),
            rotates: None,
        };
        if protected || crate::live::is_protected(&lk.metadata) {
            out.protected.push(super::Protected {
                tenant: tenant.to_owned(),
                resource,
            });
            return;
        }
        out.changes.push(Change {
            tenant: tenant.to_owned(),
            resource,
            action: Action::DeleteRetired,
            reason: Some(format!(
                "retired {} ago by a rotation; retire_after is {}",
                duration(u64::try_from(elapsed).unwrap_or(0)),
                duration(retire_after_secs)
            )),
            fields: Vec::new(),
            observed: Some(observed(&lk.guid, &key_version(lk), &lk.metadata)),
        });
    }
}

/// `90d`, `36h`, `15m` or `40s`: the largest whole unit.
pub(crate) fn duration(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3600 => format!("{}h", s / 3600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `yyyymmddhhmm` in UTC.
pub fn stamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm,
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_minutes() {
        assert_eq!(stamp(0), "197001010000");
        // 2026-11-23T12:34:56Z
        assert_eq!(stamp(1_795_437_296), "202611231234");
        assert_eq!(stamp(951_782_400), "200002290000");
    }

    #[test]
    fn durations_use_the_largest_unit() {
        assert_eq!(duration(90 * 86_400), "90d");
        assert_eq!(duration(7200), "2h");
        assert_eq!(duration(59), "59s");
    }
}
