//! The `mail` job: delivers due outbox messages, one lease per message.

use std::{pin::Pin, sync::Arc, time::Duration};

use super::{outbox, transport::Mailer};
use crate::jobs::{Job, JobContext, JobReport};

pub struct MailJob {
    pub mailer: Arc<Mailer>,
    pub max_attempts: u32,
    pub interval: Duration,
}

/// Messages handled per run; the next run takes the rest.
const BATCH: i64 = 100;

impl MailJob {
    /// Exponential backoff: 30 s, 1 min, 2 min, … capped at 1 h.
    fn backoff_ms(attempts: i64) -> i64 {
        let exponent = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
        (30_000i64 * 2i64.pow(exponent)).min(3_600_000)
    }

    async fn deliver(&self, ctx: &JobContext) -> anyhow::Result<JobReport> {
        let pool = ctx.db.pool();
        let mut report = JobReport::default();
        let now = ctx.clock.now_ms();
        for id in outbox::due(pool, now, BATCH).await? {
            let now = ctx.clock.now_ms();
            let lease_until = now + crate::clock::millis(ctx.lease);
            // Another instance may have taken it since we listed it: skip quietly.
            let Some(message) = outbox::claim(pool, &id, &ctx.owner, now, lease_until).await? else { continue };
            let body = message.body.as_deref().unwrap_or_default();
            match self.mailer.send(&message.id, &message.recipient, &message.subject, body).await {
                Ok(()) => {
                    outbox::mark_sent(pool, &message.id, &ctx.owner, ctx.clock.now_ms()).await?;
                    report.processed += 1;
                }
                Err(error) => {
                    let give_up = message.attempts >= i64::from(self.max_attempts);
                    let next = ctx.clock.now_ms() + Self::backoff_ms(message.attempts);
                    tracing::warn!(mail_id = %message.id, attempts = message.attempts, give_up, error = %error, "mail delivery failed");
                    outbox::mark_failed(pool, &message.id, &ctx.owner, &error.to_string(), next, give_up).await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}

impl Job for MailJob {
    fn name(&self) -> &'static str {
        "mail"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send + 'a>> {
        Box::pin(self.deliver(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::MailJob;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(MailJob::backoff_ms(1), 30_000);
        assert_eq!(MailJob::backoff_ms(2), 60_000);
        assert_eq!(MailJob::backoff_ms(20), 3_600_000);
    }
}
