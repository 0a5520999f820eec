//! Short-lived, generation-tagged caches of what carts *display* (variants as pricing sees them,
//! category slugs), and the catalog generation they follow.
//!
//! Each entry lives [`ListCache`]'s TTL at most (2 s) and is tagged with the catalog's
//! generation: a committed catalog or stock write on this instance moves it ([`CatalogChanges::bump`]),
//! and so does every change another instance announces through the change feed (see
//! `crate::db::changes`), so the next read misses. Checkout never reads from here. Expiry follows
//! the engine's clock, so tests move time instead of waiting. Storefront pages have their own
//! cache, `crate::catalog::cache`.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::clock::SharedClock;

/// The catalog's generation: shared by the list cache and the services that write the catalog.
#[derive(Clone, Default)]
pub struct CatalogChanges(Arc<AtomicU64>);

impl CatalogChanges {
    /// Called after a catalog write commits: cached pages computed before it are stale.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

struct Entry<V> {
    generation: u64,
    /// Unix milliseconds on the engine's clock.
    expires: i64,
    value: Arc<V>,
}

pub struct ListCache<V> {
    ttl_ms: i64,
    capacity: usize,
    generation: CatalogChanges,
    clock: SharedClock,
    entries: Mutex<HashMap<String, Entry<V>>>,
}

impl<V> ListCache<V> {
    pub fn new(ttl: Duration, capacity: usize, generation: CatalogChanges, clock: SharedClock) -> Self {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        Self { ttl_ms, capacity: capacity.max(1), generation, clock, entries: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        if !self.enabled() {
            return None;
        }
        let generation = self.generation.current();
        let now = self.clock.now_ms();
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(key).filter(|e| e.generation == generation && e.expires > now).map(|e| e.value.clone())
    }

    /// Stores a page computed under `generation` (read before computing it, so a write that
    /// raced the computation leaves the entry already stale).
    pub fn put(&self, key: String, generation: u64, value: Arc<V>) {
        if !self.enabled() {
            return;
        }
        let now = self.clock.now_ms();
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity {
            let current = self.generation.current();
            entries.retain(|_, e| e.expires > now && e.generation == current);
            if entries.len() >= self.capacity {
                // Still full of live pages: start over rather than track recency on every hit.
                entries.clear();
            }
        }
        entries.insert(key, Entry { generation, expires: now.saturating_add(self.ttl_ms), value });
    }

    pub fn generation(&self) -> u64 {
        self.generation.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn entries_expire_and_die_with_their_generation() {
        let generation = CatalogChanges::default();
        let clock = Arc::new(ManualClock::starting_now());
        let cache = ListCache::new(Duration::from_secs(60), 2, generation.clone(), clock.clone());
        cache.put("a".into(), cache.generation(), Arc::new(1));
        assert_eq!(cache.get("a").as_deref(), Some(&1));
        generation.bump();
        assert_eq!(cache.get("a"), None);

        cache.put("e".into(), cache.generation(), Arc::new(5));
        clock.advance(Duration::from_secs(59));
        assert_eq!(cache.get("e").as_deref(), Some(&5));
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.get("e"), None, "expires after the TTL on the engine's clock");

        cache.put("b".into(), cache.generation(), Arc::new(2));
        cache.put("c".into(), cache.generation(), Arc::new(3));
        cache.put("d".into(), cache.generation(), Arc::new(4));
        assert_eq!(cache.get("d").as_deref(), Some(&4));

        let off = ListCache::new(Duration::ZERO, 2, generation, clock);
        off.put("a".into(), 1, Arc::new(1));
        assert_eq!(off.get("a"), None);
    }
}
