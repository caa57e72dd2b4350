//! Service Manager list queries: `fieldQuery`, `labelQuery`, `max_items` and token paging
//! (btp-api.md §4.2; operators from [S8] filtering-parameters-and-operators).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::world::SmLabels;

/// One comparison of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// Field or label key.
    pub left: String,
    /// Operator (`eq`, `ne`, `en`, `in`, `notin`, `contains`, `gt`, `ge`, `lt`, `le`).
    pub op: String,
    /// Right-hand values (one, or several for `in`/`notin`).
    pub values: Vec<Value>,
}

/// Parse `a eq 'x' and b in ('y','z')`. `None` for a malformed query.
pub fn parse(text: &str) -> Option<Vec<Criterion>> {
    let tokens = tokenize(text)?;
    let mut criteria = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let left = tokens.get(i)?.word()?;
        let op = tokens.get(i + 1)?.word()?.to_ascii_lowercase();
        i += 2;
        let values = match op.as_str() {
            "in" | "notin" => {
                if tokens.get(i)? != &Token::Open {
                    return None;
                }
                i += 1;
                let mut values = Vec::new();
                loop {
                    values.push(tokens.get(i)?.value()?);
                    i += 1;
                    match tokens.get(i)? {
                        Token::Comma => i += 1,
                        Token::Close => {
                            i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                values
            }
            "eq" | "ne" | "en" | "contains" | "gt" | "ge" | "lt" | "le" => {
                let v = tokens.get(i)?.value()?;
                i += 1;
                vec![v]
            }
            _ => return None,
        };
        criteria.push(Criterion { left, op, values });
        match tokens.get(i) {
            None => break,
            Some(t) if t.word().is_some_and(|w| w.eq_ignore_ascii_case("and")) => i += 1,
            Some(_) => return None,
        }
    }
    Some(criteria)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Comma,
}

impl Token {
    fn word(&self) -> Option<String> {
        match self {
            Token::Word(w) => Some(w.clone()),
            _ => None,
        }
    }

    fn value(&self) -> Option<Value> {
        match self {
            Token::Quoted(s) => Some(json!(s)),
            Token::Word(w) if w == "true" || w == "false" => Some(json!(w == "true")),
            Token::Word(w) => w
                .parse::<f64>()
                .ok()
                .map(|n| json!(n))
                .or_else(|| Some(json!(w))),
            _ => None,
        }
    }
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        // `''` is an escaped quote.
                        '\'' if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        '\'' => break,
                        other => s.push(other),
                    }
                }
                tokens.push(Token::Quoted(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, ' ' | '\t' | '(' | ')' | ',' | '\'') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Some(tokens)
}

fn compare(actual: &Value, op: &str, values: &[Value]) -> bool {
    let eq = |v: &Value| match (actual, v) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => actual == v,
    };
    let order = |v: &Value| match (actual, v) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    use std::cmp::Ordering::*;
    match op {
        "eq" => values.iter().any(eq),
        "en" => actual.is_null() || values.iter().any(eq),
        "ne" => !values.iter().any(eq),
        "in" => values.iter().any(eq),
        "notin" => !values.iter().any(eq),
        "contains" => match (actual, values.first()) {
            (Value::String(a), Some(Value::String(b))) => a.contains(b.as_str()),
            _ => false,
        },
        "gt" => values.first().and_then(order) == Some(Greater),
        "ge" => matches!(values.first().and_then(order), Some(Greater | Equal)),
        "lt" => values.first().and_then(order) == Some(Less),
        "le" => matches!(values.first().and_then(order), Some(Less | Equal)),
        _ => false,
    }
}

/// Does a rendered object satisfy a `fieldQuery`?
pub fn fields_match(object: &Value, criteria: &[Criterion]) -> bool {
    criteria.iter().all(|c| {
        compare(
            object.get(&c.left).unwrap_or(&Value::Null),
            &c.op,
            &c.values,
        )
    })
}

/// Does a label set satisfy a `labelQuery` (a label matches if any of its values does)?
pub fn labels_match(labels: &SmLabels, criteria: &[Criterion]) -> bool {
    criteria.iter().all(|c| {
        let values = labels.get(&c.left).map(Vec::as_slice).unwrap_or_default();
        match c.op.as_str() {
            "ne" | "notin" => values.iter().all(|v| compare(&json!(v), &c.op, &c.values)),
            _ => values.iter().any(|v| compare(&json!(v), &c.op, &c.values)),
        }
    })
}

/// One page: `{"token"?, "num_items", "items"}`; `token` is present only when more items follow.
pub fn page(items: Vec<Value>, max_items: usize, token: Option<&str>) -> Option<Value> {
    let start = match token {
        Some(t) => String::from_utf8(URL_SAFE_NO_PAD.decode(t).ok()?)
            .ok()?
            .strip_prefix("offset:")?
            .parse()
            .ok()?,
        None => 0usize,
    };
    let total = items.len();
    let end = start.saturating_add(max_items).min(total);
    let slice: Vec<Value> = items.into_iter().skip(start).take(max_items).collect();
    let mut body = json!({"num_items": total, "items": slice});
    if end < total {
        body["token"] = json!(URL_SAFE_NO_PAD.encode(format!("offset:{end}")));
    }
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_match() {
        let q = parse("catalog_name eq 'SAPCloudALMAPIs' and service_offering_id in ('a','b')")
            .unwrap_or_default();
        assert_eq!(q.len(), 2);
        let object = json!({"catalog_name": "SAPCloudALMAPIs", "service_offering_id": "b"});
        assert!(fields_match(&object, &q));
        assert!(!fields_match(
            &json!({"catalog_name": "x", "service_offering_id": "b"}),
            &q
        ));
        assert_eq!(
            parse("name eq 'it''s'").map(|q| q[0].values[0].clone()),
            Some(json!("it's"))
        );
        assert!(parse("name eq").is_none());
        let labels: SmLabels = [("org".to_owned(), vec!["testvalue".to_owned()])].into();
        assert!(labels_match(
            &labels,
            &parse("org eq 'testvalue'").unwrap_or_default()
        ));
    }

    #[test]
    fn token_paging_walks_all_items() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let first = page(items.clone(), 2, None).unwrap_or_default();
        let token = first["token"].as_str().map(str::to_owned);
        let second = page(items.clone(), 2, token.as_deref()).unwrap_or_default();
        assert_eq!(second["items"], json!([2, 3]));
        let last = page(items, 2, Some(&URL_SAFE_NO_PAD.encode("offset:4"))).unwrap_or_default();
        assert!(last.get("token").is_none());
        assert_eq!(last["num_items"], json!(5));
    }
}
