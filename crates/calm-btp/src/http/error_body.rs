//! Decoding of error response bodies of all five APIs into [`ErrorBody`].
//!
//! The shape is recognised from the body, not from the `Content-Type`: CF answers 429 with
//! `text/plain` but a JSON body (btp-api.md §2.3 rate limiting).

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Api, CfErrorEntry, ErrorBody};
use crate::http::redact;

#[derive(Deserialize)]
struct CfErrors {
    errors: Vec<CfErrorWire>,
}

#[derive(Deserialize)]
struct CfErrorWire {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
}

impl From<CfErrorWire> for CfErrorEntry {
    fn from(wire: CfErrorWire) -> Self {
        CfErrorEntry {
            code: wire.code,
            title: wire.title,
            detail: wire.detail,
        }
    }
}

/// Decodes a CF `errors` list, as found in error bodies and failed jobs.
pub(crate) fn cf_entries(value: Value) -> Vec<CfErrorEntry> {
    serde_json::from_value::<Vec<CfErrorWire>>(value)
        .map(|list| list.into_iter().map(Into::into).collect())
        .unwrap_or_default()
}

/// Decodes an error body. Never fails: anything unrecognised becomes [`ErrorBody::Unparsed`].
pub(crate) fn parse(api: Api, body: &[u8]) -> ErrorBody {
    if body.iter().all(u8::is_ascii_whitespace) {
        return ErrorBody::Empty;
    }
    let unparsed = || ErrorBody::Unparsed {
        snippet: redact::snippet(body),
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return unparsed();
    };
    if value.get("errors").is_some_and(Value::is_array)
        && let Ok(list) = serde_json::from_value::<CfErrors>(value.clone())
    {
        return ErrorBody::CloudFoundry(list.errors.into_iter().map(Into::into).collect());
    }
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    match value.get("error") {
        // Accounts/Entitlements REST (crossplane swagger-patch.json).
        Some(Value::Object(inner)) => ErrorBody::Accounts {
            code: inner.get("code").and_then(Value::as_i64),
            message: inner
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            correlation_id: inner
                .get("correlationID")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        Some(Value::String(error)) => {
            if api == Api::Uaa || value.get("error_description").is_some() {
                ErrorBody::Uaa {
                    error: error.clone(),
                    description: text("error_description").unwrap_or_default(),
                }
            } else if api == Api::ServiceManager || value.get("description").is_some() {
                ErrorBody::ServiceManager {
                    error: error.clone(),
                    description: text("description").unwrap_or_default(),
                }
            } else {
                ErrorBody::Accounts {
                    code: cli_error_code(error),
                    message: error.clone(),
                    correlation_id: None,
                }
            }
        }
        // The Service Manager 429 body has only a description (btp-api.md §4.5).
        _ => match (text("description"), text("message")) {
            (Some(description), _) => ErrorBody::ServiceManager {
                error: String::new(),
                description,
            },
            (None, Some(message)) => ErrorBody::Accounts {
                code: None,
                message,
                correlation_id: None,
            },
            (None, None) => unparsed(),
        },
    }
}

/// The code in a BTP CLI server message: `"… not found [Error: 20004/404]"` → 20004.
fn cli_error_code(message: &str) -> Option<i64> {
    let start = message.rfind("[Error: ")? + "[Error: ".len();
    let rest = &message[start..];
    let end = rest.find(['/', ']'])?;
    rest[..end].trim().parse().ok()
}

/// The request or correlation id of a response, for support tickets.
pub(crate) fn request_id(headers: &HeaderMap, body: &ErrorBody) -> Option<String> {
    for name in [
        "x-vcap-request-id",
        "x-correlationid",
        "x-correlation-id",
        "x-request-id",
    ] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            return Some(value.to_owned());
        }
    }
    match body {
        ErrorBody::Accounts { correlation_id, .. } => correlation_id.clone(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cf_rate_limit_body() {
        let body = br#"{"errors":[{"code":10013,"title":"CF-RateLimitExceeded","detail":"Rate Limit Exceeded"}]}"#;
        let ErrorBody::CloudFoundry(entries) = parse(Api::CloudFoundry, body) else {
            panic!("not a CF body")
        };
        assert_eq!(entries[0].code, 10013);
    }

    #[test]
    fn accounts_rest_and_cli_forms() {
        let rest = br#"{"error":{"code":30004,"message":"locked","correlationID":"c-1"}}"#;
        assert_eq!(
            parse(Api::Entitlements, rest),
            ErrorBody::Accounts {
                code: Some(30004),
                message: "locked".into(),
                correlation_id: Some("c-1".into())
            }
        );
        let cli = br#"{"error":"Subaccount x not found [Error: 20004/404]"}"#;
        let ErrorBody::Accounts { code, .. } = parse(Api::Accounts, cli) else {
            panic!("not an Accounts body")
        };
        assert_eq!(code, Some(20004));
    }

    #[test]
    fn html_and_truncated_bodies_are_kept_as_snippets() {
        let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
        assert!(
            matches!(parse(Api::CloudFoundry, html), ErrorBody::Unparsed { snippet } if snippet.contains("502 Bad Gateway"))
        );
        let truncated = br#"{"errors":[{"code":10008,"title":"CF-Unpro"#;
        assert!(matches!(
            parse(Api::CloudFoundry, truncated),
            ErrorBody::Unparsed { .. }
        ));
        assert_eq!(parse(Api::CloudFoundry, b"  "), ErrorBody::Empty);
    }
}
