//! What one measured run found (deliveries, latency histogram, losses, CPU, memory) and how
//! the bench prints it: a readable table per round, the per-target summary over rounds
//! (medians of rates and times, totals of counts, the peak of memory), the machine-readable
//! `RESULT` lines, the parlor/relay ratios and, when mosquitto runs too, parlor's CPU per
//! delivery against mosquitto's (per round and over the rounds).

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
    /// Copies of their own messages the senders received (MQTT has no "no local"); not
    /// counted in `deliveries`.
    pub own_copies: u64,
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
        own_copies: rounds.iter().map(|r| r.own_copies).sum(),
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
        "{:<9} {:>5} {:>10} {:>11} {:>12} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9} {:>8} {:>8} {:>7}",
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
        "{:<9} {:>5} {:>10} {:>11} {:>12.0} {:>8.0} {:>8.0} {:>9.0} {:>6} {:>6} {:>9.3} {:>8} {:>8} {:>7.2}{}",
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
        "RESULT target={target} n={} s={} b={} mode={}{rate} window={} sent={} deliveries={} per_s={:.0} p50_us={:.0} p99_us={:.0} max_us={:.0} lost={} reordered={} stalled={} cpu_us_per_delivery={:.4} peak_rss_kb={} rss_kb={} bench_cpu_s={:.6}",
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

/// How many times less server CPU per delivery parlor spent than mosquitto (mosquitto's
/// figure over parlor's), and parlor's deliveries/s over mosquitto's.
fn mosquitto_ratios(parlor: &RunResult, mosquitto: &RunResult) -> (f64, f64) {
    (
        ratio(mosquitto.cpu_us_per_delivery, parlor.cpu_us_per_delivery),
        ratio(parlor.per_s, mosquitto.per_s),
    )
}

/// The same-round comparison, printed under round `round`'s rows.
pub fn mosquitto_round_line(round: usize, parlor: &RunResult, mosquitto: &RunResult) -> String {
    let (cpu, per_s) = mosquitto_ratios(parlor, mosquitto);
    format!(
        "{:<9} {:>5}   parlor_cpu_vs_mosquitto={cpu:.2} (mosquitto cpu µs/d ÷ parlor's, same round) per_s_ratio={per_s:.3}",
        "ratio", round
    )
}

/// parlor against mosquitto over the rounds: the ratio of the median CPU per delivery (and
/// of deliveries/s), then each round's own ratio.
pub fn mosquitto_ratio_line(
    shape: &ShapeLabel,
    parlor: &RunResult,
    mosquitto: &RunResult,
    parlor_rounds: &[RunResult],
    mosquitto_rounds: &[RunResult],
) -> String {
    let rate = shape.rate.map(|v| format!(" rate={v}")).unwrap_or_default();
    let (cpu, per_s) = mosquitto_ratios(parlor, mosquitto);
    let rounds: Vec<String> = parlor_rounds
        .iter()
        .zip(mosquitto_rounds)
        .map(|(p, m)| format!("{:.2}", mosquitto_ratios(p, m).0))
        .collect();
    format!(
        "RATIO_MOSQUITTO n={} s={} b={} mode={}{rate} parlor_cpu_vs_mosquitto={cpu:.2} per_s_ratio={per_s:.3} p99_ratio={:.2} rounds_cpu_vs_mosquitto={}",
        shape.n,
        shape.s,
        shape.b,
        shape.mode,
        ratio(parlor.p99_us, mosquitto.p99_us),
        rounds.join(",")
    )
}

/// What mosquitto's figures count, printed once per shape.
pub fn mosquitto_note(shape: &ShapeLabel, mosquitto: &RunResult) -> String {
    format!(
        "note: mosquitto (MQTT 3.1.1, QoS 0, no \"no local\") also sent every message back to its \
         publisher ({} such copies in the measured windows, read but not counted); deliveries \
         and cpu µs/d count the n-1={} copies to the others, as for parlor and relay, so \
         mosquitto's CPU for its own-copy sends is inside its cpu µs/d",
        mosquitto.own_copies,
        shape.n.saturating_sub(1)
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

    #[test]
    fn mosquitto_ratio_is_its_cpu_over_parlors() {
        let p = RunResult {
            cpu_us_per_delivery: 0.5,
            per_s: 300.0,
            ..RunResult::default()
        };
        let m = RunResult {
            cpu_us_per_delivery: 3.0,
            per_s: 100.0,
            ..RunResult::default()
        };
        let m2 = RunResult {
            cpu_us_per_delivery: 1.0,
            ..m.clone()
        };
        let shape = ShapeLabel {
            n: 10,
            s: 1,
            b: 200,
            mode: "saturate",
            rate: None,
            window: 16,
        };
        let line = mosquitto_ratio_line(&shape, &p, &m, &[p.clone(), p.clone()], &[m.clone(), m2]);
        assert!(
            line.contains(" parlor_cpu_vs_mosquitto=6.00 per_s_ratio=3.000 "),
            "{line}"
        );
        assert!(
            line.ends_with(" rounds_cpu_vs_mosquitto=6.00,2.00"),
            "{line}"
        );
        assert!(mosquitto_round_line(2, &p, &m).contains("parlor_cpu_vs_mosquitto=6.00"));
        // No parlor CPU figure: 0, not infinity.
        let zero = RunResult::default();
        assert!(mosquitto_round_line(1, &zero, &m).contains("parlor_cpu_vs_mosquitto=0.00"));
    }
}
