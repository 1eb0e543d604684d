//! Drives the sans-IO [`Engine`] through a room's fan-out with no sockets (RFC 7701 §6.1,
//! RFC 4975 §7.1): N participants join over SIP (INVITE with an SDP offer, 200 with the
//! answer, ACK) and bind their MSRP sessions, then S of them send Message/CPIM SENDs that
//! the switch copies to everyone else; every connection's output is drained the way the
//! shell does (`msrp_out` then `msrp_consumed` until empty). Shared by the `fanout_core`
//! bench and the allocation-count test (`#[path]`-included by both).
//!
//! After warm-up the send loop allocates nothing itself: the SEND bytes are built once per
//! sender and only fixed-width counters are patched in place; output is counted where it
//! lies in the switch's rings.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ffi::OsString;
use std::path::Path;

use parlor::config::Config;
use parlor::engine::{Engine, Output};
use parlor::focus::SipTransport;
use parlor::rand::Entropy;
use parlor::switch::MsrpConnId;
use parlor::time::Instant;

const SIP_LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060);
const MSRP_LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2855);
/// The switch's outbound chunk size (RFC 4975 §7.1.1 re-chunking, src/switch/fanout.rs).
const OUTBOUND_CHUNK_BYTES: u64 = 2048;
/// Digits of the per-sender message counter patched into tid and Message-ID.
const COUNTER_DIGITS: usize = 8;

/// The room's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Participants in the room.
    pub participants: usize,
    /// How many of them send (round-robin).
    pub senders: usize,
    /// Bytes of each text/plain payload (inside the CPIM wrapper).
    pub body_bytes: usize,
}

/// What one send phase produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages sent.
    pub sent: u64,
    /// `$` end-lines read from all connections (copies and the senders' 200s).
    pub end_lines: u64,
    /// Bytes drained from all connections.
    pub bytes_out: u64,
}

/// One participant as the driver sees it.
struct Member {
    conn: MsrpConnId,
    /// The SEND this member sends, with counters at `counter_at`.
    send: Vec<u8>,
    counter_at: [usize; 3],
    /// Outbound chunks per copy of its message (complete chunks of at most 2048 octets).
    chunks: u64,
    next: u64,
    /// `$` end-lines read from its connection since the last reset.
    end_lines: u64,
}

/// A room of joined, bound participants inside one engine.
pub struct Room {
    engine: Engine,
    now: Instant,
    shape: Shape,
    members: Vec<Member>,
    /// Connection id → member index.
    by_conn: Vec<Option<usize>>,
    next_sender: usize,
    totals: Totals,
}

fn config() -> Config {
    // The send-rate buckets (issue 15) are lifted: this measures the fan-out, and its
    // clock does not advance while a round is sent.
    let args = [
        "--room",
        "lobby",
        "--profile",
        "router",
        "--limit",
        "send_rate_bytes_per_s=1000000000000",
        "--limit",
        "send_burst_bytes=1000000000000",
        "--limit",
        "send_rate_messages_per_s=1000000000000",
        "--limit",
        "send_burst_messages=1000000000000",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    let no_files = |_: &Path| -> Result<String, String> { Err("no files".into()) };
    match Config::from_args_with(args, &no_files) {
        Ok(c) => c,
        Err(e) => panic!("bench configuration refused: {e}"),
    }
}

fn sip_addr(who: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 20000 + who as u16)
}

fn uri(who: usize) -> String {
    format!("sip:user{who}@bench.example")
}

fn peer_path(who: usize) -> String {
    format!("msrp://127.0.0.1:{}/peer{who};tcp", 30000 + who)
}

fn invite(who: usize, cseq: u32, method: &str, to_tag: Option<&str>, body: &str) -> Vec<u8> {
    let to = match to_tag {
        Some(t) => format!("<sip:lobby@localhost>;tag={t}"),
        None => "<sip:lobby@localhost>".to_string(),
    };
    let ctype = match body.is_empty() {
        true => "",
        false => "Content-Type: application/sdp\r\n",
    };
    format!(
        "{method} sip:lobby@localhost SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbench{who}x{cseq}{method}\r\n\
         Max-Forwards: 70\r\n\
         From: <{uri}>;tag=f{who}\r\n\
         To: {to}\r\n\
         Call-ID: bench{who}@127.0.0.1\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:user{who}@127.0.0.1:{port}>\r\n\
         {ctype}Content-Length: {len}\r\n\r\n{body}",
        port = sip_addr(who).port(),
        uri = uri(who),
        len = body.len(),
    )
    .into_bytes()
}

fn offer(who: usize) -> String {
    format!(
        "v=0\r\no=user{who} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message {port} TCP/MSRP *\r\na=accept-types:message/cpim\r\n\
         a=accept-wrapped-types:text/plain *\r\na=path:{path}\r\na=setup:active\r\n\
         a=chatroom:nickname private-messages\r\n",
        port = 30000 + who,
        path = peer_path(who),
    )
}

/// The To tag and SDP `a=path` of a 200 to an INVITE.
fn answer_of(bytes: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.starts_with("SIP/2.0 200") {
        return None;
    }
    let to = text.lines().find(|l| l.starts_with("To:"))?;
    let tag = to.split(";tag=").nth(1)?.trim().to_string();
    let path = text.lines().find_map(|l| l.strip_prefix("a=path:"))?;
    Some((tag, path.trim().to_string()))
}

/// The member's SEND: a complete single-chunk Message/CPIM request whose tid and Message-ID
/// carry a fixed-width counter (positions returned).
fn build_send(who: usize, switch_path: &str, body_bytes: usize) -> (Vec<u8>, [usize; 3], u64) {
    let payload: Vec<u8> = (0..body_bytes).map(|i| b'a' + (i % 26) as u8).collect();
    let mut cpim = format!(
        "From: <{}>\r\nTo: <sip:lobby@localhost>\r\n\r\nContent-Type: text/plain\r\n\r\n",
        uri(who)
    )
    .into_bytes();
    cpim.extend_from_slice(&payload);
    let zeros = "0".repeat(COUNTER_DIGITS);
    let tid = format!("s{who}x{zeros}");
    let mid = format!("m{who}x{zeros}");
    let mut msg = format!(
        "MSRP {tid} SEND\r\nTo-Path: {switch_path}\r\nFrom-Path: {}\r\nMessage-ID: {mid}\r\n\
         Byte-Range: 1-{len}/{len}\r\nContent-Type: message/cpim\r\n\r\n",
        peer_path(who),
        len = cpim.len(),
    )
    .into_bytes();
    let tid_at = 5 + tid.len() - COUNTER_DIGITS;
    let mid_at = find(&msg, b"Message-ID: ").map_or(0, |p| p + 12 + mid.len() - COUNTER_DIGITS);
    msg.extend_from_slice(&cpim);
    msg.extend_from_slice(b"\r\n-------");
    let end_at = msg.len() + tid.len() - COUNTER_DIGITS;
    msg.extend_from_slice(tid.as_bytes());
    msg.extend_from_slice(b"$\r\n");
    let chunks = (cpim.len() as u64).div_ceil(OUTBOUND_CHUNK_BYTES);
    (msg, [tid_at, mid_at, end_at], chunks)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `$` end-lines in `bytes`: the payload, paths, URIs and ids never contain `$`, so every
/// `$` is the flag of an end-line (`-------<tid>$`). Counted in blocks of 255 with a byte
/// accumulator so the loop vectorises; a separate symbol so profiles can subtract it.
#[inline(never)]
fn count_end_lines(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|block| {
            let n = block
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'$')));
            u64::from(n)
        })
        .sum()
}

impl Room {
    /// Joins `shape.participants` members and binds their sessions; panics if any step
    /// fails (a broken engine must not produce figures).
    pub fn new(shape: Shape, entropy: Box<dyn Entropy>) -> Room {
        assert!(shape.senders >= 1 && shape.senders <= shape.participants);
        let config = config();
        let engine = Engine::new(&config, SIP_LOCAL, MSRP_LOCAL, entropy);
        let mut room = Room {
            engine,
            now: Instant::from_micros(1_000_000),
            shape,
            members: Vec::with_capacity(shape.participants),
            by_conn: Vec::new(),
            next_sender: 0,
            totals: Totals::default(),
        };
        for who in 0..shape.participants {
            room.join(who);
        }
        room.drain_all();
        room.reset_counts();
        room
    }

    fn join(&mut self, who: usize) {
        let now = self.now;
        let inv = invite(who, 1, "INVITE", None, &offer(who));
        self.engine.sip_datagram(now, sip_addr(who), &inv);
        let mut answer = None;
        while let Some(out) = self.engine.poll_output() {
            if let Output::SipSend {
                to: SipTransport::Udp(a),
                bytes,
            } = out
            {
                if a == sip_addr(who) {
                    answer = answer.or(answer_of(&bytes));
                }
            }
        }
        let Some((tag, switch_path)) = answer else {
            panic!("participant {who}: no 200 with an SDP answer");
        };
        let ack = invite(who, 1, "ACK", Some(&tag), "");
        self.engine.sip_datagram(now, sip_addr(who), &ack);
        while self.engine.poll_output().is_some() {}
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000 + who as u16);
        let Ok(conn) = self.engine.msrp_opened(now, peer) else {
            panic!("participant {who}: MSRP connection refused");
        };
        let bind = format!(
            "MSRP bind{who} SEND\r\nTo-Path: {switch_path}\r\nFrom-Path: {}\r\n\
             Message-ID: bind{who}\r\nByte-Range: 1-0/0\r\n-------bind{who}$\r\n",
            peer_path(who)
        );
        let (send, counter_at, chunks) = build_send(who, &switch_path, self.shape.body_bytes);
        if self.by_conn.len() <= conn.0 {
            self.by_conn.resize(conn.0 + 1, None);
        }
        self.by_conn[conn.0] = Some(self.members.len());
        self.members.push(Member {
            conn,
            send,
            counter_at,
            chunks,
            next: 0,
            end_lines: 0,
        });
        let taken = self.engine.msrp_input(now, conn, bind.as_bytes());
        assert_eq!(taken, bind.len(), "participant {who}: bind not taken");
        self.drain_all();
        let m = &self.members[self.members.len() - 1];
        assert_eq!(m.end_lines, 1, "participant {who}: bind SEND not answered");
    }

    fn reset_counts(&mut self) {
        for m in &mut self.members {
            m.end_lines = 0;
        }
        self.totals = Totals::default();
    }

    /// Handles every pending output: each woken connection is drained completely.
    fn drain_all(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::MsrpWake(c) => self.drain(c),
                Output::MsrpClose(c) => panic!("switch closed MSRP connection {c:?}"),
                _ => {}
            }
        }
    }

    fn drain(&mut self, conn: MsrpConnId) {
        let Some(i) = self.by_conn.get(conn.0).copied().flatten() else {
            return;
        };
        loop {
            let [a, b] = self.engine.msrp_out(conn);
            let n = a.len() + b.len();
            if n == 0 {
                return;
            }
            let ends = count_end_lines(a) + count_end_lines(b);
            self.members[i].end_lines += ends;
            self.totals.end_lines += ends;
            self.totals.bytes_out += n as u64;
            self.engine.msrp_consumed(self.now, conn, n);
        }
    }

    /// Sends `count` messages, senders in turn, draining after each round of `batch`
    /// messages (every sender has at most `batch / senders + 1` messages in flight).
    #[inline(never)]
    pub fn send_messages(&mut self, count: u64, batch: u64) -> Totals {
        let before = self.totals;
        let batch = batch.max(1);
        for k in 0..count {
            let who = self.next_sender;
            self.next_sender = (self.next_sender + 1) % self.shape.senders;
            let m = &mut self.members[who];
            m.next += 1;
            let mut n = m.next;
            let mut digits = [b'0'; COUNTER_DIGITS];
            for d in digits.iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
            for at in m.counter_at {
                m.send[at..at + COUNTER_DIGITS].copy_from_slice(&digits);
            }
            let conn = m.conn;
            let taken = self.engine.msrp_input(self.now, conn, &m.send);
            // The driver drains every connection between batches: the control rings never
            // fill, so input never pauses.
            assert_eq!(taken, m.send.len(), "input paused");
            self.totals.sent += 1;
            if (k + 1) % batch == 0 {
                self.drain_all();
            }
        }
        self.drain_all();
        Totals {
            sent: self.totals.sent - before.sent,
            end_lines: self.totals.end_lines - before.end_lines,
            bytes_out: self.totals.bytes_out - before.bytes_out,
        }
    }

    /// Checks that every member read every message since the last reset: a copy of each
    /// message of the others and a 200 for each of its own (every one a `$` end-line), and
    /// that the switch counted exactly those copies (one per outbound chunk) with none lost.
    pub fn verify(&self) -> Result<(), String> {
        let sent: u64 = self.members.iter().map(|m| m.next).sum();
        for (who, m) in self.members.iter().enumerate() {
            if m.end_lines != sent {
                return Err(format!(
                    "participant {who} read {} end-lines, expected {sent}",
                    m.end_lines
                ));
            }
        }
        let stats = self.engine.switch_stats();
        let chunks: u64 = self.members.iter().map(|m| m.next * m.chunks).sum();
        let copies = chunks * (self.members.len() as u64 - 1);
        if stats.delivered_copies != copies || stats.dropped_copies != 0 {
            return Err(format!(
                "switch delivered {} copies and dropped {}, expected {copies} and 0",
                stats.delivered_copies, stats.dropped_copies
            ));
        }
        Ok(())
    }

    /// Copies each message makes (every member but the sender).
    pub fn fan_out(&self) -> u64 {
        self.members.len() as u64 - 1
    }
}
