//! argon2id password hashing, off the async runtime and bounded.
//!
//! Hashing takes ~15 ms of CPU with OWASP parameters. Each hash runs on the blocking pool behind
//! a semaphore sized to the CPU count, so a burst of logins queues instead of starving every
//! other request. Unknown emails are checked against a dummy hash so the response time does not
//! reveal whether an account exists.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _},
};
use secrecy::SecretString;
use tokio::sync::Semaphore;

use super::model::expose;
use crate::config::Argon2Config;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The outcome of checking a password.
pub struct Verified {
    pub matches: bool,
    /// The stored hash was made with other parameters; store a fresh one.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// `m=…,t=…,p=…` as it appears in a PHC string made with the current parameters.
    params_phc: String,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub async fn new(config: Argon2Config, max_concurrent: usize) -> Result<Self, HashError> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        let max = if max_concurrent == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            max_concurrent
        };
        let params_phc = format!("m={},t={},p={}", config.memory_kib, config.iterations, config.parallelism);
        let mut hasher = Self { params, params_phc, permits: Arc::new(Semaphore::new(max)), dummy_hash: Arc::from("") };
        let dummy = hasher.hash(&SecretString::from(ulid::Ulid::new().to_string())).await?;
        hasher.dummy_hash = Arc::from(dummy);
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError::Argon2(e.to_string()))?;
        let argon2 = self.argon2();
        let password = password.clone();
        let phc = tokio::task::spawn_blocking(move || argon2.hash_password(expose(&password)).map(|h| h.to_string()))
            .await?
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        Ok(phc)
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account,
    /// so both cases cost the same.
    pub async fn verify(&self, password: &SecretString, stored: Option<&str>) -> Result<Verified, HashError> {
        let phc: Arc<str> = match stored {
            Some(s) => Arc::from(s),
            None => self.dummy_hash.clone(),
        };
        let _permit = self.permits.acquire().await.map_err(|e| HashError::Argon2(e.to_string()))?;
        let password = password.clone();
        let check = phc.clone();
        let matches = tokio::task::spawn_blocking(move || {
            // Parameters come from the PHC string, so old hashes verify after a change.
            Argon2::default().verify_password(expose(&password), &*check).is_ok()
        })
        .await?;
        Ok(Verified { matches: matches && stored.is_some(), needs_rehash: !self.is_current(&phc) })
    }

    /// Whether a PHC string uses argon2id with the configured parameters.
    fn is_current(&self, phc: &str) -> bool {
        let mut parts = phc.split('$');
        parts.next(); // leading empty segment
        parts.next() == Some("argon2id")
            && parts.next() == Some("v=19")
            && parts.next() == Some(self.params_phc.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Config {
        Argon2Config { memory_kib: 64, iterations: 1, parallelism: 1 }
    }

    #[tokio::test]
    async fn hashes_verify_and_report_parameter_changes() {
        let hasher = PasswordHasher::new(cheap(), 2).await.unwrap();
        let pw = SecretString::from("correct horse battery".to_owned());
        let phc = hasher.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let ok = hasher.verify(&pw, Some(&phc)).await.unwrap();
        assert!(ok.matches && !ok.needs_rehash);
        let wrong = hasher.verify(&SecretString::from("nope".to_owned()), Some(&phc)).await.unwrap();
        assert!(!wrong.matches);

        let stronger = PasswordHasher::new(Argon2Config { memory_kib: 128, ..cheap() }, 2).await.unwrap();
        let old = stronger.verify(&pw, Some(&phc)).await.unwrap();
        assert!(old.matches && old.needs_rehash);
    }

    #[tokio::test]
    async fn unknown_accounts_never_match() {
        let hasher = PasswordHasher::new(cheap(), 1).await.unwrap();
        let result = hasher.verify(&SecretString::from("anything at all".to_owned()), None).await.unwrap();
        assert!(!result.matches);
    }
}
