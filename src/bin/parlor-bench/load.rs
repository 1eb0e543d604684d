//! The load phase on one thread: every participant's TCP connection non-blocking on one
//! epoll (`polling`), senders writing pre-formatted messages (one write per sender per
//! round) under a bounded in-flight window or on a fixed schedule, every receiver framing
//! its byte stream (MSRP for parlor, length-prefixed frames for the relay, MQTT PUBLISH
//! packets for mosquitto) and tallying deliveries, latency, losses and reordering per
//! (receiver, sender). The same code drives every target so their figures compare.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use polling::{Event, Events, PollMode, Poller};

use crate::mqtt::split_publishes;
use crate::msrp_scan::MsrpScan;
use crate::payload::{cpim_content, parse_fields, Template};
use crate::relay::split_frames;
use crate::report::RunResult;
use crate::server_proc::{cpu_ns, own_cpu_ns, rss_kb, ServerProc};
use crate::tally::Tally;

/// Read buffer per connection.
const READ_BYTES: usize = 64 * 1024;
/// A sender stops queueing while this much is still unwritten.
const OUT_CAP: usize = 1024 * 1024;
/// Most messages one sender queues in one round of the rate schedule.
const MAX_BURST: u64 = 1024;
/// Longest epoll wait, so phase changes are noticed.
const MAX_WAIT: Duration = Duration::from_millis(5);

/// How received bytes are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    Msrp,
    Relay,
    Mqtt,
}

/// How senders pace themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// At most `window` messages per sender not yet delivered to every recipient.
    Saturate { window: u64 },
    /// `per_s` deliveries per second in total, on a fixed schedule.
    Rate { per_s: u64 },
}

/// The bounds of one run.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub mode: Mode,
    pub warmup: Duration,
    pub seconds: Duration,
    /// Measured messages per sender (0 = no count bound).
    pub messages: u64,
    /// Longest wait for in-flight deliveries after sending stops.
    pub drain: Duration,
    /// A run with no delivery for this long ends early.
    pub stall: Duration,
}

/// One participant's connection.
struct Conn {
    stream: TcpStream,
    inbuf: Vec<u8>,
    in_len: usize,
    out: Vec<u8>,
    out_pos: usize,
    write_armed: bool,
    scan: MsrpScan,
}

/// One sender's progress.
struct Sender {
    template: Template,
    next_seq: u64,
    sent_run: u64,
    sent_measured: u64,
    due_ns: u64,
}

/// The participants of one target, connected and ready.
pub struct Load {
    wire: Wire,
    poller: Poller,
    events: Events,
    conns: Vec<Conn>,
    senders: Vec<Sender>,
    tally: Tally,
    t0: Instant,
}

fn ns_since(t0: Instant) -> u64 {
    t0.elapsed().as_nanos() as u64
}

impl Load {
    /// Takes over `streams` (participant i = stream i); the first `templates.len()` are
    /// senders. `t0` is the clock every stamp counts from.
    pub fn new(
        wire: Wire,
        streams: Vec<TcpStream>,
        templates: Vec<Template>,
        t0: Instant,
    ) -> Result<Load, String> {
        let poller = Poller::new().map_err(|e| format!("epoll: {e}"))?;
        let n = streams.len();
        let mut conns = Vec::with_capacity(n);
        for (i, stream) in streams.into_iter().enumerate() {
            stream
                .set_nonblocking(true)
                .map_err(|e| format!("non-blocking: {e}"))?;
            stream
                .set_nodelay(true)
                .map_err(|e| format!("TCP_NODELAY: {e}"))?;
            // SAFETY (polling's contract): every registered stream is deleted from the
            // poller before it is dropped — `Drop for Load` deletes them all, and streams
            // are never removed from `conns` otherwise.
            unsafe { poller.add_with_mode(&stream, Event::readable(i), PollMode::Level) }
                .map_err(|e| format!("epoll add: {e}"))?;
            conns.push(Conn {
                stream,
                inbuf: vec![0; READ_BYTES],
                in_len: 0,
                out: Vec::with_capacity(if i < templates.len() { 256 * 1024 } else { 0 }),
                out_pos: 0,
                write_armed: false,
                scan: MsrpScan::default(),
            });
        }
        let s = templates.len();
        let senders = templates
            .into_iter()
            .map(|template| Sender {
                template,
                next_seq: 0,
                sent_run: 0,
                sent_measured: 0,
                due_ns: 0,
            })
            .collect();
        Ok(Load {
            wire,
            poller,
            events: Events::new(),
            conns,
            senders,
            tally: Tally::new(n, s),
            t0,
        })
    }

    /// One measured run against the server `server` (for its CPU and memory).
    pub fn run(&mut self, spec: &RunSpec, server: &mut ServerProc) -> Result<RunResult, String> {
        let n = self.conns.len() as u64;
        let s_count = self.senders.len() as u64;
        let start = ns_since(self.t0);
        let interval_ns = match spec.mode {
            Mode::Rate { per_s } => {
                (s_count * n.saturating_sub(1)).saturating_mul(1_000_000_000) / per_s.max(1)
            }
            Mode::Saturate { .. } => 0,
        };
        let t = &mut self.tally;
        t.delivered_run.iter_mut().for_each(|d| *d = 0);
        t.hist.clear();
        t.measured = 0;
        t.own = 0;
        t.reordered = 0;
        t.last_delivery_ns = start;
        t.last_measured_ns = 0;
        for (i, s) in self.senders.iter_mut().enumerate() {
            t.run_first[i] = s.next_seq;
            t.measured_first[i] = u64::MAX;
            s.sent_run = 0;
            s.sent_measured = 0;
            s.due_ns = start + interval_ns * i as u64 / s_count.max(1);
        }
        let warm_end = start + spec.warmup.as_nanos() as u64;
        let send_end = warm_end + spec.seconds.as_nanos() as u64;
        // A slow fixed rate must not look like a stall between two sends.
        let stall_ns = (spec.stall.as_nanos() as u64).max(interval_ns.saturating_mul(2));
        let mut measuring = false;
        let mut sending = true;
        let mut measure_start = start;
        let mut drain_deadline = u64::MAX;
        let mut cpu0 = (cpu_ns(server.pid()), own_cpu_ns());
        let mut stalled = false;
        loop {
            let now = ns_since(self.t0);
            if !measuring && now >= warm_end {
                measuring = true;
                measure_start = now;
                cpu0 = (cpu_ns(server.pid()), own_cpu_ns());
                for (i, s) in self.senders.iter().enumerate() {
                    self.tally.measured_first[i] = s.next_seq;
                }
            }
            let counted_out = spec.messages > 0
                && self
                    .senders
                    .iter()
                    .all(|s| s.sent_measured >= spec.messages);
            if sending && measuring && (now >= send_end || counted_out) {
                sending = false;
                drain_deadline = now + spec.drain.as_nanos() as u64;
            }
            let expected: u64 = self.senders.iter().map(|s| s.sent_measured).sum::<u64>() * (n - 1);
            if !sending && (self.tally.measured >= expected || now >= drain_deadline) {
                break;
            }
            if now.saturating_sub(self.tally.last_delivery_ns) > stall_ns {
                stalled = true;
                break;
            }
            let mut wait = MAX_WAIT;
            if sending {
                for i in 0..self.senders.len() {
                    let queued = self.queue(i, spec, now, measuring, interval_ns);
                    if queued > 0 {
                        flush(&mut self.conns[i], &self.poller, i)?;
                    }
                    if let Mode::Rate { .. } = spec.mode {
                        let due = self.senders[i].due_ns.saturating_sub(now);
                        wait = wait.min(Duration::from_nanos(due));
                    }
                }
                let boundary = if measuring { send_end } else { warm_end };
                wait = wait.min(Duration::from_nanos(boundary.saturating_sub(now)));
            }
            self.events.clear();
            self.poller
                .wait(&mut self.events, Some(wait))
                .map_err(|e| format!("epoll wait: {e}"))?;
            for ev in self.events.iter() {
                let Some(conn) = self.conns.get_mut(ev.key) else {
                    continue;
                };
                if ev.readable {
                    receive(conn, ev.key, self.wire, &mut self.tally, self.t0)?;
                }
                if ev.writable {
                    flush(conn, &self.poller, ev.key)?;
                }
            }
        }
        let end = ns_since(self.t0);
        let cpu1 = (cpu_ns(server.pid()), own_cpu_ns());
        server.check_alive()?;
        let t = &self.tally;
        let sent: u64 = self.senders.iter().map(|s| s.sent_measured).sum();
        let window_ns = t.last_measured_ns.max(measure_start + 1) - measure_start;
        let (peak, rss) = rss_kb(Some(server.pid()));
        let per_d = |ns: u64| {
            if t.measured > 0 {
                ns as f64 / 1000.0 / t.measured as f64
            } else {
                0.0
            }
        };
        Ok(RunResult {
            sent,
            deliveries: t.measured,
            own_copies: t.own,
            per_s: t.measured as f64 * 1e9 / window_ns as f64,
            p50_us: t.hist.percentile_us(50.0),
            p99_us: t.hist.percentile_us(99.0),
            max_us: t.hist.max_us(),
            lost: (sent * (n - 1)).saturating_sub(t.measured),
            reordered: t.reordered,
            stalled,
            cpu_us_per_delivery: per_d(cpu1.0.saturating_sub(cpu0.0)),
            peak_rss_kb: peak,
            rss_kb: rss,
            bench_cpu_s: cpu1.1.saturating_sub(cpu0.1) as f64 / 1e9,
            seconds: end.saturating_sub(measure_start) as f64 / 1e9,
        })
    }

    /// Queues what sender `i` may send now; returns how many.
    fn queue(
        &mut self,
        i: usize,
        spec: &RunSpec,
        now: u64,
        measuring: bool,
        interval_ns: u64,
    ) -> u64 {
        let min = self.tally.min_delivered(i);
        let s = &mut self.senders[i];
        let conn = &mut self.conns[i];
        if conn.out.len() - conn.out_pos > OUT_CAP {
            return 0;
        }
        let mut allowed = match spec.mode {
            Mode::Saturate { window } => window.saturating_sub(s.sent_run.saturating_sub(min)),
            Mode::Rate { .. } => {
                let mut k = 0;
                while s.due_ns <= now && k < MAX_BURST {
                    s.due_ns += interval_ns.max(1);
                    k += 1;
                }
                k
            }
        };
        if measuring && spec.messages > 0 {
            allowed = allowed.min(spec.messages.saturating_sub(s.sent_measured));
        }
        for _ in 0..allowed {
            s.template.append_to(&mut conn.out, s.next_seq, now);
            s.next_seq += 1;
            s.sent_run += 1;
            if measuring {
                s.sent_measured += 1;
            }
        }
        allowed
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for c in &self.conns {
            let _ = self.poller.delete(&c.stream);
        }
    }
}

/// One write of what `conn` has queued; arms or disarms writability interest.
fn flush(conn: &mut Conn, poller: &Poller, key: usize) -> Result<(), String> {
    if conn.out_pos < conn.out.len() {
        match conn.stream.write(&conn.out[conn.out_pos..]) {
            Ok(0) => return Err(format!("connection {key}: write returned 0")),
            Ok(k) => conn.out_pos += k,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => return Err(format!("connection {key}: write: {e}")),
        }
    }
    let pending = conn.out_pos < conn.out.len();
    if !pending {
        conn.out.clear();
        conn.out_pos = 0;
    } else if conn.out_pos > OUT_CAP {
        conn.out.drain(..conn.out_pos);
        conn.out_pos = 0;
    }
    if pending != conn.write_armed {
        let interest = if pending {
            Event::all(key)
        } else {
            Event::readable(key)
        };
        poller
            .modify_with_mode(&conn.stream, interest, PollMode::Level)
            .map_err(|e| format!("epoll modify: {e}"))?;
        conn.write_armed = pending;
    }
    Ok(())
}

/// One read on participant `r`'s connection; every whole message in the buffer is framed
/// and tallied.
fn receive(
    conn: &mut Conn,
    r: usize,
    wire: Wire,
    tally: &mut Tally,
    t0: Instant,
) -> Result<(), String> {
    let got = match conn.stream.read(&mut conn.inbuf[conn.in_len..]) {
        Ok(0) => return Err(format!("the server closed participant {r}'s connection")),
        Ok(k) => k,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
            return Ok(())
        }
        Err(e) => return Err(format!("participant {r}: read: {e}")),
    };
    conn.in_len += got;
    let now = ns_since(t0);
    let buf = &conn.inbuf[..conn.in_len];
    // Every wire hands the same payload (fields first) to the same tally.
    let mut record = |payload: &[u8]| {
        if let Some(st) = parse_fields(payload) {
            tally.record(r, st, now);
        }
    };
    let used = match wire {
        Wire::Msrp => conn
            .scan
            .scan(buf, |head| {
                if let Some(payload) = cpim_content(head) {
                    record(payload);
                }
            })
            .map_err(|e| format!("participant {r}: not the MSRP expected ({e:?})"))?,
        Wire::Relay => {
            split_frames(buf, &mut record).map_err(|e| format!("participant {r}: {e}"))?
        }
        Wire::Mqtt => split_publishes(buf, &mut record)
            .map_err(|e| format!("participant {r}: not the MQTT expected: {e}"))?,
    };
    if used == 0 && conn.in_len == conn.inbuf.len() {
        return Err(format!(
            "participant {r}: a message larger than {READ_BYTES} bytes"
        ));
    }
    conn.inbuf.copy_within(used..conn.in_len, 0);
    conn.in_len -= used;
    Ok(())
}
