//! Problems found in a config file, as data: what, where, and how to fix it.
//!
//! A [`Problem`] knows nothing about terminals. It implements [`miette::Diagnostic`] so that the
//! CLI (the only place that renders) can show it with the file name, `line:column`, a label under
//! the offending text and a `help:` line.

use std::fmt;
use std::sync::Arc;

use calm_core::Span;
use miette::{LabeledSpan, NamedSource, SourceCode};

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
    pub source: Arc<NamedSource<Arc<str>>>,
}

impl Problem {
    /// The 1-based line and column of the primary label, if any.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        let (span, _) = self.labels.first()?;
        Some(line_column(self.source.inner(), span.offset))
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

/// Collects problems while a file is read, so that one run reports all of them.
pub(crate) struct Problems {
    source: Arc<NamedSource<Arc<str>>>,
    pub(crate) list: Vec<Problem>,
    /// (code, primary span, message) of every problem so far. A rule broken in `defaults` is found once per
    /// tenant that inherits it, but reported once.
    seen: std::collections::HashSet<(&'static str, usize, usize, String)>,
}

impl Problems {
    pub(crate) fn new(source: Arc<NamedSource<Arc<str>>>) -> Self {
        Problems {
            source,
            list: Vec::new(),
            seen: std::collections::HashSet::new(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        self.source.inner()
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
        let source = Arc::clone(&self.source);
        Builder {
            sink: self,
            problem: Problem {
                severity,
                code,
                message,
                labels: Vec::new(),
                help: None,
                source,
            },
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
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
        let slice = self
            .problem
            .source
            .inner()
            .get(span.offset..span.offset + span.len)
            .unwrap_or("");
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
            self.sink.list.push(self.problem);
        }
    }
}
