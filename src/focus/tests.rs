//! Focus tests: a fake Conference, TestEntropy and a fake clock drive the focus; the
//! assertions read the bytes it sends.

use ::core::net::SocketAddr;

use super::*;
use crate::conference::{JoinError, JoinRequest, Joined, RoomPolicy, RosterEntry, SessionUpdate};
use crate::rand::TestEntropy;
use crate::wire::sip::{parse, HeaderName, Message, SipLimits};

// ---------------------------------------------------------------- test doubles

/// An owned copy of a JoinRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
struct JoinRecord {
    room: String,
    uri: String,
    display_name: String,
    caps: crate::conference::ChatCaps,
    accept_wrapped_types: String,
    peer_path: String,
    peer_max_size: Option<u64>,
    switch_connects: bool,
    direction: crate::conference::Direction,
    anonymous: bool,
}

/// A Conference that records calls and hands out fixed paths.
struct FakeConf {
    rooms: Vec<(String, RoomPolicy)>,
    joins: Vec<JoinRecord>,
    left: Vec<ParticipantId>,
    updates: Vec<(ParticipantId, crate::conference::ChatCaps)>,
    /// The direction of each update, in the order of `updates`.
    update_directions: Vec<crate::conference::Direction>,
    /// The peer path of each update, in the order of `updates`.
    update_paths: Vec<Option<String>>,
    refuse: Option<JoinError>,
    next: usize,
}

const POLICY: RoomPolicy = RoomPolicy {
    nicknames: true,
    private_messages: true,
    max_participants: 8,
};

impl FakeConf {
    fn new() -> Self {
        FakeConf {
            rooms: vec![("chat22".into(), POLICY)],
            joins: Vec::new(),
            left: Vec::new(),
            updates: Vec::new(),
            update_directions: Vec::new(),
            update_paths: Vec::new(),
            refuse: None,
            next: 0,
        }
    }
}

fn path_of(n: usize) -> String {
    format!("msrp://192.0.2.10:2855/kjhd37s2s20w2a{n:02};tcp")
}

impl Conference for FakeConf {
    fn room_policy(&self, room: &str) -> Option<RoomPolicy> {
        self.rooms.iter().find(|(r, _)| r == room).map(|(_, p)| *p)
    }

    fn join(
        &mut self,
        _now: Instant,
        _entropy: &mut dyn Entropy,
        req: &JoinRequest<'_>,
    ) -> Result<Joined, JoinError> {
        if let Some(e) = self.refuse {
            return Err(e);
        }
        let policy = self.room_policy(req.room).ok_or(JoinError::UnknownRoom)?;
        self.joins.push(JoinRecord {
            room: req.room.into(),
            uri: req.uri.into(),
            display_name: req.display_name.into(),
            caps: req.caps,
            accept_wrapped_types: req.accept_wrapped_types.into(),
            peer_path: req.peer_path.into(),
            peer_max_size: req.peer_max_size,
            switch_connects: req.switch_connects,
            direction: req.direction,
            anonymous: req.anonymous,
        });
        self.next += 1;
        Ok(Joined {
            id: ParticipantId(self.next),
            path: path_of(self.next),
            policy,
        })
    }

    fn leave(&mut self, _now: Instant, id: ParticipantId) {
        self.left.push(id);
    }

    fn update(&mut self, _now: Instant, id: ParticipantId, update: &SessionUpdate<'_>) {
        self.updates.push((id, update.caps));
        self.update_directions.push(update.direction);
        self.update_paths.push(update.peer_path.map(str::to_owned));
    }

    fn roster_entry(&self, id: ParticipantId) -> Option<RosterEntry<'_>> {
        (id.0 >= 1 && id.0 <= self.next && !self.left.contains(&id)).then_some(RosterEntry {
            nickname: None,
            media_bound: true,
        })
    }
}

/// Focus + conference + entropy, driven with a fake clock.
struct Harness {
    focus: Focus,
    conf: FakeConf,
    entropy: TestEntropy,
}

const ALICE: &str = "192.0.2.101:5060";
const SDP_CT: &str = "application/sdp";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Instant {
    Instant::from_micros(n * 1000)
}

fn harness_with(limits: Limits) -> Harness {
    Harness {
        focus: Focus::new(FocusConfig {
            domain: "chat.example.com".into(),
            sip_local: addr("192.0.2.10:5060"),
            limits,
            admission: Default::default(),
        }),
        conf: FakeConf::new(),
        entropy: TestEntropy::new(1),
    }
}

fn harness() -> Harness {
    harness_with(Limits::default())
}

/// RFC 3261's retransmission schedule even towards a UDP address that has not answered
/// yet (the default bounds it: issue 15, `unproven_udp_resends`).
fn rfc_schedule_harness() -> Harness {
    harness_with(Limits {
        unproven_udp_resends: 64,
        ..Limits::default()
    })
}

impl Harness {
    fn udp(&mut self, now: Instant, from: &str, bytes: &[u8]) -> Vec<FocusOutput> {
        self.focus
            .handle_udp(now, &mut self.conf, &mut self.entropy, addr(from), bytes);
        self.drain()
    }

    fn tcp(&mut self, now: Instant, conn: SipConnId, bytes: &[u8]) -> Vec<FocusOutput> {
        self.focus
            .handle_tcp(now, &mut self.conf, &mut self.entropy, conn, bytes);
        self.drain()
    }

    fn tick(&mut self, now: Instant) -> Vec<FocusOutput> {
        self.focus
            .handle_timeout(now, &mut self.conf, &mut self.entropy);
        self.drain()
    }

    fn drain(&mut self) -> Vec<FocusOutput> {
        std::iter::from_fn(|| self.focus.poll_output()).collect()
    }

    /// Runs timers at each deadline up to `until`; returns (instant, output) pairs.
    fn run_until(&mut self, until: Instant) -> Vec<(Instant, FocusOutput)> {
        let mut seen = Vec::new();
        for _ in 0..1000 {
            match self.focus.poll_timeout() {
                Some(t) if t <= until => {
                    for o in self.tick(t) {
                        seen.push((t, o));
                    }
                }
                _ => break,
            }
        }
        seen
    }
}

// ---------------------------------------------------------------- message builders

fn wire(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

fn offer(media: &[&str]) -> String {
    let mut lines = vec![
        "v=0",
        "o=alice 2890844526 2890844526 IN IP4 192.0.2.101",
        "s=-",
        "c=IN IP4 192.0.2.101",
        "t=0 0",
    ];
    lines.extend_from_slice(media);
    String::from_utf8(wire(&lines)).unwrap()
}

fn example1_offer() -> String {
    offer(&[
        "m=message 7654 TCP/MSRP *",
        "a=accept-types:message/cpim",
        "a=accept-wrapped-types:text/plain text/html",
        "a=path:msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp",
        "a=setup:actpass",
        "a=chatroom:nickname private-messages",
    ])
}

/// A request in the layout of wire example 1.
#[derive(Clone)]
struct Req {
    method: &'static str,
    uri: String,
    via: String,
    from_tag: &'static str,
    to_tag: Option<String>,
    call_id: &'static str,
    cseq: u32,
    extra: Vec<String>,
    content_type: Option<&'static str>,
    body: String,
}

impl Req {
    fn new(method: &'static str, branch: &str) -> Self {
        Req {
            method,
            uri: "sip:chat22@chat.example.com".into(),
            via: format!("SIP/2.0/UDP 192.0.2.101:5060;branch={branch}"),
            from_tag: "9fxced76sl",
            to_tag: None,
            call_id: "3848276298220188511@192.0.2.101",
            cseq: 1,
            extra: Vec::new(),
            content_type: None,
            body: String::new(),
        }
    }

    fn invite(branch: &str) -> Self {
        let mut r = Req::new("INVITE", branch);
        r.extra.push("Contact: <sip:alice@192.0.2.101:5060>".into());
        r.extra
            .push("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY".into());
        r.content_type = Some(SDP_CT);
        r.body = example1_offer();
        r
    }

    fn cseq_method(&self) -> &'static str {
        self.method
    }

    fn bytes(&self) -> Vec<u8> {
        let mut s = format!(
            "{} {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\n\
             From: Alice <sip:alice@atlanta.example.com>;tag={}\r\nTo: <sip:chat22@chat.example.com>{}\r\n\
             Call-ID: {}\r\nCSeq: {} {}\r\n",
            self.method,
            self.uri,
            self.via,
            self.from_tag,
            self.to_tag
                .as_ref()
                .map(|t| format!(";tag={t}"))
                .unwrap_or_default(),
            self.call_id,
            self.cseq,
            self.cseq_method(),
        );
        for e in &self.extra {
            s.push_str(e);
            s.push_str("\r\n");
        }
        if let Some(ct) = self.content_type {
            s.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        s.push_str(&format!(
            "Content-Length: {}\r\n\r\n{}",
            self.body.len(),
            self.body
        ));
        s.into_bytes()
    }
}

fn sends(outs: &[FocusOutput]) -> Vec<(SipTransport, Vec<u8>)> {
    outs.iter()
        .filter_map(|o| match o {
            FocusOutput::Send { to, bytes } => Some((*to, bytes.clone())),
            FocusOutput::Close(_) => None,
        })
        .collect()
}

fn limits() -> SipLimits {
    SipLimits::from(&Limits::default())
}

fn msg(bytes: &[u8]) -> Message<'_> {
    parse(bytes, &limits()).unwrap()
}

fn code(bytes: &[u8]) -> u16 {
    msg(bytes).status().unwrap().code
}

fn codes(outs: &[FocusOutput]) -> Vec<u16> {
    sends(outs).iter().map(|(_, b)| code(b)).collect()
}

fn to_tag(bytes: &[u8]) -> Option<String> {
    msg(bytes).headers.to().unwrap().tag().map(str::to_owned)
}

fn udp_alice() -> SipTransport {
    SipTransport::Udp(addr(ALICE))
}

/// Joins Alice with the example 1 INVITE; returns the 200 bytes and the focus's To-tag.
fn join_alice(h: &mut Harness, now: Instant) -> (Vec<u8>, String) {
    let outs = h.udp(now, ALICE, &Req::invite("z9hG4bK74bf9a1c").bytes());
    assert_eq!(codes(&outs), [100, 200]);
    let ok = sends(&outs)[1].1.clone();
    let tag = to_tag(&ok).unwrap();
    (ok, tag)
}

// ---------------------------------------------------------------- tests

#[test]
fn options_answers_200_with_allow_and_accept() {
    let mut h = harness();
    let outs = h.udp(ms(0), ALICE, &Req::new("OPTIONS", "z9hG4bKopt1").bytes());
    let s = sends(&outs);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, udp_alice());
    let m = msg(&s[0].1);
    assert_eq!(m.status().unwrap().code, 200);
    assert_eq!(
        m.headers.get(HeaderName::Allow),
        Some("INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE")
    );
    assert_eq!(m.headers.get(HeaderName::Accept), Some("application/sdp"));
    assert_eq!(m.headers.get(HeaderName::Supported), Some(""));
    assert_eq!(m.headers.get(HeaderName::AllowEvents), Some("conference"));
    assert!(m.headers.to().unwrap().tag().is_some_and(|t| t.len() >= 12));
    assert_eq!(
        m.headers.top_via().unwrap().raw,
        "SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKopt1"
    );
    assert_eq!(h.focus.dialog_count(), 0);
}

#[test]
fn invite_gets_trying_then_ok_with_the_exact_answer() {
    let mut h = harness();
    let outs = h.udp(ms(0), ALICE, &Req::invite("z9hG4bK74bf9a1c").bytes());
    let s = sends(&outs);
    assert_eq!(s.len(), 2);
    assert!(s.iter().all(|(to, _)| *to == udp_alice()));
    // 100 Trying is wire example 2, byte for byte.
    let example2 = wire(&[
        "SIP/2.0 100 Trying",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9a1c",
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        "To: <sip:chat22@chat.example.com>",
        "Call-ID: 3848276298220188511@192.0.2.101",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
        "",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&s[0].1),
        String::from_utf8_lossy(&example2)
    );

    let ok = msg(&s[1].1);
    assert_eq!(ok.status().unwrap().code, 200);
    let text = String::from_utf8(s[1].1.clone()).unwrap();
    let tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    assert!(tag.len() >= 12 && tag.bytes().all(|b| b.is_ascii_alphanumeric()));
    let head = format!(
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9a1c\r\n\
         From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
         To: <sip:chat22@chat.example.com>;tag={tag}\r\n\
         Call-ID: 3848276298220188511@192.0.2.101\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:chat22@192.0.2.10:5060;transport=udp>;isfocus\r\n\
         Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE\r\n\
         Content-Type: application/sdp\r\n"
    );
    assert!(text.starts_with(&head), "{text}");
    let body = std::str::from_utf8(ok.body).unwrap();
    let lines: Vec<&str> = body.split("\r\n").collect();
    let o: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(o[0], "o=focus");
    assert_eq!(o[1], o[2], "sess-version = sess-id");
    assert!(o[1].parse::<u64>().is_ok());
    assert_eq!(o[3..], ["IN", "IP4", "192.0.2.10"]);
    let mut want = vec![
        "v=0".to_owned(),
        lines[1].to_owned(),
        "s=-".into(),
        "c=IN IP4 192.0.2.10".into(),
        "t=0 0".into(),
        "m=message 2855 TCP/MSRP *".into(),
        "a=accept-types:message/cpim".into(),
        "a=accept-wrapped-types:text/plain *".into(),
        format!("a=path:{}", path_of(1)),
        "a=setup:passive".into(),
        format!("a=max-size:{}", Limits::default().max_message_bytes),
        "a=chatroom:nickname private-messages".into(),
    ];
    want.push(String::new());
    assert_eq!(lines, want);
    assert_eq!(
        ok.headers.content_length(),
        Ok(Some(body.len())),
        "Content-Length exact"
    );

    assert_eq!(
        h.conf.joins,
        [JoinRecord {
            room: "chat22".into(),
            uri: "sip:alice@atlanta.example.com".into(),
            display_name: "Alice".into(),
            caps: crate::conference::ChatCaps {
                chatroom_aware: true,
                nickname: true,
                private_messages: true,
            },
            accept_wrapped_types: "text/plain text/html".into(),
            peer_path: "msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp".into(),
            peer_max_size: None,
            switch_connects: false,
            direction: crate::conference::Direction::SendRecv,
            anonymous: false,
        }]
    );
    assert_eq!(h.focus.dialog_count(), 1);
}

#[test]
fn answer_chatroom_follows_policy_and_offer_without_chatroom_is_accepted() {
    let mut h = harness();
    h.conf.rooms[0].1 = RoomPolicy {
        nicknames: false,
        private_messages: false,
        max_participants: 8,
    };
    let mut r = Req::invite("z9hG4bKp1");
    r.body = offer(&[
        "m=message 7654 TCP/MSRP *",
        "a=accept-types:*",
        "a=path:msrp://192.0.2.101:7654/s1;tcp",
        "a=max-size:2048",
    ]);
    let outs = h.udp(ms(0), ALICE, &r.bytes());
    assert_eq!(codes(&outs), [100, 200]);
    let ok = sends(&outs)[1].1.clone();
    let text = String::from_utf8(ok).unwrap();
    assert!(text.ends_with("a=chatroom\r\n"), "{text}");
    let j = &h.conf.joins[0];
    assert_eq!(j.caps, crate::conference::ChatCaps::default());
    assert_eq!(j.accept_wrapped_types, "");
    assert_eq!(j.peer_max_size, Some(2048));
}

#[test]
fn request_uri_host_may_be_the_listen_address() {
    let mut h = harness();
    let mut r = Req::invite("z9hG4bKip1");
    r.uri = "sip:chat22@192.0.2.10:5060".into();
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [100, 200]);
    let mut r = Req::invite("z9hG4bKip2");
    r.uri = "sip:chat22@192.0.2.10".into();
    r.call_id = "c2";
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [100, 200]);
    for (i, uri) in [
        "sip:chat22@192.0.2.10:5070",
        "sip:chat22@other.example",
        "sip:nosuchroom@chat.example.com",
        "sip:chat.example.com",
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = Req::invite(&format!("z9hG4bKbad{i}"));
        r.uri = uri.into();
        assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [100, 404], "{uri}");
    }
    assert_eq!(h.conf.joins.len(), 2);
}

#[test]
fn join_errors_map_to_their_status() {
    for (err, want) in [
        (JoinError::UnknownRoom, 404),
        (JoinError::RoomFull, 486),
        (JoinError::NoCapacity, 503),
        (JoinError::SourceBusy, 503),
        (JoinError::BadRequest, 488),
    ] {
        let mut h = harness();
        h.conf.refuse = Some(err);
        let outs = h.udp(ms(0), ALICE, &Req::invite("z9hG4bKj").bytes());
        assert_eq!(codes(&outs), [100, want]);
        let refusal = &sends(&outs)[1].1;
        assert!(to_tag(refusal).is_some());
        assert_eq!(h.focus.dialog_count(), 0);
        // Issue 14: every refusal says why in a Warning; the ones a retry can get past
        // say when (seats and connections of joins that never bind free up by then).
        let warning = warning_of(&outs).expect("Warning");
        assert!(
            warning.starts_with("399 ") && warning.contains(err.warning()),
            "{warning}"
        );
        let retry = msg(refusal)
            .headers
            .get(HeaderName::Other("Retry-After"))
            .map(str::to_owned);
        let want_retry = err
            .transient()
            .then(|| (crate::limits::Limits::default().join_bind_timeout_ms / 1000).to_string());
        assert_eq!(retry, want_retry, "{err:?}");
    }
}

fn invite_with(media: &[&str]) -> Vec<u8> {
    let mut r = Req::invite("z9hG4bKo");
    r.body = offer(media);
    r.bytes()
}

fn warning_of(outs: &[FocusOutput]) -> Option<String> {
    let s = sends(outs);
    let m = msg(&s.last().unwrap().1);
    m.headers
        .get(HeaderName::Other("Warning"))
        .map(str::to_owned)
}

#[test]
fn unusable_offers_get_488() {
    let path = "a=path:msrp://192.0.2.101:7654/s;tcp";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "no cpim",
            vec![
                "m=message 7654 TCP/MSRP *",
                "a=accept-types:text/plain",
                path,
            ],
        ),
        (
            "tls",
            vec![
                "m=message 7654 TCP/TLS/MSRP *",
                "a=accept-types:message/cpim",
                "a=path:msrps://192.0.2.101:7654/s;tcp",
            ],
        ),
        ("audio only", vec!["m=audio 4000 RTP/AVP 0"]),
        (
            "no path",
            vec!["m=message 7654 TCP/MSRP *", "a=accept-types:message/cpim"],
        ),
        (
            "bad path",
            vec![
                "m=message 7654 TCP/MSRP *",
                "a=accept-types:message/cpim",
                "a=path:http://x/",
            ],
        ),
    ];
    for (what, media) in cases {
        let mut h = harness();
        let outs = h.udp(ms(0), ALICE, &invite_with(&media));
        assert_eq!(codes(&outs), [100, 488], "{what}");
        let w = warning_of(&outs).unwrap_or_default();
        assert!(w.contains("192.0.2.10:5060 \""), "{what}: {w}");
        assert!(h.conf.joins.is_empty(), "{what}");
    }
}

// R6135-4.2-a/b, IMPL-7: a passive offer asks the switch to connect (answer `active`);
// every other offer leaves the offerer active (answer `passive`); holdconn = absent.
#[test]
fn r6135_4_2_b_setup_roles_of_the_answer() {
    let path = "a=path:msrp://192.0.2.101:7654/s;tcp";
    for (offered, answered, connects) in [
        (Some("a=setup:passive"), "a=setup:active", true),
        (Some("a=setup:actpass"), "a=setup:passive", false),
        (Some("a=setup:active"), "a=setup:passive", false),
        (Some("a=setup:holdconn"), "a=setup:passive", false),
        (None, "a=setup:passive", false),
    ] {
        let mut h = harness();
        let mut media = vec![
            "m=message 7654 TCP/MSRP *",
            "a=accept-types:message/cpim",
            path,
        ];
        media.extend(offered);
        let outs = h.udp(ms(0), ALICE, &invite_with(&media));
        assert_eq!(codes(&outs), [100, 200], "{offered:?}");
        let body = String::from_utf8_lossy(&sends(&outs)[1].1).into_owned();
        let setups: Vec<&str> = body.lines().filter(|l| l.starts_with("a=setup:")).collect();
        assert_eq!(setups, [answered], "{offered:?}: {body}");
        assert_eq!(h.conf.joins.len(), 1);
        assert_eq!(h.conf.joins[0].switch_connects, connects, "{offered:?}");
    }
}

// IMPL-7 guard: the switch only connects back to the address the INVITE came from; a
// passive offer whose (leftmost) path names another host is refused before any join.
#[test]
fn impl_7_passive_offer_must_name_the_inviting_address() {
    for path in [
        "a=path:msrp://192.0.2.200:7654/s;tcp",
        "a=path:msrp://198.51.100.1:9/relay;tcp msrp://192.0.2.101:7654/s;tcp",
    ] {
        let mut h = harness();
        let media = [
            "m=message 7654 TCP/MSRP *",
            "a=accept-types:message/cpim",
            path,
            "a=setup:passive",
        ];
        let outs = h.udp(ms(0), ALICE, &invite_with(&media));
        assert_eq!(codes(&outs), [100, 488], "{path}");
        assert!(h.conf.joins.is_empty(), "{path}: no join");
    }
}

#[test]
fn missing_or_invalid_sdp() {
    let mut h = harness();
    let mut r = Req::invite("z9hG4bKe1");
    r.body.clear();
    r.content_type = None;
    // IMPL-25: no body is no error but an offerless INVITE (see offerless_tests.rs).
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [100, 200]);
    let mut r = Req::invite("z9hG4bKe2");
    r.content_type = Some("text/plain");
    let outs = h.udp(ms(0), ALICE, &r.bytes());
    assert_eq!(codes(&outs), [100, 415]);
    let m_bytes = sends(&outs)[1].1.clone();
    assert_eq!(
        msg(&m_bytes).headers.get(HeaderName::Accept),
        Some("application/sdp")
    );
    let mut r = Req::invite("z9hG4bKe3");
    r.body = "this is not sdp\r\n".into();
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [100, 400]);
    let mut r = Req::invite("z9hG4bKe4");
    r.body = example1_offer() + &"a=x-pad:0123456789\r\n".repeat(300);
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [100, 400]);
}

#[test]
fn unsupported_methods_and_malformed_requests() {
    let mut h = harness();
    for (i, m) in [
        "NOTIFY", "MESSAGE", "REGISTER", "INFO", "PRACK", "UPDATE", "REFER", "PUBLISH",
    ]
    .into_iter()
    .enumerate()
    {
        let outs = h.udp(ms(0), ALICE, &Req::new(m, &format!("z9hG4bKm{i}")).bytes());
        assert_eq!(codes(&outs), [405], "{m}");
        let b = sends(&outs)[0].1.clone();
        assert_eq!(
            msg(&b).headers.get(HeaderName::Allow),
            Some("INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE")
        );
    }
    let outs = h.udp(ms(0), ALICE, &Req::new("FOO", "z9hG4bKfoo").bytes());
    assert_eq!(codes(&outs), [501]);
    let mut sub = Req::new("SUBSCRIBE", "z9hG4bK3c1d77e2");
    sub.extra.push("Event: presence".into());
    let outs = h.udp(ms(0), ALICE, &sub.bytes());
    assert_eq!(codes(&outs), [489]);
    let b = sends(&outs)[0].1.clone();
    assert_eq!(
        msg(&b).headers.get(HeaderName::AllowEvents),
        Some("conference")
    );

    // CSeq method differs from the request line → 400.
    let bad = String::from_utf8(Req::new("OPTIONS", "z9hG4bKc1").bytes())
        .unwrap()
        .replace("CSeq: 1 OPTIONS", "CSeq: 1 BYE");
    assert_eq!(codes(&h.udp(ms(0), ALICE, bad.as_bytes())), [400]);
    // Bad Content-Length → 400; bad version → 505; tel: → 416.
    let bad = String::from_utf8(Req::new("OPTIONS", "z9hG4bKc2").bytes())
        .unwrap()
        .replace("Content-Length: 0", "Content-Length: 99");
    assert_eq!(codes(&h.udp(ms(0), ALICE, bad.as_bytes())), [400]);
    let bad = String::from_utf8(Req::new("OPTIONS", "z9hG4bKc3").bytes())
        .unwrap()
        .replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia");
    assert_eq!(codes(&h.udp(ms(0), ALICE, bad.as_bytes())), [505]);
    let mut r = Req::new("OPTIONS", "z9hG4bKc4");
    r.uri = "tel:+15551234".into();
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [416]);
    let mut r = Req::new("OPTIONS", "z9hG4bKc4s");
    r.uri = "sips:chat22@chat.example.com".into();
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [416]);
    // Max-Forwards 0 → 483 (OPTIONS is still answered).
    let zero = |m: &'static str, b: &str| {
        String::from_utf8(Req::new(m, b).bytes())
            .unwrap()
            .replace("Max-Forwards: 70", "Max-Forwards: 0")
    };
    assert_eq!(
        codes(&h.udp(ms(0), ALICE, zero("BYE", "z9hG4bKc5").as_bytes())),
        [483]
    );
    assert_eq!(
        codes(&h.udp(ms(0), ALICE, zero("OPTIONS", "z9hG4bKc6").as_bytes())),
        [200]
    );
    // Require → 420 with Unsupported.
    let mut r = Req::new("OPTIONS", "z9hG4bKc7");
    r.extra.push("Require: foo, bar".into());
    let outs = h.udp(ms(0), ALICE, &r.bytes());
    assert_eq!(codes(&outs), [420]);
    let b = sends(&outs)[0].1.clone();
    assert_eq!(
        msg(&b).headers.get(HeaderName::Other("Unsupported")),
        Some("foo, bar")
    );
    // Nothing to answer with → silence.
    assert!(h
        .udp(ms(0), ALICE, b"OPTIONS sip:x SIP/2.0\r\nCall-ID: x\r\n\r\n")
        .is_empty());
    assert!(h.udp(ms(0), ALICE, b"\x00\x01garbage").is_empty());
    assert!(h.udp(ms(0), ALICE, b"\r\n\r\n").is_empty());
    assert_eq!(h.focus.dialog_count(), 0);
}

#[test]
fn retransmitted_requests_get_the_same_response_bytes() {
    let mut h = harness();
    let invite = Req::invite("z9hG4bK74bf9a1c").bytes();
    let (ok, _) = join_alice(&mut h, ms(0));
    let again = h.udp(ms(300), ALICE, &invite);
    assert_eq!(sends(&again), [(udp_alice(), ok)]);
    assert_eq!(h.conf.joins.len(), 1, "no second join");

    let opt = Req::new("OPTIONS", "z9hG4bKoptR").bytes();
    let first = sends(&h.udp(ms(0), ALICE, &opt));
    let second = sends(&h.udp(ms(100), ALICE, &opt));
    assert_eq!(first, second);
}

#[test]
fn ok_is_retransmitted_500ms_doubling_to_4s_until_ack() {
    let mut h = rfc_schedule_harness();
    let (ok, tag) = join_alice(&mut h, ms(0));
    let seen = h.run_until(ms(12_000));
    let times: Vec<u64> = seen.iter().map(|(t, _)| t.as_micros() / 1000).collect();
    assert_eq!(times, [500, 1500, 3500, 7500, 11500]);
    assert!(seen.iter().all(|(_, o)| *o
        == FocusOutput::Send {
            to: udp_alice(),
            bytes: ok.clone()
        }));
    let mut ack = Req::new("ACK", "z9hG4bK5a1e33f0");
    ack.uri = "sip:chat22@192.0.2.10:5060;transport=udp".into();
    ack.to_tag = Some(tag);
    assert!(h.udp(ms(12_000), ALICE, &ack.bytes()).is_empty());
    let later = h.run_until(ms(100_000));
    assert!(later.is_empty(), "{later:?}");
    assert_eq!(h.focus.dialog_count(), 1);
    assert!(h.conf.left.is_empty());
    assert_eq!(h.focus.poll_timeout(), None);
}

#[test]
fn no_ack_gives_up_after_64_t1_with_bye_and_leave() {
    let mut h = rfc_schedule_harness();
    let (_, tag) = join_alice(&mut h, ms(0));
    let seen = h.run_until(ms(32_000));
    let oks = seen.iter().filter(|(t, _)| *t < ms(32_000)).count();
    assert_eq!(oks, 10, "0.5 1.5 3.5 7.5 11.5 15.5 19.5 23.5 27.5 31.5 s");
    let at_give_up: Vec<_> = seen.iter().filter(|(t, _)| *t == ms(32_000)).collect();
    assert_eq!(at_give_up.len(), 1);
    let FocusOutput::Send { to, bytes } = &at_give_up[0].1 else {
        panic!("expected a BYE");
    };
    assert_eq!(*to, udp_alice());
    let bye = msg(bytes);
    let rl = bye.request().unwrap();
    assert_eq!(
        (rl.method.as_str(), rl.uri),
        ("BYE", "sip:alice@192.0.2.101:5060")
    );
    assert_eq!(bye.headers.from().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(bye.headers.to().unwrap().tag(), Some("9fxced76sl"));
    assert_eq!(bye.headers.call_id(), Ok("3848276298220188511@192.0.2.101"));
    assert_eq!(bye.headers.cseq().unwrap().seq, 2);
    assert!(bye.headers.top_via().unwrap().has_rfc3261_branch());
    assert_eq!(h.conf.left, [ParticipantId(1)]);
    assert_eq!(h.focus.dialog_count(), 0);
}

fn bye_for(tag: &str, branch: &str) -> Vec<u8> {
    let mut bye = Req::new("BYE", branch);
    bye.uri = "sip:chat22@192.0.2.10:5060;transport=udp".into();
    bye.to_tag = Some(tag.into());
    bye.cseq = 2;
    bye.bytes()
}

#[test]
fn bye_in_dialog_leaves_and_outside_gets_481() {
    let mut h = harness();
    let (_, tag) = join_alice(&mut h, ms(0));
    let bye = bye_for(&tag, "z9hG4bK0e6b2d48");
    let outs = h.udp(ms(100), ALICE, &bye);
    assert_eq!(codes(&outs), [200]);
    let ok = sends(&outs)[0].1.clone();
    assert_eq!(to_tag(&ok), Some(tag.clone()));
    assert_eq!(h.conf.left, [ParticipantId(1)]);
    assert_eq!(h.focus.dialog_count(), 0);
    // The same BYE again is a retransmission: same 200, no second leave.
    assert_eq!(sends(&h.udp(ms(200), ALICE, &bye)), [(udp_alice(), ok)]);
    assert_eq!(h.conf.left.len(), 1);
    // A new BYE in the gone dialog, and one with a wrong tag → 481.
    assert_eq!(
        codes(&h.udp(ms(300), ALICE, &bye_for(&tag, "z9hG4bKnew"))),
        [481]
    );
    assert_eq!(
        codes(&h.udp(ms(300), ALICE, &bye_for("wrong", "z9hG4bKw"))),
        [481]
    );
    // No 2xx retransmissions after the BYE.
    let later = h.run_until(ms(40_000));
    assert!(later.is_empty(), "{later:?}");
}

#[test]
fn cancel_after_final_gets_200_and_unknown_gets_481() {
    let mut h = harness();
    join_alice(&mut h, ms(0));
    let cancel = Req::new("CANCEL", "z9hG4bK74bf9a1c");
    let outs = h.udp(ms(10), ALICE, &cancel.bytes());
    assert_eq!(codes(&outs), [200]);
    assert_eq!(h.focus.dialog_count(), 1, "CANCEL after 2xx has no effect");
    assert!(h.conf.left.is_empty());
    let cancel = Req::new("CANCEL", "z9hG4bKnothing");
    assert_eq!(codes(&h.udp(ms(20), ALICE, &cancel.bytes())), [481]);
}

#[test]
fn cancel_of_a_pending_invite_gets_200_and_487() {
    let mut h = harness();
    let invite = Req::invite("z9hG4bKpend").bytes();
    let m = msg(&invite);
    let key = TxKeyOf::invite(&m);
    let src = Source {
        transport: udp_alice(),
        addr: addr(ALICE),
    };
    h.focus
        .invite_received(ms(0), &mut h.entropy, src, key, &m.headers, &invite);
    assert_eq!(codes(&h.drain()), [100]);
    let outs = h.udp(ms(50), ALICE, &Req::new("CANCEL", "z9hG4bKpend").bytes());
    let s = sends(&outs);
    assert_eq!(codes(&outs), [200, 487]);
    assert_eq!(
        msg(&s[0].1).headers.cseq().unwrap().method.as_str(),
        "CANCEL"
    );
    assert_eq!(
        msg(&s[1].1).headers.cseq().unwrap().method.as_str(),
        "INVITE"
    );
    assert_eq!(to_tag(&s[0].1), to_tag(&s[1].1));
    // 487 is retransmitted (timer G) until the ACK with the INVITE's branch.
    let seen = h.run_until(ms(2_000));
    assert_eq!(seen.len(), 2, "at 550 and 1550 ms");
    let mut ack = Req::new("ACK", "z9hG4bKpend");
    ack.to_tag = to_tag(&s[1].1);
    assert!(h.udp(ms(2_000), ALICE, &ack.bytes()).is_empty());
    let seen = h.run_until(ms(10_000));
    assert!(seen.is_empty(), "{seen:?}");
}

/// Builds a transaction key for a parsed INVITE (test access to the private type).
struct TxKeyOf;
impl TxKeyOf {
    fn invite(m: &Message<'_>) -> transaction::TxKey {
        transaction::TxKey::of(&m.headers, crate::wire::sip::Method::Invite).unwrap()
    }
}

#[test]
fn non_2xx_final_is_retransmitted_until_ack_or_timer_h() {
    let mut h = rfc_schedule_harness();
    let mut r = Req::invite("z9hG4bKnf");
    r.uri = "sip:nosuch@chat.example.com".into();
    let outs = h.udp(ms(0), ALICE, &r.bytes());
    assert_eq!(codes(&outs), [100, 404]);
    let seen = h.run_until(ms(40_000));
    let times: Vec<u64> = seen.iter().map(|(t, _)| t.as_micros() / 1000).collect();
    assert_eq!(times[..5], [500, 1500, 3500, 7500, 11500]);
    assert!(times.iter().all(|t| *t < 32_000), "timer H ends it");
    assert_eq!(h.focus.poll_timeout(), None);
}

#[test]
fn reinvite_returns_the_same_answer() {
    let mut h = harness();
    let (ok, tag) = join_alice(&mut h, ms(0));
    let mut ack = Req::new("ACK", "z9hG4bKack1");
    ack.to_tag = Some(tag.clone());
    h.udp(ms(10), ALICE, &ack.bytes());
    let mut re = Req::invite("z9hG4bKre1");
    re.to_tag = Some(tag.clone());
    re.cseq = 2;
    let outs = h.udp(ms(1000), ALICE, &re.bytes());
    assert_eq!(codes(&outs), [100, 200]);
    let again = sends(&outs)[1].1.clone();
    assert_eq!(msg(&again).body, msg(&ok).body, "same SDP, same o= version");
    assert_eq!(h.conf.joins.len(), 1);
    let mut re = Req::invite("z9hG4bKre2");
    re.to_tag = Some("unknown".into());
    assert_eq!(codes(&h.udp(ms(1000), ALICE, &re.bytes())), [100, 481]);
}

#[test]
fn rport_and_received_on_the_top_via() {
    let mut h = harness();
    let mut r = Req::new("OPTIONS", "z9hG4bKnat");
    r.via = "SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKnat;rport".into();
    let outs = h.udp(ms(0), "203.0.113.5:40000", &r.bytes());
    let s = sends(&outs);
    assert_eq!(s[0].0, SipTransport::Udp(addr("203.0.113.5:40000")));
    let m = msg(&s[0].1);
    assert_eq!(
        m.headers.top_via().unwrap().raw,
        "SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKnat;rport=40000;received=203.0.113.5"
    );
}

#[test]
fn tcp_invite_split_at_every_offset_of_example_1() {
    let invite = Req::invite("z9hG4bK74bf9a1c").bytes();
    assert_eq!(invite.len(), 714, "example 1 octet count");
    for split in 0..=invite.len() {
        let mut h = harness();
        let conn = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
        let mut outs = h.tcp(ms(0), conn, &invite[..split]);
        outs.extend(h.tcp(ms(1), conn, &invite[split..]));
        assert_eq!(codes(&outs), [100, 200], "split {split}");
        let s = sends(&outs);
        assert!(s.iter().all(|(to, _)| *to == SipTransport::Tcp(conn)));
        let ok = msg(&s[1].1);
        assert_eq!(
            ok.headers.contact().unwrap().unwrap().uri,
            "sip:chat22@192.0.2.10:5060;transport=tcp"
        );
    }
}

#[test]
fn tcp_two_messages_in_one_read_and_no_2xx_retransmission() {
    let mut h = harness();
    let conn = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let mut bytes = b"\r\n\r\n".to_vec();
    bytes.extend(Req::new("OPTIONS", "z9hG4bKt1").bytes());
    bytes.extend(Req::invite("z9hG4bKt2").bytes());
    let outs = h.tcp(ms(0), conn, &bytes);
    assert_eq!(codes(&outs), [200, 100, 200]);
    let seen = h.run_until(ms(20_000));
    assert!(seen.is_empty(), "no retransmission over TCP: {seen:?}");
}

#[test]
fn tcp_connection_limit() {
    let mut h = harness_with(Limits {
        max_sip_connections: 2,
        ..Limits::default()
    });
    let a = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let b = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    assert_ne!(a, b);
    assert_eq!(h.focus.tcp_opened(ms(0), addr(ALICE)), None);
    h.focus.tcp_closed(ms(1), a);
    assert!(h.focus.tcp_opened(ms(2), addr(ALICE)).is_some());
}

/// Issue 15: idle SIP TCP connections from a few hosts blocked TCP joins. When the table
/// (or the source's share) is full, the oldest connection carrying no dialog and no
/// subscription, older than `unproven_grace_ms`, is closed for the newcomer; one carrying a dialog stays.
// Issue 15: a SIP TCP connection that carries no dialog and no subscription is closed
// `sip_unproven_timeout_ms` after its last request (or its opening), not after the
// 120 s idle timeout; one that joined keeps the idle timeout.
#[test]
fn tcp_connections_that_prove_nothing_get_the_short_deadline() {
    let limits = Limits::default();
    let short = limits.sip_unproven_timeout_ms;
    assert!(short < limits.sip_idle_timeout_ms);
    let mut h = harness_with(limits);
    let silent = h.focus.tcp_opened(ms(0), addr("198.51.100.9:1")).unwrap();
    let pinger = h.focus.tcp_opened(ms(0), addr("198.51.100.9:2")).unwrap();
    let member = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let opt = Req::new("OPTIONS", "z9hG4bKping").bytes();
    assert_eq!(codes(&h.tcp(ms(1_000), pinger, &opt)), [200]);
    assert_eq!(
        codes(&h.tcp(ms(1_000), member, &Req::invite("z9hG4bKjoin").bytes())),
        [100, 200]
    );
    h.drain();
    let at_short = h.run_until(ms(short));
    assert!(
        at_short.contains(&(ms(short), FocusOutput::Close(silent))),
        "{at_short:?}"
    );
    let later = h.run_until(ms(short + 1_000));
    assert!(
        later.contains(&(ms(short + 1_000), FocusOutput::Close(pinger))),
        "an OPTIONS is no proof: {later:?}"
    );
    let much_later = h.run_until(ms(60_000));
    assert!(
        !much_later
            .iter()
            .any(|(_, o)| *o == FocusOutput::Close(member)),
        "the joined member's connection stays: {much_later:?}"
    );
}

#[test]
fn tcp_unproven_connection_is_evicted_for_a_newcomer() {
    let mut h = harness_with(Limits {
        max_sip_connections: 3,
        max_connections_per_source: 2,
        ..Limits::default()
    });
    let busy = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let outs = h.tcp(ms(1), busy, &Req::invite("z9hG4bKev").bytes());
    assert_eq!(codes(&outs), [100, 200]);
    let idle1 = h.focus.tcp_opened(ms(2), addr("198.51.100.9:1")).unwrap();
    let idle2 = h.focus.tcp_opened(ms(3), addr("198.51.100.9:2")).unwrap();
    // Within the grace nothing is evicted.
    assert_eq!(h.focus.tcp_opened(ms(100), addr("198.51.100.20:1")), None);
    h.drain();
    let newcomer = h.focus.tcp_opened(ms(1_100), addr("198.51.100.20:2"));
    assert!(newcomer.is_some(), "the newcomer is admitted");
    assert_eq!(
        h.drain(),
        [FocusOutput::Close(idle1)],
        "the oldest idle one goes"
    );
    let again = h.focus.tcp_opened(ms(1_500), addr("198.51.100.21:1"));
    assert!(again.is_some());
    assert_eq!(h.drain(), [FocusOutput::Close(idle2)]);
    // Only the dialog's connection and the newcomers' (too young) are left.
    assert_eq!(h.focus.tcp_opened(ms(1_501), addr("198.51.100.22:1")), None);
    assert_eq!(h.focus.dialog_count(), 1);
    assert!(
        h.drain().is_empty(),
        "the dialog's connection {busy:?} stays"
    );
    // At the per-source limit the source's own idle connection goes, not an older one
    // of another source.
    let mut h = harness_with(Limits {
        max_connections_per_source: 2,
        ..Limits::default()
    });
    let other = h.focus.tcp_opened(ms(0), addr("198.51.100.30:1")).unwrap();
    let mine = h.focus.tcp_opened(ms(1), addr("198.51.100.9:1")).unwrap();
    h.focus.tcp_opened(ms(2), addr("198.51.100.9:2")).unwrap();
    assert!(h
        .focus
        .tcp_opened(ms(1_100), addr("198.51.100.9:3"))
        .is_some());
    assert_eq!(h.drain(), [FocusOutput::Close(mine)], "not {other:?}");
}

#[test]
fn tcp_idle_connection_is_closed_unless_it_carries_a_dialog() {
    let idle = Limits::default().sip_idle_timeout_ms;
    // A connection without a dialog has proven nothing: it goes at the shorter deadline
    // (issue 15); the dialog's connection outlives the whole idle timeout.
    let unproven = Limits::default().sip_unproven_timeout_ms;
    let mut h = harness();
    let quiet = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let busy = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let outs = h.tcp(ms(10), busy, &Req::invite("z9hG4bKb").bytes());
    assert_eq!(codes(&outs), [100, 200]);
    let mut ack = Req::new("ACK", "z9hG4bKback");
    ack.via = "SIP/2.0/TCP 192.0.2.101:5060;branch=z9hG4bKback".into();
    ack.to_tag = to_tag(&sends(&outs)[1].1);
    assert!(h.tcp(ms(20), busy, &ack.bytes()).is_empty());
    let outs = h.run_until(ms(idle + 10));
    let closes: Vec<_> = outs
        .iter()
        .filter(|(_, o)| matches!(o, FocusOutput::Close(_)))
        .map(|(t, o)| (*t, o.clone()))
        .collect();
    assert_eq!(closes, [(ms(unproven), FocusOutput::Close(quiet))]);
    // Input on a closing connection is ignored; its slot stays until tcp_closed.
    assert!(h
        .tcp(
            ms(idle + 20),
            quiet,
            &Req::new("OPTIONS", "z9hG4bKq").bytes()
        )
        .is_empty());
    h.focus.tcp_closed(ms(idle + 30), quiet);
    assert_eq!(h.focus.dialog_count(), 1);
}

#[test]
fn tcp_oversized_message_gets_413_then_close() {
    let mut h = harness_with(Limits {
        max_sip_message_bytes: 1024,
        ..Limits::default()
    });
    let conn = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let mut r = Req::invite("z9hG4bKbig");
    r.body = "x".repeat(2000);
    let outs = h.tcp(ms(0), conn, &r.bytes());
    assert_eq!(codes(&outs), [413]);
    assert_eq!(outs.last(), Some(&FocusOutput::Close(conn)));
    let mut h = harness_with(Limits {
        max_sip_message_bytes: 1024,
        ..Limits::default()
    });
    let conn = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    let outs = h.tcp(ms(0), conn, &vec![b'A'; 1500]);
    assert_eq!(outs, [FocusOutput::Close(conn)]);
}

#[test]
fn participant_lost_sends_bye_retransmitted_until_200() {
    let mut h = harness();
    let (_, tag) = join_alice(&mut h, ms(0));
    let mut ack = Req::new("ACK", "z9hG4bKack2");
    ack.to_tag = Some(tag.clone());
    h.udp(ms(5), ALICE, &ack.bytes());
    h.focus
        .participant_lost(ms(1000), &mut h.entropy, ParticipantId(1));
    let outs = h.drain();
    let s = sends(&outs);
    assert_eq!(s.len(), 1);
    let bye_bytes = s[0].1.clone();
    let bye = msg(&bye_bytes);
    assert_eq!(bye.request().unwrap().method.as_str(), "BYE");
    assert_eq!(bye.headers.from().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(h.focus.dialog_count(), 0);
    assert!(h.conf.left.is_empty(), "the switch already freed it");
    let seen = h.run_until(ms(4_000));
    let times: Vec<u64> = seen.iter().map(|(t, _)| t.as_micros() / 1000).collect();
    assert_eq!(times, [1500, 2500]);
    assert!(seen.iter().all(|(_, o)| *o
        == FocusOutput::Send {
            to: udp_alice(),
            bytes: bye_bytes.clone()
        }));
    // Alice answers 200: retransmissions stop.
    let branch = bye.headers.top_via().unwrap().branch().unwrap().to_owned();
    let ok = format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}\r\n\
         From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        bye.headers.get(HeaderName::From).unwrap(),
        bye.headers.get(HeaderName::To).unwrap(),
        bye.headers.call_id().unwrap(),
    );
    assert!(h.udp(ms(4_100), ALICE, ok.as_bytes()).is_empty());
    assert!(h.run_until(ms(100_000)).is_empty());
    assert_eq!(h.focus.poll_timeout(), None);
}

#[test]
fn bye_without_answer_stops_at_timer_f() {
    let mut h = rfc_schedule_harness();
    join_alice(&mut h, ms(0));
    h.focus
        .participant_lost(ms(0), &mut h.entropy, ParticipantId(1));
    h.drain();
    let seen = h.run_until(ms(100_000));
    assert!(seen.iter().all(|(t, _)| *t < ms(32_000)));
    assert!(seen.len() >= 8);
    assert_eq!(h.focus.poll_timeout(), None);
}

// Issue 15, UDP reflection: a UDP address that has not answered anything we sent it may
// be a victim whose address a third party forged. What it gets is bounded by default.
#[test]
fn unproven_udp_peer_gets_at_most_the_bounded_resends() {
    let mut h = harness();
    let (ok, _) = join_alice(&mut h, ms(0));
    let resends = Limits::default().unproven_udp_resends;
    let seen = h.run_until(ms(100_000));
    let oks = seen
        .iter()
        .filter(|(_, o)| matches!(o, FocusOutput::Send { bytes, .. } if *bytes == ok))
        .count();
    assert_eq!(
        oks, resends,
        "the 2xx is resent only {resends} times before an ACK"
    );
    // The dialog never proved its address: its BYE at the give-up is bounded too.
    let byes = seen
        .iter()
        .filter(|(_, o)| matches!(o, FocusOutput::Send { bytes, .. } if bytes.starts_with(b"BYE ")))
        .count();
    assert_eq!(byes, 1 + resends);
    assert_eq!(
        h.conf.left.len(),
        1,
        "the participant still leaves at the give-up"
    );
    assert_eq!(h.focus.poll_timeout(), None);

    // A non-2xx final response (timer G) to an INVITE that is never ACKed: bounded.
    let mut h = harness();
    let mut r = Req::invite("z9hG4bKnf");
    r.uri = "sip:nosuch@chat.example.com".into();
    assert_eq!(codes(&h.udp(ms(0), ALICE, &r.bytes())), [100, 404]);
    assert_eq!(h.run_until(ms(40_000)).len(), resends);
    assert_eq!(h.focus.poll_timeout(), None);
}

#[test]
fn an_acked_dialog_gets_the_rfc_schedule_for_its_bye() {
    let mut h = harness();
    let (_, tag) = join_alice(&mut h, ms(0));
    let mut ack = Req::new("ACK", "z9hG4bK5a1e33f0");
    ack.uri = "sip:chat22@192.0.2.10:5060;transport=udp".into();
    ack.to_tag = Some(tag);
    assert!(h.udp(ms(100), ALICE, &ack.bytes()).is_empty());
    h.focus
        .participant_lost(ms(200), &mut h.entropy, ParticipantId(1));
    h.drain();
    let seen = h.run_until(ms(100_000));
    assert!(
        seen.len() > Limits::default().unproven_udp_resends + 4,
        "proven: timer E runs to timer F ({} resends)",
        seen.len()
    );
}

// max_sip_transactions: finished server transactions (they only absorb retransmissions)
// make room for new requests, oldest first; the table answers 503 only when every entry
// is still pending, here two BYEs nobody answers. Timer F frees it.
#[test]
fn full_transaction_table_evicts_finished_then_answers_503() {
    let mut h = harness_with(Limits {
        max_sip_transactions: 2,
        ..Limits::default()
    });
    let opt = |b: &str| Req::new("OPTIONS", b).bytes();
    let first = h.udp(ms(0), ALICE, &opt("z9hG4bKf1"));
    assert_eq!(codes(&first), [200]);
    let second = h.udp(ms(1), ALICE, &opt("z9hG4bKf2"));
    assert_eq!(codes(&second), [200]);
    assert_eq!(codes(&h.udp(ms(2), ALICE, &opt("z9hG4bKf3"))), [200]);
    // f2 is still kept (its retransmission gets the very same bytes); f1 made room.
    assert_eq!(
        sends(&h.udp(ms(3), ALICE, &opt("z9hG4bKf2")))[0].1,
        sends(&second)[0].1
    );
    // Two dialogs whose participants are lost: their BYEs push the INVITEs out.
    for (n, call_id) in [(1, "dlg-one@192.0.2.101"), (2, "dlg-two@192.0.2.101")] {
        let mut invite = Req::invite(&format!("z9hG4bKinv{n}"));
        invite.call_id = call_id;
        assert_eq!(codes(&h.udp(ms(10), ALICE, &invite.bytes())), [100, 200]);
    }
    for n in [1, 2] {
        h.focus
            .participant_lost(ms(20), &mut h.entropy, ParticipantId(n));
        h.drain();
    }
    let outs = h.udp(ms(30), ALICE, &opt("z9hG4bKf4"));
    assert_eq!(codes(&outs), [503]);
    let b = sends(&outs)[0].1.clone();
    assert_eq!(
        msg(&b).headers.get(HeaderName::Other("Retry-After")),
        Some("32")
    );
    // Timer F ends the unanswered BYEs and frees the table.
    h.run_until(ms(33_000));
    assert_eq!(codes(&h.udp(ms(33_001), ALICE, &opt("z9hG4bKf5"))), [200]);
}

#[test]
fn fuzzish_inputs_never_panic() {
    let mut h = harness();
    let invite = Req::invite("z9hG4bKfz").bytes();
    for end in (0..invite.len()).step_by(7) {
        h.udp(ms(0), ALICE, &invite[..end]);
    }
    let mut junk = invite.clone();
    let mut e = TestEntropy::new(9);
    for i in 0..200u64 {
        let mut pos = [0u8; 2];
        e.fill(&mut pos);
        let at = usize::from(u16::from_le_bytes(pos)) % junk.len();
        junk[at] ^= pos[0] | 1;
        h.udp(ms(i), ALICE, &junk);
    }
    let conn = h.focus.tcp_opened(ms(0), addr(ALICE)).unwrap();
    h.tcp(ms(0), conn, &junk);
    h.run_until(ms(200_000));
}

#[test]
fn oversized_datagram_gets_413() {
    let mut h = harness_with(Limits {
        max_sip_message_bytes: 1024,
        ..Limits::default()
    });
    let mut r = Req::invite("z9hG4bKbigudp");
    r.body = "x".repeat(2000);
    let outs = h.udp(ms(0), ALICE, &r.bytes());
    assert_eq!(codes(&outs), [413]);
    assert!(h.conf.joins.is_empty());
    assert!(h.udp(ms(0), ALICE, &vec![b'A'; 1500]).is_empty());
}

#[path = "roster_tests.rs"]
mod roster;

#[path = "offerless_tests.rs"]
mod offerless;

/// A request padded with a long Via parameter to exactly `max` bytes (the response copies
/// every Via, so it is as large as a response to it can get).
fn padded(mut r: Req, max: usize) -> Vec<u8> {
    let short = r.bytes().len() + ";pad=".len();
    r.via.push_str(";pad=");
    r.via.push_str(&"p".repeat(max.saturating_sub(short)));
    r.bytes()
}

/// The status codes of the responses sent, read from the status line only (a response to
/// a request of the largest size is larger than the parser in `code` accepts).
fn statuses(outs: &[FocusOutput]) -> Vec<String> {
    sends(outs)
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b.get(8..11).unwrap_or_default()).into_owned())
        .collect()
}

// Issue 15: padded OPTIONS fill the transaction table with large stored responses. The
// table holds no more than `max_sip_transactions` × `sip_transaction_bytes()` (capacities,
// not lengths: a response built by doubling kept up to twice its length before).
#[test]
fn a_table_full_of_padded_requests_holds_no_more_than_its_formula() {
    let limits = Limits::default();
    let mut h = harness_with(limits.clone());
    let max = limits.max_sip_message_bytes;
    for n in 0..limits.max_sip_transactions + 8 {
        let bytes = padded(Req::new("OPTIONS", &format!("z9hG4bKopt{n:05}")), max);
        assert_eq!(bytes.len(), max);
        assert_eq!(statuses(&h.udp(ms(n as u64), ALICE, &bytes)), ["200"]);
    }
    // A padded offerless INVITE (IMPL-25): its 200 carries the focus's own offer, the
    // largest response for the request's size.
    let mut offerless = Req::invite("z9hG4bKbiginvite");
    offerless.content_type = None;
    offerless.body = String::new();
    let invite = padded(offerless, max);
    let outs = h.udp(ms(500), ALICE, &invite);
    assert_eq!(statuses(&outs), ["100", "200"]);
    for (_, b) in sends(&outs) {
        assert!(
            b.len() <= max + crate::limits::SIP_RESPONSE_EXTRA,
            "a response of {} bytes",
            b.len()
        );
    }
    assert_eq!(h.focus.txs.len(), limits.max_sip_transactions);
    for (_, t) in h.focus.txs.servers.iter() {
        assert!(
            t.response.capacity() <= max + crate::limits::SIP_RESPONSE_EXTRA,
            "a stored response of {} bytes holds {}",
            t.response.len(),
            t.response.capacity()
        );
    }
    let held = h.focus.txs.held_bytes() + h.focus.txs.len() * crate::limits::TRANSACTION_OVERHEAD;
    let formula = limits.max_sip_transactions * limits.sip_transaction_bytes();
    assert!(held <= formula, "{held} > {formula}");
}

// Issue 15: what a dialog keeps is bounded by `Limits::dialog_bytes()` even for an INVITE
// of the largest size whose From display name (kept twice, and copied into the 2xx kept
// until the ACK) fills it.
#[test]
fn a_dialog_from_the_largest_invite_fits_its_formula() {
    let limits = Limits::default();
    let max = limits.max_sip_message_bytes;
    let mut h = harness_with(limits.clone());
    let plain = String::from_utf8(Req::invite("z9hG4bKbigname").bytes()).unwrap();
    let short = plain.len() + "\"\" ".len() - "Alice ".len();
    let name = "n".repeat(max - short);
    let invite = plain.replacen("From: Alice <", &format!("From: \"{name}\" <"), 1);
    assert_eq!(invite.len(), max);
    let outs = h.udp(ms(0), ALICE, invite.as_bytes());
    assert_eq!(statuses(&outs), ["100", "200"]);
    let (_, d) = h.focus.dialogs.slab.iter().next().expect("a dialog");
    let held = d.held_bytes() + crate::limits::DIALOG_OVERHEAD;
    assert!(
        held <= limits.dialog_bytes(),
        "{held} > {}",
        limits.dialog_bytes()
    );
}
