//! Writing to stdout and stderr, and rendering diagnostics. The only place that prints.
//!
//! Whatever is printed passes [`clean`]: names and messages can come from a server, and a server
//! must not be able to clear the screen, move the cursor or overwrite a line with a fake
//! "Apply complete". calm-btp already cleans every text a server sends; this is the last guard.

use std::borrow::Cow;
use std::io::Write;

use calm_config::{Problem, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::Context;

/// `text` without control characters other than line feeds and tabs, and without escape sequences
/// other than colours (`ESC [ … m`, which calmctl's own output uses on a colour terminal).
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && c != '\t' && calm_btp::is_unsafe_char(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' {
            let sequence = colour_sequence(rest);
            out.push_str(&rest[..sequence]);
            // An escape that is not a colour is dropped with the `[` and parameters of a CSI
            // sequence, so nothing of it is left to act on.
            let skip = if sequence > 0 {
                sequence
            } else {
                csi_len(rest).unwrap_or(c.len_utf8())
            };
            rest = &rest[skip..];
            continue;
        }
        if !unsafe_char(c) {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of a colour sequence (`ESC [ digits;… m`) at the start of `text`, or 0.
fn colour_sequence(text: &str) -> usize {
    match csi_len(text) {
        Some(len) if text[..len].ends_with('m') => len,
        _ => 0,
    }
}

/// The length of a CSI sequence (`ESC [`, parameters, a final letter) at the start of `text`.
fn csi_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';' || c == '?'))?;
    let last = body[end..].chars().next()?;
    last.is_ascii_alphabetic().then_some(2 + end + 1)
}

/// Writes data to stdout. A closed pipe (`calmctl schema | head`) is not an error.
pub(crate) fn stdout(text: &str) -> std::io::Result<()> {
    let text = clean(text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one line of diagnostics or progress to stderr.
pub(crate) fn stderr(text: &str) {
    let text = clean(text);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Problems rendered in full; the rest are counted. Rendering one finds its line in the file, so
/// rendering every one of 100,000 problems of a 100,000-line file is quadratic, and no one reads
/// past the first screens anyway.
const MAX_RENDERED: usize = 100;

/// Renders problems the way cargo and just do: file, `line:column`, labels and `help:`; errors
/// before warnings, and at most [`MAX_RENDERED`] of them.
pub(crate) fn render_problems(ctx: &Context, problems: &[Problem]) -> String {
    let (shown, rest) = if problems.len() > MAX_RENDERED {
        let mut by_severity: Vec<&Problem> = problems.iter().collect();
        // Stable: file order within each severity.
        by_severity.sort_by_key(|p| std::cmp::Reverse(p.severity));
        let rest: Vec<Problem> = by_severity[MAX_RENDERED..]
            .iter()
            .map(|p| (*p).clone())
            .collect();
        let shown: Vec<Problem> = by_severity[..MAX_RENDERED]
            .iter()
            .map(|p| (*p).clone())
            .collect();
        (shown, rest)
    } else {
        (problems.to_vec(), Vec::new())
    };
    let mut out = render_all(ctx, &shown);
    if !rest.is_empty() {
        out.push_str(&format!(
            "... and {} more, not shown; fix these first\n",
            count(&rest)
        ));
    }
    out
}

fn render_all(ctx: &Context, problems: &[Problem]) -> String {
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

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn colours_stay_and_every_other_control_goes() {
        let ours = "\u{1b}[32m+\u{1b}[0m create\n\tdone";
        assert_eq!(clean(ours), ours);
        let hostile = "x\u{1b}[2J\u{1b}[1;1H\rApply complete\u{7}\u{1b}]0;title\u{9b}y\u{202e}z";
        assert_eq!(clean(hostile), "xApply complete]0;titleyz");
    }
}
