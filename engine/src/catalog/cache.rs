//! The storefront's hot reads from memory: product list pages, product pages, the category tree
//! and single categories, kept as the exact bytes sent, with their `ETag`.
//!
//! **Coherence.** Every catalog write names what it makes stale in its transaction
//! ([`crate::db::Tx::mark_stale`] with the keys below); the change feed ([`crate::db::changes`])
//! delivers the keys to this instance after the commit and, on PostgreSQL, to every other
//! instance through `NOTIFY`. Invalidation is as narrow as the change:
//!
//! - [`product_key`]: one product's page (any of its fields or variants, `in_stock` of a
//!   variant flipping);
//! - [`LISTS`]: every list page, only when a field shown on a product card changed (name, slug,
//!   price range, first image, `in_stock`, status, category, default variant), or a product was
//!   added or removed from the listing;
//! - [`EVERYTHING`]: a category write (names and slugs show in breadcrumbs and filters), a
//!   listener that reconnected, or a notification too long to name its products.
//!
//! So a checkout that takes stock without emptying a variant invalidates nothing, and one that
//! empties a variant drops that product's page (and the lists only if the whole product went out
//! of stock).
//!
//! **Generations, not deletions.** Entries are stamped with counters read *before* the database
//! read they were computed from; an invalidation moves the counters, so an entry computed from a
//! read that raced a write is already stale when it is stored (the guard a write-then-delete
//! scheme lacks). Product pages use one of [`STRIPES`] counters picked by the product id (two
//! products sharing a stripe only cost each other an extra miss).
//!
//! **Safety nets.** An entry also expires after `catalog.cache_ttl` on the engine's clock (60 s
//! by default), which bounds the staleness of writes the feed cannot see (another process
//! writing the SQLite file, a manual SQL edit). While the feed is not live (PostgreSQL listener
//! down) nothing is served from here or stored. The cache is bounded in bytes
//! (`catalog.cache_max_bytes`, quick_cache's S3-FIFO eviction).

use std::{
    hash::{Hash, Hasher},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use prometheus::IntCounter;
use sha2::{Digest, Sha256};

use crate::{
    clock::SharedClock,
    db::changes::{ChangeFeed, EVERYTHING, Stale},
};

/// The stale key of every list page.
pub const LISTS: &str = "lists";

/// Counters product pages are spread over.
pub const STRIPES: usize = 4096;

/// The stale key of one product's page.
pub fn product_key(product_id: &str) -> String {
    format!("product:{product_id}")
}

/// What an entry was computed from, beyond the global epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depends {
    /// A list page: every card change.
    Lists,
    /// One product's page.
    Product,
    /// The category tree or a category: only the epoch (category writes make everything stale).
    Categories,
}

/// A rendered answer: the JSON bytes and their strong entity tag (quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub body: Bytes,
    pub etag: Arc<str>,
}

impl Page {
    /// The entity tag is a digest of the bytes, so every instance gives the same answer the
    /// same tag, cached or not.
    pub fn new(body: Bytes) -> Self {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Self { body, etag: etag.into() }
    }
}

#[derive(Clone)]
struct Entry {
    epoch: u64,
    /// The value of the counter `depends` names, as of the read.
    generation: u64,
    depends: Depends,
    /// For a product page: its product's stripe.
    stripe: usize,
    /// Unix milliseconds on the engine's clock.
    expires: i64,
    page: Page,
}

#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<String, Entry> for ByBytes {
    fn weight(&self, key: &String, entry: &Entry) -> u64 {
        // Bytes kept plus a rough per-entry overhead.
        (key.len() + entry.page.body.len() + entry.page.etag.len() + 128) as u64
    }
}

/// Counters read before a database read (see the module): pass it back with the result.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    lists: u64,
    products: u64,
}

/// Hit, miss and bypass counts for `/metrics`.
#[derive(Clone)]
pub struct CacheCounters {
    pub hits: IntCounter,
    pub misses: IntCounter,
    /// Reads that went to the database because the change feed was not live.
    pub bypassed: IntCounter,
}

pub struct StorefrontCache {
    /// `None` when `catalog.cache_ttl` is 0: every read goes to the database.
    entries: Option<quick_cache::sync::Cache<String, Entry, ByBytes>>,
    ttl_ms: i64,
    clock: SharedClock,
    feed: Arc<ChangeFeed>,
    epoch: AtomicU64,
    lists: AtomicU64,
    /// Moves with every product invalidation (before the stripe does; see `put`).
    products: AtomicU64,
    stripes: Box<[AtomicU64]>,
    counters: Option<CacheCounters>,
}

impl StorefrontCache {
    /// A cache subscribed to `feed`. `max_bytes` bounds what it keeps.
    pub fn new(
        ttl: Duration,
        max_bytes: u64,
        clock: SharedClock,
        feed: Arc<ChangeFeed>,
        counters: Option<CacheCounters>,
    ) -> Arc<Self> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        // quick_cache sizes its shards from an item estimate; pages are a few KiB.
        let estimate = usize::try_from(max_bytes / 4096).unwrap_or(usize::MAX).clamp(16, 1 << 20);
        let entries = (ttl_ms > 0 && max_bytes > 0)
            .then(|| quick_cache::sync::Cache::with_weighter(estimate, max_bytes, ByBytes));
        let cache = Arc::new(Self {
            entries,
            ttl_ms,
            clock,
            feed: feed.clone(),
            epoch: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            products: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            counters,
        });
        let weak = Arc::downgrade(&cache);
        feed.subscribe(move |stale| {
            if let Some(cache) = weak.upgrade() {
                cache.invalidate(stale);
            }
        });
        cache
    }

    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// Read before the database read whose result may be stored.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            epoch: self.epoch.load(Ordering::SeqCst),
            lists: self.lists.load(Ordering::SeqCst),
            products: self.products.load(Ordering::SeqCst),
        }
    }

    /// The page kept under `key`, if it is still what the database would give.
    pub fn get(&self, key: &str) -> Option<Page> {
        let entries = self.entries.as_ref()?;
        if !self.feed.live() {
            if let Some(c) = &self.counters {
                c.bypassed.inc();
            }
            return None;
        }
        let found = entries.get(key).filter(|entry| self.current(entry));
        if let Some(c) = &self.counters {
            if found.is_some() { c.hits.inc() } else { c.misses.inc() }
        }
        found.map(|entry| entry.page)
    }

    fn current(&self, entry: &Entry) -> bool {
        if entry.epoch != self.epoch.load(Ordering::SeqCst) || entry.expires <= self.clock.now_ms() {
            return false;
        }
        match entry.depends {
            Depends::Lists => entry.generation == self.lists.load(Ordering::SeqCst),
            Depends::Product => entry.generation == self.stripes[entry.stripe].load(Ordering::SeqCst),
            Depends::Categories => true,
        }
    }

    /// Keeps `page` computed from a read taken after `ticket`. A product page names its
    /// product (`product_id`), known only after the read when it was asked for by slug.
    pub fn put(&self, key: String, ticket: Ticket, depends: Depends, product_id: Option<&str>, page: &Page) {
        let Some(entries) = &self.entries else { return };
        if !self.feed.live() {
            return;
        }
        let (generation, stripe) = match (depends, product_id) {
            (Depends::Lists, _) => (ticket.lists, 0),
            (Depends::Categories, _) => (0, 0),
            (Depends::Product, Some(id)) => {
                let stripe = stripe_of(id);
                // The stripe was not read before the database read (a slug names no product
                // yet). Read it now, then check that no product was invalidated since the
                // ticket: invalidation moves `products` before the stripe, so either this sees
                // `products` moved (and keeps nothing) or the stripe read above predates that
                // invalidation's stripe move (and the entry is stale on arrival).
                let generation = self.stripes[stripe].load(Ordering::SeqCst);
                if self.products.load(Ordering::SeqCst) != ticket.products {
                    return;
                }
                (generation, stripe)
            }
            (Depends::Product, None) => return,
        };
        let expires = self.clock.now_ms().saturating_add(self.ttl_ms);
        entries.insert(key, Entry { epoch: ticket.epoch, generation, depends, stripe, expires, page: page.clone() });
    }

    /// Applies stale keys from the change feed.
    fn invalidate(&self, stale: &Stale) {
        for key in stale.keys() {
            if key == EVERYTHING {
                self.epoch.fetch_add(1, Ordering::SeqCst);
            } else if key == LISTS {
                self.lists.fetch_add(1, Ordering::SeqCst);
            } else if let Some(id) = key.strip_prefix("product:") {
                self.products.fetch_add(1, Ordering::SeqCst);
                self.stripes[stripe_of(id)].fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

fn stripe_of(product_id: &str) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    product_id.hash(&mut hasher);
    usize::try_from(hasher.finish() % STRIPES as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn cache(live: bool) -> (Arc<StorefrontCache>, Arc<ChangeFeed>, Arc<ManualClock>) {
        let feed = ChangeFeed::new(live);
        let clock = Arc::new(ManualClock::starting_now());
        (StorefrontCache::new(Duration::from_secs(60), 1 << 20, clock.clone(), feed.clone(), None), feed, clock)
    }

    fn stale(keys: &[&str]) -> Stale {
        let mut stale = Stale::default();
        for key in keys {
            stale.mark(*key);
        }
        stale
    }

    fn page(text: &str) -> Page {
        Page::new(Bytes::from(text.to_owned()))
    }

    #[test]
    fn invalidation_is_as_narrow_as_the_change() {
        let (cache, feed, _) = cache(true);
        let t = cache.ticket();
        cache.put("list".into(), t, Depends::Lists, None, &page("l"));
        cache.put("p:a".into(), t, Depends::Product, Some("prod_a"), &page("a"));
        cache.put("p:slug-b".into(), t, Depends::Product, Some("prod_b"), &page("b"));
        cache.put("tree".into(), t, Depends::Categories, None, &page("t"));
        feed.deliver(&stale(&["product:prod_a"]));
        assert_eq!(cache.get("p:a"), None);
        assert_eq!(cache.get("p:slug-b"), Some(page("b")), "another product's page stays");
        assert_eq!(cache.get("list"), Some(page("l")), "a page-only change keeps the lists");
        feed.deliver(&stale(&[LISTS]));
        assert_eq!(cache.get("list"), None);
        assert_eq!(cache.get("tree"), Some(page("t")));
        feed.deliver(&stale(&[EVERYTHING]));
        assert_eq!(cache.get("tree"), None);
        assert_eq!(cache.get("p:slug-b"), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_never_kept_fresh() {
        let (cache, feed, _) = cache(true);
        let before = cache.ticket();
        feed.deliver(&stale(&["product:prod_x", LISTS]));
        cache.put("p:x".into(), before, Depends::Product, Some("prod_x"), &page("old"));
        cache.put("list".into(), before, Depends::Lists, None, &page("old"));
        assert_eq!(cache.get("p:x"), None);
        assert_eq!(cache.get("list"), None);
        // An invalidation of another product meanwhile also keeps a slug page out (its stripe
        // was unknown at the ticket): a wasted read, never a stale page.
        let before = cache.ticket();
        feed.deliver(&stale(&["product:prod_other"]));
        cache.put("p:y".into(), before, Depends::Product, Some("prod_y"), &page("y"));
        assert_eq!(cache.get("p:y"), None);
    }

    #[test]
    fn entries_expire_and_nothing_is_served_while_the_feed_is_not_live() {
        let (cache, _, clock) = cache(true);
        cache.put("list".into(), cache.ticket(), Depends::Lists, None, &page("l"));
        clock.advance(Duration::from_secs(59));
        assert!(cache.get("list").is_some());
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.get("list"), None, "expires after the TTL on the engine's clock");

        let (cache, _, _) = self::cache(false);
        cache.put("list".into(), cache.ticket(), Depends::Lists, None, &page("l"));
        assert_eq!(cache.get("list"), None);
    }

    #[test]
    fn equal_bytes_have_equal_strong_tags() {
        assert_eq!(page("{}").etag, page("{}").etag);
        assert_ne!(page("{}").etag, page("[]").etag);
        assert!(page("{}").etag.starts_with('"') && page("{}").etag.len() == 34);
    }
}
