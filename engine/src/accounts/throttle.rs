//! Throttling policy (README "Login throttling and client addresses").
//!
//! - Per client address, failed logins in a window: over the limit the address gets 429, and
//!   its attempts are refused before anything is counted against the accounts it tries, so a
//!   password sprayer cannot lock real users out.
//! - Per account, failed logins from any address: past `max_failures_per_account`, each further
//!   attempt first waits a back-off doubling from 1 s up to `max_backoff`. Never a lock: the owner
//!   gets in after at most `max_backoff`, and a success resets the count.
//! - Per address, plain counts of registrations and reset confirmations (429), and of reset
//!   requests per email and per address (the caller still gets 202: see `reset.rs`).

use std::time::Duration;

use super::{AccountService, error::AccountError, throttle_store as store};
use crate::clock::millis;

/// The first back-off; each further failure doubles it.
const BASE_BACKOFF_MS: i64 = 1000;

/// The kinds of plain per-window counts (the key prefix of each).
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Registration,
    ResetConfirm,
    ResetRequestEmail,
    ResetRequestAddress,
}

impl Limit {
    fn prefix(self) -> &'static str {
        match self {
            Limit::Registration => "register",
            Limit::ResetConfirm => "reset-confirm",
            Limit::ResetRequestEmail => "reset-email",
            Limit::ResetRequestAddress => "reset-address",
        }
    }
}

fn retry_after_secs(ms: i64) -> u64 {
    u64::try_from((ms.max(1000) + 999) / 1000).unwrap_or(1)
}

/// The wait after the `failures`-th failure of an account limited to `max`.
pub fn backoff_ms(failures: i64, max: u32, cap: Duration) -> i64 {
    let over = u32::try_from(failures - i64::from(max)).unwrap_or(0).min(30);
    (BASE_BACKOFF_MS << over).min(millis(cap))
}

pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn address_key(client: &str) -> String {
    format!("address:{client}")
}

impl AccountService {
    fn window_ms(&self) -> i64 {
        millis(self.config.throttle.window)
    }

    /// Refuses an address that already failed too often in the window. Counts nothing.
    pub(super) async fn check_address(&self, client: &str) -> Result<(), AccountError> {
        let now = self.clock.now_ms();
        let max = i64::from(self.config.throttle.max_failures_per_address);
        match store::read(self.db.pool(), &address_key(client)).await? {
            Some(row) if row.window_start > now - self.window_ms() && row.failures >= max => {
                tracing::warn!(kind = "address", "login throttled");
                let retry_after_secs = retry_after_secs(row.window_start + self.window_ms() - now);
                Err(AccountError::RateLimited { retry_after_secs })
            }
            _ => Ok(()),
        }
    }

    /// Lets a login attempt on an account through, or refuses it while the account waits its
    /// back-off. Past the failure limit the attempt also claims the account until its outcome
    /// is recorded, so concurrent attempts cannot all have a password checked.
    pub(super) async fn admit_account(&self, account: &str) -> Result<(), AccountError> {
        let now = self.clock.now_ms();
        let throttle = &self.config.throttle;
        let Some(row) = store::read(self.db.pool(), account).await? else { return Ok(()) };
        if row.window_start <= now - self.window_ms() || row.failures < i64::from(throttle.max_failures_per_account) {
            return Ok(());
        }
        let wait = backoff_ms(row.failures, throttle.max_failures_per_account, throttle.max_backoff);
        if row.blocked_until > now || !store::claim(self.db.pool(), account, now, now + wait).await? {
            tracing::warn!(kind = "account", "login throttled");
            // Claimed concurrently: the other attempt set a new time we did not read; `wait` is it.
            let remaining = if row.blocked_until > now { row.blocked_until - now } else { wait };
            let retry_after_secs = retry_after_secs(remaining);
            return Err(AccountError::RateLimited { retry_after_secs });
        }
        Ok(())
    }

    /// Records a failed login against the address and the account; past the account's limit it
    /// starts (or doubles) the account's back-off.
    pub(super) async fn record_login_failure(&self, account: &str, client: &str) -> Result<(), AccountError> {
        let now = self.clock.now_ms();
        let throttle = &self.config.throttle;
        store::count(self.db.pool(), &address_key(client), now, self.window_ms()).await?;
        let (_, failures) = store::count(self.db.pool(), account, now, self.window_ms()).await?;
        if failures >= i64::from(throttle.max_failures_per_account) {
            let wait = backoff_ms(failures, throttle.max_failures_per_account, throttle.max_backoff);
            store::block_until(self.db.pool(), account, now + wait).await?;
        }
        Ok(())
    }

    pub(super) async fn record_login_success(&self, account: &str) -> Result<(), AccountError> {
        Ok(store::clear(self.db.pool(), account).await?)
    }

    /// Counts one event of `limit` for `subject` and says whether it is within the limit.
    pub(super) async fn within_limit(&self, limit: Limit, subject: &str) -> Result<Result<(), u64>, AccountError> {
        let now = self.clock.now_ms();
        let throttle = &self.config.throttle;
        let max = match limit {
            Limit::Registration => throttle.max_registrations_per_address,
            Limit::ResetConfirm => throttle.max_reset_confirms_per_address,
            Limit::ResetRequestEmail => throttle.max_reset_requests_per_email,
            Limit::ResetRequestAddress => throttle.max_reset_requests_per_address,
        };
        let key = format!("{}:{subject}", limit.prefix());
        let (window_start, count) = store::count(self.db.pool(), &key, now, self.window_ms()).await?;
        if count > i64::from(max) {
            tracing::warn!(kind = limit.prefix(), "request throttled");
            return Ok(Err(retry_after_secs(window_start + self.window_ms() - now)));
        }
        Ok(Ok(()))
    }

    /// [`Self::within_limit`] as a 429.
    pub(super) async fn enforce_limit(&self, limit: Limit, subject: &str) -> Result<(), AccountError> {
        self.within_limit(limit, subject)
            .await?
            .map_err(|retry_after_secs| AccountError::RateLimited { retry_after_secs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second_up_to_the_cap() {
        let cap = Duration::from_secs(60);
        let waits: Vec<i64> = (5..=13).map(|f| backoff_ms(f, 5, cap) / 1000).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff_ms(1_000_000, 5, cap), 60_000);
    }
}
