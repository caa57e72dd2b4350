//! Inventory files: `tenants_from: tenants.csv` (or `.yaml`) loads tenants from a file next to
//! calm.yaml, such as a spreadsheet exported from a CMDB or the output of `calmctl discover
//! --format csv`.
//!
//! A CSV file is turned into the same YAML [`Node`] tree a `tenants:` list gives, with every cell's
//! span, and then read by the same decoder: a bad value in row 812 is reported at
//! `tenants.csv:812:column` with the same message, label and help as in calm.yaml. The file gets
//! its own range of the shared offset space ([`Problems::add_source`]), so duplicates between
//! inline and inventory tenants name both files.
//!
//! CSV is read with the `csv` crate (RFC 4180 quoting, CRLF, ragged rows reported rather than
//! guessed at); the byte span of each cell is found by walking the raw record, because the crate
//! reports positions per record only.

use std::path::Path;
use std::sync::Arc;

use calm_core::Span;
use miette::NamedSource;

use crate::Source;
use crate::decode::{self, did_you_mean};
use crate::diagnostic::Problems;
use crate::node::{Node, Value};
use crate::schema::{Sp, TenantSpec};

/// Columns a CSV inventory may have, besides `labels.<key>`.
pub const CSV_COLUMNS: &[&str] = &[
    "name",
    "subaccount",
    "org",
    "account",
    "region",
    "runtime",
    "space",
    "instance",
    "keys",
    "protect",
    "retrieve",
    "cf_api",
];

/// Prefix of a label column: `labels.cost-center` sets the label `cost-center`.
pub const LABEL_PREFIX: &str = "labels.";

/// Reads the tenants of the inventory file `from` (relative to `config_name`'s folder), and the
/// file as a [`Source`] when it could be read.
pub(crate) fn load(
    problems: &mut Problems,
    config_name: &str,
    from: &Sp<String>,
) -> (Vec<TenantSpec>, Option<Source>) {
    let path = Path::new(config_name)
        .parent()
        .unwrap_or(Path::new(""))
        .join(&from.value);
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => "csv",
        Some("yaml" | "yml") => "yaml",
        _ => {
            problems
                .error(
                    "calm::inventory",
                    format!("`{}` is not a CSV or YAML file", from.value),
                )
                .label(from.span, "unknown file type")
                .help(
                    "name a `.csv` file (with a header row) or a `.yaml` file (a list of tenants)",
                )
                .push();
            return (Vec::new(), None);
        }
    };
    let (text, sha256) = match read(&path) {
        Ok(read) => read,
        Err(reason) => {
            problems
                .error(
                    "calm::inventory",
                    format!("cannot read `{}`: {reason}", path.display()),
                )
                .label(from.span, "named here")
                .help("`tenants_from` is relative to the folder of calm.yaml")
                .push();
            return (Vec::new(), None);
        }
    };
    let text: Arc<str> = Arc::from(text);
    let name = path.display().to_string();
    let base = problems.add_source(Arc::new(
        NamedSource::new(name, crate::diagnostic::Text::new(Arc::clone(&text))).with_language(kind),
    ));
    let rows = if kind == "csv" {
        csv_rows(problems, &text, base)
    } else {
        yaml_rows(problems, &text, base)
    };
    let tenants = rows
        .iter()
        .filter_map(|n| decode::tenant(problems, n))
        .collect();
    let source = Source {
        name: path.display().to_string(),
        sha256,
    };
    (tenants, Some(source))
}

/// Reads the inventory: a regular file of at most [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES)
/// (a FIFO or a device such as `/dev/zero` is refused, not waited on or read without end).
fn read(path: &Path) -> Result<(String, String), String> {
    let bytes = crate::read_file(path).map_err(|e| match e {
        crate::ConfigError::Read { source, .. } => source.to_string(),
        crate::ConfigError::TooLarge { size, .. } => format!(
            "it is {size} bytes or more, more than the {} calmctl reads",
            crate::MAX_FILE_BYTES
        ),
        crate::ConfigError::NotAFile { kind, .. } => {
            format!("it is not a regular file ({kind})")
        }
        other => other.to_string(),
    })?;
    let sha256 = calm_core::hash::sha256_hex(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not valid UTF-8 (byte {}); save it as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok((text, sha256))
}

fn yaml_rows(problems: &mut Problems, text: &str, base: usize) -> Vec<Node> {
    let mut root = match crate::parse(text) {
        Ok(root) => root,
        Err((message, span)) => {
            problems
                .error("calm::syntax", message)
                .label(shift(span, base), "here")
                .help("fix the YAML syntax; the file is a list of tenants")
                .push();
            return Vec::new();
        }
    };
    rebase(&mut root, base);
    match root.value {
        Value::Sequence(items) => items,
        _ => {
            decode::expected(problems, &root, "the inventory (a list of tenants)");
            Vec::new()
        }
    }
}

fn shift(span: Span, base: usize) -> Span {
    Span {
        offset: span.offset + base,
        len: span.len,
    }
}

fn rebase(node: &mut Node, base: usize) {
    node.span = shift(node.span, base);
    match &mut node.value {
        Value::Sequence(items) => items.iter_mut().for_each(|n| rebase(n, base)),
        Value::Mapping(entries) => entries.iter_mut().for_each(|(k, v)| {
            rebase(k, base);
            rebase(v, base);
        }),
        _ => {}
    }
}

/// What a header cell asks for.
enum Column {
    Field(&'static str),
    Label(String),
    Ignored,
}

fn csv_rows(problems: &mut Problems, text: &str, base: usize) -> Vec<Node> {
    // Spreadsheets often save a UTF-8 byte order mark first.
    let skip = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[skip..];
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut columns: Vec<(Column, Span)> = Vec::new();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let offset = e.position().map_or(0, |p| p.byte() as usize);
                problems
                    .error("calm::csv", format!("the CSV file cannot be read: {e}"))
                    .label(Span { offset: base + skip + offset, len: 1 }, "here")
                    .help("check the quoting of this row: a field with commas or quotes is written as \"a, \"\"b\"\"\"")
                    .push();
                break;
            }
        }
        let start = record.position().map_or(0, |p| p.byte() as usize) + skip;
        let spans: Vec<Span> = cells(text, start, record.len())
            .into_iter()
            .map(|s| shift(s, base))
            .collect();
        let line = shift(line_span(text, start), base);
        if first {
            first = false;
            columns = header(problems, &record, &spans, line);
            continue;
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push(row(problems, &columns, &record, &spans, line));
    }
    if first {
        problems
            .error("calm::csv", "the CSV file is empty")
            .label(
                Span {
                    offset: base,
                    len: 0,
                },
                "no header row",
            )
            .help(format!(
                "start with a header row such as `{}`",
                CSV_COLUMNS[..5].join(",")
            ))
            .push();
    }
    rows
}

fn header(
    problems: &mut Problems,
    record: &csv::StringRecord,
    spans: &[Span],
    line: Span,
) -> Vec<(Column, Span)> {
    let mut out: Vec<(Column, Span)> = Vec::with_capacity(record.len());
    let mut seen: Vec<(String, Span)> = Vec::new();
    for (cell, span) in record.iter().zip(spans) {
        let name = cell.trim();
        let column = if let Some(field) = CSV_COLUMNS.iter().find(|c| **c == name) {
            Column::Field(field)
        } else if let Some(key) = name.strip_prefix(LABEL_PREFIX).filter(|k| !k.is_empty()) {
            Column::Label(key.to_owned())
        } else {
            let hint = did_you_mean(name, CSV_COLUMNS.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            problems
                .error(
                    "calm::unknown_column",
                    format!("unknown column `{name}` in the inventory"),
                )
                .label(*span, "not a tenant field")
                .help(format!(
                    "{hint}columns are {} and `{LABEL_PREFIX}<key>` for labels",
                    CSV_COLUMNS
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .push();
            Column::Ignored
        };
        if let Some((_, first)) = seen.iter().find(|(n, _)| n == name) {
            problems
                .error(
                    "calm::duplicate_column",
                    format!("column `{name}` appears twice"),
                )
                .label(*span, "again here")
                .label(*first, "first here")
                .help("keep one column per tenant field")
                .push();
        }
        seen.push((name.to_owned(), *span));
        out.push((column, *span));
    }
    for required in ["name", "subaccount"] {
        if !seen.iter().any(|(n, _)| n == required) {
            problems
                .error(
                    "calm::missing_column",
                    format!("the inventory has no `{required}` column"),
                )
                .label(line, "header row")
                .help(format!("add a `{required}` column: every tenant needs one"))
                .push();
        }
    }
    out
}

fn row(
    problems: &mut Problems,
    columns: &[(Column, Span)],
    record: &csv::StringRecord,
    spans: &[Span],
    line: Span,
) -> Node {
    let mut entries: Vec<(Node, Node)> = Vec::new();
    let mut labels: Vec<(Node, Node)> = Vec::new();
    let string = |value: &str, span: Span| Node {
        value: Value::String(value.to_owned()),
        span,
    };
    for (i, (cell, span)) in record.iter().zip(spans).enumerate() {
        let value = crate::escape::csv_value(cell.trim());
        if value.is_empty() {
            continue;
        }
        let Some((column, header)) = columns.get(i) else {
            problems
                .error(
                    "calm::csv",
                    "this row has more cells than the header has columns",
                )
                .label(*span, "no column for this cell")
                .help("remove the extra cell, or quote a value that holds a comma")
                .push();
            break;
        };
        let key = |name: &str| string(name, *header);
        match column {
            Column::Ignored => {}
            Column::Label(k) => labels.push((key(k), string(value, *span))),
            Column::Field("protect") => {
                let node = match value {
                    "true" => Node {
                        value: Value::Bool(true),
                        span: *span,
                    },
                    "false" => Node {
                        value: Value::Bool(false),
                        span: *span,
                    },
                    other => string(other, *span),
                };
                entries.push((key("protect"), node));
            }
            Column::Field("instance") => {
                let name = (key("name"), string(value, *span));
                entries.push((
                    key("instance"),
                    Node {
                        value: Value::Mapping(vec![name]),
                        span: *span,
                    },
                ));
            }
            Column::Field("keys") => {
                let items = words(value, *span)
                    .into_iter()
                    .map(|(word, s)| Node {
                        value: Value::Mapping(vec![(key("name"), string(word, s))]),
                        span: s,
                    })
                    .collect();
                entries.push((
                    key("keys"),
                    Node {
                        value: Value::Sequence(items),
                        span: *span,
                    },
                ));
            }
            Column::Field("retrieve") => {
                let items = words(value, *span)
                    .into_iter()
                    .map(|(word, s)| string(word, s))
                    .collect();
                entries.push((
                    key("retrieve"),
                    Node {
                        value: Value::Sequence(items),
                        span: *span,
                    },
                ));
            }
            Column::Field(field) => entries.push((key(field), string(value, *span))),
        }
    }
    if !labels.is_empty() {
        entries.push((
            string("labels", line),
            Node {
                value: Value::Mapping(labels),
                span: line,
            },
        ));
    }
    Node {
        value: Value::Mapping(entries),
        span: line,
    }
}

/// The names in a `keys` cell (separated by spaces or `;`), each with its span. `value` is the
/// trimmed cell and `span` where it was written.
fn words(value: &str, span: Span) -> Vec<(&str, Span)> {
    let mut out = Vec::new();
    let mut start = None;
    let ends = value
        .char_indices()
        .chain(std::iter::once((value.len(), ' ')));
    for (i, c) in ends {
        if c.is_whitespace() || c == ';' {
            if let Some(s) = start.take() {
                let word = Span {
                    offset: span.offset + s,
                    len: i - s,
                };
                out.push((&value[s..i], word));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    out
}

/// The first line of the record starting at `start`, for labels on a whole row.
fn line_span(text: &str, start: usize) -> Span {
    let rest = &text[start.min(text.len())..];
    let len = rest.find(['\r', '\n']).unwrap_or(rest.len());
    Span { offset: start, len }
}

/// The byte spans of the `count` cells of the record starting at `start`, without quotes and
/// surrounding blanks.
fn cells(text: &str, start: usize, count: usize) -> Vec<Span> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(count);
    let mut i = start;
    for _ in 0..count {
        let (from, to, next) = if bytes.get(i) == Some(&b'"') {
            let mut j = i + 1;
            while j < bytes.len() {
                if bytes[j] == b'"' {
                    if bytes.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let mut end = j + 1;
            while end < bytes.len() && !matches!(bytes[end], b',' | b'\n' | b'\r') {
                end += 1;
            }
            (i + 1, j.min(bytes.len()), end)
        } else {
            let mut end = i;
            while end < bytes.len() && !matches!(bytes[end], b',' | b'\n' | b'\r') {
                end += 1;
            }
            (i, end, end)
        };
        let raw = &text[from..to];
        let lead = raw.len() - raw.trim_start().len();
        out.push(Span {
            offset: from + lead,
            len: raw.trim().len(),
        });
        i = if bytes.get(next) == Some(&b',') {
            next + 1
        } else {
            next
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cells;

    #[test]
    fn cell_spans_skip_quotes_and_blanks() {
        let text = "a,\"b,\"\"c\"\" \", d\r\nx";
        let spans = cells(text, 0, 3);
        let got: Vec<&str> = spans
            .iter()
            .map(|s| &text[s.offset..s.offset + s.len])
            .collect();
        assert_eq!(got, ["a", "b,\"\"c\"\"", "d"]);
    }
}
