//! Tokens: RS256 JWTs shaped like those of XSUAA and the CF UAA (btp-api.md §3.5), signed with
//! the simulator's key (key.rs) and checked on every API request.
//!
//! A token carries the claims real clients read: `jti`, `ext_attr` (`enhancer`, `subaccountid` or
//! `globalaccountid`, `zdn`, `serviceinstanceid`), `sub`, `authorities`, `scope`,
//! `client_id`/`cid`/`azp`, `grant_type`, for users `user_id`/`user_name`/`origin`/`email`/
//! `auth_time` (and `xs.system.attributes` through a Cloud Management key), `rev_sig`, `iat`, `exp`,
//! `iss`, `zid` and `aud`; its header names `alg` RS256, `jku` and `kid` (btp-api.md §3.5). Beside them two claims are the
//! simulator's own: `typ` (access, refresh, id or assertion) and `ga`, the global account a Cloud
//! Management token is limited to.
//!
//! `rev_sig` is what makes tokens revocable, as in UAA: a hash of the world's `secret` and the
//! token's client and user. A world with another secret (`PUT /_sim/state`) refuses every token
//! issued before; the same world exported and imported, in any process, accepts them.
//!
//! Checking a token is a signature verification (tens of microseconds) and a JSON parse; tokens
//! already checked are remembered by their text in [`TokenCache`], so the hot path is a hash
//! lookup. The cache is emptied when the world is replaced.

mod cache;
mod key;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use cache::TokenCache;
pub use key::{KID, SigningKey, signing_key};

/// `ext_attr` of XSUAA tokens: which zone and service instance issued them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtAttr {
    /// Always `XSUAA`.
    pub enhancer: String,
    /// The subaccount GUID of a subaccount's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subaccountid: Option<String>,
    /// The global account GUID of a global account's zone (Cloud Management tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub globalaccountid: Option<String>,
    /// The zone's subdomain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zdn: Option<String>,
    /// The service instance whose client asked for the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serviceinstanceid: Option<String>,
}

/// The claims inside every token the simulator issues, in the order XSUAA writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Unique id.
    pub jti: String,
    /// XSUAA's extension attributes (absent in CF UAA tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_attr: Option<ExtAttr>,
    /// XSUAA's system attributes of a user: `{"xs.rolecollections": [...]}`.
    #[serde(
        rename = "xs.system.attributes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub xs_system_attributes: Option<serde_json::Value>,
    /// The user's id for user tokens, the client id otherwise.
    pub sub: String,
    /// Client authorities (client-credentials tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<String>,
    /// Scopes.
    pub scope: Vec<String>,
    /// The OAuth client that asked for the token.
    pub client_id: String,
    /// The same (UAA writes both).
    pub cid: String,
    /// Authorized party: the same again.
    pub azp: String,
    /// Grant type used.
    pub grant_type: String,
    /// The user's UAA id (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user's identity provider, e.g. `uaa` or `sap.ids` (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The user's logon name (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The user's e-mail (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the user authenticated (user tokens, epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// Revocation signature: see the module overview.
    pub rev_sig: String,
    /// Issued at (epoch seconds).
    pub iat: u64,
    /// Expires at (epoch seconds).
    pub exp: u64,
    /// `<uaa.url>/oauth/token`.
    pub iss: String,
    /// Identity zone: the subaccount (or global account) GUID, `uaa` for the CF UAA.
    pub zid: String,
    /// Audiences: the client and the resources the scopes belong to.
    pub aud: Vec<String>,
    /// The simulator's own: `access`, `refresh`, `id` or `assertion`.
    pub typ: String,
    /// The simulator's own: the global account a Cloud Management token may act in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ga: Option<String>,
}

impl Claims {
    /// True for tokens of a person (password, refresh or jwt-bearer grant).
    pub fn is_user(&self) -> bool {
        self.user_name.is_some()
    }

    /// The subaccount a zone-bound token (Service Manager, service keys) belongs to.
    pub fn subaccount(&self) -> Option<&str> {
        (self.zid != "uaa" && self.ga.is_none()).then_some(self.zid.as_str())
    }

    /// Does the token carry `scope`, exactly or as `<xsappname>.<scope>` (XSUAA prefixes an
    /// application's scopes with its xsappname, which has no period: btp-api.md §3.1, §10.9)?
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| {
            s == scope
                || s.strip_suffix(scope)
                    .and_then(|prefix| prefix.strip_suffix('.'))
                    .is_some_and(|app| !app.is_empty() && !app.contains('.'))
        })
    }

    /// The revocation signature of these claims in a world with `secret`.
    pub fn revocation_signature(&self, secret: &str) -> String {
        let mut hasher = Sha256::new();
        for part in [
            secret,
            &self.client_id,
            self.user_id.as_deref().unwrap_or(&self.sub),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hex::encode(&hasher.finalize()[..4])
    }
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// No `Authorization: bearer ...` header.
    Missing,
    /// Malformed, wrongly signed, revoked, of the wrong type, or expired.
    Invalid,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

/// Signs claims into a compact JWT whose header names `jku` (where its key is served).
pub fn sign(key: &SigningKey, jku: &str, claims: &Claims) -> String {
    let header = serde_json::json!({"alg": "RS256", "jku": jku, "kid": KID, "typ": "JWT"});
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Checks a token's header, signature and revocation signature, without its type or expiry.
pub fn decode(key: &SigningKey, secret: &str, token: &str) -> Option<Claims> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.alg != "RS256" || header.kid != KID {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if !key.verify(signing_input.as_bytes(), &signature) {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.rev_sig == claims.revocation_signature(secret)).then_some(claims)
}

/// [`decode`], then the type, and the expiry against `now_secs` when given.
pub fn verify(
    key: &SigningKey,
    secret: &str,
    token: &str,
    typ: &str,
    now_secs: Option<u64>,
) -> Option<Claims> {
    decode(key, secret, token).filter(|c| c.typ == typ && now_secs.is_none_or(|now| c.exp > now))
}

/// Reads the `Authorization: bearer …` header of a request and checks the access token.
pub fn bearer(
    cache: &TokenCache,
    authorization: Option<&str>,
    now_secs: u64,
) -> Result<std::sync::Arc<Claims>, TokenError> {
    let value = authorization.ok_or(TokenError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    let token = token.trim();
    let claims = cache
        .get_or_check(token, |secret| decode(signing_key(), secret, token))
        .ok_or(TokenError::Invalid)?;
    if claims.typ != "access" || claims.exp <= now_secs {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn claims(exp: u64, secret: &str) -> Claims {
        let mut c = Claims {
            jti: "1".into(),
            ext_attr: None,
            xs_system_attributes: None,
            sub: "user-guid".into(),
            authorities: vec![],
            scope: vec!["cis-central!b14.global-account.subaccount.read".into()],
            client_id: "cf".into(),
            cid: "cf".into(),
            azp: "cf".into(),
            grant_type: "password".into(),
            user_id: Some("user-guid".into()),
            origin: Some("uaa".into()),
            user_name: Some("admin".into()),
            email: None,
            auth_time: None,
            rev_sig: String::new(),
            iat: 0,
            exp,
            iss: "http://127.0.0.1/oauth/token".into(),
            zid: "uaa".into(),
            aud: vec!["cf".into()],
            typ: "access".into(),
            ga: None,
        };
        c.rev_sig = c.revocation_signature(secret);
        c
    }

    #[test]
    fn signed_tokens_verify_and_tampered_revoked_or_expired_ones_do_not() {
        let key = signing_key();
        let token = sign(key, "http://127.0.0.1/token_keys", &claims(100, "s"));
        assert!(verify(key, "s", &token, "access", Some(99)).is_some());
        assert!(
            verify(key, "s", &token, "access", Some(100)).is_none(),
            "expired"
        );
        assert!(
            verify(key, "other", &token, "access", Some(1)).is_none(),
            "another world's secret revokes it"
        );
        assert!(
            verify(key, "s", &token, "refresh", Some(1)).is_none(),
            "wrong type"
        );
        let (head, rest) = token.split_once('.').unwrap_or_default();
        let (payload, signature) = rest.split_once('.').unwrap_or_default();
        let mut forged = claims(100, "s");
        forged.user_name = Some("root".into());
        let forged_payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap_or_default());
        assert_ne!(forged_payload, payload);
        assert!(decode(key, "s", &format!("{head}.{forged_payload}.{signature}")).is_none());
        let hs256 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"default-jwt-key-btp-sim"}"#);
        assert!(decode(key, "s", &format!("{hs256}.{payload}.{signature}")).is_none());
        let cache = TokenCache::new("s");
        let header = format!("bearer {token}");
        assert_eq!(
            bearer(&cache, Some(&header), 5).map(|c| c.sub.clone()),
            Ok("user-guid".into())
        );
        assert_eq!(
            bearer(&cache, Some(&format!("Bearer {token}")), 100).map(|_| ()),
            Err(TokenError::Invalid),
            "a cached token still expires"
        );
        cache.set_secret("rotated");
        assert_eq!(
            bearer(&cache, Some(&header), 5).map(|_| ()),
            Err(TokenError::Invalid),
            "a new secret forgets the checked token and revokes it"
        );
        assert_eq!(
            bearer(&cache, None, 5).map(|_| ()),
            Err(TokenError::Missing)
        );
    }

    #[test]
    fn scopes_match_with_or_without_the_xsappname_prefix() {
        let c = claims(1, "s");
        assert!(c.has_scope("global-account.subaccount.read"));
        assert!(!c.has_scope("subaccount.read"), "only whole scope names");
        assert!(!c.has_scope("global-account.subaccount.update"));
    }
}
