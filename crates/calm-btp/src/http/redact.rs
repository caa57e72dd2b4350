//! Redaction of secrets in anything that may reach an error message or a log line: query strings,
//! the first bytes of unexpected bodies, and every text a server sends that calmctl may show (error
//! descriptions, CF `detail`, operation messages). It errs on the side of removing too much: debug
//! logs and error messages are where secrets leak.
//!
//! A server may echo what it was sent, in any form: `password=…` in a form body, an
//! `Authorization: Basic …` header (the Cloud Management client secret, base64-encoded), a bearer
//! token, or a password in free text. Patterns catch the first three; the last is caught by value:
//! every secret calm-btp sends is remembered ([`remember`]) and removed wherever it appears in
//! server text. [`server_text`] also removes control characters (a server's ANSI escapes must not
//! reach a terminal) and bounds the length.

use std::collections::BTreeSet;
use std::sync::{PoisonError, RwLock};

use url::Url;

/// The replacement text.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Key names (matched at the end of a key, case-insensitively) whose values are secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passcode",
    "secret",
    "token",
    "assertion",
    "key",
    "certificate",
    "authorization",
];

/// How many bytes of an unexpected body an error keeps.
pub(crate) const SNIPPET_LEN: usize = 512;
/// How much of a body is scanned for secrets before it is cut to [`SNIPPET_LEN`]: redacting first
/// keeps a secret that straddles the cut from leaking its first half.
const SCAN_LEN: usize = 64 * 1024;

/// The path and query of `url`, with the values of secret query parameters replaced.
pub(crate) fn path_and_query(url: &Url) -> String {
    let mut out = url.path().to_owned();
    if url.query().is_some() {
        let pairs: Vec<String> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if is_secret_name(&name) {
                    REDACTED.into()
                } else {
                    value
                };
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                s.append_pair(&name, &value);
                s.finish()
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// A URL for an error message: origin, path and redacted query.
pub(crate) fn url_for_display(url: &Url) -> String {
    format!(
        "{}{}",
        url.origin().ascii_serialization(),
        path_and_query(url)
    )
}

fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|key| lower.ends_with(key)) && lower != "login_hint"
}

/// The first [`SNIPPET_LEN`] bytes of `body` as text, with secrets redacted.
pub(crate) fn snippet(body: &[u8]) -> String {
    let scanned = &body[..body.len().min(SCAN_LEN)];
    let text = String::from_utf8_lossy(scanned);
    let redacted = redact_text(&text);
    let mut end = redacted.len().min(SNIPPET_LEN);
    while !redacted.is_char_boundary(end) {
        end -= 1;
    }
    redacted[..end].to_owned()
}

/// Redacts secret-looking values in JSON, escaped JSON, form bodies, `Bearer` and `Basic`
/// headers, JWTs and every secret remembered by [`remember`].
pub(crate) fn redact_text(text: &str) -> String {
    let without_known = redact_known(text);
    let without_jwts = redact_jwts(&without_known);
    let without_bearer = redact_after_word(&without_jwts, "bearer ", |_| true);
    // `Basic <base64 of client:secret>`; "basic" followed by an ordinary word stays.
    let without_basic = redact_after_word(&without_bearer, "basic ", |word| {
        word.len() >= 8
            && word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
            && word
                .bytes()
                .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'=')
    });
    redact_key_values(&without_basic)
}

/// The longest server text kept, in characters: a message is for a person, and a server that
/// sends megabytes of it must not flood a terminal or a report.
pub const SERVER_TEXT_MAX_CHARS: usize = 2000;

/// Text a server sent, made safe to show: control characters (escape sequences, carriage returns,
/// bidirectional overrides) removed, line breaks and tabs turned into spaces, secrets redacted,
/// and at most [`SERVER_TEXT_MAX_CHARS`] characters.
pub fn server_text(text: &str) -> String {
    let plain: String = text
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if is_unsafe_char(c) => None,
            c => Some(c),
        })
        .collect();
    let redacted = redact_text(&plain);
    match redacted.char_indices().nth(SERVER_TEXT_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &redacted[..cut]),
        None => redacted,
    }
}

/// Characters that must not reach a terminal from a server: C0 and C1 controls (ESC starts every
/// escape sequence), DEL, and the bidirectional formatting characters that reorder what is shown.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Secrets sent by this process, removed from server text by value. Process-wide, because a
/// secret must be redacted wherever it comes back, whichever client sent it.
static KNOWN: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

/// Secrets shorter than this are not redacted by value: a three-letter "secret" would blank out
/// ordinary words. BTP passwords and client secrets are far longer.
const KNOWN_MIN_LEN: usize = 6;

/// Remembers a secret this process sends (a password, a client secret, a token, a Basic header
/// value), so that [`redact_text`] removes it from anything a server says, also in its
/// form-urlencoded and base64 forms.
pub fn remember(secret: &str) {
    if secret.len() < KNOWN_MIN_LEN {
        return;
    }
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut known = KNOWN.write().unwrap_or_else(PoisonError::into_inner);
    if known.contains(secret) {
        return;
    }
    known.insert(secret.to_owned());
    if encoded != secret {
        known.insert(encoded);
    }
}

fn redact_known(text: &str) -> String {
    let known = KNOWN.read().unwrap_or_else(PoisonError::into_inner);
    let mut hits: Vec<&String> = known.iter().filter(|s| text.contains(s.as_str())).collect();
    if hits.is_empty() {
        return text.to_owned();
    }
    // Longest first: a secret that contains another is replaced whole.
    hits.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in hits {
        out = out.replace(secret.as_str(), REDACTED);
    }
    out
}

/// Replaces every value that follows a secret key: `"clientsecret":"…"`, `\"password\":\"…\"`,
/// `password=…&`.
fn redact_key_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let hit = SECRET_KEYS
            .iter()
            .find(|key| lower.as_bytes()[i..].starts_with(key.as_bytes()));
        let Some(key) = hit else {
            i += 1;
            continue;
        };
        let key_end = i + key.len();
        // The key must end here: followed by a quote, backslash, colon, equals sign or space.
        let mut j = key_end;
        let mut saw_separator = false;
        while j < bytes.len() && matches!(bytes[j], b'"' | b'\\' | b':' | b'=' | b' ') {
            saw_separator |= matches!(bytes[j], b':' | b'=');
            j += 1;
        }
        if !saw_separator || j >= bytes.len() {
            i = key_end;
            continue;
        }
        // The value ends at the next quote, or for unquoted values at a delimiter.
        let quoted = matches!(bytes[j - 1], b'"');
        let mut k = j;
        while k < bytes.len() {
            let c = bytes[k];
            if quoted && (c == b'"' || c == b'\\') {
                break;
            }
            if !quoted
                && matches!(
                    c,
                    b'&' | b',' | b'}' | b']' | b' ' | b'\n' | b'"' | b'{' | b'['
                )
            {
                break;
            }
            k += 1;
        }
        if k > j {
            out.push_str(&text[copied..j]);
            out.push_str(REDACTED);
            copied = k;
        }
        i = k.max(key_end);
    }
    out.push_str(&text[copied..]);
    out
}

/// Replaces the word after `marker` (case-insensitive) when `secret` says it is one, e.g. the token
/// after `Bearer `.
fn redact_after_word(text: &str, marker: &str, secret: impl Fn(&str) -> bool) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(marker) {
        let start = search + found + marker.len();
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == ',')
            .map_or(text.len(), |n| start + n);
        if secret(&text[start..end]) {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        search = end.max(start);
        if search >= text.len() {
            break;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Replaces JWTs (`eyJ…` base64url segments joined by dots) wherever they appear.
fn redact_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("eyJ") {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')))
            .unwrap_or(tail.len());
        if len >= 16 {
            out.push_str(REDACTED);
        } else {
            out.push_str(&tail[..len]);
        }
        rest = &tail[len.max(3)..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_and_escaped_values_are_redacted() {
        let text = r#"{"clientid":"sb-x","clientsecret":"s3cr3t","uaa":{"password" : "pw"}}"#;
        let out = redact_text(text);
        assert!(!out.contains("s3cr3t") && !out.contains("\"pw\""), "{out}");
        assert!(out.contains("sb-x"), "{out}");
        let form = "grant_type=password&username=u&password=hunter2&client_id=cf";
        assert!(!redact_text(form).contains("hunter2"));
        let escaped = r#"{"parameters":"{\"client_secret\":\"abc123\"}"}"#;
        assert!(!redact_text(escaped).contains("abc123"));
    }

    #[test]
    fn bearer_and_jwt_are_redacted() {
        let text = "Authorization: Bearer abc.def.ghi and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig";
        let out = redact_text(text);
        assert!(
            !out.contains("abc.def") && !out.contains("eyJzdWIi"),
            "{out}"
        );
    }

    #[test]
    fn basic_headers_and_remembered_secrets_are_redacted() {
        let header = "Authorization: Basic c2ItYWNtZTpzM2NyZXQtdmFsdWU= was refused";
        let out = redact_text(header);
        assert!(!out.contains("c2ItYWNtZTpzM2NyZXQtdmFsdWU"), "{out}");
        assert!(redact_text("the basic plan").contains("basic plan"));
        remember("Tr0ub4dor&3-horse");
        let echoed = "Bad credentials: user me tried Tr0ub4dor&3-horse (Tr0ub4dor%263-horse)";
        let out = redact_text(echoed);
        assert!(!out.contains("Tr0ub4dor"), "{out}");
        assert!(out.contains("user me"), "{out}");
    }

    #[test]
    fn server_text_loses_escapes_and_length() {
        let hostile = "fail\u{1b}[2J\u{1b}[1;1HApply complete\r\nreally\u{202e}txt\u{7}";
        let out = server_text(hostile);
        assert!(!out.chars().any(is_unsafe_char), "{out:?}");
        assert_eq!(out, "fail[2J[1;1HApply complete  reallytxt");
        let long = "x".repeat(SERVER_TEXT_MAX_CHARS * 3);
        assert_eq!(
            server_text(&long).chars().count(),
            SERVER_TEXT_MAX_CHARS + 1
        );
    }

    #[test]
    fn secret_cut_at_the_snippet_end_does_not_leak() {
        let mut body = "x".repeat(SNIPPET_LEN - 20).into_bytes();
        body.extend_from_slice(br#""clientsecret":"0123456789abcdefghij""#);
        assert!(!snippet(&body).contains("0123"));
    }

    #[test]
    fn secret_query_parameters_are_removed() {
        let url = Url::parse("https://uaa.example/oauth/token?password=pw&login_hint=x&page=2")
            .expect("test URL parses");
        let shown = path_and_query(&url);
        assert!(
            !shown.contains("pw&") && shown.contains("login_hint=x"),
            "{shown}"
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        for body in [
            &b"\xff\xfe\"key\":"[..],
            b"password=",
            b"eyJ",
            b"Bearer ",
            b"\"token\":\"",
        ] {
            let _ = snippet(body);
        }
    }
}
