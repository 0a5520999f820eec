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

    /// The permit moves into the blocking task and is released when the hash is done, not when
    /// this future is dropped: a client that disconnects mid-request must not free a slot while
    /// its hash still occupies a CPU (or a burst of abandoned requests would run unbounded).
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, HashError> {
        self.permits.clone().acquire_owned().await.map_err(|e| HashError::Argon2(e.to_string()))
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let permit = self.permit().await?;
        let argon2 = self.argon2();
        let password = password.clone();
        let phc = tokio::task::spawn_blocking(move || {
            let hashed = argon2.hash_password(expose(&password)).map(|h| h.to_string());
            drop(permit);
            hashed
        })
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
        let permit = self.permit().await?;
        let password = password.clone();
        let check = phc.clone();
        let matches = tokio::task::spawn_blocking(move || {
            // Parameters come from the PHC string, so old hashes verify after a change.
            let matches = Argon2::default().verify_password(expose(&password), &*check).is_ok();
            drop(permit);
            matches
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

    /// Guards item 5 of issue 8: a hash whose caller went away (the request future was dropped
    /// when the client disconnected) keeps its permit until the blocking hash has finished.
    /// Before, the permit was released with the future while the hash kept a CPU busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_hash_keeps_its_permit_until_the_hash_finishes() {
        // Slow on purpose (a few hundred ms), so the hash is surely still running after the drop.
        let slow = Argon2Config { memory_kib: 64 * 1024, iterations: 6, parallelism: 1 };
        let hasher = PasswordHasher::new(cheap(), 1).await.unwrap();
        let hasher =
            PasswordHasher { params: Params::new(slow.memory_kib, slow.iterations, 1, None).unwrap(), ..hasher };
        let task = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&SecretString::from("a password to hash".to_owned())).await })
        };
        while hasher.permits.available_permits() == 1 {
            tokio::task::yield_now().await;
        }

        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());

        assert_eq!(hasher.permits.available_permits(), 0, "the permit outlives the dropped future");
        // ... and comes back once the hash is done (a far-from-normal bound: it takes < 1 s).
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while hasher.permits.available_permits() == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the permit is released after the hash");
    }

    #[tokio::test]
    async fn unknown_accounts_never_match() {
        let hasher = PasswordHasher::new(cheap(), 1).await.unwrap();
        let result = hasher.verify(&SecretString::from("anything at all".to_owned()), None).await.unwrap();
        assert!(!result.matches);
    }
}
