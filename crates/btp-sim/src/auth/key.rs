//! The simulator's token-signing key: RS256 (RSASSA-PKCS1-v1_5 with SHA-256), as XSUAA and UAA
//! sign their tokens, and the public half that `/token_keys` serves and every delivered key
//! carries as `uaa.verificationkey`.
//!
//! The private key is `keys/token-signing-key.pem`, committed with the simulator: a test key that
//! signs tokens of a simulated landscape only and is no user's secret. Committed rather than
//! generated so that tokens, delivered keys' `verificationkey` and exported worlds stay valid across
//! simulator processes, and so that no RSA key generation (slow in debug builds) runs per test.
//!
//! Cryptography is `aws-lc-rs`, the library rustls (and so calmctl's HTTP client) already builds
//! on: no second crypto stack, and a maintained, audited implementation rather than hand-written
//! RSA. Its PEM and ASN.1 needs here are small (one PKCS#8 PEM in, an `RSAPublicKey`'s two integers
//! out), so they are done here instead of adding crates for them.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// The key id in every token header and in `/token_keys` (XSUAA names its keys
/// `default-jwt-key-<n>`).
pub const KID: &str = "default-jwt-key-btp-sim";

const PRIVATE_KEY_PEM: &str = include_str!("../../keys/token-signing-key.pem");

/// The signing key with its public forms, built once per process.
pub struct SigningKey {
    pair: RsaKeyPair,
    /// PKCS#1 `RSAPublicKey` DER, what signature verification takes.
    public_pkcs1: Vec<u8>,
    /// `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo), as XSUAA's `verificationkey`.
    public_pem: String,
    /// The JWK of `/token_keys`.
    jwk: Value,
    rng: SystemRandom,
}

/// The process's signing key.
pub fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SigningKey::from_pem(PRIVATE_KEY_PEM)
            .unwrap_or_else(|e| panic!("keys/token-signing-key.pem is unusable: {e}"))
    })
}

impl SigningKey {
    fn from_pem(pem: &str) -> Result<Self, String> {
        let der = pem_body(pem, "PRIVATE KEY").ok_or("not a PKCS#8 PEM")?;
        let pair = RsaKeyPair::from_pkcs8(&der).map_err(|e| e.to_string())?;
        let public_pkcs1 = pair.public_key().as_ref().to_vec();
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| "cannot encode the public key")?;
        let public_pem = pem_encode("PUBLIC KEY", spki.as_ref());
        let (n, e) = rsa_public_numbers(&public_pkcs1).ok_or("malformed RSA public key")?;
        let jwk = json!({
            "kty": "RSA",
            "e": URL_SAFE_NO_PAD.encode(e),
            "use": "sig",
            "kid": KID,
            "alg": "RS256",
            "value": public_pem,
            "n": URL_SAFE_NO_PAD.encode(n),
        });
        Ok(SigningKey {
            pair,
            public_pkcs1,
            public_pem,
            jwk,
            rng: SystemRandom::new(),
        })
    }

    /// The RS256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        // Signing with a valid key into a buffer of the modulus' size cannot fail.
        let _ = self.pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &self.rng,
            message,
            &mut signature,
        );
        signature
    }

    /// Is `signature` the RS256 signature of `message` by this key?
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.public_pkcs1)
            .verify(message, signature)
            .is_ok()
    }

    /// The public key as PEM (`uaa.verificationkey` of delivered keys).
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// `GET /token_keys`: `{"keys":[{kty,e,use,kid,alg,value,n}]}` as UAA serves it.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk.clone()] })
    }
}

/// The DER inside a PEM block of `label`.
fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = pem[start..].find(&end)? + start;
    let base64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(base64).ok()
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----",
        lines.join("\n")
    )
}

/// Modulus and public exponent of a PKCS#1 `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }`,
/// big-endian without leading zeros (a JWK's `n` and `e`).
fn rsa_public_numbers(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, _) = der_element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag_n, n, rest) = der_element(body)?;
    let (tag_e, e, _) = der_element(rest)?;
    if tag_n != 0x02 || tag_e != 0x02 {
        return None;
    }
    Some((trim_zeros(n), trim_zeros(e)))
}

fn trim_zeros(value: &[u8]) -> &[u8] {
    let first = value.iter().position(|b| *b != 0).unwrap_or(value.len());
    &value[first..]
}

/// One DER element: tag, contents, and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = input.get(2..2 + count)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + count)
    };
    let contents = input.get(header..header + len)?;
    Some((tag, contents, &input[header + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_key_signs_and_its_public_forms_agree() {
        let key = signing_key();
        let signature = key.sign(b"header.payload");
        assert!(key.verify(b"header.payload", &signature));
        assert!(!key.verify(b"header.payloaD", &signature));
        assert!(key.public_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let jwk = &key.jwks()["keys"][0];
        assert_eq!(jwk["kid"], KID);
        assert_eq!(jwk["e"], "AQAB", "65537");
        let n = URL_SAFE_NO_PAD
            .decode(jwk["n"].as_str().unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(n.len(), 256, "a 2048-bit modulus");
        assert!(pem_body(key.public_pem(), "PUBLIC KEY").is_some());
    }
}
