//! Access tokens (JWT, HS256 only) and opaque tokens (refresh, reset), which are random and stored
//! only as SHA-256 digests: a leaked database cannot be replayed, and lookups stay cheap
//! (argon2 is for low-entropy passwords, not for 256-bit random tokens).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Role;
use crate::config::AuthConfig;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed or its signature does not verify")]
    Invalid,
    #[error("token has expired")]
    Expired,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
    leeway_secs: i64,
}

impl JwtKeys {
    pub fn new(config: &AuthConfig, secret: &SecretString) -> Self {
        let secret = secret.expose_secret().as_bytes();
        // One algorithm only: a token signed with anything else (or `none`) is rejected.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked against the engine's clock (testable), not the system time.
        validation.validate_exp = false;
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl_secs: config.access_ttl.as_secs() as i64,
            leeway_secs: config.leeway.as_secs() as i64,
        }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: &str, role: Role, now_secs: i64) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: user_id.to_owned(),
            role: role.as_str().to_owned(),
            exp: now_secs + self.ttl_secs,
            iat: now_secs,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: ulid::Ulid::new().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if claims.exp + self.leeway_secs <= now_secs {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// A fresh opaque token: 32 random bytes, URL-safe base64, with a readable prefix.
pub fn new_opaque_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of an opaque token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn keys() -> JwtKeys {
        let secret = SecretString::from("a test secret that is at least 32 bytes long".to_owned());
        JwtKeys::new(&config::load_from_str("").unwrap().auth, &secret)
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let keys = keys();
        let token = keys.issue("usr_1", Role::Staff, 1_000).unwrap();
        let claims = keys.verify(&token, 1_001).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role.as_str()), ("usr_1", "staff"));
        // 15 minutes + 30 s leeway
        assert!(keys.verify(&token, 1_000 + 900 + 29).is_ok());
        assert!(matches!(keys.verify(&token, 1_000 + 900 + 30), Err(TokenError::Expired)));
    }

    #[test]
    fn tampered_tokens_are_rejected() {
        let keys = keys();
        let token = keys.issue("usr_1", Role::Customer, 1_000).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(payload.replace("customer", "staff"));
        assert!(matches!(keys.verify(&parts.join("."), 1_001), Err(TokenError::Invalid)));
        let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        assert!(matches!(keys.verify(&unsigned, 1_001), Err(TokenError::Invalid)));
    }

    #[test]
    fn opaque_tokens_are_unique_and_digested() {
        let a = new_opaque_token("rt");
        assert!(a.starts_with("rt_") && a.len() > 40);
        assert_ne!(a, new_opaque_token("rt"));
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
    }
}
