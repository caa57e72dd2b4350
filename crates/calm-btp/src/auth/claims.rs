//! Who a user token names. UAA access tokens are JWTs whose claims carry `user_id`, `user_name`
//! and `origin` (btp-api.md §2.11); calmctl reads them to know which Cloud Foundry user it acts
//! as (the user of the password or jwt-bearer grant) without another request. The signature is
//! not checked: the token came from the token endpoint, and what is read here only names the
//! user whose rights the Cloud Controller checks anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::TokenSource;
use crate::error::{Api, Error, RequestContext};
use crate::http::Btp;

/// The user a token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    /// The user's GUID (`user_id`), which is also its Cloud Foundry user GUID.
    pub user_id: String,
    /// The user name (`user_name`).
    pub user_name: String,
    /// The identity provider (`origin`), e.g. `uaa`, `sap.ids` or a custom IdP's key.
    pub origin: String,
}

#[derive(Deserialize)]
struct Claims {
    user_id: Option<String>,
    user_name: Option<String>,
    origin: Option<String>,
}

/// The user named by a JWT's claims, if it names one.
pub(crate) fn user_of(token: &str) -> Option<TokenUser> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    Some(TokenUser {
        user_id: claims.user_id?,
        user_name: claims.user_name?,
        origin: claims.origin?,
    })
}

impl TokenSource {
    /// The user the current access token was issued to (getting a token if there is none).
    pub(crate) async fn user(&self, btp: &Btp) -> Result<TokenUser, Error> {
        let (token, _) = self.access_token(btp).await?;
        user_of(token.expose_secret()).ok_or_else(|| Error::Decode {
            context: Box::new(RequestContext {
                api: Api::Uaa,
                method: "POST".into(),
                host: self.token_url.host_str().unwrap_or_default().to_owned(),
                path: self.token_url.path().to_owned(),
            }),
            status: 200,
            reason: "the access token names no user (claims `user_id`, `user_name` and `origin`): \
                     a Cloud Foundry login needs a user, not a client"
                .into(),
            snippet: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_read_from_the_claims_and_a_client_token_names_none() {
        let claims = r#"{"user_id":"u-1","user_name":"ops@example.com","origin":"sap.ids"}"#;
        let token = format!("h.{}.s", URL_SAFE_NO_PAD.encode(claims));
        assert_eq!(
            user_of(&token),
            Some(TokenUser {
                user_id: "u-1".into(),
                user_name: "ops@example.com".into(),
                origin: "sap.ids".into(),
            })
        );
        let client = format!("h.{}.s", URL_SAFE_NO_PAD.encode(r#"{"client_id":"c"}"#));
        assert_eq!(user_of(&client), None);
        assert_eq!(user_of("not-a-jwt"), None);
    }
}
