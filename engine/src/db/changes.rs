//! What committed writes made stale, told to every instance that keeps cached reads.
//!
//! A write transaction names the cached reads it makes stale ([`Tx::mark_stale`], keys whose
//! meaning belongs to the caching domain, e.g. `product:prod_…` or `lists`). At commit:
//!
//! - on PostgreSQL the keys go out with `NOTIFY` *inside* the transaction, so PostgreSQL delivers
//!   them only if and when it commits, to every instance listening (this one included);
//! - after the commit this instance delivers them to its own subscribers at once, so a change
//!   made through an instance shows on that instance as soon as its request has answered.
//!
//! A transaction that marks nothing sends nothing: a `NOTIFY`ing transaction takes a cluster-wide
//! lock at commit, so only writes a reader can see notify (a plain stock decrement does not).
//!
//! Each instance listens on one dedicated connection outside the pool ([`listen`]). It must be
//! a direct or session-mode connection: a transaction-mode pooler (PgBouncer's default) does not
//! keep `LISTEN` registrations. While that connection is down the feed is not [`live`]:
//! subscribers then serve from the database, and once it has reconnected and subscribed again
//! everything is reported stale ([`EVERYTHING`]) before the feed is live again, so nothing missed
//! during the outage is ever served. On SQLite (one instance per database file) the feed is
//! always live and delivery is in process only.
//!
//! [`Tx::mark_stale`]: super::Tx::mark_stale
//! [`live`]: ChangeFeed::live

use std::{
    collections::BTreeSet,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio_util::sync::CancellationToken;

/// The `LISTEN`/`NOTIFY` channel.
pub const CHANNEL: &str = "commerce_changes";

/// The key that makes every cached read stale (a payload too long for `NOTIFY`, a listener
/// that reconnected, a change too wide to name).
pub const EVERYTHING: &str = "*";

/// PostgreSQL refuses payloads of 8,000 bytes or more; longer sets go out as [`EVERYTHING`].
const MAX_PAYLOAD: usize = 7_900;

/// The `application_name` of the listener's connection (it shows in `pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "commerce-engine-listener";

/// Keys of cached reads that a transaction made stale.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stale(BTreeSet<String>);

impl Stale {
    pub fn mark(&mut self, key: impl Into<String>) {
        self.0.insert(key.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn everything(&self) -> bool {
        self.0.contains(EVERYTHING)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The `NOTIFY` payload: `@origin` (the sending instance), then the keys one per line, or
    /// [`EVERYTHING`] when they would not fit.
    pub fn payload(&self, origin: &str) -> String {
        let text = self.0.iter().map(String::as_str).collect::<Vec<_>>().join("\n");
        let keys = if text.len() > MAX_PAYLOAD || self.everything() { EVERYTHING } else { text.as_str() };
        format!("@{origin}\n{keys}")
    }

    /// The sending instance and the keys of a payload.
    pub fn from_payload(payload: &str) -> (Option<&str>, Self) {
        let mut lines = payload.lines().map(str::trim).filter(|k| !k.is_empty()).peekable();
        let origin = lines.next_if(|l| l.starts_with('@')).map(|l| &l[1..]);
        (origin, Self(lines.map(str::to_owned).collect()))
    }
}

type Subscriber = Arc<dyn Fn(&Stale) + Send + Sync>;

/// The per-process hub: subscribers (caches) and whether they may trust what they keep.
pub struct ChangeFeed {
    subscribers: RwLock<Vec<Subscriber>>,
    /// False while changes made through other instances may be missed (PostgreSQL's listener
    /// is not subscribed). Always true on SQLite.
    live: AtomicBool,
    /// Times the listener (re)subscribed; for tests and `/metrics`.
    subscriptions: AtomicU64,
    /// This instance, in its payloads: its own notifications come back through its listener
    /// after it has already applied them at commit, and are skipped.
    origin: String,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed").field("live", &self.live()).finish_non_exhaustive()
    }
}

impl ChangeFeed {
    /// `live` is true for SQLite (nothing to listen to), false for PostgreSQL until [`listen`]
    /// has subscribed.
    pub fn new(live: bool) -> Arc<Self> {
        Arc::new(Self {
            subscribers: RwLock::new(Vec::new()),
            live: AtomicBool::new(live),
            subscriptions: AtomicU64::new(0),
            origin: ulid::Ulid::new().to_string(),
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Calls `subscriber` with every set of stale keys: this instance's commits and, on
    /// PostgreSQL, every instance's. It must be quick (it runs on the committing request).
    pub fn subscribe(&self, subscriber: impl Fn(&Stale) + Send + Sync + 'static) {
        self.subscribers.write().unwrap_or_else(std::sync::PoisonError::into_inner).push(Arc::new(subscriber));
    }

    /// Whether cached reads can be trusted now (see the module).
    pub fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn subscriptions(&self) -> u64 {
        self.subscriptions.load(Ordering::Acquire)
    }

    pub fn deliver(&self, stale: &Stale) {
        if stale.is_empty() {
            return;
        }
        let subscribers = self.subscribers.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for subscriber in subscribers {
            subscriber(stale);
        }
    }

    fn everything_stale(&self) {
        let mut all = Stale::default();
        all.mark(EVERYTHING);
        self.deliver(&all);
    }

    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
    }
}

/// Listens for other instances' changes until `stop` (PostgreSQL only). Reconnects with backoff
/// (100 ms doubling to 5 s); between losing the connection and subscribing again the feed is
/// not live, and every reconnection reports everything stale before going live.
pub async fn listen(url: SecretString, feed: Arc<ChangeFeed>, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let subscribed = tokio::select! {
            () = stop.cancelled() => return,
            subscribed = subscribe(&url) => subscribed,
        };
        let mut listener = match subscribed {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot listen for catalog changes; serving uncached");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // Subscribed first, then flushed: whatever was kept before now may have missed a change,
        // and a read that started before this point was stamped before the flush.
        feed.everything_stale();
        feed.subscriptions.fetch_add(1, Ordering::AcqRel);
        feed.set_live(true);
        tracing::info!("listening for changes made through other instances");
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = listener.try_recv() => next,
            };
            match next {
                Ok(Some(notification)) => match Stale::from_payload(notification.payload()) {
                    (Some(origin), _) if origin == feed.origin => {}
                    (_, stale) => feed.deliver(&stale),
                },
                Ok(None) | Err(_) => {
                    feed.set_live(false);
                    tracing::warn!("lost the change listener's connection; serving uncached until it is back");
                    break;
                }
            }
        }
    }
}

/// A listener on its own one-connection pool (never the engine's), subscribed to [`CHANNEL`].
async fn subscribe(url: &SecretString) -> Result<PgListener, sqlx::Error> {
    let options: PgConnectOptions = url.expose_secret().parse()?;
    let options = options.application_name(LISTENER_APPLICATION_NAME);
    let pool =
        PgPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(5)).connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&pool).await?;
    // Reconnection is ours (see `listen`): the feed must not go live before it flushed.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_long_sets_become_everything() {
        let mut stale = Stale::default();
        stale.mark("lists");
        stale.mark("product:prod_1");
        assert_eq!(Stale::from_payload(&stale.payload("me")), (Some("me"), stale.clone()));
        let mut wide = Stale::default();
        for i in 0..1_000 {
            wide.mark(format!("product:prod_{i:026}"));
        }
        assert_eq!(wide.payload("me"), format!("@me\n{EVERYTHING}"));
        assert!(Stale::from_payload(&wide.payload("me")).1.everything());
        assert_eq!(Stale::from_payload("lists").0, None, "a payload from elsewhere without an origin");
    }
}
