//! The world's token secret and the tokens already checked against it, by their text: every API
//! request presents a bearer token, and most present one seen before, so its signature is verified
//! once rather than on every request.
//!
//! Only what cannot change is cached (signature, header, revocation signature against the secret);
//! type and expiry are checked on every use. The secret lives here so that replacing it and
//! forgetting the tokens checked against the old one is one step: a check that began before the
//! change is not kept. Bounded: when full the cache starts over, which costs one verification per
//! live token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Claims;

/// Tokens kept at most; a long benchmark issues more, and a full cache is simply emptied.
const KEPT: usize = 50_000;

/// The secret tokens are checked against, and the tokens found good (refused ones are not kept).
#[derive(Debug, Default)]
pub struct TokenCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    secret: String,
    /// Bumped with every new secret.
    generation: u64,
    checked: HashMap<String, Arc<Claims>>,
}

impl TokenCache {
    /// A cache for a world with `secret`.
    pub fn new(secret: &str) -> Self {
        let cache = TokenCache::default();
        cache.set_secret(secret);
        cache
    }

    /// The claims of `token`, checked with `check(secret)` the first time it is seen.
    pub fn get_or_check(
        &self,
        token: &str,
        check: impl FnOnce(&str) -> Option<Claims>,
    ) -> Option<Arc<Claims>> {
        let (secret, generation) = {
            let inner = self.lock();
            if let Some(claims) = inner.checked.get(token) {
                return Some(claims.clone());
            }
            (inner.secret.clone(), inner.generation)
        };
        // Checked outside the lock: a verification takes tens of microseconds.
        let claims = Arc::new(check(&secret)?);
        let mut inner = self.lock();
        if inner.generation == generation {
            if inner.checked.len() >= KEPT {
                inner.checked.clear();
            }
            inner.checked.insert(token.to_owned(), claims.clone());
        }
        Some(claims)
    }

    /// The current secret.
    pub fn secret(&self) -> String {
        self.lock().secret.clone()
    }

    /// A new secret (a replaced world): tokens checked against another one are forgotten.
    pub fn set_secret(&self, secret: &str) {
        let mut inner = self.lock();
        if inner.secret != secret {
            inner.secret = secret.to_owned();
            inner.generation += 1;
            inner.checked.clear();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
