//! Chunked messages and first-chunk fast forwarding (RFC 4975 §5.1, RFC 7701 §6.1): B sees
//! the first bytes of A's message before A sends the rest, and ends with the whole body
//! byte-identical.

mod common;

use std::collections::BTreeMap;

use common::msrp::{cpim_body, MsrpMessage, SendRequest};
use common::{ident, Participant, Server, Transport, QUIET, ROOM, STEP};

/// A's whole CPIM body split at `split` into two chunks.
fn chunks(a: &Participant, split_content_at: usize) -> (Vec<u8>, usize) {
    let content: Vec<u8> = (0..400u32).map(|i| b'A' + (i % 26) as u8).collect();
    let body = cpim_body(&a.uri, ROOM, &content);
    let split = body.len() - content.len() + split_content_at;
    (body, split)
}

/// Places every chunk B receives for one Message-ID; returns the body once a `$` chunk
/// has arrived and every byte is covered.
struct Reassembly {
    parts: BTreeMap<u64, Vec<u8>>,
    message_id: Option<String>,
    done: bool,
}

impl Reassembly {
    fn new() -> Self {
        Reassembly {
            parts: BTreeMap::new(),
            message_id: None,
            done: false,
        }
    }

    fn add(&mut self, msg: &MsrpMessage) {
        let mid = msg.header("Message-ID").expect("Message-ID").to_string();
        match &self.message_id {
            None => self.message_id = Some(mid),
            Some(m) => assert_eq!(m, &mid, "chunk of another message arrived"),
        }
        assert_ne!(msg.flag, b'#', "message aborted: {msg:?}");
        let (start, _, _) = msg.byte_range().expect("Byte-Range start");
        if !msg.body.is_empty() {
            self.parts.insert(start, msg.body.clone());
        }
        if msg.flag == b'$' {
            self.done = true;
        }
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (start, bytes) in &self.parts {
            assert_eq!(
                *start as usize,
                out.len() + 1,
                "gap or overlap at byte {start}"
            );
            out.extend_from_slice(bytes);
        }
        out
    }
}

fn receive_rest(b: &mut Participant, re: &mut Reassembly) {
    for _ in 0..1000 {
        if re.done {
            return;
        }
        let msg = b.next_send(STEP).expect("more chunks at B");
        re.add(&msg);
    }
    panic!("no final chunk at B");
}

// R7701-6.1-i (distribution starts once the CPIM headers are in), R7701-6.1-g
// (re-chunked copies carry the body unmodified).
#[test]
fn first_chunk_is_forwarded_before_the_second_is_sent() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (body, split) = chunks(&a, 150);
    let total = body.len().to_string();
    let mid = ident(12);

    let tid1 = ident(12);
    let chunk1 = SendRequest {
        tid: &tid1,
        to_path: &a.answer.path,
        from_path: &a.local_path,
        message_id: &mid,
        range: ("1", &split.to_string(), &total),
        content_type: Some("message/cpim"),
        body: &body[..split],
        flag: '+',
    }
    .bytes();
    a.conn().write(&chunk1);
    assert_eq!(a.response_to(&tid1).status, Some(200));

    // B gets bytes of chunk 1 while A is still holding chunk 2.
    let mut re = Reassembly::new();
    let first = b.next_send(STEP).expect("fast-forwarded first chunk at B");
    assert!(!first.body.is_empty(), "first forwarded chunk is empty");
    assert_eq!(first.byte_range().map(|r| r.0), Some(1));
    assert!(
        body.starts_with(&first.body),
        "forwarded bytes are not a prefix of the body"
    );
    re.add(&first);
    // Anything else B got for chunk 1 arrives without chunk 2 being sent.
    while let Some(more) = b.next_send(QUIET) {
        re.add(&more);
    }
    assert!(!re.done, "B saw the last chunk before A sent it");

    let tid2 = ident(12);
    let chunk2 = SendRequest {
        tid: &tid2,
        to_path: &a.answer.path,
        from_path: &a.local_path,
        message_id: &mid,
        range: (&(split + 1).to_string(), &total, &total),
        content_type: Some("message/cpim"),
        body: &body[split..],
        flag: '$',
    }
    .bytes();
    a.conn().write(&chunk2);
    assert_eq!(a.response_to(&tid2).status, Some(200));
    receive_rest(&mut b, &mut re);
    assert_eq!(re.body(), body, "reassembled body differs");
}

// R7701-6.1-i (forwarding starts before the chunk's end-line arrives).
#[test]
fn first_bytes_stream_before_the_chunk_end_line() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Tcp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (body, _) = chunks(&a, 400);
    let total = body.len().to_string();
    let tid = ident(12);
    let whole = SendRequest {
        tid: &tid,
        to_path: &a.answer.path,
        from_path: &a.local_path,
        message_id: &ident(12),
        range: ("1", &total, &total),
        content_type: Some("message/cpim"),
        body: &body,
        flag: '$',
    }
    .bytes();
    // Everything but the CRLF + end-line: the switch cannot know the chunk's end yet.
    let end_line_len = 2 + 7 + tid.len() + 1 + 2;
    let (head, tail) = whole.split_at(whole.len() - end_line_len);
    a.conn().write(head);

    let mut re = Reassembly::new();
    let first = b
        .next_send(STEP)
        .expect("bytes streamed before the end-line");
    assert_eq!(first.flag, b'+', "streamed part must continue");
    assert!(
        body.starts_with(&first.body),
        "streamed bytes are not a prefix"
    );
    re.add(&first);

    a.conn().write(tail);
    assert_eq!(a.response_to(&tid).status, Some(200));
    receive_rest(&mut b, &mut re);
    assert_eq!(re.body(), body, "reassembled body differs");
}
