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
            max: Duration::from_millis(3),
        };
        let table = table("t", &[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].len(), lines[2].len());
        assert!(lines[2].contains("1234.5") && lines[2].contains("1.50"));
    }
}
