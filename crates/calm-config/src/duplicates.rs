//! Names that must be unique: tenants, subaccounts, instances within a space or subaccount, and
//! keys within an instance. Each finding labels the first and the second place and says how often
//! the name appears.
//!
//! The check is linear in the number of tenants, and so is its output: a name is reported once,
//! however often it repeats, and after [`MAX_LISTED`] names of one kind the rest are counted in one
//! closing problem. An inventory exported twice into one file (16,000 duplicates) gives a screen
//! of findings, not 18 MB of them.

use std::collections::HashMap;
use std::hash::Hash;

use calm_core::{Span, Tenant};

use crate::diagnostic::Problems;
use crate::schema::TenantSpec;

/// Names of one kind reported one by one; further ones are counted.
pub(crate) const MAX_LISTED: usize = 20;

/// The places a name was written, in file order: the first two, and how many in all.
struct Seen {
    first: Span,
    second: Option<Span>,
    count: usize,
}

/// Collects names in file order and reports those written more than once.
struct Tally<K> {
    order: Vec<K>,
    seen: HashMap<K, Seen>,
}

impl<K: Eq + Hash + Clone> Tally<K> {
    fn with_capacity(n: usize) -> Self {
        Tally {
            order: Vec::with_capacity(n),
            seen: HashMap::with_capacity(n),
        }
    }

    fn add(&mut self, key: K, span: Span) {
        match self.seen.get_mut(&key) {
            Some(seen) => {
                seen.count += 1;
                seen.second.get_or_insert(span);
            }
            None => {
                self.order.push(key.clone());
                self.seen.insert(
                    key,
                    Seen {
                        first: span,
                        second: None,
                        count: 1,
                    },
                );
            }
        }
    }

    /// The repeated names in the order they were first written: name, first and second place, and
    /// how often it appears.
    fn repeated(&self) -> impl Iterator<Item = (&K, Span, Span, usize)> {
        self.order.iter().filter_map(|k| {
            let seen = &self.seen[k];
            seen.second
                .map(|second| (k, seen.first, second, seen.count))
        })
    }
}

/// "twice", "3 times".
fn times(count: usize) -> String {
    if count == 2 {
        "twice".to_owned()
    } else {
        format!("{count} times")
    }
}

/// Reports names that must be unique but are not, pointing at the first two places.
/// Tenant names are taken from every entry written (`specs`), also those with other errors, so
/// that a duplicate is reported in the same run as everything else; the rest from the tenants
/// that could be expanded.
pub(crate) fn check(problems: &mut Problems, specs: &[TenantSpec], tenants: &[Tenant]) {
    let mut names: Tally<&str> = Tally::with_capacity(specs.len());
    let mut subaccounts: Tally<(&str, &str)> = Tally::with_capacity(tenants.len());
    for spec in specs {
        names.add(&spec.name.value, spec.name.span);
    }
    for t in tenants {
        subaccounts.add((&t.account, &t.subaccount), t.span);
    }
    let mut listed = 0;
    let mut more = (0, None);
    for (name, first, second, count) in names.repeated() {
        if listed == MAX_LISTED {
            more = (more.0 + 1, more.1.or(Some(second)));
            continue;
        }
        listed += 1;
        let mut help = "tenant names must be unique: they name the tenant in plans, labels and credential paths".to_owned();
        if count > 2 {
            help.push_str(&format!(" (the other {} places are not shown)", count - 2));
        }
        problems
            .error(
                "calm::duplicate_tenant",
                format!("tenant `{name}` is defined {}", times(count)),
            )
            .label(second, "defined again here")
            .label(first, "first defined here")
            .help(help)
            .push();
    }
    more_of(problems, "calm::duplicate_tenant", "tenant names", more);
    let mut listed = 0;
    let mut more = (0, None);
    for ((_, subaccount), first, second, count) in subaccounts.repeated() {
        if listed == MAX_LISTED {
            more = (more.0 + 1, more.1.or(Some(second)));
            continue;
        }
        listed += 1;
        let tenants = if count == 2 {
            "two tenants".to_owned()
        } else {
            format!("{count} tenants")
        };
        problems
            .error(
                "calm::duplicate_subaccount",
                format!("subaccount `{subaccount}` belongs to {tenants}"),
            )
            .label(second, "second tenant")
            .label(first, "first tenant")
            .help("give each subaccount one tenant; use `instances:` for several instances in one subaccount")
            .push();
    }
    more_of(problems, "calm::duplicate_subaccount", "subaccounts", more);
    for t in tenants {
        within(problems, t);
    }
}

/// The closing problem for names not listed one by one.
fn more_of(
    problems: &mut Problems,
    code: &'static str,
    what: &str,
    (count, at): (usize, Option<Span>),
) {
    let Some(at) = at else { return };
    problems
        .error(
            code,
            format!("{count} more {what} are used more than once (the first {MAX_LISTED} are listed)"),
        )
        .label(at, "the next one")
        .help("fix the listed ones, then run `calmctl validate` again; an inventory exported twice into one file looks like this")
        .push();
}

/// Instances repeated within a tenant, and keys repeated within an instance. A tenant has a
/// handful of each: comparing pairs costs less than a hash map per tenant (100,000 of them).
fn within(problems: &mut Problems, t: &Tenant) {
    for (n, i) in t.instances.iter().enumerate() {
        if let Some(first) = t.instances[..n]
            .iter()
            .find(|f| f.space == i.space && f.name == i.name)
        {
            let scope = i.space.as_deref().map_or_else(
                || format!("subaccount `{}`", t.subaccount),
                |s| format!("space `{s}`"),
            );
            problems.error("calm::duplicate_instance", format!("instance `{}` appears twice in {scope}", i.name)).label(i.span, "defined again here").label(first.span, "first defined here").help("instance names must be unique within a space (Cloud Foundry) or a subaccount (Service Manager)").push();
        }
        for (m, k) in i.keys.iter().enumerate() {
            if let Some(first) = i.keys[..m].iter().find(|f| f.name == k.name) {
                problems
                    .error(
                        "calm::duplicate_key",
                        format!("key `{}` appears twice for instance `{}`", k.name, i.name),
                    )
                    .label(k.span, "defined again here")
                    .label(first.span, "first defined here")
                    .help("key names must be unique within an instance")
                    .push();
            }
        }
    }
}
