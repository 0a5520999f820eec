//! The fixed-width results table.

use std::{fmt::Write as _, time::Duration};

use crate::stats::Summary;

/// Renders `rows` as a table under a one-line header.
pub fn table(title: &str, rows: &[Summary]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{:<26} {:>9} {:>7} {:>10} {:>10} {:>10} {:>10}",
        "scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<26} {:>9} {:>7} {:>10.1} {:>10.2} {:>10.2} {:>10.2}",
            row.scenario,
            row.requests,
            row.errors,
            row.per_second,
            millis(row.p50),
            millis(row.p99),
            millis(row.max)
        );
    }
    out
}

/// One row of an in-process measurement, where latencies are microseconds, not milliseconds.
pub struct MicrosRow {
    /// Cart lines priced.
    pub lines: usize,
    /// What ran the rules: `pooling` or `on-demand` (wasmtime's instance allocator), or `native`.
    pub runtime: &'static str,
    /// Tasks calling concurrently.
    pub tasks: usize,
    /// The figures; `scenario` names the row.
    pub summary: Summary,
}

/// Renders `rows` as a table under a one-line header, latencies in microseconds.
pub fn micros_table(title: &str, rows: &[MicrosRow]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{:<18} {:>5} {:<9} {:>5} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "scenario", "lines", "runtime", "tasks", "calls", "calls/s", "p50 µs", "p99 µs", "mean µs", "max µs"
    );
    for row in rows {
        let s = &row.summary;
        let _ = writeln!(
            out,
            "{:<18} {:>5} {:<9} {:>5} {:>7} {:>9.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            s.scenario,
            row.lines,
            row.runtime,
            row.tasks,
            s.requests,
            s.per_second,
            micros(s.p50),
            micros(s.p99),
            micros(s.mean),
            micros(s.max)
        );
    }
    out
}

/// Renders in-process rows that have no cart (one kind of call each) as a table under a one-line
/// header, latencies in microseconds.
pub fn calls_table(title: &str, rows: &[Summary]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{:<30} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "scenario", "calls", "calls/s", "p50 µs", "p99 µs", "mean µs", "max µs"
    );
    for s in rows {
        let _ = writeln!(
            out,
            "{:<30} {:>7} {:>9.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            s.scenario,
            s.requests,
            s.per_second,
            micros(s.p50),
            micros(s.p99),
            micros(s.mean),
            micros(s.max)
        );
    }
    out
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The CPUs this process may use (cgroup and affinity limits included).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let row = Summary {
            scenario: "health_baseline".into(),
            requests: 12345,
            errors: 0,
            per_second: 1234.5,
            p50: Duration::from_micros(120),
            p99: Duration::from_micros(1500),
            mean: Duration::from_micros(200),
            max: Duration::from_millis(3),
        };
        let table = table("t", &[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].len(), lines[2].len());
        assert!(lines[2].contains("1234.5") && lines[2].contains("1.50"));
    }

    #[test]
    fn micro_columns_line_up() {
        let summary = Summary {
            scenario: "call volume_tiers".into(),
            requests: 2000,
            errors: 0,
            per_second: 51234.0,
            p50: Duration::from_nanos(18_250),
            p99: Duration::from_micros(40),
            mean: Duration::from_micros(19),
            max: Duration::from_micros(1200),
        };
        let row = MicrosRow { lines: 10, runtime: "pooling", tasks: 1, summary };
        let table = micros_table("t", &[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].chars().count(), lines[2].chars().count());
        assert!(lines[2].contains(" 18.2 ") || lines[2].contains(" 18.3 "), "{}", lines[2]);
        assert!(lines[2].contains("1200.0"));
    }

    #[test]
    fn call_columns_line_up() {
        let row = Summary {
            scenario: "fetch_status (sandbox)".into(),
            requests: 2000,
            errors: 0,
            per_second: 8123.0,
            p50: Duration::from_nanos(98_640),
            p99: Duration::from_micros(150),
            mean: Duration::from_micros(101),
            max: Duration::from_micros(900),
        };
        let table = calls_table("t", &[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].chars().count(), lines[2].chars().count());
        assert!(lines[2].contains(" 98.6 ") && lines[2].contains(" 8123 "), "{}", lines[2]);
    }
}
