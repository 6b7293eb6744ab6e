//! The closing summary: per journey step (request), throughput and
//! p50/p90/p99/max, next to goose's own tables and reports.

use goose::metrics::GooseMetrics;

/// One step's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `METHOD name`, e.g. `GET /search`.
    pub step: String,
    /// Requests made.
    pub requests: usize,
    /// Requests that failed.
    pub failures: usize,
    /// Response time percentiles and the slowest, in microseconds.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest.
    pub max_us: u64,
}

/// The rows of a run's request metrics, by step name.
pub fn rows(metrics: &GooseMetrics) -> Vec<Row> {
    let mut rows: Vec<Row> = metrics
        .requests
        .values()
        .map(|r| Row {
            step: format!("{} {}", r.method, r.path),
            requests: r.success_count + r.fail_count,
            failures: r.fail_count,
            p50_us: r.raw_data.percentile_us(0.50),
            p90_us: r.raw_data.percentile_us(0.90),
            p99_us: r.raw_data.percentile_us(0.99),
            max_us: r.raw_data.maximum_time_us,
        })
        .collect();
    rows.sort_by(|a, b| a.step.cmp(&b.step));
    rows
}

fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// The table, for a run of `seconds`.
pub fn render(rows: &[Row], seconds: f64) -> String {
    let width = rows.iter().map(|r| r.step.len()).max().unwrap_or(4).max(5);
    let per_second = |n: usize| if seconds > 0.0 { n as f64 / seconds } else { 0.0 };
    let mut out = format!(
        "{:<width$} {:>8} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8}\n",
        "step", "requests", "req/s", "failed", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<width$} {:>8} {:>8.2} {:>7} {:>8} {:>8} {:>8} {:>8}\n",
            r.step,
            r.requests,
            per_second(r.requests),
            r.failures,
            ms(r.p50_us),
            ms(r.p90_us),
            ms(r.p99_us),
            ms(r.max_us)
        ));
    }
    let (requests, failures) = rows.iter().fold((0, 0), |(n, f), r| (n + r.requests, f + r.failures));
    out.push_str(&format!(
        "{:<width$} {:>8} {:>8.2} {:>7}\n",
        "total",
        requests,
        per_second(requests),
        failures
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_throughput_and_percentiles_in_milliseconds() {
        let rows = [
            Row {
                step: "GET /search".into(),
                requests: 300,
                failures: 0,
                p50_us: 4_250,
                p90_us: 12_340,
                p99_us: 150_400,
                max_us: 1_200_000,
            },
            Row {
                step: "POST /signup/".into(),
                requests: 30,
                failures: 2,
                p50_us: 310_000,
                p90_us: 400_000,
                p99_us: 410_000,
                max_us: 419_000,
            },
        ];
        let table = render(&rows, 30.0);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("step "), "{table}");
        let search: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            search,
            ["GET", "/search", "300", "10.00", "0", "4.25", "12.3", "150", "1200"]
        );
        let total: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(total, ["total", "330", "11.00", "2"]);
        assert!(render(&[], 0.0).contains("total"));
    }
}
