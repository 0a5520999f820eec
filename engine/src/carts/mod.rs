//! Carts: guest carts reached by a `cart_token`, one active cart per customer, lines of live
//! variants, and the priced cart (through [`crate::pricing`]) on every read.

pub mod api;
pub mod error;
pub mod model;
pub mod service;
mod store;

pub use service::CartService;
/// The transaction seam checkout uses (see `lib.rs`).
pub(crate) use store::{cart_is_active, cart_version, contents as cart_contents, convert_cart};

use std::{pin::Pin, sync::Arc, time::Duration};

use crate::jobs::{Job, JobContext, JobReport};

// The job is a thin shell over `CartService::purge_idle`; it lives here so the domain keeps
// its five role files (see `lib.rs`).
/// The `cart_cleanup` job: deletes carts idle for longer than `carts.ttl`.
pub struct CartCleanupJob {
    pub carts: Arc<CartService>,
}

impl Job for CartCleanupJob {
    fn name(&self) -> &'static str {
        "cart_cleanup"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send + 'a>> {
        Box::pin(async move {
            let removed = self.carts.purge_idle().await?;
            Ok(JobReport { processed: removed, failed: 0 })
        })
    }
}
