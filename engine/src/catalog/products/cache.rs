//! A short-lived, in-memory cache of storefront list pages.
//!
//! A busy shop serves the same few list pages (the first page of each category, popular
//! searches) thousands of times a second. Each entry lives `catalog.list_cache_ttl` at most and
//! is tagged with the cache's generation: a write on this instance (any staff change, see
//! `InvalidateOnWrite`) bumps the generation, so the next read misses and sees the change at
//! once. Other instances see it within the TTL. Stock levels shown on cards (`in_stock`) can be
//! that old; checkout never reads them from here.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use poem::{Endpoint, Middleware, Request, Result, http::Method};

struct Entry<V> {
    generation: u64,
    expires: Instant,
    value: Arc<V>,
}

pub struct ListCache<V> {
    ttl: Duration,
    capacity: usize,
    generation: Arc<AtomicU64>,
    entries: Mutex<HashMap<String, Entry<V>>>,
}

impl<V> ListCache<V> {
    pub fn new(ttl: Duration, capacity: usize, generation: Arc<AtomicU64>) -> Self {
        Self { ttl, capacity: capacity.max(1), generation, entries: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        if !self.enabled() {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(key).filter(|e| e.generation == generation && e.expires > Instant::now()).map(|e| e.value.clone())
    }

    /// Stores a page computed under `generation` (read before computing it, so a write that
    /// raced the computation leaves the entry already stale).
    pub fn put(&self, key: String, generation: u64, value: Arc<V>) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity {
            let now = Instant::now();
            let current = self.generation.load(Ordering::Acquire);
            entries.retain(|_, e| e.expires > now && e.generation == current);
            if entries.len() >= self.capacity {
                // Still full of live pages: start over rather than track recency on every hit.
                entries.clear();
            }
        }
        entries.insert(key, Entry { generation, expires: Instant::now() + self.ttl, value });
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// Bumps the catalog generation after every state-changing request under `/api/v1/admin/`, so
/// this instance's cached lists never outlive a staff change.
pub struct InvalidateOnWrite(pub Arc<AtomicU64>);

impl<E: Endpoint> Middleware<E> for InvalidateOnWrite {
    type Output = InvalidateOnWriteEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        InvalidateOnWriteEndpoint { inner, generation: self.0.clone() }
    }
}

pub struct InvalidateOnWriteEndpoint<E> {
    inner: E,
    generation: Arc<AtomicU64>,
}

impl<E: Endpoint> Endpoint for InvalidateOnWriteEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
            && req.uri().path().starts_with("/api/v1/admin/");
        let result = self.inner.call(req).await;
        if writes {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_die_with_their_generation() {
        let generation = Arc::new(AtomicU64::new(0));
        let cache = ListCache::new(Duration::from_secs(60), 2, generation.clone());
        cache.put("a".into(), cache.generation(), Arc::new(1));
        assert_eq!(cache.get("a").as_deref(), Some(&1));
        generation.fetch_add(1, Ordering::AcqRel);
        assert_eq!(cache.get("a"), None);

        cache.put("b".into(), cache.generation(), Arc::new(2));
        cache.put("c".into(), cache.generation(), Arc::new(3));
        cache.put("d".into(), cache.generation(), Arc::new(4));
        assert_eq!(cache.get("d").as_deref(), Some(&4));

        let off = ListCache::new(Duration::ZERO, 2, generation);
        off.put("a".into(), 1, Arc::new(1));
        assert_eq!(off.get("a"), None);
    }
}
