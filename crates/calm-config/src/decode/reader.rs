//! Small typed readers over the YAML tree. Each reports a located problem and returns `None` when
//! a node is not what was expected, so decoding goes on and finds the next problem too.

use std::collections::BTreeMap;

use calm_core::Span;

use crate::diagnostic::Problems;
use crate::node::{Node, Value};
use crate::schema::Sp;

/// The entries of a mapping whose keys were checked against the allowed field names.
pub(crate) struct Fields<'n> {
    entries: Vec<(&'n str, Span, &'n Node)>,
    /// Where the whole mapping is.
    pub(crate) span: Span,
}

impl<'n> Fields<'n> {
    pub(crate) fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(key, _, _)| *key == name)
            .map(|(_, _, node)| *node)
    }
}

/// Reads a mapping with a fixed set of fields. Unknown fields are reported with a suggestion.
pub(crate) fn mapping<'n>(
    problems: &mut Problems,
    node: &'n Node,
    what: &str,
    allowed: &[&str],
) -> Option<Fields<'n>> {
    let Value::Mapping(entries) = &node.value else {
        expected(problems, node, &format!("{what} (a mapping)"));
        return None;
    };
    let mut fields = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let Value::String(name) = &key.value else {
            problems
                .error("calm::type", format!("keys of {what} must be field names"))
                .label(key.span, format!("{} used as a key", key.value.kind()))
                .help(format!("allowed fields: {}", allowed.join(", ")))
                .push();
            continue;
        };
        if allowed.contains(&name.as_str()) {
            fields.push((name.as_str(), key.span, value));
        } else {
            unknown_field(problems, key.span, name, what, allowed);
        }
    }
    Some(Fields {
        entries: fields,
        span: node.span,
    })
}

fn unknown_field(problems: &mut Problems, span: Span, name: &str, what: &str, allowed: &[&str]) {
    let help = match did_you_mean(name, allowed.iter().copied()) {
        Some(best) => format!(
            "did you mean `{best}`? ({what} allows: {})",
            allowed.join(", ")
        ),
        None => format!("{what} allows: {}", allowed.join(", ")),
    };
    problems
        .error(
            "calm::unknown_field",
            format!("unknown field `{name}` in {what}"),
        )
        .label(span, "not a field of this entry")
        .help(help)
        .push();
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Reports a node of the wrong type.
pub(crate) fn expected(problems: &mut Problems, node: &Node, what: &str) {
    problems
        .error(
            "calm::type",
            format!("expected {what}, found {}", node.value.kind()),
        )
        .label(node.span, format!("this is {}", node.value.kind()))
        .push();
}

/// Reports a missing required field, pointing at the entry that lacks it.
pub(crate) fn missing(problems: &mut Problems, fields: &Fields<'_>, field: &str, what: &str) {
    problems
        .error("calm::missing_field", format!("{what} has no `{field}`"))
        .label_line(fields.span, format!("`{field}` is required here"))
        .help(format!("add `{field}: ...` to this entry"))
        .push();
}

/// A string scalar. Numbers and booleans are taken as written (`no` stays "no", `007` stays
/// "007"), because names such as an org `no` or a subaccount `1234` are plain strings to BTP.
pub(crate) fn string(problems: &mut Problems, node: &Node, what: &str) -> Option<Sp<String>> {
    match &node.value {
        Value::String(s) => Some(Sp {
            value: s.clone(),
            span: node.span,
        }),
        Value::Bool(_) | Value::Integer(_) | Value::Float(_) => {
            let written = problems
                .slice(node.span)
                .map(|s| s.trim_matches(|c| c == '"' || c == '\'').to_owned())
                .unwrap_or_else(|| node.scalar_text());
            Some(Sp {
                value: written,
                span: node.span,
            })
        }
        _ => {
            expected(problems, node, &format!("{what} (a string)"));
            None
        }
    }
}

pub(crate) fn boolean(problems: &mut Problems, node: &Node, what: &str) -> Option<Sp<bool>> {
    if let Value::Bool(b) = node.value {
        return Some(Sp {
            value: b,
            span: node.span,
        });
    }
    problems
        .error(
            "calm::type",
            format!(
                "expected {what} (true or false), found {}",
                node.value.kind()
            ),
        )
        .label(node.span, format!("this is {}", node.value.kind()))
        .help("write `true` or `false`")
        .push();
    None
}

pub(crate) fn unsigned(problems: &mut Problems, node: &Node, what: &str) -> Option<Sp<u32>> {
    if let Value::Integer(i) = node.value
        && let Ok(value) = u32::try_from(i)
    {
        return Some(Sp {
            value,
            span: node.span,
        });
    }
    let found = describe(problems.slice(node.span), node);
    problems
        .error(
            "calm::type",
            format!("expected {what} (a whole number, 0 or more)"),
        )
        .label(node.span, format!("this is {found}"))
        .push();
    None
}

fn describe(written: Option<&str>, node: &Node) -> String {
    match &node.value {
        Value::Integer(i) => format!("{i}, out of range"),
        other => match (other, written) {
            (Value::String(_), Some(w)) => format!("the string {w}"),
            _ => other.kind().to_owned(),
        },
    }
}

/// A list; each item is read with `item`, and failed items are skipped.
pub(crate) fn list<T>(
    problems: &mut Problems,
    node: &Node,
    what: &str,
    mut item: impl FnMut(&mut Problems, &Node) -> Option<T>,
) -> Option<Vec<T>> {
    let Value::Sequence(items) = &node.value else {
        expected(problems, node, &format!("{what} (a list)"));
        return None;
    };
    Some(items.iter().filter_map(|n| item(problems, n)).collect())
}

/// A mapping with free-form keys, e.g. `accounts` or `labels`.
pub(crate) fn map_of<T>(
    problems: &mut Problems,
    node: &Node,
    what: &str,
    mut item: impl FnMut(&mut Problems, &Sp<String>, &Node) -> Option<T>,
) -> Option<BTreeMap<String, T>> {
    let Value::Mapping(entries) = &node.value else {
        expected(problems, node, &format!("{what} (a mapping)"));
        return None;
    };
    let mut out = BTreeMap::new();
    for (key, value) in entries {
        let Some(name) = string(problems, key, &format!("a key of {what}")) else {
            continue;
        };
        if let Some(v) = item(problems, &name, value) {
            out.insert(name.value, v);
        }
    }
    Some(out)
}
