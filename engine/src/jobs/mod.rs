//! Background jobs: one small runner for all of them (mail now; cart sweeps, order expiry and
//! webhook deliveries later).
//!
//! A job is a named, idempotent unit that processes whatever work is due. Safety across
//! instances comes in two layers: an instance runs a job only after claiming its row in
//! `job_schedules` with a lease (a conditional UPDATE), and each unit of work inside a job is
//! claimed with its own lease. A crash mid-job leaves leases that run out, and the next run picks
//! the work up again: a retry, never a loss.

mod store;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::{clock::SharedClock, db::Db, metrics::Metrics};

/// What one run did, for logs, metrics and `engine jobs run`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobReport {
    pub processed: u64,
    pub failed: u64,
}

/// Everything a job may use.
#[derive(Clone)]
pub struct JobContext {
    pub db: Db,
    pub clock: SharedClock,
    /// Unique per runner; the owner recorded in leases.
    pub owner: String,
    pub lease: Duration,
    /// Cancelled when the instance shuts down: a job checks it between units of work and
    /// returns early, leaving the rest due for the next run (here or on another instance).
    pub stop: CancellationToken,
}

pub trait Job: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// How long to wait after a run before the next one.
    fn interval(&self) -> Duration;
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send + 'a>>;
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("unknown job `{0}`; known jobs: {1}")]
    Unknown(String, String),
    #[error("job `{0}` is running on another instance (its lease has not run out)")]
    Busy(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("job `{0}` failed: {1:#}")]
    Failed(String, anyhow::Error),
}

#[derive(Clone)]
pub struct Runner {
    jobs: Arc<BTreeMap<&'static str, Arc<dyn Job>>>,
    ctx: JobContext,
    metrics: Metrics,
    poll_interval: Duration,
}

impl Runner {
    pub fn new(db: Db, clock: SharedClock, metrics: Metrics, lease: Duration, poll_interval: Duration) -> Self {
        let ctx = JobContext {
            db,
            clock,
            owner: format!("runner_{}", ulid::Ulid::new()),
            lease,
            stop: CancellationToken::new(),
        };
        Self { jobs: Arc::new(BTreeMap::new()), ctx, metrics, poll_interval }
    }

    pub fn register(&mut self, job: Arc<dyn Job>) {
        Arc::make_mut(&mut self.jobs).insert(job.name(), job);
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.jobs.keys().copied().collect()
    }

    /// Runs one job now (for `engine jobs run` and tests), under the same lease as the loop.
    pub async fn run_once(&self, name: &str) -> Result<JobReport, RunError> {
        let job =
            self.jobs.get(name).cloned().ok_or_else(|| RunError::Unknown(name.to_owned(), self.names().join(", ")))?;
        let now = self.ctx.clock.now_ms();
        if !store::claim(&self.ctx, name, now, true).await? {
            return Err(RunError::Busy(name.to_owned()));
        }
        self.execute(job.as_ref()).await
    }

    async fn execute(&self, job: &dyn Job) -> Result<JobReport, RunError> {
        let name = job.name();
        let result = job.run(&self.ctx).await;
        let now = self.ctx.clock.now_ms();
        let next = now + crate::clock::millis(job.interval());
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        store::release(&self.ctx, name, now, next, error.as_deref()).await?;
        match result {
            Ok(report) => {
                self.metrics.job_runs.with_label_values(&[name, "ok"]).inc();
                self.metrics.job_items.with_label_values(&[name, "processed"]).inc_by(report.processed);
                self.metrics.job_items.with_label_values(&[name, "failed"]).inc_by(report.failed);
                if report != JobReport::default() {
                    tracing::info!(job = name, processed = report.processed, failed = report.failed, "job ran");
                }
                Ok(report)
            }
            Err(e) => {
                self.metrics.job_runs.with_label_values(&[name, "error"]).inc();
                tracing::warn!(job = name, error = %format!("{e:#}"), "job failed");
                Err(RunError::Failed(name.to_owned(), e))
            }
        }
    }

    /// The loop every instance runs when `jobs.enabled`: each tick, run every job that is due
    /// and not leased by another instance. Ends when `stop` is cancelled; a job running then
    /// finishes the unit of work in hand (a mail message) and stops.
    pub async fn run_forever(mut self, stop: CancellationToken) {
        self.ctx.stop = stop.clone();
        loop {
            for job in self.jobs.values() {
                if stop.is_cancelled() {
                    return;
                }
                let now = self.ctx.clock.now_ms();
                match store::claim(&self.ctx, job.name(), now, false).await {
                    Ok(true) => {
                        let _ = self.execute(job.as_ref()).await;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(job = job.name(), error = %e, "cannot claim job"),
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }
}
