//! Property tests of the codecs and of the switch's forwarding path (issue 5, "Bad input"):
//! emit(parse(x)) round-trips for SIP (RFC 3261 §7), the SDP answer (RFC 4566, RFC 4975 §8),
//! MSRP (RFC 4975 §7.1), Message/CPIM (RFC 3862) and the Use-Nickname quoted string
//! (RFC 7701 §7.1); a chunked MSRP message cut anywhere reassembles byte-identical through
//! the framer (RFC 4975 §5.1, §7.1); and a SEND fed to the switch in random pieces reaches
//! the other participant byte-identical (RFC 7701 §6). Inputs come from a small seeded
//! xorshift generator, so every run checks the same cases; iterations are bounded.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ffi::OsString;
use std::path::Path;

use parlor::config::Config;
use parlor::engine::{Engine, Output};
use parlor::focus::SipTransport;
use parlor::rand::TestEntropy;
use parlor::switch::MsrpConnId;
use parlor::time::Instant;
use parlor::wire::cpim::{self, Parsed};
use parlor::wire::msrp::{
    emit_request, emit_response, ByteRange, Event, Flag, Framer, Head, Request, Response,
    StartLine, StatusHeader,
};
use parlor::wire::nickname::{parse_use_nickname, quote_nickname, Requested};
use parlor::wire::sdp::{Answer, Chatroom, Direction, MsrpProto, SessionDescription, Setup};
use parlor::wire::sip::{
    self, emit_request as sip_emit_request, emit_response as sip_emit_response, HeaderName,
    OutgoingRequest, Response as SipResponse, SipLimits, ViaReceived,
};

// ---------------------------------------------------------------- deterministic inputs

/// xorshift64*: small, seeded, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    /// 1..=max characters from `alphabet`.
    fn word(&mut self, alphabet: &[u8], max: usize) -> String {
        let len = 1 + self.below(max);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }

    fn token(&mut self, max: usize) -> String {
        self.word(ALNUM, max)
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Sorted distinct cut points inside `0..=len`.
    fn cuts(&mut self, len: usize, max_cuts: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..self.below(max_cuts + 1))
            .map(|_| self.below(len + 1))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TEXT: &[u8] = b"abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;:!?'\"\\()-_/";

fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        out.push(&bytes[at..c]);
        at = c;
    }
    out.push(&bytes[at..]);
    out
}

/// A body that cannot contain an end-line (`-------` never appears in it).
fn body_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    let mut b = rng.bytes(max);
    for x in b.iter_mut() {
        if *x == b'-' {
            *x = b'_';
        }
    }
    b
}

// ---------------------------------------------------------------- MSRP framing helpers

/// What the framer reported for one message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Framed {
    tid: String,
    start: String,
    to_path: Option<String>,
    from_path: Option<String>,
    message_id: Option<String>,
    byte_range: Option<ByteRange>,
    content_type: Option<String>,
    success_report: Option<String>,
    failure_report: Option<String>,
    status: Option<String>,
    use_nickname: Option<String>,
    body: Option<Vec<u8>>,
    flag: Flag,
}

fn owned(head: &Head<'_>) -> Framed {
    let h = head.headers;
    let s = |v: Option<&str>| v.map(str::to_string);
    Framed {
        tid: head.tid.to_string(),
        start: match head.start {
            StartLine::Request(m) => m.as_str().to_string(),
            StartLine::Response { code, comment } => format!("{code} {comment}"),
        },
        to_path: s(h.to_path),
        from_path: s(h.from_path),
        message_id: s(h.message_id),
        byte_range: head.byte_range().unwrap_or(None),
        content_type: s(h.content_type),
        success_report: s(h.success_report),
        failure_report: s(h.failure_report),
        status: s(h.status),
        use_nickname: s(h.use_nickname),
        body: head.has_body.then(Vec::new),
        flag: Flag::Last,
    }
}

/// Frames a byte stream given in pieces; every message it completes, in order.
fn frame(framer: &mut Framer, parts: &[&[u8]]) -> Vec<Framed> {
    let mut done = Vec::new();
    let mut current: Option<Framed> = None;
    for part in parts {
        let mut rest: &[u8] = part;
        for _ in 0..=(4 * part.len() + 8) {
            let (n, ev) = framer.push(rest).expect("frames");
            match ev {
                None => break,
                Some(Event::Head(h)) => current = Some(owned(&h)),
                Some(Event::Body(b)) => {
                    let cur = current.as_mut().expect("body after head");
                    cur.body.get_or_insert_with(Vec::new).extend_from_slice(b);
                }
                Some(Event::End(f)) => {
                    let mut cur = current.take().expect("end after head");
                    cur.flag = f;
                    done.push(cur);
                }
            }
            rest = &rest[n..];
        }
    }
    assert!(current.is_none(), "a message was left incomplete");
    done
}

fn framer() -> Framer {
    Framer::new(8192, 64)
}

// ---------------------------------------------------------------- codec round trips

/// RFC 4975 §7.1: an emitted request frames back to the same fields, body and flag, wherever
/// the stream is cut.
#[test]
fn msrp_request_emit_then_frame_round_trips() {
    let mut rng = Rng::new(0x5eed_0001);
    for _ in 0..300 {
        let tid = rng.token(32);
        let to_path = format!("msrp://192.0.2.10:2855/{};tcp", rng.token(20));
        let from_path = format!(
            "msrp://relay.example:2855/{};tcp msrp://192.0.2.1:{}/{};tcp",
            rng.token(8),
            1 + rng.below(65535),
            rng.token(20)
        );
        let message_id = rng.token(30);
        let status_comment = rng.word(TEXT, 20).trim().to_string();
        let nickname = {
            let mut q = String::new();
            quote_nickname(&rng.word(TEXT, 30), &mut q);
            q
        };
        let body = rng.chance(3).then(|| body_bytes(&mut rng, 600));
        let start = 1 + rng.below(1000) as u64;
        let range = ByteRange {
            start,
            end: body.as_ref().map(|b| start + b.len() as u64 - 1),
            total: rng.chance(2).then_some(start + 5000),
        };
        let flag = [Flag::Last, Flag::More, Flag::Abort][rng.below(3)];
        let method = ["SEND", "REPORT", "NICKNAME"][rng.below(3)];
        let mut req = Request::new(&tid, method, &to_path, &from_path);
        req.message_id = Some(&message_id);
        req.byte_range = Some(range);
        req.success_report = rng.chance(2).then_some("yes");
        req.failure_report = rng.chance(2).then_some("partial");
        req.status = rng.chance(2).then_some(StatusHeader {
            namespace: 0,
            code: 200 + rng.below(300) as u16,
            comment: (!status_comment.is_empty()).then_some(status_comment.as_str()),
        });
        req.use_nickname = rng.chance(2).then_some(nickname.as_str());
        req.content_type = Some("message/cpim");
        let mut wire = Vec::new();
        let parts_of_body: Vec<&[u8]> = match &body {
            Some(b) => {
                let cut = rng.below(b.len() + 1);
                vec![&b[..cut], &b[cut..]]
            }
            None => Vec::new(),
        };
        emit_request(
            &mut wire,
            &req,
            body.as_ref().map(|_| parts_of_body.as_slice()),
            flag,
        );
        let cuts = rng.cuts(wire.len(), 12);
        let got = frame(&mut framer(), &pieces(&wire, &cuts));
        assert_eq!(got.len(), 1, "{}", String::from_utf8_lossy(&wire));
        let m = &got[0];
        assert_eq!(m.tid, tid);
        assert_eq!(m.start, method);
        assert_eq!(m.to_path.as_deref(), Some(to_path.as_str()));
        assert_eq!(m.from_path.as_deref(), Some(from_path.as_str()));
        assert_eq!(m.message_id.as_deref(), Some(message_id.as_str()));
        assert_eq!(m.byte_range, Some(range));
        assert_eq!(m.success_report.as_deref(), req.success_report);
        assert_eq!(m.failure_report.as_deref(), req.failure_report);
        let status = m.status.as_deref().map(|s| StatusHeader::parse(s).unwrap());
        assert_eq!(status, req.status);
        assert_eq!(m.use_nickname.as_deref(), req.use_nickname);
        assert_eq!(m.body, body, "{}", String::from_utf8_lossy(&wire));
        assert_eq!(
            m.content_type.as_deref(),
            body.as_ref().map(|_| "message/cpim")
        );
        assert_eq!(m.flag, flag);
    }
}

/// RFC 4975 §7.2: an emitted response frames back to its code, comment and paths.
#[test]
fn msrp_response_emit_then_frame_round_trips() {
    let mut rng = Rng::new(0x5eed_0002);
    for _ in 0..200 {
        let tid = rng.token(32);
        let comment = rng.word(TEXT, 30).trim().to_string();
        let to_path = format!("msrp://192.0.2.1:7654/{};tcp", rng.token(20));
        let from_path = format!("msrp://192.0.2.10:2855/{};tcp", rng.token(20));
        let code = [
            200u16, 400, 403, 404, 408, 413, 415, 423, 424, 425, 428, 481, 501, 506,
        ][rng.below(14)];
        let mut wire = Vec::new();
        emit_response(
            &mut wire,
            &Response {
                tid: &tid,
                code,
                comment: &comment,
                to_path: &to_path,
                from_path: &from_path,
            },
        );
        let cuts = rng.cuts(wire.len(), 6);
        let got = frame(&mut framer(), &pieces(&wire, &cuts));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].tid, tid);
        assert_eq!(
            got[0].start.trim_end(),
            format!("{code} {comment}").trim_end()
        );
        assert_eq!(got[0].to_path.as_deref(), Some(to_path.as_str()));
        assert_eq!(got[0].from_path.as_deref(), Some(from_path.as_str()));
        assert_eq!(got[0].body, None);
        assert_eq!(got[0].flag, Flag::Last);
    }
}

/// RFC 4975 §5.1/§7.1: a message cut into chunks (Byte-Range each), the chunks emitted back
/// to back and the stream cut at random points reassembles byte-identical; and one small
/// message cut at every single offset frames the same.
#[test]
fn chunked_msrp_message_reassembles_byte_identical() {
    let mut rng = Rng::new(0x5eed_0003);
    for round in 0..150 {
        let message = body_bytes(&mut rng, 3000);
        let total = message.len() as u64;
        let chunk_cuts = rng.cuts(message.len(), 8);
        let chunks = pieces(&message, &chunk_cuts);
        let mut wire = Vec::new();
        let mut at = 0u64;
        for (i, chunk) in chunks.iter().enumerate() {
            let tid = format!("r{round}c{i}{}", rng.token(8));
            let mut req = Request::new(&tid, "SEND", "msrp://a:1/x;tcp", "msrp://b:2/y;tcp");
            req.message_id = Some("the-message");
            req.byte_range = Some(ByteRange {
                start: at + 1,
                end: Some(at + chunk.len() as u64),
                total: Some(total),
            });
            req.content_type = Some("text/plain");
            let last = i + 1 == chunks.len();
            let flag = if last { Flag::Last } else { Flag::More };
            emit_request(&mut wire, &req, Some(&[chunk]), flag);
            at += chunk.len() as u64;
        }
        let cuts = rng.cuts(wire.len(), 24);
        let got = frame(&mut framer(), &pieces(&wire, &cuts));
        assert_eq!(got.len(), chunks.len());
        let mut assembled = vec![0u8; message.len()];
        for m in &got {
            let r = m.byte_range.expect("every chunk has a range");
            let body = m.body.as_deref().unwrap_or_default();
            let from = (r.start - 1) as usize;
            assembled[from..from + body.len()].copy_from_slice(body);
        }
        assert_eq!(assembled, message, "round {round}");
        assert_eq!(got.last().map(|m| m.flag), Some(Flag::Last));
    }
    // Every single split offset of one two-chunk stream.
    let mut wire = Vec::new();
    let mut req = Request::new("t1", "SEND", "msrp://a:1/x;tcp", "msrp://b:2/y;tcp");
    req.byte_range = Some(ByteRange {
        start: 1,
        end: Some(5),
        total: Some(10),
    });
    emit_request(&mut wire, &req, Some(&[b"\r\n---"]), Flag::More);
    req.tid = "t2";
    req.byte_range = Some(ByteRange {
        start: 6,
        end: Some(10),
        total: Some(10),
    });
    emit_request(&mut wire, &req, Some(&[b"-\r\n\r-"]), Flag::Last);
    let whole = frame(&mut framer(), &[&wire]);
    for cut in 0..=wire.len() {
        let (a, b) = wire.split_at(cut);
        assert_eq!(frame(&mut framer(), &[a, b]), whole, "cut at {cut}");
    }
}

/// RFC 3261 §7/§8.1.1: an emitted request parses back to its fields; the response built
/// from it (§8.2.6) echoes Via, From, To (+tag), Call-ID and CSeq.
#[test]
fn sip_request_and_response_round_trip() {
    let mut rng = Rng::new(0x5eed_0004);
    let limits = SipLimits::from(&parlor::limits::Limits::default());
    for _ in 0..300 {
        let method = ["BYE", "NOTIFY", "INVITE", "OPTIONS"][rng.below(4)];
        let uri = format!("sip:{}@192.0.2.{}:5060", rng.token(12), rng.below(255));
        let sent_by = format!("192.0.2.10:{}", 1 + rng.below(65535));
        let branch = format!("z9hG4bK{}", rng.token(20));
        let from = format!(
            "\"{}\" <sip:{}@{}.example>;tag={}",
            rng.word(b"abc xyz", 12),
            rng.token(10),
            rng.token(10),
            rng.token(16)
        );
        let to = format!("<sip:{}@example.net>;tag={}", rng.token(10), rng.token(16));
        let call_id = format!("{}@{}", rng.token(24), rng.token(8));
        let cseq = rng.below(1 << 30) as u32;
        let body = rng.word(TEXT, 200).into_bytes();
        let body = if rng.chance(2) { Vec::new() } else { body };
        let subject = rng.word(TEXT, 40).trim().to_string();
        let extra = [("Subject", subject.as_str())];
        let out = sip_emit_request(&OutgoingRequest {
            method,
            uri: &uri,
            via_transport: ["UDP", "TCP"][rng.below(2)],
            via_sent_by: &sent_by,
            branch: &branch,
            from: &from,
            to: &to,
            call_id: &call_id,
            cseq,
            max_forwards: 70,
            headers: if subject.is_empty() { &[] } else { &extra },
            body: &body,
        });
        let m = sip::parse(&out, &limits).expect("emitted request parses");
        let rl = m.request().expect("a request");
        assert_eq!(rl.method.as_str(), method);
        assert_eq!(rl.uri, uri);
        let via = m.headers.top_via().unwrap();
        assert_eq!(via.branch(), Some(branch.as_str()));
        assert_eq!(m.headers.get(HeaderName::From), Some(from.as_str()));
        assert_eq!(m.headers.get(HeaderName::To), Some(to.as_str()));
        assert_eq!(m.headers.call_id(), Ok(call_id.as_str()));
        assert_eq!(m.headers.cseq().unwrap().seq, cseq);
        assert_eq!(m.headers.content_length(), Ok(Some(body.len())));
        assert_eq!(m.body, body.as_slice());
        if !subject.is_empty() {
            assert_eq!(m.headers.get(HeaderName::Subject), Some(subject.as_str()));
        }

        let rx = ViaReceived {
            ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, rng.below(255) as u8)),
            port: 1 + rng.below(65535) as u16,
        };
        let code = 200 + rng.below(400) as u16;
        let resp = sip_emit_response(
            &m.headers,
            Some(rx),
            &SipResponse {
                code,
                reason: "Some Reason",
                to_tag: Some("newtag"),
                headers: &[],
                body: b"",
            },
        );
        let r = sip::parse(&resp, &limits).expect("emitted response parses");
        assert_eq!(r.status().map(|s| s.code), Some(code));
        let rvia = r.headers.top_via().unwrap();
        assert_eq!(rvia.branch(), Some(branch.as_str()));
        assert!(
            rvia.params.contains(&format!("received={}", rx.ip)),
            "{}",
            rvia.raw
        );
        assert_eq!(r.headers.get(HeaderName::From), Some(from.as_str()));
        assert_eq!(r.headers.get(HeaderName::To), Some(to.as_str()), "tag kept");
        assert_eq!(r.headers.call_id(), Ok(call_id.as_str()));
        assert_eq!(
            r.headers.get(HeaderName::CSeq),
            m.headers.get(HeaderName::CSeq)
        );
    }
}

/// RFC 4566 / RFC 4975 §8 / RFC 7701 §8: the focus's answer parses back to what was put in.
#[test]
fn sdp_answer_emit_then_parse_round_trips() {
    let mut rng = Rng::new(0x5eed_0005);
    for _ in 0..300 {
        let v6 = rng.chance(3);
        let address = if v6 {
            format!("2001:db8::{:x}", rng.below(0xffff))
        } else {
            format!("192.0.2.{}", rng.below(255))
        };
        let port = 1 + rng.below(65535) as u16;
        let host = if v6 {
            format!("[{address}]")
        } else {
            address.clone()
        };
        let path = format!("msrp://{host}:{port}/{};tcp", rng.token(20));
        let accept_wrapped = ["text/plain", "text/plain text/html *", "*"][rng.below(3)];
        let setup = [Setup::Active, Setup::Passive][rng.below(2)];
        let direction = [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ][rng.below(4)];
        let chatroom = match rng.below(4) {
            0 => None,
            1 => Some(Chatroom::parse("")),
            2 => Some(Chatroom::parse("nickname")),
            _ => Some(Chatroom::parse("nickname private-messages")),
        };
        let max_size = rng.chance(2).then(|| rng.next() % 10_000_000);
        let answer = Answer {
            origin_username: "focus",
            sess_id: rng.next() >> 1,
            sess_version: rng.next() >> 1,
            address: &address,
            port,
            proto: MsrpProto::Tcp,
            accept_types: "message/cpim",
            accept_wrapped_types: rng.chance(4).then_some(accept_wrapped),
            path: &path,
            setup,
            max_size,
            chatroom,
            direction,
            offered: &[],
            accepted: 0,
        };
        let body = answer.emit();
        let sd = SessionDescription::parse(&body, body.len()).expect("answer parses");
        assert_eq!(sd.origin.username, "focus");
        assert_eq!(sd.origin.sess_id, answer.sess_id.to_string());
        assert_eq!(sd.lines.len(), 1);
        let m = sd.msrp_media().expect("an MSRP section");
        assert_eq!(m.port, port);
        assert_eq!(m.path, Some(path.as_str()));
        assert_eq!(m.accept_types, Some("message/cpim"));
        assert_eq!(m.accept_wrapped_types, answer.accept_wrapped_types);
        assert_eq!(m.setup, Some(setup));
        assert_eq!(m.max_size, max_size);
        assert_eq!(m.chatroom, chatroom);
        assert_eq!(m.direction, direction);
        assert_eq!(sd.connection.map(|c| c.address), Some(address.as_str()));
    }
}

/// RFC 3862 §3: a CPIM header block parses back to its addresses, counts and body offset,
/// whether the block ends with an empty line or straight at the MIME headers (IMPL-14).
#[test]
fn cpim_headers_round_trip() {
    let mut rng = Rng::new(0x5eed_0006);
    for _ in 0..300 {
        let from_uri = format!("sip:{}@{}.example", rng.token(12), rng.token(8));
        let to: Vec<String> = (0..1 + rng.below(3))
            .map(|_| format!("sip:{}@{}.example", rng.token(12), rng.token(8)))
            .collect();
        let name = rng
            .chance(2)
            .then(|| format!("\"{}\"", rng.word(b"abc XYZ", 10)));
        let mut block = String::new();
        match &name {
            Some(n) => block.push_str(&format!("From: {n} <{from_uri}>\r\n")),
            None => block.push_str(&format!("From: <{from_uri}>\r\n")),
        }
        for t in &to {
            block.push_str(&format!("To: <{t}>\r\n"));
        }
        let subject = rng.word(TEXT, 30).trim().to_string();
        if rng.chance(2) && !subject.is_empty() {
            block.push_str(&format!("Subject: {subject}\r\n"));
        }
        block.push_str("DateTime: 2025-01-15T10:02:31Z\r\n");
        let empty_line = rng.chance(2);
        if empty_line {
            block.push_str("\r\n");
        }
        let offset = block.len();
        let mut buf = block.clone().into_bytes();
        buf.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
        buf.extend_from_slice(&body_bytes(&mut rng, 100));
        let h = match cpim::parse(&buf, 4096) {
            Ok(Parsed::Complete(h)) => h,
            other => panic!("{other:?}\n{block}"),
        };
        assert_eq!(h.from.map(|a| a.uri), Some(from_uri.as_str()));
        assert_eq!(h.from.and_then(|a| a.name), name.as_deref());
        assert_eq!(h.to.map(|a| a.uri), Some(to[0].as_str()));
        assert_eq!(h.to_count, to.len());
        let all: Vec<&str> = h.to_all().map(|a| a.uri).collect();
        assert_eq!(all, to.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(h.body_offset, offset);
        // Every shorter prefix that stops before the block's end is Partial.
        let cut = rng.below(offset.saturating_sub(2).max(1));
        assert_eq!(
            cpim::parse(&buf[..cut], 4096),
            Ok(Parsed::Partial),
            "prefix {cut}"
        );
    }
}

/// RFC 7701 §7.1: quoting any nickname and parsing the quoted string gives it back.
#[test]
fn use_nickname_quote_then_parse_round_trips() {
    let mut rng = Rng::new(0x5eed_0007);
    let alphabet = "aZ09 \t\"\\!~#éü漢字😀".chars().collect::<Vec<char>>();
    for _ in 0..500 {
        let len = 1 + rng.below(40);
        let nick: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let mut quoted = String::new();
        quote_nickname(&nick, &mut quoted);
        assert_eq!(
            parse_use_nickname(&quoted, 1023),
            Ok(Requested::Set(nick.clone())),
            "{quoted}"
        );
    }
}

// ---------------------------------------------------------------- through the switch

const ROOM: &str = "sip:lobby@localhost";

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 100 + n)
}

/// A participant joined through the engine: its own path and the switch's.
struct Member {
    n: u8,
    conn: MsrpConnId,
    own_path: String,
    switch_path: String,
}

impl Member {
    fn uri(&self) -> String {
        format!("sip:user{}@example.org", self.n)
    }
}

fn engine() -> Engine {
    let args = ["--room", "lobby"]
        .into_iter()
        .map(OsString::from)
        .collect();
    let no_files = |_: &Path| -> Result<String, String> { Err("none".into()) };
    let config = Config::from_args_with(args, &no_files).expect("config");
    Engine::new(
        &config,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 5060),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 2855),
        Box::new(TestEntropy::new(7)),
    )
}

/// Everything the engine wants done, with MSRP output left in the rings.
fn sip_outputs(e: &mut Engine) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    while let Some(out) = e.poll_output() {
        if let Output::SipSend {
            to: SipTransport::Udp(_),
            bytes,
        } = out
        {
            sent.push(bytes);
        }
    }
    sent
}

/// INVITE (UDP) → 200 with the switch's path → ACK → MSRP connection → binding SEND.
fn join(e: &mut Engine, now: Instant, n: u8) -> Member {
    let own_path = format!("msrp://{}:7000/member{n};tcp", ip(n));
    let sdp = format!(
        "v=0\r\no=u 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=message 7000 TCP/MSRP *\r\na=accept-types:message/cpim\r\n\
         a=accept-wrapped-types:*\r\na=path:{own_path}\r\na=setup:active\r\n\
         a=chatroom:nickname private-messages\r\n",
        ip = ip(n)
    );
    let invite = format!(
        "INVITE {ROOM} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:5060;branch=z9hG4bKinv{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:user{n}@example.org>;tag=f{n}\r\nTo: <{ROOM}>\r\n\
         Call-ID: call{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:user{n}@{ip}:5060>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
        ip = ip(n),
        len = sdp.len()
    );
    let from = SocketAddr::new(IpAddr::V4(ip(n)), 5060);
    e.sip_datagram(now, from, invite.as_bytes());
    let limits = SipLimits::from(&parlor::limits::Limits::default());
    let mut tag = String::new();
    let mut switch_path = String::new();
    for bytes in sip_outputs(e) {
        let m = sip::parse(&bytes, &limits).expect("focus output parses");
        if m.status().map(|s| s.code) == Some(200) {
            tag = m.headers.to().unwrap().tag().unwrap().to_string();
            let body = std::str::from_utf8(m.body).unwrap();
            switch_path = body
                .lines()
                .find_map(|l| l.strip_prefix("a=path:"))
                .expect("answer has a path")
                .to_string();
        }
    }
    assert!(!switch_path.is_empty(), "member {n} was not admitted");
    let ack = format!(
        "ACK {ROOM} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:5060;branch=z9hG4bKack{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:user{n}@example.org>;tag=f{n}\r\nTo: <{ROOM}>;tag={tag}\r\n\
         Call-ID: call{n}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        ip = ip(n)
    );
    e.sip_datagram(now, from, ack.as_bytes());
    sip_outputs(e);
    let conn = e
        .msrp_opened(now, SocketAddr::new(IpAddr::V4(ip(n)), 7000))
        .expect("connection accepted");
    let bind = format!(
        "MSRP bind{n} SEND\r\nTo-Path: {switch_path}\r\nFrom-Path: {own_path}\r\n\
         Message-ID: bindmsg{n}\r\nByte-Range: 1-0/0\r\n-------bind{n}$\r\n"
    );
    let taken = e.msrp_input(now, conn, bind.as_bytes());
    assert_eq!(taken, bind.len(), "the bind is taken whole");
    let member = Member {
        n,
        conn,
        own_path,
        switch_path,
    };
    let got = drain(e, now, conn);
    assert!(
        got.iter()
            .any(|m| m.tid == format!("bind{n}") && m.start == "200 OK"),
        "bind answered: {got:?}"
    );
    member
}

/// Takes everything the switch queued for `conn` and frames it.
fn drain(e: &mut Engine, now: Instant, conn: MsrpConnId) -> Vec<Framed> {
    let [a, b] = e.msrp_out(conn);
    let bytes: Vec<u8> = a.iter().chain(b).copied().collect();
    e.msrp_consumed(now, conn, bytes.len());
    sip_outputs(e);
    frame(&mut framer(), &[&bytes])
}

/// RFC 7701 §6 (fan-out) with RFC 4975 §7.1 chunking: Alice's SEND, cut into pieces at
/// random points and handed to the switch piece by piece (each piece may become its own
/// re-chunked copy), reaches Bob with exactly the same CPIM body once his chunks are put
/// together by Byte-Range — and Alice gets her 200.
#[test]
fn send_split_anywhere_reaches_the_recipient_byte_identical() {
    let mut rng = Rng::new(0x5eed_0008);
    let mut e = engine();
    let mut now = Instant::ZERO;
    let alice = join(&mut e, now, 1);
    let bob = join(&mut e, now, 2);
    let mut rechunked = 0;
    for round in 0..60 {
        now = now + core::time::Duration::from_millis(10);
        let mut body = format!(
            "From: <{}>\r\nTo: <{ROOM}>\r\n\r\nContent-Type: text/plain\r\n\r\n",
            alice.uri()
        )
        .into_bytes();
        body.extend_from_slice(&body_bytes(&mut rng, 2000));
        let tid = format!("a{round}{}", rng.token(10));
        let mid = format!("msg{round}{}", rng.token(10));
        let mut req = Request::new(&tid, "SEND", &alice.switch_path, &alice.own_path);
        req.message_id = Some(&mid);
        req.byte_range = Some(ByteRange {
            start: 1,
            end: Some(body.len() as u64),
            total: Some(body.len() as u64),
        });
        req.content_type = Some("message/cpim");
        let mut wire = Vec::new();
        emit_request(&mut wire, &req, Some(&[&body]), Flag::Last);
        let cuts = rng.cuts(wire.len(), 10);
        for piece in pieces(&wire, &cuts) {
            // Drained every round, under the send rate: input never pauses here.
            let taken = e.msrp_input(now, alice.conn, piece);
            assert_eq!(taken, piece.len(), "round {round}: input paused");
        }
        let to_alice = drain(&mut e, now, alice.conn);
        assert!(
            to_alice.iter().any(|m| m.tid == tid && m.start == "200 OK"),
            "round {round}: {to_alice:?}"
        );
        let to_bob = drain(&mut e, now, bob.conn);
        let chunks: Vec<&Framed> = to_bob.iter().filter(|m| m.start == "SEND").collect();
        assert!(!chunks.is_empty(), "round {round}: Bob got nothing");
        let mut assembled = vec![0u8; body.len()];
        let mut covered = 0usize;
        for c in &chunks {
            assert_eq!(c.to_path.as_deref(), Some(bob.own_path.as_str()));
            let r = c.byte_range.expect("copies carry a Byte-Range");
            let part = c.body.as_deref().unwrap_or_default();
            let from = usize::try_from(r.start - 1).unwrap();
            assert!(
                from + part.len() <= body.len(),
                "round {round}: chunk past the end"
            );
            assembled[from..from + part.len()].copy_from_slice(part);
            covered += part.len();
        }
        let ids: Vec<_> = chunks.iter().map(|c| c.message_id.clone()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "one Message-ID: {ids:?}"
        );
        assert_eq!(
            covered,
            body.len(),
            "round {round}: bytes delivered once each"
        );
        assert_eq!(assembled, body, "round {round}");
        assert_eq!(chunks.last().map(|c| c.flag), Some(Flag::Last));
        if chunks.len() > 1 {
            rechunked += 1;
        }
    }
    // Pieces that cut the body are forwarded as they come (fast forwarding re-chunks).
    assert!(rechunked > 0, "no message was ever re-chunked");
}
