//! Percentiles over a run's latencies. Runs record thousands of samples at most, so sorting
//! them is exact and cheaper to reason about than a histogram.

use std::time::Duration;

use crate::load::Samples;

/// One row of results.
#[derive(Clone, Debug)]
pub struct Summary {
    pub scenario: String,
    pub requests: usize,
    pub errors: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub max: Duration,
}

impl Summary {
    /// Summarises `samples` collected over `elapsed`.
    pub fn new(scenario: &str, mut samples: Samples, elapsed: Duration) -> Self {
        samples.latencies.sort_unstable();
        let sorted = &samples.latencies;
        let seconds = elapsed.as_secs_f64();
        Self {
            scenario: scenario.to_owned(),
            requests: sorted.len(),
            errors: samples.errors,
            per_second: if seconds > 0.0 { sorted.len() as f64 / seconds } else { 0.0 },
            p50: percentile(sorted, 0.50),
            p99: percentile(sorted, 0.99),
            mean: mean(sorted),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

/// Nearest-rank percentile of sorted latencies (`q` in 0..=1): the smallest sample with at
/// least `q` of all samples at or below it. Zero when there are none.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Arithmetic mean of the latencies; zero when there are none.
pub fn mean(latencies: &[Duration]) -> Duration {
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    latencies.iter().sum::<Duration>().div_f64(latencies.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn nearest_rank() {
        let sorted = ms(1..=100);
        assert_eq!(percentile(&sorted, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&sorted, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&ms([7]), 0.99), Duration::from_millis(7));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn summary_rates_and_tail() {
        let samples = Samples { latencies: ms([30, 10, 20, 40]), errors: 1 };
        let summary = Summary::new("x", samples, Duration::from_secs(2));
        assert_eq!(summary.requests, 4);
        assert_eq!(summary.errors, 1);
        assert!((summary.per_second - 2.0).abs() < 1e-9);
        assert_eq!(summary.p50, Duration::from_millis(20));
        assert_eq!(summary.mean, Duration::from_millis(25));
        assert_eq!(summary.max, Duration::from_millis(40));
    }
}
