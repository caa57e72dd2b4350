//! Redaction of secrets in anything that may reach an error message or a log line: query strings
//! and the first bytes of unexpected bodies. It errs on the side of removing too much: debug logs and
//! error messages are where secrets leak.

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

/// Redacts secret-looking values in JSON, escaped JSON, form bodies, `Bearer` headers and JWTs.
pub(crate) fn redact_text(text: &str) -> String {
    let without_jwts = redact_jwts(text);
    let without_bearer = redact_after_word(&without_jwts, "bearer ");
    redact_key_values(&without_bearer)
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

/// Replaces the word after `marker` (case-insensitive), e.g. the token after `Bearer `.
fn redact_after_word(text: &str, marker: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(marker) {
        let start = search + found + marker.len();
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == ',')
            .map_or(text.len(), |n| start + n);
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
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
