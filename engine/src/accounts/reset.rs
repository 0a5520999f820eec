//! Password resets. A request only queues the email (for existing and unknown addresses alike,
//! so the answer's work and time do not tell them apart); the `accounts.password_resets` job
//! looks each one up and mails a single-use link to an active account. Requests are limited per
//! email and per client address; over a limit the caller still gets 202 and nothing is queued.

use std::{pin::Pin, sync::Arc, time::Duration};

use super::{
    AccountService,
    error::AccountError,
    model::{Email, NewPassword},
    store,
    throttle::Limit,
    tokens,
};
use crate::{
    clock::millis,
    jobs::{Job, JobContext, JobReport},
    mail::outbox,
};

/// Requests handled per job run (the rest wait for the next run).
const BATCH: i64 = 100;

impl AccountService {
    /// Always the same work for the caller: two counter updates and, within the limits, one
    /// insert. Nothing here depends on whether the account exists.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &Email, client: &str) -> Result<(), AccountError> {
        // Both counters advance on every request, so neither limit can be dodged by the other.
        let by_address = self.within_limit(Limit::ResetRequestAddress, client).await?;
        let by_email = self.within_limit(Limit::ResetRequestEmail, email.as_str()).await?;
        if by_address.is_err() || by_email.is_err() {
            tracing::info!("password reset request over its limit; nothing queued");
            return Ok(());
        }
        store::queue_reset_request(self.db.pool(), email.as_str(), self.clock.now_ms()).await?;
        Ok(())
    }

    /// The job's work: for each queued request, a link mailed to the account if it exists and
    /// is active, nothing otherwise. Returns how many links were mailed.
    pub async fn process_reset_requests(&self) -> Result<u64, AccountError> {
        let mut mailed = 0;
        for (id, email) in store::queued_reset_requests(self.db.pool(), BATCH).await? {
            let now = self.clock.now_ms();
            let mut tx = self.db.begin().await?;
            if !store::take_reset_request(&mut *tx, &id).await? {
                continue;
            }
            let user = store::user_by_email(&mut *tx, &email).await?.filter(|u| u.active != 0);
            if let Some(user) = user {
                let token = tokens::new_opaque_token("pr");
                let ttl = self.config.password_reset_ttl;
                store::insert_reset(&mut *tx, &tokens::digest(&token), &user.id, now, now + millis(ttl)).await?;
                let body = reset_mail(&email, &self.config.password_reset_url.replace("{token}", &token), ttl);
                outbox::enqueue(&mut *tx, &email, "Reset your password", &body, now).await?;
                tracing::info!(user_id = %user.id, "password reset mailed");
                mailed += 1;
            }
            tx.commit().await?;
        }
        Ok(mailed)
    }

    /// Sets a new password from a reset link; the link and every other one of the account is
    /// spent and every session ends. The token is checked before the password is hashed, so an
    /// anonymous caller without a live token cannot make the server hash.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        password: NewPassword,
        client: &str,
    ) -> Result<(), AccountError> {
        self.enforce_limit(Limit::ResetConfirm, client).await?;
        let digest = tokens::digest(token);
        store::live_reset(self.db.pool(), &digest, self.clock.now_ms()).await?.ok_or(AccountError::TokenInvalid)?;
        let hash = self.hasher.hash(password.secret()).await?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        let user_id = store::consume_reset(&mut *tx, &digest, now).await?.ok_or(AccountError::TokenInvalid)?;
        store::set_password_hash(&mut *tx, &user_id, &hash, now, Some(now / 1000)).await?;
        store::expire_resets_for_user(&mut *tx, &user_id, now).await?;
        store::revoke_all_for_user(&mut *tx, &user_id, now).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user_id, "password reset");
        Ok(())
    }
}

fn reset_mail(email: &str, link: &str, ttl: Duration) -> String {
    format!(
        "Someone asked to reset the password of your account ({email}).\n\n\
         To choose a new password, open this link within {}:\n\n{link}\n\n\
         The link works once. If you did not ask for this, ignore this message: your password stays as it is.\n",
        humantime::format_duration(ttl)
    )
}

/// `accounts.password_resets`: turns queued reset requests into mails (see the module docs).
pub struct PasswordResetJob {
    pub accounts: Arc<AccountService>,
    pub interval: Duration,
}

impl Job for PasswordResetJob {
    fn name(&self) -> &'static str {
        "accounts.password_resets"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send + 'a>> {
        Box::pin(async move {
            let mailed = self.accounts.process_reset_requests().await?;
            Ok(JobReport { processed: mailed, failed: 0 })
        })
    }
}
