//! Latency histograms and the load generator's report line.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies in microseconds, from 1 µs to 60 s, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        }
    }
}

impl Latencies {
    /// Records one latency.
    pub fn record(&mut self, duration: std::time::Duration) {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.max(1));
    }

    /// Adds another histogram's values.
    pub fn merge(&mut self, other: &Latencies) {
        let _ = self.histogram.add(&other.histogram);
    }

    /// How many latencies were recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether none was recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The latency at `quantile` (0.0 to 1.0), in µs; 0 when empty.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        if self.histogram.is_empty() {
            0
        } else {
            self.histogram.value_at_quantile(quantile)
        }
    }
}

/// The one JSON line of a load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The mode (`load` or `rate`, with the protocol: e.g. `load-exws`).
    pub mode: String,
    /// Connections.
    pub conns: usize,
    /// Requests in flight per connection (at most, in rate mode).
    pub depth: usize,
    /// The measured window, in seconds (warm-up excluded).
    pub seconds: f64,
    /// Verified replies in the window.
    pub replies: u64,
    /// `replies / seconds`.
    pub replies_per_sec: f64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile latency, µs.
    pub p99_us: u64,
    /// 99.9th percentile latency, µs.
    pub p999_us: u64,
    /// Wrong replies, unexpected frames, failed connections and requests left unanswered.
    pub errors: u64,
    /// Verified replies over the whole run, warm-up and drain included (for CPU per reply:
    /// the runner divides the server's CPU time over the run by this).
    pub total_replies: u64,
    /// The offered rate in rate mode (requests/s), else 0.
    pub target_rate: f64,
    /// With `--server-pid`: the server's CPU use during the window, in % of one core (under
    /// ~95 % in a closed loop, the load generator rather than the server set the pace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_pct: Option<f64>,
}
