//! Writing to stdout and stderr, and rendering diagnostics. The only place that prints.

use std::io::Write;

use calm_config::{Problem, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::Context;

/// Writes data to stdout. A closed pipe (`calmctl schema | head`) is not an error.
pub(crate) fn stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one line of diagnostics or progress to stderr.
pub(crate) fn stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Renders problems the way cargo and just do: file, `line:column`, labels and `help:`.
pub(crate) fn render_problems(ctx: &Context, problems: &[Problem]) -> String {
    let theme = if ctx.stderr_color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(ctx.width)
        .with_links(false);
    let mut out = String::new();
    for problem in problems {
        if handler.render_report(&mut out, problem).is_err() {
            out.push_str(&format!("{}: {}\n", problem.file_name(), problem.message));
        }
    }
    out
}

/// "2 errors, 1 warning".
pub(crate) fn count(problems: &[Problem]) -> String {
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// An error and its causes, one per line, for stderr.
pub(crate) fn render_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("error: {error}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        // Many errors already quote their cause (`connecting to …: {source}`): say it once.
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(&format!("  caused by: {text}\n"));
        }
        source = cause.source();
    }
    if let Some(help) = help_of(error) {
        out.push_str(&format!("  help: {help}\n"));
    }
    out
}

fn help_of(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    match error.downcast_ref::<calm_engine::EngineError>()? {
        calm_engine::EngineError::MissingSecret { help, .. } => Some(help.clone()),
        calm_engine::EngineError::ReadOnly {
            password_grant: false,
            ..
        } => Some(
            "create a key of the `cis` service with plan `central` (with `{\"grantType\":\"clientCredentials\"}` for a key that needs no user) and reference it as the account's cis_key; `calmctl plan` works with a read-only key".into(),
        ),
        calm_engine::EngineError::ReadOnly { .. } => Some(
            "assign the Global Account Administrator role collection to the user, or use a client-credentials key of plan `central`".into(),
        ),
        calm_engine::EngineError::LeaseNoLabelRoom { max, .. } => Some(format!(
            "a subaccount takes at most {max} label keys; remove one of its labels (in the cockpit, or with the Accounts API) so that calmctl can keep its lease there while it works"
        )),
        _ => None,
    }
}
