//! The `mail` job: delivers due outbox messages, one lease per message.
//!
//! A message's lease must outlast its delivery attempt, or another runner could take it over
//! mid-send and deliver it a second time. So each attempt is bounded by wall time at half the
//! lease ([`send_deadline`]), leaving the other half for recording the outcome; lettre's own
//! timeouts (60 s per command) are longer and never the bound that acts. Likewise a run starts no
//! attempt that could end after the job's own lease. The job checks its stop token before each
//! message, so a shutdown waits for at most the message in hand.

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

/// How long one delivery attempt may take: half the lease it runs under.
pub fn send_deadline(lease: Duration) -> Duration {
    lease / 2
}

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
        let deadline = send_deadline(ctx.lease);
        // The run holds the job's lease from about `now`: no attempt starts that could outlive
        // it, so a second instance never finds the job free while this run is still sending.
        let last_start = now + crate::clock::millis(ctx.lease) - crate::clock::millis(deadline);
        for id in outbox::due(pool, now, BATCH).await? {
            let now = ctx.clock.now_ms();
            // Between messages, never inside one: what is not claimed stays due for the next run.
            if ctx.stop.is_cancelled() || now > last_start {
                break;
            }
            let lease_until = now + crate::clock::millis(ctx.lease);
            // Another instance may have taken it since we listed it: skip quietly.
            let Some(message) = outbox::claim(pool, &id, &ctx.owner, now, lease_until).await? else { continue };
            let body = message.body.as_deref().unwrap_or_default();
            let sent = self.mailer.send(&message.id, &message.recipient, &message.subject, body);
            let outcome = match tokio::time::timeout(deadline, sent).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err(format!("timed out after {} ms (half of jobs.lease)", deadline.as_millis())),
            };
            let recorded = match outcome {
                Ok(()) => {
                    report.processed += 1;
                    outbox::mark_sent(pool, &message.id, &ctx.owner, ctx.clock.now_ms()).await?
                }
                Err(error) => {
                    let give_up = message.attempts >= i64::from(self.max_attempts);
                    let next = ctx.clock.now_ms() + Self::backoff_ms(message.attempts);
                    tracing::warn!(mail_id = %message.id, attempts = message.attempts, give_up, error = %error, "mail delivery failed");
                    report.failed += 1;
                    outbox::mark_failed(pool, &message.id, &ctx.owner, &error, next, give_up).await?
                }
            };
            if !recorded {
                // The lease ran out before the outcome was written and another runner holds the
                // message now: it may be delivered twice. Raise `jobs.lease` if this recurs.
                tracing::warn!(
                    mail_id = %message.id, owner = %ctx.owner,
                    "mail lease lost: the outcome was not recorded and another runner may deliver it again"
                );
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
    use std::time::Duration;

    use super::{MailJob, send_deadline};

    #[test]
    fn an_attempt_ends_well_inside_its_lease() {
        assert_eq!(send_deadline(Duration::from_secs(60)), Duration::from_secs(30));
        assert!(send_deadline(Duration::from_secs(1)) < Duration::from_secs(1));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(MailJob::backoff_ms(1), 30_000);
        assert_eq!(MailJob::backoff_ms(2), 60_000);
        assert_eq!(MailJob::backoff_ms(20), 3_600_000);
    }
}
