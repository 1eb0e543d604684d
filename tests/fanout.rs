//! Three-party fan-out without echo (RFC 7701 §6.1): A's message reaches B and C once each,
//! CPIM body byte-identical, new Message-ID; A gets its 200 and no copy.

mod common;

use common::{Participant, Server, Transport, STEP};

// R7701-6.1-f (a copy for everyone but the sender), R7701-6.1-g (CPIM body unmodified,
// recipient's own To-Path/From-Path), IMPL-15 (new Message-ID on the copy).
#[test]
fn three_party_fanout_without_echo() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Tcp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");

    let (tid1, mid1, body1) = a.say(b"Hello everyone!");
    let resp = a.response_to(&tid1);
    assert_eq!(resp.status, Some(200));
    let (tid2, _, body2) = a.say(b"second line");
    assert_eq!(a.response_to(&tid2).status, Some(200));

    for p in [&mut b, &mut c] {
        let first = p.next_send(STEP).expect("copy of the first message");
        assert_eq!(first.body, body1, "CPIM body not byte-identical");
        assert_eq!(first.header("Content-Type"), Some("message/cpim"));
        let copy_mid = first.header("Message-ID").expect("Message-ID on the copy");
        assert_ne!(copy_mid, mid1, "copy reuses the sender's Message-ID");
        assert_eq!(first.header("To-Path"), Some(p.local_path.as_str()));
        assert_eq!(first.header("From-Path"), Some(p.answer.path.as_str()));
        // Exactly one copy: the next message is the second one, not a duplicate.
        let second = p.next_send(STEP).expect("copy of the second message");
        assert_eq!(
            second.body, body2,
            "expected the second message, got a duplicate?"
        );
    }

    // No echo: the first SEND A receives is B's later message, not its own.
    let (tid3, _, body3) = b.say(b"hi from bob");
    assert_eq!(b.response_to(&tid3).status, Some(200));
    let got = a.next_send(STEP).expect("B's message at A");
    assert_eq!(
        got.body, body3,
        "A received something else first (its own echo?)"
    );
    let got = c.next_send(STEP).expect("B's message at C");
    assert_eq!(got.body, body3);
}

// Write-through (src/shell/msrp_conn.rs): a burst that arrives in one write is read in
// several 8 KiB reads, each leaving more than the 4 KiB write-through threshold queued for
// every recipient. Those bytes go to the kernel with MSG_MORE and only the end-of-round
// write pushes them: every recipient must still get every message, whole and in order
// (messages cut by a read boundary arrive as two chunks), and the sender every 200
// (R7701-6.1-f, R4975-7.2).
#[test]
fn a_burst_in_one_write_reaches_everyone_whole_and_in_order() {
    const MESSAGES: usize = 120;
    const READ_BYTES: usize = 8192;
    let server = Server::start(&["--limit", "read_buf_bytes=8192"]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Tcp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");

    let mut burst = Vec::new();
    let mut bodies = Vec::new();
    let mut tids = Vec::new();
    let send = |i: usize, text_len: usize| {
        let mut text = format!("burst line {i:03} ").into_bytes();
        text.resize(text_len, b'x');
        let body = common::msrp::cpim_body(&a.uri, common::ROOM, &text);
        let (tid, mid) = (format!("burst{i:03}tid"), format!("burst{i:03}mid"));
        let len = body.len().to_string();
        let bytes = common::msrp::SendRequest {
            tid: &tid,
            to_path: &a.answer.path,
            from_path: &a.local_path,
            message_id: &mid,
            range: ("1", &len, &len),
            content_type: Some("message/cpim"),
            body: &body,
            flag: '$',
        }
        .bytes();
        (bytes, body, tid)
    };
    for i in 0..MESSAGES {
        // The last message is sized so that the last read is nearly a whole buffer: its
        // copies alone pass the threshold, so they are all handed over with MSG_MORE and
        // nothing is left for a plain write; the writer's explicit push sends them (the
        // kernel would otherwise hold them for its 200 ms cork limit).
        let text_len = match i {
            i if i + 1 < MESSAGES => 400,
            _ => {
                let probe = send(i, 400).0.len();
                let tail = (burst.len() + probe) % READ_BYTES;
                400 + (READ_BYTES - 500 + READ_BYTES - tail) % READ_BYTES
            }
        };
        let (bytes, body, tid) = send(i, text_len);
        burst.extend(bytes);
        bodies.push(body);
        tids.push(tid);
    }
    let tail = burst.len() % READ_BYTES;
    assert!((7000..READ_BYTES).contains(&tail), "last read {tail} bytes");
    assert!(burst.len() > 50_000, "burst of {} bytes", burst.len());
    a.conn().write(&burst);

    for p in [&mut b, &mut c] {
        for (i, body) in bodies.iter().enumerate() {
            // A message cut by a read boundary is forwarded as two chunks (fast forwarding).
            let got = p
                .next_message(STEP)
                .unwrap_or_else(|| panic!("copy {i} of {MESSAGES} never arrived"));
            assert_eq!(&got, body, "copy {i} differs or is out of order");
        }
    }
    for tid in &tids {
        assert_eq!(a.response_to(tid).status, Some(200), "response to {tid}");
    }
}
