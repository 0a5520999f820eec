//! Closed-loop load: each client sends its next request as soon as the previous one answered.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

/// The measured interval. Clients start before it (warm-up) and finish their last request
/// after it; only requests that complete inside it are recorded.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    /// A window opening after `warmup` from now and lasting `duration`.
    pub fn after(warmup: Duration, duration: Duration) -> Self {
        let start = Instant::now() + warmup;
        Self { start, end: start + duration }
    }

    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    fn contains(&self, at: Instant) -> bool {
        self.start <= at && at <= self.end
    }
}

/// What one or more clients observed.
#[derive(Debug, Default)]
pub struct Samples {
    /// Latencies of successful requests.
    pub latencies: Vec<Duration>,
    /// Requests answered with an unexpected status.
    pub errors: u64,
}

impl Samples {
    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
    }
}

/// The outcome of one request, as a client sees it.
pub enum Outcome {
    Ok,
    /// The server answered, but not as expected (counted, not fatal: it is a result).
    Unexpected,
}

/// Runs one client until the window ends. A transport error (connection refused, timeout)
/// aborts: it means the engine is gone, and numbers measured after that would be meaningless.
pub async fn client<F, Fut>(window: Window, mut request: F) -> anyhow::Result<Samples>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    let mut samples = Samples::default();
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            return Ok(samples);
        }
        let outcome = request().await?;
        let done = Instant::now();
        // Completion time decides, so throughput is "answers per second inside the window".
        if window.contains(done) {
            match outcome {
                Outcome::Ok => samples.latencies.push(done - sent),
                Outcome::Unexpected => samples.errors += 1,
            }
        }
    }
}

/// Runs `count` clients concurrently (`make(i)` builds client `i`) and merges what they saw.
pub async fn clients<F, Fut>(count: usize, mut make: F) -> anyhow::Result<Samples>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Samples>> + Send + 'static,
{
    let mut set = JoinSet::new();
    for i in 0..count {
        set.spawn(make(i));
    }
    let mut all = Samples::default();
    while let Some(joined) = set.join_next().await {
        all.merge(joined??);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_only_completions_inside_the_window() -> anyhow::Result<()> {
        let window = Window::after(Duration::from_millis(30), Duration::from_millis(60));
        let samples = client(window, || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(Outcome::Ok)
        })
        .await?;
        // ~6 requests complete in 60 ms; the 3 of the warm-up are not counted.
        assert!((4..=6).contains(&samples.latencies.len()), "{:?}", samples.latencies);
        assert!(Instant::now() >= window.end);
        Ok(())
    }

    #[tokio::test]
    async fn counts_unexpected_answers_as_errors() -> anyhow::Result<()> {
        let window = Window::after(Duration::ZERO, Duration::from_millis(20));
        let all = clients(2, |_| {
            client(window, || async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(Outcome::Unexpected)
            })
        })
        .await?;
        assert!(all.latencies.is_empty());
        assert!(all.errors >= 4, "{}", all.errors);
        Ok(())
    }
}
