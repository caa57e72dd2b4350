//! calm-config: reads `calm.yaml` into calmctl's desired model.
//!
//! ```text
//! bytes ─▶ UTF-8 check ─▶ node::Node (serde-saphyr, spans) ─▶ decode ─▶ schema::CalmFile
//!       (+ tenants of a `tenants_from` inventory, CSV or YAML: inventory)
//!       ─▶ rules + expand (defaults, references, duplicates) ─▶ calm_core::Desired
//! ```
//!
//! Every step adds to one list of [`Problem`]s instead of stopping at the first, so a user sees
//! everything that is wrong in one run. A problem is data (code, message, labelled spans, help);
//! only the CLI renders it. The file format itself is described once, in [`schema`], which also
//! yields the JSON Schema editors use.

mod decode;
mod delivery;
mod diagnostic;
pub mod draft;
mod duplicates;
mod escape;
mod expand;
mod inventory;
mod node;
mod retrieve;
mod rules;
pub mod schema;
mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use calm_core::{Desired, Span};
use miette::NamedSource;

pub use calm_core::looks_generated;
pub use diagnostic::{Files, Problem, Severity, line_column};
pub use inventory::{CSV_COLUMNS, LABEL_PREFIX};
pub use retrieve::GENERATED;
pub use rules::{
    INSTANCE_NAME, KEY_NAME, KNOWN_AUTHORITIES, NameRule, TENANT_NAME, XSMASTERAPPNAME,
};

/// Files larger than this are refused before parsing: a calm.yaml for 10,000 tenants is about
/// 1 MB, so 64 MiB leaves ample room while keeping a stray huge file from exhausting memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A config that passed validation.
#[derive(Debug)]
pub struct Loaded {
    /// The fully resolved desired state.
    pub desired: Desired,
    /// Warnings (never errors) found on the way.
    pub warnings: Vec<Problem>,
    /// SHA-256 of everything the desired state was made from: the calmctl version, calm.yaml
    /// and every inventory file it names ([`Loaded::sources`]). Saved plans record it, so that a
    /// plan is refused when any of them changed.
    pub sha256: String,
    /// The files read: calm.yaml first, then its inventory, each with the SHA-256 of its bytes.
    pub sources: Vec<Source>,
    /// The same files' text, for problems found later at a span of the desired state.
    pub files: diagnostic::Files,
}

/// A file a config was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as calmctl read it.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// The hash of a set of sources together with the version of calm-config (which is calmctl's:
/// the workspace has one version), as recorded in [`Loaded::sha256`].
pub fn sources_sha256(sources: &[Source]) -> String {
    let mut text = format!("calmctl {}\n", env!("CARGO_PKG_VERSION"));
    for s in sources {
        text.push_str(&format!("{} {}\n", s.sha256, s.name));
    }
    calm_core::hash::sha256_hex(text.as_bytes())
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{} is {size} bytes, more than the {MAX_FILE_BYTES} calmctl reads", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The path is not a regular file: a FIFO would block forever, a device such as `/dev/zero`
    /// would be read until memory runs out.
    #[error("{} is not a regular file ({kind}); name a file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// The file has errors. `problems` holds all of them, warnings included, in file order.
    #[error("{} has {} error(s)", name, problems.iter().filter(|p| p.severity == Severity::Error).count())]
    Invalid {
        /// The file name as given.
        name: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

/// Reads and validates a config file.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let bytes = read_file(path)?;
    load_bytes(&path.display().to_string(), &bytes)
}

/// Reads a whole file of at most [`MAX_FILE_BYTES`], refusing anything that is not a regular file
/// before opening it (opening a FIFO blocks until a writer comes), and never reading more than the
/// limit (a file that grows while it is read).
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    use std::io::Read;
    let read_error = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let not_a_file = |meta: &std::fs::Metadata| {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        let kind = if t.is_dir() {
            "a folder"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        ConfigError::NotAFile {
            path: path.to_owned(),
            kind,
        }
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
        });
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    // The path may have been replaced between the two looks; the open file decides.
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// Validates config bytes; `name` is used in diagnostics, and a `tenants_from` inventory is
/// read relative to `name`'s folder.
pub fn load_bytes(name: &str, bytes: &[u8]) -> Result<Loaded, ConfigError> {
    let mut sources = vec![Source {
        name: name.to_owned(),
        sha256: calm_core::hash::sha256_hex(bytes),
    }];
    let text: Arc<str> = match std::str::from_utf8(bytes) {
        Ok(text) => Arc::from(text),
        Err(e) => {
            let lossy: Arc<str> = Arc::from(String::from_utf8_lossy(bytes).as_ref());
            let mut problems = diagnostic::Problems::new(source(name, lossy));
            problems
                .error("calm::encoding", "the file is not valid UTF-8")
                .label(
                    Span {
                        offset: e.valid_up_to(),
                        len: 1,
                    },
                    "invalid byte here",
                )
                .help("save calm.yaml as UTF-8")
                .push();
            return Err(invalid(name, problems));
        }
    };
    let mut problems = diagnostic::Problems::new(source(name, Arc::clone(&text)));
    let root = match parse(&text) {
        Ok(root) => root,
        Err((message, span)) => {
            problems
                .error("calm::syntax", message)
                .label(span, "here")
                .help("fix the YAML syntax; `calmctl schema` prints the expected format")
                .push();
            return Err(invalid(name, problems));
        }
    };
    let mut file = decode::file(&mut problems, &root);
    // Literal secrets the decoder did not report already are looked for in the whole tree; the
    // tree is not needed after that, and is dropped before the tenants are expanded (at 100,000
    // tenants it is a third of the memory).
    let reported: Vec<Span> = problems
        .list
        .iter()
        .filter(|p| p.code == "calm::literal_secret")
        .filter_map(|p| p.labels.first().map(|(s, _)| *s))
        .collect();
    rules::literal_secrets(&mut problems, &root, &reported);
    drop(root);
    if let Some(from) = file.tenants_from.clone() {
        let (more, source) = inventory::load(&mut problems, name, &from);
        file.tenants.extend(more);
        sources.extend(source);
    }
    let desired = expand::desired(&mut problems, &file);
    drop(file);
    if problems.has_errors() {
        return Err(invalid(name, problems));
    }
    Ok(Loaded {
        desired,
        files: problems.files(),
        warnings: problems.into_sorted(),
        sha256: sources_sha256(&sources),
        sources,
    })
}

fn source(name: &str, text: Arc<str>) -> Arc<NamedSource<diagnostic::Text>> {
    Arc::new(NamedSource::new(name, diagnostic::Text::new(text)).with_language("yaml"))
}

fn invalid(name: &str, problems: diagnostic::Problems) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_owned(),
        problems: problems.into_sorted(),
    }
}

fn parse(text: &str) -> Result<node::Node, (String, Span)> {
    serde_saphyr::from_str_with_options::<node::Node>(text, parse_options()).map_err(|e| {
        let location = e.location();
        let span = location.map_or(Span::default(), |l| {
            let s = l.span();
            match s.byte_offset() {
                Some(offset) => Span {
                    offset: usize::try_from(offset).unwrap_or(0),
                    len: s
                        .byte_len()
                        .and_then(|l| usize::try_from(l).ok())
                        .unwrap_or(1)
                        .max(1),
                },
                None => offset_of(text, l.line(), l.column()),
            }
        });
        (syntax_message(&e), span)
    })
}

/// YAML 1.2 booleans only (`yes` stays a string), duplicate keys rejected (the default), and
/// limits sized for 10,000-tenant files that still stop alias bombs ("billion laughs") early:
/// calm.yaml has little use for aliases, so replaying more than 100,000 events is an attack.
fn parse_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 2_000_000;
    budget.max_events = 4_000_000;
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 100_000;
    options
}

/// The parser's message, reworded where it names parser internals, without its own location
/// suffix (the diagnostic shows the location).
fn syntax_message(error: &serde_saphyr::Error) -> String {
    let text = error.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.find(" at line ").map_or(first, |i| &first[..i]);
    if let Some(rest) = first.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("duplicate key `{key}`: each key may appear only once in a mapping");
    }
    if first.starts_with("budget breached") || first.contains("alias replay") {
        return format!(
            "the document is too large or expands too much through YAML aliases ({first})"
        );
    }
    first.to_owned()
}

fn offset_of(text: &str, line: u64, column: u64) -> Span {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if (i as u64) + 1 == line {
            let col: usize = l
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(char::len_utf8)
                .sum();
            return Span {
                offset: offset + col,
                len: 1,
            };
        }
        offset += l.len();
    }
    Span {
        offset: text.len(),
        len: 0,
    }
}
