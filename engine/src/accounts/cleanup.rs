//! The `accounts.cleanup` job: removes expired sessions, spent reset links and old throttle
//! windows so these tables stay small.

use std::{pin::Pin, sync::Arc, time::Duration};

use super::AccountService;
use crate::jobs::{Job, JobContext, JobReport};

pub struct CleanupJob {
    pub accounts: Arc<AccountService>,
}

impl Job for CleanupJob {
    fn name(&self) -> &'static str {
        "accounts.cleanup"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send + 'a>> {
        Box::pin(async move {
            let removed = self.accounts.purge_expired().await?;
            Ok(JobReport { processed: removed, failed: 0 })
        })
    }
}
