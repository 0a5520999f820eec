//! Orders: checkout turns a cart into an order (stock, snapshots, coupon redemptions and the
//! idempotency record in one transaction), and the order then moves through API.md's state
//! machine (`model::check_transition`).

pub mod api;
pub mod error;
pub mod model;
pub mod service;
pub(crate) mod store;

pub use error::OrderError;
pub use service::OrderService;

use std::{pin::Pin, sync::Arc, time::Duration};

use crate::jobs::{Job, JobContext, JobReport};

// The job is a thin shell over `OrderService::expire_unpaid`; it lives here so the domain keeps
// its five role files (see `lib.rs`).
/// The `order_expiry` job: cancels unpaid orders whose payment time ran out (returning their
/// stock once), and drops checkout idempotency records older than a day.
pub struct OrderExpiryJob {
    pub orders: Arc<OrderService>,
    /// `jobs.poll_interval`: an expired order should not hold its stock much past its deadline.
    pub interval: Duration,
}

impl Job for OrderExpiryJob {
    fn name(&self) -> &'static str {
        "order_expiry"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send + 'a>> {
        Box::pin(async move {
            let expired = self.orders.expire_unpaid().await?;
            let purged = self.orders.purge_idempotency_records().await?;
            tracing::debug!(expired, purged, "order expiry");
            Ok(JobReport { processed: expired, failed: 0 })
        })
    }
}

/// The `payments` job: processes stored webhook events nobody has finished (an instance that
/// died after answering, a capture the gateway refused for a while), and sends refunds their
/// gateway has not accepted yet, again with their own idempotency keys.
pub struct PaymentsJob {
    pub orders: Arc<OrderService>,
    pub interval: Duration,
}

/// Events and refunds handled per run.
const PAYMENTS_BATCH: i64 = 100;

impl Job for PaymentsJob {
    fn name(&self) -> &'static str {
        "payments"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send + 'a>> {
        Box::pin(async move {
            let (events, events_failed) = self.orders.process_due_events(PAYMENTS_BATCH).await?;
            let (refunds, refunds_failed) = self.orders.process_due_refunds(PAYMENTS_BATCH).await?;
            let forgotten = self.orders.forget_old_webhook_bodies().await?;
            if forgotten > 0 {
                tracing::debug!(forgotten, "old webhook bodies cleared");
            }
            tracing::debug!(events, refunds, "payments");
            Ok(JobReport { processed: events + refunds, failed: events_failed + refunds_failed })
        })
    }
}
