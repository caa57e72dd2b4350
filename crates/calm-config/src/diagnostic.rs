//! Problems found in a config file, as data: what, where, and how to fix it.
//!
//! A [`Problem`] knows nothing about terminals. It implements [`miette::Diagnostic`] so that the
//! CLI (the only place that renders) can show it with the file name, `line:column`, a label under
//! the offending text and a `help:` line.
//!
//! A config can span several files (calm.yaml and a `tenants_from` inventory). [`Problems`] gives
//! each file its own range of one shared offset space, so a [`Span`] names its file without any
//! change to calm-core's model: a problem is shown in the file of its first label, and labels in
//! other files become related diagnostics, so that a duplicate across files names both places.

use std::fmt;
use std::sync::Arc;

use calm_core::Span;
use miette::{LabeledSpan, NamedSource, SourceCode};

pub use crate::text::Text;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file is still usable.
    Warning,
    /// The file is rejected.
    Error,
}

/// One finding in a config file.
#[derive(Clone)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Stable identifier, e.g. `calm::duplicate_tenant`.
    pub code: &'static str,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Places in the file, each with a short label. The first is the primary one.
    pub labels: Vec<(Span, String)>,
    /// How to fix it.
    pub help: Option<String>,
    /// The file the spans refer to.
    pub source: Arc<NamedSource<Text>>,
    /// The same finding's places in other files (for example the first definition of a tenant
    /// that an inventory defines again).
    pub related: Vec<Problem>,
}

impl Problem {
    /// The 1-based line and column of the primary label, if any.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        let (span, _) = self.labels.first()?;
        Some(self.source.inner().line_column(span.offset))
    }

    /// The name of the file the problem is in.
    pub fn file_name(&self) -> &str {
        self.source.name()
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("severity", &self.severity)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("labels", &self.labels)
            .field("help", &self.help)
            .field("file", &self.source.name())
            .field("related", &self.related)
            .finish()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl miette::Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source.as_ref())
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|p| p as &dyn miette::Diagnostic),
        ))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(
            |(i, (span, text))| {
                let label = (!text.is_empty()).then(|| text.clone());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(label, (span.offset, span.len))
                } else {
                    LabeledSpan::new_with_span(label, (span.offset, span.len))
                }
            },
        )))
    }
}

/// A file of the config and the start of its range in the shared offset space.
#[derive(Clone)]
struct Source {
    base: usize,
    named: Arc<NamedSource<Text>>,
}

/// Collects problems while a file is read, so that one run reports all of them.
pub(crate) struct Problems {
    sources: Vec<Source>,
    pub(crate) list: Vec<Problem>,
    /// (code, primary span, message) of every problem so far. A rule broken in `defaults` is found once per
    /// tenant that inherits it, but reported once.
    seen: std::collections::HashSet<(&'static str, usize, usize, String)>,
}

impl Problems {
    pub(crate) fn new(source: Arc<NamedSource<Text>>) -> Self {
        Problems {
            sources: vec![Source {
                base: 0,
                named: source,
            }],
            list: Vec::new(),
            seen: std::collections::HashSet::new(),
        }
    }

    /// Adds another file; its spans start at the returned offset.
    pub(crate) fn add_source(&mut self, source: Arc<NamedSource<Text>>) -> usize {
        let base = self
            .sources
            .last()
            .map_or(0, |s| s.base + s.named.inner().len() + 1);
        self.sources.push(Source {
            base,
            named: source,
        });
        base
    }

    /// The file a span lies in.
    fn source_of(&self, span: Span) -> &Source {
        let i = self
            .sources
            .partition_point(|s| s.base <= span.offset)
            .saturating_sub(1);
        &self.sources[i]
    }

    /// The text a span covers, in whichever file it lies.
    pub(crate) fn slice(&self, span: Span) -> Option<&str> {
        let source = self.source_of(span);
        let start = span.offset - source.base;
        source.named.inner().get(start..start + span.len)
    }

    /// Starts an error; finish it with [`Builder::label`], [`Builder::help`] and `push`.
    pub(crate) fn error(&mut self, code: &'static str, message: impl Into<String>) -> Builder<'_> {
        self.start(Severity::Error, code, message.into())
    }

    /// Starts a warning.
    pub(crate) fn warning(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
    ) -> Builder<'_> {
        self.start(Severity::Warning, code, message.into())
    }

    fn start(&mut self, severity: Severity, code: &'static str, message: String) -> Builder<'_> {
        let source = Arc::clone(&self.sources[0].named);
        Builder {
            sink: self,
            problem: Problem {
                severity,
                code,
                message,
                labels: Vec::new(),
                help: None,
                source,
                related: Vec::new(),
            },
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
    }

    /// Sorts problems into file order (the main file first), so that output reads top to
    /// bottom and is deterministic.
    pub(crate) fn into_sorted(self) -> Vec<Problem> {
        let names: Vec<&str> = self.sources.iter().map(|s| s.named.name()).collect();
        let mut list = self.list;
        list.sort_by_key(|p| {
            let file = names.iter().position(|n| *n == p.source.name());
            (file, p.labels.first().map_or(0, |(s, _)| s.offset))
        });
        list
    }

    /// Moves the problem's labels into the files they lie in: labels in the file of the first
    /// label stay, the others become related problems, each in its own file.
    fn localise(&self, mut problem: Problem) -> Problem {
        let Some((first, _)) = problem.labels.first() else {
            return problem;
        };
        let home_source = self.source_of(*first);
        let home = home_source.base;
        let home_named = Arc::clone(&home_source.named);
        let mut own = Vec::new();
        let mut others: Vec<(usize, Vec<(Span, String)>)> = Vec::new();
        for (span, text) in std::mem::take(&mut problem.labels) {
            let source = self.source_of(span);
            let local = Span {
                offset: span.offset - source.base,
                len: span.len,
            };
            if source.base == home {
                own.push((local, text));
            } else if let Some((_, labels)) = others.iter_mut().find(|(b, _)| *b == source.base) {
                labels.push((local, text));
            } else {
                others.push((source.base, vec![(local, text)]));
            }
        }
        problem.source = home_named;
        problem.labels = own;
        for (base, labels) in others {
            let source = self.source_of(Span {
                offset: base,
                len: 0,
            });
            problem.related.push(Problem {
                severity: problem.severity,
                code: problem.code,
                message: format!("see also `{}`", source.named.name()),
                labels,
                help: None,
                source: Arc::clone(&source.named),
                related: Vec::new(),
            });
        }
        problem
    }
}

/// The files a loaded config was read from, kept so that a finding made later (from live state)
/// is reported at the place in calm.yaml or an inventory that caused it, like any other problem.
#[derive(Clone)]
pub struct Files {
    sources: Vec<Source>,
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.sources.iter().map(|s| s.named.name()))
            .finish()
    }
}

impl Files {
    /// An error at `span` (a span of the loaded config, in whichever file it lies).
    pub fn error(
        &self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> Problem {
        let mut problems = Problems {
            sources: self.sources.clone(),
            list: Vec::new(),
            seen: std::collections::HashSet::new(),
        };
        problems
            .error(code, message)
            .label_line(span, label)
            .help(help)
            .push();
        problems.list.remove(0)
    }
}

impl Problems {
    /// The files, without the problems.
    pub(crate) fn files(&self) -> Files {
        Files {
            sources: self.sources.clone(),
        }
    }
}

/// A problem being put together.
pub(crate) struct Builder<'a> {
    sink: &'a mut Problems,
    problem: Problem,
}

impl Builder<'_> {
    pub(crate) fn label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.problem.labels.push((span, text.into()));
        self
    }

    /// Labels only the first line of `span`, so that a label on a whole entry stays readable.
    pub(crate) fn label_line(self, span: Span, text: impl Into<String>) -> Self {
        let slice = self.sink.slice(span).unwrap_or("");
        let len = slice.find('\n').unwrap_or(slice.len());
        self.label(
            Span {
                offset: span.offset,
                len,
            },
            text,
        )
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.problem.help = Some(help.into());
        self
    }

    pub(crate) fn push(self) {
        let span = self
            .problem
            .labels
            .first()
            .map(|(s, _)| *s)
            .unwrap_or_default();
        let key = (
            self.problem.code,
            span.offset,
            span.len,
            self.problem.message.clone(),
        );
        if self.sink.seen.insert(key) {
            let problem = self.sink.localise(self.problem);
            self.sink.list.push(problem);
        }
    }
}
