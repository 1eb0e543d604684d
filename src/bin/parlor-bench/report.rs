//! What one measured run found (deliveries, latency histogram, losses, CPU, memory) and how
//! the bench prints it: a readable table per round, the per-target summary over rounds
//! (medians of rates and times, totals of counts, the peak of memory), the machine-readable
//! `RESULT` lines and the parlor/relay ratios.

/// Latency histogram buckets, 1 µs wide; slower deliveries land in the last one.
const BUCKETS: usize = 1 << 17;

/// Exact-to-the-microsecond latency histogram of fixed size (no allocation per sample).
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_ns: u64,
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_ns: 0,
        }
    }

    pub fn clear(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.total = 0;
        self.max_ns = 0;
    }

    pub fn add(&mut self, ns: u64) {
        let us = (ns / 1000) as usize;
        self.counts[us.min(BUCKETS - 1)] += 1;
        self.total += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    /// The latency in µs below which `percent` of the samples lie.
    pub fn percentile_us(&self, percent: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((self.total as f64) * percent / 100.0).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return us as f64;
            }
        }
        (BUCKETS - 1) as f64
    }

    pub fn max_us(&self) -> f64 {
        self.max_ns as f64 / 1000.0
    }
}

/// The figures of one run against one target.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Messages sent in the measured window (all senders).
    pub sent: u64,
    pub deliveries: u64,
    pub per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub lost: u64,
    pub reordered: u64,
    /// The run stopped because nothing arrived for the stall time.
    pub stalled: bool,
    pub cpu_us_per_delivery: f64,
    pub peak_rss_kb: u64,
    pub rss_kb: u64,
    pub bench_cpu_s: f64,
    pub seconds: f64,
}

/// The shape of a run, for the labels.
#[derive(Clone, Debug)]
pub struct ShapeLabel {
    pub n: usize,
    pub s: usize,
    pub b: usize,
    /// `saturate` or `rate`.
    pub mode: &'static str,
    /// Deliveries/s asked for in rate mode.
    pub rate: Option<u64>,
    pub window: u64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Rounds of one target folded into one row: medians of rates, latencies and CPU; totals
/// of counts; the highest peak RSS.
pub fn summarize(rounds: &[RunResult]) -> RunResult {
    let m = |f: fn(&RunResult) -> f64| median(rounds.iter().map(f).collect());
    RunResult {
        sent: rounds.iter().map(|r| r.sent).sum(),
        deliveries: rounds.iter().map(|r| r.deliveries).sum(),
        per_s: m(|r| r.per_s),
        p50_us: m(|r| r.p50_us),
        p99_us: m(|r| r.p99_us),
        max_us: m(|r| r.max_us),
        lost: rounds.iter().map(|r| r.lost).sum(),
        reordered: rounds.iter().map(|r| r.reordered).sum(),
        stalled: rounds.iter().any(|r| r.stalled),
        cpu_us_per_delivery: m(|r| r.cpu_us_per_delivery),
        peak_rss_kb: rounds.iter().map(|r| r.peak_rss_kb).max().unwrap_or(0),
        rss_kb: rounds.last().map_or(0, |r| r.rss_kb),
        bench_cpu_s: m(|r| r.bench_cpu_s),
        seconds: m(|r| r.seconds),
    }
}

pub fn table_header() -> String {
    format!(
        "{:<8} {:>5} {:>10} {:>11} {:>12} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9} {:>8} {:>8} {:>7}",
        "target",
        "round",
        "sent",
        "deliveries",
        "deliv/s",
        "p50 µs",
        "p99 µs",
        "max µs",
        "lost",
        "reord",
        "cpu µs/d",
        "hwm KiB",
        "rss KiB",
        "bench s"
    )
}

pub fn table_row(target: &str, round: &str, r: &RunResult) -> String {
    format!(
        "{:<8} {:>5} {:>10} {:>11} {:>12.0} {:>8.0} {:>8.0} {:>9.0} {:>6} {:>6} {:>9.3} {:>8} {:>8} {:>7.2}{}",
        target,
        round,
        r.sent,
        r.deliveries,
        r.per_s,
        r.p50_us,
        r.p99_us,
        r.max_us,
        r.lost,
        r.reordered,
        r.cpu_us_per_delivery,
        r.peak_rss_kb,
        r.rss_kb,
        r.bench_cpu_s,
        if r.stalled { "  (stalled)" } else { "" }
    )
}

/// The machine-readable line of one target's summary.
pub fn result_line(target: &str, shape: &ShapeLabel, r: &RunResult) -> String {
    let rate = shape.rate.map(|v| format!(" rate={v}")).unwrap_or_default();
    format!(
        "RESULT target={target} n={} s={} b={} mode={}{rate} window={} sent={} deliveries={} per_s={:.0} p50_us={:.0} p99_us={:.0} max_us={:.0} lost={} reordered={} stalled={} cpu_us_per_delivery={:.4} peak_rss_kb={} rss_kb={} bench_cpu_s={:.3}",
        shape.n,
        shape.s,
        shape.b,
        shape.mode,
        shape.window,
        r.sent,
        r.deliveries,
        r.per_s,
        r.p50_us,
        r.p99_us,
        r.max_us,
        r.lost,
        r.reordered,
        r.stalled,
        r.cpu_us_per_delivery,
        r.peak_rss_kb,
        r.rss_kb,
        r.bench_cpu_s
    )
}

/// `a / b`, or NaN-free 0 when `b` is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// parlor relative to the relay.
pub fn ratio_line(shape: &ShapeLabel, parlor: &RunResult, relay: &RunResult) -> String {
    let rate = shape.rate.map(|v| format!(" rate={v}")).unwrap_or_default();
    format!(
        "RATIO n={} s={} b={} mode={}{rate} per_s_ratio={:.3} cpu_per_delivery_ratio={:.2} p99_ratio={:.2}",
        shape.n,
        shape.s,
        shape.b,
        shape.mode,
        ratio(parlor.per_s, relay.per_s),
        ratio(parlor.cpu_us_per_delivery, relay.cpu_us_per_delivery),
        ratio(parlor.p99_us, relay.p99_us)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut h = Histogram::new();
        for us in 1..=100u64 {
            h.add(us * 1000 + 500);
        }
        assert_eq!(h.percentile_us(50.0), 50.0);
        assert_eq!(h.percentile_us(99.0), 99.0);
        assert_eq!(h.max_us(), 100.5);
        h.clear();
        assert_eq!(h.percentile_us(50.0), 0.0);
    }

    #[test]
    fn summary_takes_medians_and_totals() {
        let a = RunResult {
            sent: 10,
            deliveries: 90,
            per_s: 100.0,
            peak_rss_kb: 5,
            ..RunResult::default()
        };
        let b = RunResult {
            sent: 20,
            deliveries: 180,
            per_s: 300.0,
            peak_rss_kb: 7,
            ..RunResult::default()
        };
        let s = summarize(&[a, b]);
        assert_eq!((s.sent, s.deliveries, s.peak_rss_kb), (30, 270, 7));
        assert_eq!(s.per_s, 200.0);
    }
}
