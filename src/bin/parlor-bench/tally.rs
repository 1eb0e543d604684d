//! The load phase's bookkeeping of deliveries: per (receiver, sender) the highest sequence
//! number seen (reordering) and the deliveries of this run (the in-flight window), plus the
//! measured window's count and latency histogram. Updated once per delivered message, with
//! no allocation.

use crate::payload::Stamp;
use crate::report::Histogram;

/// Deliveries seen, per (receiver, sender) and in total.
pub struct Tally {
    pub n: usize,
    /// `[r * n + s]`: highest sequence number seen plus one (0 = none).
    pub last_seq: Vec<u64>,
    /// `[s * n + r]`: deliveries in this run (warm-up included), for the window.
    pub delivered_run: Vec<u64>,
    /// Per sender: first sequence number of this run / of its measured window.
    pub run_first: Vec<u64>,
    pub measured_first: Vec<u64>,
    pub hist: Histogram,
    pub measured: u64,
    /// Copies of a sender's own measured messages it received (not deliveries).
    pub own: u64,
    pub reordered: u64,
    pub last_delivery_ns: u64,
    pub last_measured_ns: u64,
}

impl Tally {
    /// Empty tables for `n` participants of which the first `senders` send.
    pub fn new(n: usize, senders: usize) -> Tally {
        Tally {
            n,
            last_seq: vec![0; n * n],
            delivered_run: vec![0; n * n],
            run_first: vec![0; senders],
            measured_first: vec![u64::MAX; senders],
            hist: Histogram::new(),
            measured: 0,
            own: 0,
            reordered: 0,
            last_delivery_ns: 0,
            last_measured_ns: 0,
        }
    }

    pub fn record(&mut self, r: usize, st: Stamp, now_ns: u64) {
        let s = st.sender;
        if s >= self.n || s >= self.run_first.len() {
            return;
        }
        if s == r {
            // A copy of one's own message (MQTT 3.1.1 brokers send them): not a delivery.
            if st.seq >= self.measured_first[s] {
                self.own += 1;
            }
            return;
        }
        let k = r * self.n + s;
        if st.seq < self.last_seq[k] {
            self.reordered += 1;
        } else {
            self.last_seq[k] = st.seq + 1;
        }
        if st.seq >= self.run_first[s] {
            self.delivered_run[s * self.n + r] += 1;
        }
        if st.seq >= self.measured_first[s] {
            self.measured += 1;
            self.hist.add(now_ns.saturating_sub(st.sent_ns));
            self.last_measured_ns = now_ns;
        }
        self.last_delivery_ns = now_ns;
    }

    /// Fewest deliveries of sender `s`'s messages to any other participant in this run.
    pub fn min_delivered(&self, s: usize) -> u64 {
        let row = &self.delivered_run[s * self.n..(s + 1) * self.n];
        row.iter()
            .enumerate()
            .filter(|(r, _)| *r != s)
            .map(|(_, &d)| d)
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(sender: usize, seq: u64) -> Stamp {
        Stamp {
            sender,
            seq,
            sent_ns: 1_000,
        }
    }

    #[test]
    fn counts_window_measured_and_reordered() {
        let mut t = Tally::new(3, 1);
        t.measured_first[0] = 2;
        for seq in 0..4 {
            t.record(1, stamp(0, seq), 5_000);
        }
        t.record(2, stamp(0, 0), 5_000);
        // Receiver 2 got only one of sender 0's messages: the window sees the laggard.
        assert_eq!(t.min_delivered(0), 1);
        // Seqs 2 and 3 to receiver 1 are measured.
        assert_eq!(t.measured, 2);
        assert_eq!(t.hist.percentile_us(50.0), 4.0);
        t.record(1, stamp(0, 1), 6_000);
        assert_eq!(t.reordered, 1);
        // Own messages and unknown senders are not deliveries; measured own copies are
        // counted apart.
        t.record(0, stamp(0, 9), 6_000);
        t.record(0, stamp(0, 1), 6_000);
        t.record(1, stamp(7, 9), 6_000);
        assert_eq!((t.measured, t.reordered, t.own), (2, 1, 1));
        assert_eq!(t.min_delivered(0), 1);
    }
}
