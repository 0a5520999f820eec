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

    /// Records a request sent at `sent` that completed at `done`, if it completed inside
    /// `window`: completion time decides, so throughput is "answers per second inside the
    /// window". For clients that time several kinds of request themselves (see [`client`]).
    pub fn record(&mut self, window: &Window, sent: Instant, done: Instant, outcome: Outcome) {
        if window.contains(done) {
            match outcome {
                Outcome::Ok => self.latencies.push(done - sent),
                Outcome::Unexpected => self.errors += 1,
            }
        }
    }
}

/// What [`clients`] can merge: one client's samples, or several kinds of them.
pub trait Merge: Default {
    fn merge_from(&mut self, other: Self);
}

impl Merge for Samples {
    fn merge_from(&mut self, other: Self) {
        self.merge(other);
    }
}

/// One [`Samples`] per kind of request, position by position (`[add_line, get_cart]`); the
/// empty default takes the first client's as they are.
impl Merge for Vec<Samples> {
    fn merge_from(&mut self, other: Self) {
        if self.len() < other.len() {
            self.resize_with(other.len(), Samples::default);
        }
        for (mine, theirs) in self.iter_mut().zip(other) {
            mine.merge(theirs);
        }
    }
}

/// The outcome of one request, as a client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The server answered, but not as expected (counted, not fatal: it is a result).
    Unexpected,
}

/// Runs one client until the window ends. A transport error (connection refused, timeout)
/// aborts: it means the engine is gone, and numbers measured after that would be meaningless.
pub async fn client<F, Fut>(window: Window, request: F) -> anyhow::Result<Samples>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    sample(window, Instant::now, request).await
}

/// The client loop with its clock passed in, so the unit tests decide when each request
/// completes instead of sleeping and counting what a busy machine let through.
async fn sample<C, F, Fut>(window: Window, mut now: C, mut request: F) -> anyhow::Result<Samples>
where
    C: FnMut() -> Instant,
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    let mut samples = Samples::default();
    loop {
        let sent = now();
        if sent >= window.end {
            return Ok(samples);
        }
        let outcome = request().await?;
        samples.record(&window, sent, now(), outcome);
    }
}

/// Runs `count` clients concurrently (`make(i)` builds client `i`) and merges what they saw.
pub async fn clients<S, F, Fut>(count: usize, mut make: F) -> anyhow::Result<S>
where
    S: Merge + Send + 'static,
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<S>> + Send + 'static,
{
    let mut set = JoinSet::new();
    for i in 0..count {
        set.spawn(make(i));
    }
    let mut all = S::default();
    while let Some(joined) = set.join_next().await {
        all.merge_from(joined??);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A clock the test moves: each request "takes" `step`.
    fn stepping(start: Instant, step: Duration) -> (Cell<Instant>, Duration) {
        (Cell::new(start), step)
    }

    #[tokio::test]
    async fn records_only_completions_inside_the_window() -> anyhow::Result<()> {
        let t0 = Instant::now();
        let window = Window { start: t0 + Duration::from_millis(30), end: t0 + Duration::from_millis(90) };
        let (clock, step) = stepping(t0, Duration::from_millis(10));
        let samples = sample(
            window,
            || clock.get(),
            || {
                clock.set(clock.get() + step);
                async { Ok(Outcome::Ok) }
            },
        )
        .await?;
        // Sent at 0, 10, …, 80 ms; completed at 10, …, 90: the 7 from 30 to 90 count, the
        // warm-up's 2 do not, and nothing is sent at or after the end.
        assert_eq!(samples.latencies, vec![step; 7]);
        assert_eq!(samples.errors, 0);
        assert_eq!(clock.get(), window.end);
        Ok(())
    }

    #[tokio::test]
    async fn counts_unexpected_answers_as_errors_not_latencies() -> anyhow::Result<()> {
        let t0 = Instant::now();
        let window = Window { start: t0, end: t0 + Duration::from_millis(20) };
        let (clock, step) = stepping(t0, Duration::from_millis(5));
        let samples = sample(
            window,
            || clock.get(),
            || {
                clock.set(clock.get() + step);
                async { Ok(Outcome::Unexpected) }
            },
        )
        .await?;
        assert!(samples.latencies.is_empty());
        assert_eq!(samples.errors, 4);
        Ok(())
    }

    #[tokio::test]
    async fn clients_merge_each_kind_of_request_apart() -> anyhow::Result<()> {
        let t0 = Instant::now();
        let window = Window { start: t0, end: t0 + Duration::from_millis(10) };
        let all: Vec<Samples> = clients(2, |i| async move {
            let mut kinds = vec![Samples::default(), Samples::default()];
            let ms = Duration::from_millis(1 + i as u64);
            kinds[0].record(&window, t0, t0 + ms, Outcome::Ok);
            kinds[1].record(&window, t0, t0 + ms, Outcome::Unexpected);
            // Completed after the window: not counted.
            kinds[1].record(&window, t0, t0 + Duration::from_millis(11), Outcome::Ok);
            Ok(kinds)
        })
        .await?;
        let mut first = all[0].latencies.clone();
        first.sort();
        assert_eq!(first, [1, 2].map(Duration::from_millis));
        assert_eq!((all[0].errors, all[1].errors), (0, 2));
        assert!(all[1].latencies.is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn clients_merge_what_each_saw() -> anyhow::Result<()> {
        let all =
            clients(3, |i| async move { Ok(Samples { latencies: vec![Duration::from_millis(i as u64)], errors: 1 }) })
                .await?;
        let mut latencies = all.latencies;
        latencies.sort();
        assert_eq!(latencies, [0, 1, 2].map(Duration::from_millis));
        assert_eq!(all.errors, 3);
        Ok(())
    }
}
