//! Results: a readable table or JSON.

use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::cpu::CpuUse;

/// Latency percentiles in milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Worst.
    pub max_ms: f64,
}

impl Latency {
    /// From a histogram of microseconds.
    pub fn from_micros(histogram: &Histogram<u64>) -> Self {
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
        Self {
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: histogram.max() as f64 / 1000.0,
        }
    }
}

/// One scenario's outcome.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: &'static str,
    /// What was run (clients, sizes…).
    pub parameters: serde_json::Value,
    /// Operations (or deliveries) per second.
    pub throughput_per_sec: f64,
    /// What the throughput counts.
    pub unit: &'static str,
    /// Completed operations.
    pub operations: u64,
    /// Failed operations.
    pub errors: u64,
    /// Latency percentiles, where measured.
    pub latency: Option<Latency>,
    /// Scenario-specific results.
    pub extra: serde_json::Value,
    /// CPU time per operation during the measurement.
    pub cpu: Option<CpuUse>,
}

impl Report {
    /// A fixed-width table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "scenario     {}", self.scenario);
        let _ = writeln!(out, "parameters   {}", self.parameters);
        let _ = writeln!(
            out,
            "throughput   {:.0} {}/s",
            self.throughput_per_sec, self.unit
        );
        let _ = writeln!(
            out,
            "operations   {} ({} errors)",
            self.operations, self.errors
        );
        if let Some(l) = &self.latency {
            let _ = writeln!(
                out,
                "latency ms   p50 {:.2}   p90 {:.2}   p99 {:.2}   max {:.2}",
                l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
            );
        }
        if let Some(cpu) = &self.cpu {
            let us = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
            let _ = writeln!(
                out,
                "cpu µs/op    server {}   postgres {}   bench {:.0}   (machine {:.0} % busy, {:.0} % stolen)",
                us(cpu.server_us_per_op),
                us(cpu.postgres_us_per_op),
                cpu.bench_us_per_op,
                cpu.machine_busy_percent,
                cpu.steal_percent
            );
            if let Some(kb) = cpu.server_rss_kb {
                let _ = writeln!(out, "server RSS   {:.1} MiB", kb as f64 / 1024.0);
            }
        }
        if !self.extra.is_null() {
            let _ = writeln!(out, "details      {}", self.extra);
        }
        out
    }
}

/// A histogram for latencies in microseconds (1 µs – 60 s, 3 digits).
pub fn histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    #[expect(clippy::expect_used, reason = "constant bounds")]
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}
