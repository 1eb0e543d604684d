//! The sans-IO core (focus + switch behind `Engine`) driven by a byte program: SIP datagrams
//! and TCP bytes, MSRP connections opened / fed / drained / closed, time advanced with
//! `handle_timeout`. Templates (join, ACK, BYE, bind, SEND, NICKNAME) get the fuzzer past
//! the random session-ids; raw operations may name live values through placeholders
//! (`%S0` switch path of participant 0, `%P0` its own path, `%T0` the focus's To-tag,
//! `%C0` its Call-ID, `%U0` its URI) so mutated messages still reach bound sessions.
//!
//! Checked after every operation: no panic; reserved memory ≤ `memory_cap`; connections and
//! participants within their limits; every SIP message the focus sends parses; every byte
//! the switch writes to a connection frames as MSRP without error; and no byte of a copy's
//! CPIM and MIME header blocks, once forwarded, is ever forwarded again changed (issue 15:
//! the SEND template can restart a message at byte 1 with another participant's From).

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ffi::OsString;
use std::path::Path;

use parlor::config::Config;
use parlor::engine::{Engine, Output};
use parlor::focus::{SipConnId, SipTransport};
use parlor::rand::TestEntropy;
use parlor::switch::{MsrpConnId, SwitchStats};
use parlor::time::Instant;
use parlor::wire::msrp::{Event, Framer, Method};
use parlor::wire::sip::{self, emit_response, HeaderName, Response, SipLimits};

use super::Input;

/// Participants the templates know.
const WHO: usize = 4;
/// Connection slots of each kind the program can address.
const SLOTS: usize = 6;
/// Operations per input.
const MAX_OPS: usize = 200;
/// Bytes of one raw operation's payload.
const MAX_RAW: usize = 4096;

const SIP_LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 5060);
const MSRP_LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 2855);

fn ip_of(who: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 101 + who as u8)
}

fn sip_addr(who: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip_of(who)), 5060)
}

fn msrp_port(who: usize) -> u16 {
    7000 + who as u16
}

/// What the program knows about one participant.
#[derive(Default)]
struct Peer {
    generation: u32,
    cseq: u32,
    call_id: String,
    to_tag: Option<String>,
    switch_path: Option<String>,
    /// The last request the focus sent this participant (to answer it).
    last_request: Option<Vec<u8>>,
    /// Next Byte-Range start of the message being chunked, and its Message-ID number.
    chunk_next: u64,
    message: u32,
    tid: u32,
}

impl Peer {
    fn uri(who: usize) -> String {
        format!("sip:user{who}@fuzz.example")
    }

    fn path(&self, who: usize) -> String {
        format!(
            "msrp://{}:{}/peer{who}s{};tcp",
            ip_of(who),
            msrp_port(who),
            self.generation
        )
    }
}

/// One MSRP connection the program holds: the switch's id and a framer over what the switch
/// wrote to it.
struct MsrpSlot {
    id: MsrpConnId,
    out: Framer,
    copies: Copies,
    /// Bytes "in the socket" the switch has not taken yet (its input paused, issue 15):
    /// handed in again on `MsrpResume`, as the shell does.
    unread: Vec<u8>,
}

/// Bytes at the start of every message copy a connection received, by Message-ID: what
/// the header-integrity check compares later chunks with.
#[derive(Default)]
struct Copies {
    /// The SEND being framed: its Message-ID and the offset of its next body byte.
    current: Option<(String, u64)>,
    /// Per Message-ID, the first `COPY_PREFIX` bytes seen (`None` = not seen yet).
    seen: Vec<(String, Vec<Option<u8>>)>,
}

/// Bytes of each copy's start that the header-integrity check keeps.
const COPY_PREFIX: usize = 2048;
/// Copies remembered per connection (the oldest are forgotten beyond this).
const COPIES_KEPT: usize = 32;

impl Copies {
    /// Records body bytes of the current SEND; panics if a byte inside the header blocks
    /// (CPIM headers, empty line, MIME headers, empty line) of a copy seen before changes.
    fn body(&mut self, bytes: &[u8]) {
        let Some((mid, at)) = self.current.as_mut() else {
            return;
        };
        let i = match self.seen.iter().position(|(m, _)| m == mid) {
            Some(i) => i,
            None => {
                if self.seen.len() >= COPIES_KEPT {
                    self.seen.remove(0);
                }
                self.seen.push((mid.clone(), vec![None; COPY_PREFIX]));
                self.seen.len() - 1
            }
        };
        let Some((_, prefix)) = self.seen.get_mut(i) else {
            return;
        };
        let headers_end = header_blocks_end(prefix);
        for &b in bytes {
            let offset = usize::try_from(*at).unwrap_or(usize::MAX);
            *at = at.saturating_add(1);
            let Some(slot) = offset.checked_sub(1).and_then(|k| prefix.get_mut(k)) else {
                continue;
            };
            if let Some(old) = *slot {
                assert!(
                    old == b || headers_end.is_none_or(|end| offset > end),
                    "byte {offset} of the checked headers of copy {mid} changed: {:?} -> {:?}",
                    old as char,
                    b as char
                );
            }
            *slot = Some(b);
        }
    }
}

/// Where the CPIM header block and the wrapped MIME header block end (1-based offset of
/// the last byte of the second empty line), if the prefix is known that far.
fn header_blocks_end(prefix: &[Option<u8>]) -> Option<usize> {
    let mut blank_lines = 0;
    let mut line_start = 0;
    for (i, b) in prefix.iter().enumerate() {
        let b = (*b)?;
        if b == b'\n' {
            let line = i - line_start;
            let empty = line == 0 || (line == 1 && prefix.get(i - 1) == Some(&Some(b'\r')));
            if empty {
                blank_lines += 1;
                if blank_lines == 2 {
                    return Some(i + 1);
                }
            }
            line_start = i + 1;
        }
    }
    None
}

struct World {
    engine: Engine,
    config: Config,
    now: Instant,
    peers: [Peer; WHO],
    sip_conns: Vec<SipConnId>,
    msrp: Vec<MsrpSlot>,
    /// Connections the switch asked to open (`Output::MsrpConnect`) not yet answered.
    connecting: Vec<MsrpConnId>,
}

fn config(tiny: bool) -> Config {
    let mut words = vec!["--allow-adhoc", "--room", "lobby"];
    if tiny {
        words.extend(["--profile", "tiny"]);
    }
    let args = words.into_iter().map(OsString::from).collect();
    let no_files = |_: &Path| -> Result<String, String> { Err("no files".into()) };
    match Config::from_args_with(args, &no_files) {
        Ok(c) => c,
        Err(e) => panic!("fuzz configuration refused: {e}"),
    }
}

impl World {
    fn new(tiny: bool, seed: u64) -> World {
        let config = config(tiny);
        let engine = Engine::new(
            &config,
            SIP_LOCAL,
            MSRP_LOCAL,
            Box::new(TestEntropy::new(seed)),
        );
        World {
            engine,
            config,
            now: Instant::ZERO,
            peers: Default::default(),
            sip_conns: Vec::new(),
            msrp: Vec::new(),
            connecting: Vec::new(),
        }
    }

    /// Replaces the `%X<n>` placeholders with what the program knows.
    fn substitute(&self, raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let (b, kind, n) = (raw[i], raw.get(i + 1), raw.get(i + 2));
            let who = n.and_then(|d| d.checked_sub(b'0')).map(usize::from);
            let value = match (b, kind, who) {
                (b'%', Some(k), Some(w)) if w < WHO => {
                    let p = &self.peers[w];
                    match k {
                        b'S' => p.switch_path.clone(),
                        b'P' => Some(p.path(w)),
                        b'T' => p.to_tag.clone(),
                        b'C' => Some(p.call_id.clone()),
                        b'U' => Some(Peer::uri(w)),
                        _ => None,
                    }
                }
                _ => None,
            };
            match value {
                Some(v) => {
                    out.extend_from_slice(v.as_bytes());
                    i += 3;
                }
                None => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    fn sip_request(&mut self, who: usize, method: &str, body: &str, variant: u8) -> Vec<u8> {
        let p = &mut self.peers[who];
        p.cseq += 1;
        let room = if variant & 0x08 == 0 {
            "lobby"
        } else {
            "room2"
        };
        let to = match (&p.to_tag, method) {
            (Some(tag), m) if m != "INVITE" || variant & 0x40 != 0 => {
                format!("<sip:{room}@localhost>;tag={tag}")
            }
            _ => format!("<sip:{room}@localhost>"),
        };
        let cseq = if method == "ACK" { p.cseq - 1 } else { p.cseq };
        let ctype = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/sdp\r\n".to_string()
        };
        format!(
            "{method} sip:{room}@localhost SIP/2.0\r\n\
             Via: SIP/2.0/UDP {ip}:5060;branch=z9hG4bK{who}x{seq}{method}\r\n\
             Max-Forwards: 70\r\n\
             From: <{uri}>;tag=ftag{who}\r\n\
             To: {to}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:user{who}@{ip}:5060>\r\n\
             {ctype}Content-Length: {len}\r\n\r\n{body}",
            ip = ip_of(who),
            uri = Peer::uri(who),
            seq = p.cseq,
            cid = p.call_id,
            len = body.len(),
        )
        .into_bytes()
    }

    fn invite(&mut self, who: usize, variant: u8) {
        let reinvite = variant & 0x40 != 0 && self.peers[who].to_tag.is_some();
        if !reinvite {
            let p = &mut self.peers[who];
            p.generation += 1;
            p.call_id = format!("call{who}g{}@fuzz", p.generation);
            p.to_tag = None;
            p.switch_path = None;
            p.chunk_next = 0;
        }
        let setup = ["actpass", "active", "passive", "holdconn"][usize::from(variant & 3)];
        let direction = ["", "a=sendonly\r\n", "a=recvonly\r\n", "a=inactive\r\n"]
            [usize::from((variant >> 4) & 3)];
        let chatroom = if variant & 0x04 == 0 {
            "a=chatroom:nickname private-messages\r\n"
        } else {
            ""
        };
        let ip = ip_of(who);
        let sdp = format!(
            "v=0\r\no=user{who} 1 {g} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=message {port} TCP/MSRP *\r\na=accept-types:message/cpim\r\n\
             a=accept-wrapped-types:text/plain *\r\na=path:{path}\r\na=setup:{setup}\r\n\
             {chatroom}{direction}",
            g = self.peers[who].cseq,
            port = msrp_port(who),
            path = self.peers[who].path(who),
        );
        let bytes = self.sip_request(who, "INVITE", &sdp, variant);
        self.engine.sip_datagram(self.now, sip_addr(who), &bytes);
    }

    fn in_dialog(&mut self, who: usize, method: &str) {
        let bytes = self.sip_request(who, method, "", 0);
        self.engine.sip_datagram(self.now, sip_addr(who), &bytes);
    }

    /// Answers the last request the focus sent `who` (a BYE or NOTIFY) with `code`.
    fn reply(&mut self, who: usize, code: u16) {
        let Some(req) = self.peers[who].last_request.take() else {
            return;
        };
        let limits = roomy(&self.config);
        let Ok(m) = sip::parse(&req, &limits) else {
            return;
        };
        let out = emit_response(
            &m.headers,
            None,
            &Response {
                code,
                reason: "Whatever",
                to_tag: Some("peer"),
                headers: &[],
                body: b"",
            },
        );
        self.engine.sip_datagram(self.now, sip_addr(who), &out);
    }

    fn msrp_send(&mut self, slot: usize, who: usize, flags: u8, text: &[u8]) {
        let Some(id) = self.msrp.get(slot).map(|s| s.id) else {
            return;
        };
        let p = &mut self.peers[who];
        let to_path = p.switch_path.clone().unwrap_or_default();
        let from_path = p.path(who);
        p.tid += 1;
        let tid = format!("t{who}x{}", p.tid);
        let flag = ['$', '+', '#', '$'][usize::from(flags & 3)];
        let continuing = flags & 0x08 != 0 && p.chunk_next > 0;
        // Bit 6 with a message under way: start it again at byte 1 with another
        // participant's From (the issue 15 spoofing attempt; the switch must refuse it).
        let restart = continuing && flags & 0x40 != 0;
        if !continuing {
            p.message += 1;
        }
        if !continuing || restart {
            p.chunk_next = 1;
        }
        let mut body = Vec::new();
        if !continuing || restart {
            let to = if flags & 0x04 == 0 {
                "<sip:lobby@localhost>".to_string()
            } else {
                format!("<{}>", Peer::uri(usize::from(flags >> 4) % WHO))
            };
            let from = if restart { (who + 1) % WHO } else { who };
            body.extend_from_slice(
                format!(
                    "From: <{}>\r\nTo: {to}\r\n\r\nContent-Type: text/plain\r\n\r\n",
                    Peer::uri(from)
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(text);
        let start = p.chunk_next;
        let end = start + body.len() as u64 - 1;
        let total = if flag == '$' {
            end.to_string()
        } else {
            "*".to_string()
        };
        p.chunk_next = if flag == '+' { end + 1 } else { 0 };
        let mut msg = format!(
            "MSRP {tid} SEND\r\nTo-Path: {to_path}\r\nFrom-Path: {from_path}\r\n\
             Message-ID: m{who}x{}\r\nByte-Range: {start}-{end}/{total}\r\n",
            p.message
        )
        .into_bytes();
        if flags & 0x80 != 0 {
            msg.extend_from_slice(b"Success-Report: yes\r\n");
        }
        msg.extend_from_slice(b"Content-Type: message/cpim\r\n\r\n");
        msg.extend_from_slice(&body);
        msg.extend_from_slice(format!("\r\n-------{tid}{flag}\r\n").as_bytes());
        // Cut in two at a point the flags choose, to exercise partial input.
        let cut = (usize::from(flags).wrapping_mul(37)) % (msg.len() + 1);
        let (a, b) = msg.split_at(cut);
        self.msrp_feed(id, a);
        self.msrp_feed(id, b);
    }

    /// Hands `bytes` to the engine behind whatever the connection has not taken yet; keeps
    /// what it does not take (paused input) until `MsrpResume`.
    fn msrp_feed(&mut self, id: MsrpConnId, bytes: &[u8]) {
        let Some(s) = self.msrp.iter_mut().find(|s| s.id == id) else {
            return;
        };
        s.unread.extend_from_slice(bytes);
        let pending = core::mem::take(&mut s.unread);
        let taken = self.engine.msrp_input(self.now, id, &pending);
        assert!(taken <= pending.len(), "took more than it was given");
        if let Some(s) = self.msrp.iter_mut().find(|s| s.id == id) {
            s.unread = pending[taken..].to_vec();
        }
    }

    fn msrp_bind(&mut self, slot: usize, who: usize) {
        let Some(id) = self.msrp.get(slot).map(|s| s.id) else {
            return;
        };
        let p = &mut self.peers[who];
        p.tid += 1;
        let tid = format!("b{who}x{}", p.tid);
        let msg = format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: bind{who}x{}\r\n\
             Byte-Range: 1-0/0\r\n-------{tid}$\r\n",
            p.switch_path.clone().unwrap_or_default(),
            p.path(who),
            p.tid,
        );
        self.msrp_feed(id, msg.as_bytes());
    }

    fn msrp_nickname(&mut self, slot: usize, who: usize, nick: &[u8]) {
        let Some(id) = self.msrp.get(slot).map(|s| s.id) else {
            return;
        };
        let p = &mut self.peers[who];
        p.tid += 1;
        let tid = format!("n{who}x{}", p.tid);
        let mut msg = format!(
            "MSRP {tid} NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\nUse-Nickname: \"",
            p.switch_path.clone().unwrap_or_default(),
            p.path(who),
        )
        .into_bytes();
        msg.extend(nick.iter().copied().filter(|&b| b != b'\r' && b != b'\n'));
        msg.extend_from_slice(format!("\"\r\n-------{tid}$\r\n").as_bytes());
        self.msrp_feed(id, &msg);
    }

    /// Writes up to `budget` bytes of the switch's pending output on `slot`, checking that
    /// they frame.
    fn drain(&mut self, slot: usize, budget: usize) {
        let Some(s) = self.msrp.get_mut(slot) else {
            return;
        };
        let [a, b] = self.engine.msrp_out(s.id);
        let mut taken: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
        taken.truncate(budget);
        check_msrp_output(&mut s.out, &mut s.copies, &taken);
        let id = s.id;
        self.engine.msrp_consumed(self.now, id, taken.len());
    }

    fn close_msrp(&mut self, slot: usize) {
        if slot < self.msrp.len() {
            self.drain(slot, usize::MAX);
            let s = self.msrp.remove(slot);
            self.engine.msrp_closed(self.now, s.id);
        }
    }

    /// Handles every pending output; checks what the focus sent.
    fn outputs(&mut self) {
        let limits = roomy(&self.config);
        let mut closes = Vec::new();
        let mut resumed = Vec::new();
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::SipSend { to, bytes } => {
                    let m = match sip::parse(&bytes, &limits) {
                        Ok(m) => m,
                        Err(e) => panic!(
                            "the focus sent a message that does not parse ({:?}):\n{}",
                            e.error,
                            String::from_utf8_lossy(&bytes)
                        ),
                    };
                    let who = match to {
                        SipTransport::Udp(addr) => (0..WHO).find(|&w| sip_addr(w) == addr),
                        SipTransport::Tcp(_) => None,
                    };
                    let Some(who) = who else { continue };
                    if m.request().is_some() {
                        self.peers[who].last_request = Some(bytes.clone());
                        continue;
                    }
                    let invite_ok = m.status().is_some_and(|s| s.code == 200)
                        && m.headers
                            .cseq()
                            .is_ok_and(|c| c.method.as_str() == "INVITE")
                        && m.headers.call_id().ok() == Some(self.peers[who].call_id.as_str());
                    if invite_ok {
                        let tag = m.headers.to().ok().and_then(|t| t.tag()).map(str::to_owned);
                        let path = std::str::from_utf8(m.body).ok().and_then(|sdp| {
                            sdp.lines()
                                .find_map(|l| l.strip_prefix("a=path:"))
                                .map(|p| p.trim().to_owned())
                        });
                        let p = &mut self.peers[who];
                        p.to_tag = tag.or(p.to_tag.take());
                        p.switch_path = path.or(p.switch_path.take());
                    }
                    let _ = m.headers.get(HeaderName::Contact);
                }
                Output::SipClose(c) => closes.push(c),
                Output::MsrpWake(_) => {}
                Output::MsrpResume(c) => resumed.push(c),
                Output::MsrpClose(c) => {
                    if let Some(i) = self.msrp.iter().position(|s| s.id == c) {
                        self.close_msrp(i);
                    } else if let Some(i) = self.connecting.iter().position(|&x| x == c) {
                        self.connecting.remove(i);
                        self.engine.msrp_closed(self.now, c);
                    }
                }
                Output::MsrpConnect { conn, addr } => {
                    assert!(
                        (0..WHO)
                            .any(|w| SocketAddr::new(IpAddr::V4(ip_of(w)), msrp_port(w)) == addr),
                        "the switch dials an address nobody offered: {addr}"
                    );
                    self.connecting.push(conn);
                }
            }
        }
        for c in closes {
            if let Some(i) = self.sip_conns.iter().position(|&x| x == c) {
                self.sip_conns.remove(i);
                self.engine.sip_tcp_closed(self.now, c);
            }
        }
        // What the next call reports comes from these feeds too.
        for c in resumed {
            self.msrp_feed(c, &[]);
        }
    }

    fn check(&self) {
        let stats = self.engine.switch_stats();
        let l = &self.config.limits;
        assert!(
            stats.reserved_bytes <= l.memory_cap,
            "reserved {} > memory_cap {}",
            stats.reserved_bytes,
            l.memory_cap
        );
        assert!(stats.connections <= l.max_msrp_connections, "{stats:?}");
        assert!(stats.participants <= l.max_participants, "{stats:?}");
        // Issue 15: no source holds more than its share of the seats.
        assert!(
            stats.most_seats_from_one_source <= l.max_seats_per_source,
            "{stats:?}"
        );
        // ... nor more than its share of any other shared table: connections per source,
        // sessions per connection, in-flight messages per sender (the Message-ID table),
        // subscriptions and SIP TCP connections per source.
        assert!(
            stats.most_connections_from_one_source <= l.max_connections_per_source,
            "{stats:?}"
        );
        assert!(
            stats.most_sessions_on_one_connection <= l.max_sessions_per_connection,
            "{stats:?}"
        );
        assert!(
            stats.most_partials_of_one_sender <= l.max_partial_per_sender,
            "{stats:?}"
        );
        let shares = self.engine.focus_shares();
        assert!(
            shares.most_subscriptions_from_one_source <= l.max_subscriptions_per_source,
            "{shares:?}"
        );
        assert!(
            shares.most_tcp_from_one_source <= l.max_connections_per_source,
            "{shares:?}"
        );
    }

    fn step(&mut self, input: &mut Input<'_>) {
        let op = input.byte();
        let arg = input.byte();
        let who = usize::from(arg) % WHO;
        let slot = usize::from(arg >> 2) % SLOTS;
        match op % 20 {
            0 | 1 => {
                let variant = input.byte();
                self.invite(who, variant);
            }
            2 => self.in_dialog(who, "ACK"),
            3 => self.in_dialog(who, "BYE"),
            4 => {
                let code = [200, 481, 500, 408][usize::from(arg >> 6)];
                self.reply(who, code);
            }
            5 => {
                let len = usize::from(input.u16()) % MAX_RAW;
                let raw = self.substitute(input.take(len));
                self.engine.sip_datagram(self.now, sip_addr(who), &raw);
            }
            6 => {
                if self.sip_conns.len() < SLOTS {
                    if let Some(c) = self.engine.sip_tcp_opened(self.now, sip_addr(who)) {
                        self.sip_conns.push(c);
                    }
                }
            }
            7 => {
                let len = usize::from(input.u16()) % MAX_RAW;
                let raw = self.substitute(input.take(len));
                if let Some(&c) = self.sip_conns.get(slot % self.sip_conns.len().max(1)) {
                    self.engine.sip_tcp_input(self.now, c, &raw);
                }
            }
            8 => {
                if !self.sip_conns.is_empty() {
                    let c = self.sip_conns.remove(slot % self.sip_conns.len());
                    self.engine.sip_tcp_closed(self.now, c);
                }
            }
            9 => {
                let peer = SocketAddr::new(IpAddr::V4(ip_of(who)), 40000 + u16::from(arg));
                if self.msrp.len() < SLOTS {
                    if let Ok(id) = self.engine.msrp_opened(self.now, peer) {
                        let l = &self.config.limits;
                        let out = Framer::new(l.max_msrp_header_bytes * 4, l.max_headers * 4);
                        self.msrp.push(MsrpSlot {
                            id,
                            out,
                            copies: Copies::default(),
                            unread: Vec::new(),
                        });
                    }
                }
            }
            10 => self.msrp_bind(slot, who),
            11 | 12 => {
                let flags = input.byte();
                let len = usize::from(input.u16()) % MAX_RAW;
                let text = input.take(len);
                self.msrp_send(slot, who, flags, text);
            }
            13 => {
                let len = usize::from(input.byte());
                let nick = input.take(len);
                self.msrp_nickname(slot, who, nick);
            }
            14 => {
                let len = usize::from(input.u16()) % MAX_RAW;
                let raw = self.substitute(input.take(len));
                if let Some(s) = self.msrp.get(slot) {
                    let id = s.id;
                    self.msrp_feed(id, &raw);
                }
            }
            15 => self.close_msrp(slot),
            16 => {
                let budget = match input.u16() {
                    0 => usize::MAX,
                    n => usize::from(n),
                };
                self.drain(slot, budget);
            }
            17 => {
                // Answer a dial: connected (even arg) or failed.
                if !self.connecting.is_empty() {
                    let c = self
                        .connecting
                        .remove(usize::from(arg) % self.connecting.len());
                    if arg & 1 == 0 && self.msrp.len() < SLOTS {
                        let l = &self.config.limits;
                        let out = Framer::new(l.max_msrp_header_bytes * 4, l.max_headers * 4);
                        self.msrp.push(MsrpSlot {
                            id: c,
                            out,
                            copies: Copies::default(),
                            unread: Vec::new(),
                        });
                        self.engine.msrp_connected(self.now, c);
                    } else {
                        self.engine.msrp_closed(self.now, c);
                    }
                }
            }
            18 => {
                // Advance the clock: arg × 1 ms, × 100 ms or × 10 s.
                let scale = [1_000u64, 100_000, 10_000_000, 1_000][usize::from(input.byte() & 3)];
                self.now = self.now + core::time::Duration::from_micros(u64::from(arg) * scale);
                self.engine.handle_timeout(self.now);
            }
            _ => {
                if arg == 0xff {
                    self.engine.shutdown(self.now);
                } else if let Some(t) = self.engine.poll_timeout() {
                    // Jump to the next timer, as the shell does.
                    self.now = self.now.max(t);
                    self.engine.handle_timeout(self.now);
                }
            }
        }
    }
}

/// Limits for parsing what the focus sends: its own messages may be larger than what it
/// accepts (a NOTIFY with the roster), never malformed.
fn roomy(config: &Config) -> SipLimits {
    let l = SipLimits::from(&config.limits);
    SipLimits {
        max_headers: l.max_headers * 4,
        max_message_bytes: usize::MAX,
        max_uri_bytes: l.max_uri_bytes * 4,
    }
}

/// Feeds switch output to the framer kept for that connection; a framing error is a bug,
/// and so is a changed byte of a copy's checked headers (`Copies::body`).
fn check_msrp_output(framer: &mut Framer, copies: &mut Copies, bytes: &[u8]) {
    let mut rest = bytes;
    for _ in 0..=(4 * bytes.len() + 8) {
        match framer.push(rest) {
            Ok((n, None)) => {
                assert_eq!(n, rest.len());
                return;
            }
            Ok((n, Some(Event::Head(h)))) => {
                assert!(
                    h.byte_range().is_ok(),
                    "switch sent a bad Byte-Range: {h:?}"
                );
                copies.current = match (h.method(), h.headers.message_id, h.byte_range()) {
                    (Some(Method::Send), Some(mid), Ok(range)) => {
                        Some((mid.to_string(), range.map_or(1, |r| r.start)))
                    }
                    _ => None,
                };
                rest = rest.get(n..).unwrap_or_default();
            }
            Ok((n, Some(Event::Body(b)))) => {
                copies.body(b);
                rest = rest.get(n..).unwrap_or_default();
            }
            Ok((n, Some(Event::End(_)))) => {
                copies.current = None;
                rest = rest.get(n..).unwrap_or_default();
            }
            Err(e) => panic!(
                "the switch wrote bytes that do not frame ({e:?}):\n{}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }
    panic!("framer made no progress");
}

/// One fuzz input: byte 0 picks the profile (even = tiny, odd = router) and the entropy seed;
/// the rest is the operation program.
pub fn run(data: &[u8]) {
    let _ = run_with_stats(data);
}

/// [`run`], returning the switch counters seen after the program's last operation (before
/// the timers run out), so tests can check that a seed reaches what it is meant to.
pub fn run_with_stats(data: &[u8]) -> SwitchStats {
    let mut input = Input::new(data);
    let head = input.byte();
    let mut world = World::new(head & 1 == 0, u64::from(head >> 1));
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        world.step(&mut input);
        world.outputs();
        world.check();
    }
    let stats = world.engine.switch_stats();
    // Let every timer run out: nothing may panic.
    for _ in 0..64 {
        let Some(t) = world.engine.poll_timeout() else {
            break;
        };
        world.now = world.now.max(t);
        world.engine.handle_timeout(world.now);
        world.outputs();
        world.check();
    }
    stats
}
