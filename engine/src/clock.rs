//! Time comes from an injectable clock, never from SQL `now()`, so expiry can be tested by
//! moving a clock instead of waiting. Database columns store times as Unix milliseconds
//! (`BIGINT`), which both backends and sqlx's `Any` driver handle natively.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, TimeZone, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Now as Unix milliseconds, the unit of every time column.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, tools).
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { millis: AtomicI64::new(start.timestamp_millis()) }
    }

    pub fn starting_now() -> Self {
        Self::new(Utc::now())
    }

    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// Converts a stored millisecond timestamp back to a UTC time.
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A `std::time::Duration` as milliseconds for arithmetic on stored times (saturating).
pub fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
