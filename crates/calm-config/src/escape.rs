//! Escaping of what `discover` writes from live names: YAML comments whose text cannot end the
//! comment, and CSV cells that a spreadsheet does not run as formulas.

/// Text for a `#` comment: it holds names read from BTP, and a name with a line break would end
/// the comment and write its rest into calm.yaml as configuration. Line breaks and every other
/// control or bidirectional-formatting character are written as escapes (`\n`, `\u{1b}`).
pub(crate) fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters never written raw: controls (line breaks, escapes), the Unicode line and paragraph
/// separators and the bidirectional overrides that make text read differently than it parses.
pub(crate) fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{85}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Characters that make a spreadsheet read a cell as a formula (`=HYPERLINK(…)`, `+cmd|…`,
/// `@SUM(…)`), and the quote that escapes them.
const FORMULA_START: &[char] = &['=', '+', '-', '@', '\t', '\r', '\''];

/// A value as a CSV cell: one that a spreadsheet would run as a formula gets a leading `'`, which
/// spreadsheets read as "text" (OWASP's advice for CSV injection); [`csv_value`] removes it again,
/// so the inventory reads back the same value.
pub(crate) fn csv_cell(value: &str) -> String {
    if value.starts_with(FORMULA_START) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The value of an inventory cell: a leading `'` that [`csv_cell`] added is removed.
pub(crate) fn csv_value(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::{comment, csv_cell, csv_value};

    #[test]
    fn formula_cells_are_quoted_and_read_back() {
        for value in [
            "=HYPERLINK(\"x\")",
            "+1",
            "-x",
            "@SUM(A1)",
            "'quoted",
            "plain",
        ] {
            let cell = csv_cell(value);
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
            assert_eq!(csv_value(&cell), value);
        }
    }

    #[test]
    fn comments_cannot_break_lines() {
        assert_eq!(
            comment("a\nversion: 2\u{1b}[2J"),
            "a\\nversion: 2\\u{1b}[2J"
        );
    }
}
