//! A config file's text as diagnostics read it: with the offsets at which its lines start, so that
//! showing the lines around a problem does not scan the file from its start.

use std::ops::Deref;
use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// A file's text with the offsets at which its lines start. miette finds the lines around a span
/// by scanning the text from its start, which made rendering problems quadratic (each of 16,000
/// problems in an 8 MB file scanned it); with the index, each costs a binary search and a scan of
/// the few lines shown.
#[derive(Debug)]
pub struct Text {
    text: Arc<str>,
    /// Byte offset of every line's start; the first is 0. Line breaks as miette counts them:
    /// `\n`, `\r\n`, and a lone `\r`.
    starts: Vec<usize>,
}

impl Text {
    /// Indexes `text`.
    pub fn new(text: Arc<str>) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    i += 1;
                    starts.push(i + 1);
                }
                b'\r' | b'\n' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        Text { text, starts }
    }

    /// The 0-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_of(offset);
        let start = self.starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line + 1, column + 1)
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl SourceCode for Text {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let bytes = self.text.as_bytes();
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > bytes.len() {
            return Err(MietteError::OutOfBounds);
        }
        // miette's own reading, on a window of whole lines around the span that holds the
        // context lines and one more on each side (miette looks one byte before an empty span,
        // and stops one line after the context), then moved back into the file.
        let first = self.line_of(start);
        let last = self.line_of(end.saturating_sub(1).max(start));
        let from = first.saturating_sub(context_lines_before + 1);
        let to = last + context_lines_after + 2;
        let window_start = self.starts[from];
        let window_end = self.starts.get(to).copied().unwrap_or(bytes.len());
        let window = &bytes[window_start..window_end];
        let local = SourceSpan::from((start - window_start, span.len()));
        let part = window.read_span(&local, context_lines_before, context_lines_after)?;
        let data: &'a [u8] = part.data();
        Ok(Box::new(MietteSpanContents::new(
            data,
            (part.span().offset() + window_start, part.span().len()).into(),
            part.line() + from,
            part.column(),
            part.line_count() + from,
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use miette::{SourceCode, SourceSpan};

    use super::Text;

    /// The indexed text reads exactly what miette reads from the whole text, for every span,
    /// line ending and amount of context.
    #[test]
    fn indexed_text_reads_what_miette_reads() {
        let text = "a: 1\nbb: [x, y]\r\n\ncc:\r  - d\n  - eé\nlast";
        let indexed = Text::new(Arc::from(text));
        for start in 0..=text.len() {
            for len in 0..=(text.len() - start).min(12) {
                for (before, after) in [(0, 0), (1, 1), (2, 3), (5, 5)] {
                    let span = SourceSpan::from((start, len));
                    let want = text.read_span(&span, before, after);
                    let got = indexed.read_span(&span, before, after);
                    match (want, got) {
                        (Ok(w), Ok(g)) => {
                            let what = format!("{start}+{len} ({before}, {after})");
                            assert_eq!(w.data(), g.data(), "{what}");
                            assert_eq!(w.span(), g.span(), "{what}");
                            assert_eq!(w.line(), g.line(), "{what}");
                            assert_eq!(w.column(), g.column(), "{what}");
                            assert_eq!(w.line_count(), g.line_count(), "{what}");
                        }
                        (Err(_), Err(_)) => {}
                        (w, g) => panic!("{start}+{len}: {:?} vs {:?}", w.is_ok(), g.is_ok()),
                    }
                }
            }
        }
        for offset in text.char_indices().map(|(i, _)| i) {
            let plain = crate::diagnostic::line_column(text, offset);
            // The plain count knows only `\n` as a line break.
            if !text[..offset].contains('\r') {
                assert_eq!(indexed.line_column(offset), plain, "{offset}");
            }
        }
        assert_eq!(indexed.line_column(text.find("eé").unwrap() + 3), (6, 7));
    }
}
