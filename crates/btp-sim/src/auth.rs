//! Tokens: JWT-shaped, HMAC-SHA256-signed with the world's secret, so that checking one needs no
//! table lookup (the hot path of every request) and tokens survive a world export and import.
//!
//! Access tokens carry who the caller is (a user, or a client such as a Service Manager binding)
//! and what it may see: `zid` is the subaccount of a Service Manager token (SM calls are per
//! subaccount), `ga` limits a Cloud Management token to its global account.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The claims inside every token the simulator issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// `access`, `refresh` or `assertion`.
    pub typ: String,
    /// Unique id.
    pub jti: String,
    /// User name or client id.
    pub sub: String,
    /// Set for user tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The user's GUID, for user tokens (UAA's `user_id` claim; Cloud Foundry's user GUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user's identity provider, for user tokens (UAA's `origin` claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The OAuth client that asked for the token.
    pub client_id: String,
    /// Grant type used.
    pub grant_type: String,
    /// Subaccount GUID for subaccount-scoped tokens (Service Manager), `uaa` otherwise.
    pub zid: String,
    /// Global account GUID for Cloud Management tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ga: Option<String>,
    /// Scopes.
    pub scope: Vec<String>,
    /// Issued at (epoch seconds).
    pub iat: u64,
    /// Expires at (epoch seconds).
    pub exp: u64,
}

impl Claims {
    /// True for tokens of a person (password, refresh or jwt-bearer grant).
    pub fn is_user(&self) -> bool {
        self.user_name.is_some()
    }

    /// The subaccount a Service Manager token is bound to.
    pub fn subaccount(&self) -> Option<&str> {
        (self.zid != "uaa").then_some(self.zid.as_str())
    }
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// No `Authorization: bearer ...` header.
    Missing,
    /// Malformed, wrongly signed, of the wrong type, or expired.
    Invalid,
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Sign claims into a compact JWT.
pub fn sign(secret: &str, claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"btp-sim"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(hmac(secret.as_bytes(), signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Check a token's signature and type; expiry is checked against `now_secs` when given.
pub fn verify(secret: &str, token: &str, typ: &str, now_secs: Option<u64>) -> Option<Claims> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let expected = URL_SAFE_NO_PAD.encode(hmac(secret.as_bytes(), signing_input.as_bytes()));
    if expected != signature {
        return None;
    }
    let (_, payload) = signing_input.split_once('.')?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    if claims.typ != typ || now_secs.is_some_and(|now| claims.exp <= now) {
        return None;
    }
    Some(claims)
}

/// Read and check the bearer token of a request.
pub fn bearer(
    secret: &str,
    authorization: Option<&str>,
    now_secs: u64,
) -> Result<Claims, TokenError> {
    let value = authorization.ok_or(TokenError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    verify(secret, token.trim(), "access", Some(now_secs)).ok_or(TokenError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            typ: "access".into(),
            jti: "1".into(),
            sub: "admin".into(),
            user_name: Some("admin".into()),
            user_id: None,
            origin: None,
            client_id: "cf".into(),
            grant_type: "password".into(),
            zid: "uaa".into(),
            ga: None,
            scope: vec![],
            iat: 0,
            exp,
        }
    }

    #[test]
    fn signed_tokens_verify_and_tampered_or_expired_ones_do_not() {
        let token = sign("s", &claims(100));
        assert!(verify("s", &token, "access", Some(99)).is_some());
        assert!(
            verify("s", &token, "access", Some(100)).is_none(),
            "expired"
        );
        assert!(
            verify("other", &token, "access", Some(1)).is_none(),
            "wrong secret"
        );
        assert!(
            verify("s", &token, "refresh", Some(1)).is_none(),
            "wrong type"
        );
        let tampered = token.replacen('e', "f", 1);
        assert!(verify("s", &tampered, "access", Some(1)).is_none());
        assert_eq!(
            bearer("s", Some(&format!("bearer {token}")), 5).map(|c| c.sub),
            Ok("admin".into())
        );
        assert_eq!(bearer("s", None, 5), Err(TokenError::Missing));
    }
}
