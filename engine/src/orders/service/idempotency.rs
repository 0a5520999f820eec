//! Idempotency of checkout (API.md): one key, scoped to the caller, runs once; a replay gets the
//! stored answer; a claim has a lease, so a request that died mid-way stops blocking its key.

use super::OrderService;
use crate::orders::{error::OrderError, store::idempotency as store};

/// How long an in-progress claim blocks its key ("about a minute"). A checkout prices with
/// bounded plugin calls and asks one provider with a bounded call, well inside it.
const LEASE_MS: i64 = 60_000;
/// How long a record is kept.
const KEEP_MS: i64 = 24 * 60 * 60 * 1000;

/// How an idempotent request was answered.
pub enum Reply<T> {
    /// This request ran (or resumed) and its answer is stored.
    Fresh(T),
    /// The stored answer of the first request with the key.
    Replay { status: u16, body: String, order_id: Option<String> },
}

/// What a claim found.
enum Claim {
    /// Run the request (`resume_order`: the first run committed this order but never answered).
    Run { resume_order: Option<String> },
    /// The stored answer of the first run.
    Replay { status: u16, body: String, order_id: Option<String> },
}

impl OrderService {
    /// Claims the key, or finds what the first request with it left. No transaction: every
    /// step is one atomic, guarded statement (a new request's claim is a single upsert, one
    /// round trip), and a record that changes between the steps is caught by the guards.
    async fn claim(&self, scope: &str, key: &str, request_hash: &str) -> Result<Claim, OrderError> {
        let now = self.clock.now_ms();
        {
            let write = self.db.autocommit().await;
            if store::claim(write.pool(), scope, key, request_hash, now, now + LEASE_MS, now + KEEP_MS).await? {
                return Ok(Claim::Run { resume_order: None });
            }
        }
        let Some(record) = store::read(self.db.pool(), scope, key).await? else {
            // Expired and purged between our claim and this read: rare; the client retries.
            return Err(OrderError::IdempotencyInProgress);
        };
        if record.request_hash != request_hash {
            return Err(OrderError::IdempotencyKeyReused);
        }
        if record.state == "done" {
            let status = record.response_status.and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
            let body = record.response_body.unwrap_or_default();
            return Ok(Claim::Replay { status, body, order_id: record.order_id });
        }
        if record.lease_until >= now {
            return Err(OrderError::IdempotencyInProgress);
        }
        let write = self.db.autocommit().await;
        if let Some(resume_order) = store::take_over(write.pool(), scope, key, now, now + LEASE_MS).await? {
            tracing::warn!(scope, "took over an idempotency claim whose request died");
            return Ok(Claim::Run { resume_order });
        }
        // Another request took it over (or completed it) first.
        Err(OrderError::IdempotencyInProgress)
    }

    /// Runs `run` once per `(scope, key)`: claims the key, replays what the first request
    /// stored, or runs (`run` gets the order a first run committed but never answered, if any)
    /// and stores `render` of its success (status 201) or, for a refusal, what `refuse` says is
    /// stored (API.md: business refusals yes; validation and 5xx no, so a retry runs again).
    pub(super) async fn once<T, E>(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        run: impl AsyncFnOnce(Option<String>) -> Result<T, OrderError>,
        render: impl Fn(&T) -> String,
        refuse: impl Fn(OrderError) -> (Option<(u16, String)>, E),
    ) -> Result<Reply<T>, E> {
        let unstored = |error: OrderError| refuse(error).1;
        let resume = match self.claim(scope, key, request_hash).await.map_err(unstored)? {
            Claim::Replay { status, body, order_id } => return Ok(Reply::Replay { status, body, order_id }),
            Claim::Run { resume_order } => resume_order,
        };
        match run(resume).await {
            Ok(done) => {
                let body = render(&done);
                self.finish(scope, key, 201, &body).await.map_err(unstored)?;
                Ok(Reply::Fresh(done))
            }
            Err(error) => {
                let (stored, error) = refuse(error);
                let kept = match stored {
                    Some((status, body)) => self.finish(scope, key, status, &body).await,
                    None => self.abandon(scope, key).await,
                };
                if let Err(e) = kept {
                    tracing::error!(error = %e, "could not record the idempotent answer");
                }
                Err(error)
            }
        }
    }

    async fn finish(&self, scope: &str, key: &str, status: u16, body: &str) -> Result<(), OrderError> {
        let write = self.db.autocommit().await;
        Ok(store::complete(write.pool(), scope, key, status, body).await?)
    }

    async fn abandon(&self, scope: &str, key: &str) -> Result<(), OrderError> {
        let write = self.db.autocommit().await;
        Ok(store::release(write.pool(), scope, key).await?)
    }

    /// For the `order_expiry` job's housekeeping: drops records older than a day.
    pub async fn purge_idempotency_records(&self) -> Result<u64, OrderError> {
        Ok(store::purge_expired(self.db.pool(), self.clock.now_ms()).await?)
    }
}
