//! Priced carts kept in memory, so a cart read that changed nothing costs one indexed row read.
//!
//! A storefront reads its cart far more often than it changes it (every page shows the mini
//! cart). Re-pricing on each read means the lines, coupons, variants and shopper history from the
//! database and four WebAssembly plugins; the answer only changes when one of its inputs does:
//!
//! - the cart itself: `carts.version`, raised in the same statement as every cart change on any
//!   instance, and read on every request with the ownership check;
//! - the catalogue (prices, stock, archived products, categories): this instance's catalog
//!   generation ([`crate::catalog::products::cache::CatalogChanges`]), bumped after every
//!   catalogue write and every committed stock change (checkout, cancellation, expiry);
//! - the plugin set: its generation, which a reload moves;
//! - the shopper's history (paid orders, coupon redemptions):
//!   [`crate::pricing::history::HistoryChanges`], bumped by the
//!   orders domain after every commit that changes it. A guest cart without coupon codes has no
//!   history, so its entry ignores it;
//! - time and other instances' catalogue or order writes: `carts.priced_cache_ttl` (2 s by
//!   default) bounds how old an entry can be, as `catalog.list_cache_ttl` does for list pages.
//!
//! Checkout never reads from here: it re-prices from the database and fails closed. So the worst
//! a stale entry can show is a price or stock notice up to the TTL old, which checkout corrects
//! (`price_changed`, `insufficient_stock`).
//!
//! An entry is stamped with inputs read *before* the data it was computed from (versions only
//! grow), so an entry can be newer than its stamp but never older: a reader whose stamp matches
//! gets what it would have computed, or something committed after its own row read.

use std::sync::Arc;

use crate::{carts::model::PricedCartRead, clock::SharedClock};

/// What a priced cart was computed from (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub cart_version: i64,
    pub catalog: u64,
    pub plugins: u64,
    /// [`crate::pricing::history::HistoryChanges`]; ignored for an entry that did not use history.
    pub history: u64,
}

#[derive(Clone)]
struct Entry {
    stamp: Stamp,
    /// False for a guest cart without coupon codes: it is priced without history.
    uses_history: bool,
    /// Unix milliseconds on the engine's clock.
    expires: i64,
    read: Arc<PricedCartRead>,
}

pub(super) struct PricedCartCache {
    ttl_ms: i64,
    clock: SharedClock,
    /// By cart id. Size-bounded (quick_cache's S3-FIFO eviction); `None` when the TTL is 0.
    entries: Option<quick_cache::sync::Cache<String, Entry>>,
}

impl PricedCartCache {
    pub fn new(ttl: std::time::Duration, capacity: usize, clock: SharedClock) -> Self {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let entries = (ttl_ms > 0 && capacity > 0).then(|| quick_cache::sync::Cache::new(capacity));
        Self { ttl_ms, clock, entries }
    }

    /// The cart `id` priced from exactly `now`'s inputs, if kept and not expired.
    pub fn get(&self, id: &str, now: Stamp) -> Option<PricedCartRead> {
        let entry = self.entries.as_ref()?.get(id)?;
        let same =
            if entry.uses_history { entry.stamp == now } else { Stamp { history: now.history, ..entry.stamp } == now };
        (same && entry.expires > self.clock.now_ms()).then(|| (*entry.read).clone())
    }

    /// Keeps `read` (without a cart token: that is shown once, never again). The kept copy shares
    /// `read`'s rendering slot, so the JSON rendered for the request that priced it is what later
    /// hits send.
    pub fn put(&self, id: &str, stamp: Stamp, uses_history: bool, read: &PricedCartRead) {
        let Some(entries) = &self.entries else { return };
        let mut kept = read.clone();
        if kept.cart_token.take().is_some() {
            // The answer with the token is rendered on its own, never into the kept read's slot.
            kept.rendered = Default::default();
        }
        let expires = self.clock.now_ms().saturating_add(self.ttl_ms);
        entries.insert(id.to_owned(), Entry { stamp, uses_history, expires, read: Arc::new(kept) });
    }
}
