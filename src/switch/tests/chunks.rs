//! First-chunk fast forwarding and the Message-ID table (RFC 7701 §6.1, IMPL-16/20/21).

use super::*;
use crate::switch::inbound::CARRY_HOLD;

fn three(h: &mut Harness) -> [(Joined, MsrpConnId); 3] {
    [h.joined(ALICE), h.joined(BOB), h.joined(CAROL)]
}

/// Checks that `chunks` are one message's copies in order: same Message-ID, contiguous
/// Byte-Ranges from 1, `+` until the last; returns the concatenated body.
fn reassemble(chunks: &[Msg], last: Flag) -> Vec<u8> {
    let mut body = Vec::new();
    let mid = chunks[0].message_id.clone();
    for (i, m) in chunks.iter().enumerate() {
        assert_eq!(m.message_id, mid);
        let r = m.byte_range.unwrap();
        assert_eq!(r.start, body.len() as u64 + 1, "contiguous");
        if m.has_body {
            assert_eq!(r.end, Some(r.start + m.body.len() as u64 - 1));
            assert_eq!(m.content_type.as_deref(), Some("message/cpim"));
        }
        let want = if i + 1 == chunks.len() {
            last
        } else {
            Flag::More
        };
        assert_eq!(m.flag, Some(want), "chunk {i}");
        body.extend_from_slice(&m.body);
    }
    body
}

#[test]
fn every_split_of_a_message_forwards_the_same_bytes() {
    let probe = {
        let mut h = Harness::new();
        let a = h.join(ALICE);
        example(9, 0, &a.path)
    };
    let body = body_of(&probe);
    for cut in 0..=probe.len() {
        let mut h = Harness::new();
        let [(a, ca), (_b, cb), _] = three(&mut h);
        let req = example(9, 0, &a.path);
        h.input(ca, &req[..cut]);
        h.input(ca, &req[cut..]);
        let out = h.msgs(ca);
        assert_eq!(out.len(), 1, "cut {cut}");
        assert_eq!(out[0].code(), 200);
        let chunks = h.msgs(cb);
        assert!(!chunks.is_empty(), "cut {cut}");
        assert_eq!(reassemble(&chunks, Flag::Last), body, "cut {cut}");
        assert_eq!(chunks[0].byte_range.unwrap().total, Some(166));
        assert_eq!(h.sw.messages_in_flight(), 0);
    }
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    for byte in example(9, 0, &a.path).chunks(1) {
        h.input(ca, byte);
    }
    assert_eq!(reassemble(&h.msgs(cb), Flag::Last), body);
}

#[test]
fn first_chunk_is_forwarded_before_its_end_line() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), (_c, cc)] = three(&mut h);
    let chunk1 = example(14, 0, &a.path);
    let end_line = b"\r\n-------dkei38sdA1b2C3d4+\r\n".len();
    let (first, rest) = chunk1.split_at(chunk1.len() - end_line - 5);
    h.input(ca, first);
    assert!(h.drain(ca).is_empty(), "no 200 before the end-line");
    // The rest of this short chunk is announced: its first bytes wait for it, briefly.
    assert!(h.msgs(cb).is_empty(), "held for the rest of the chunk");
    assert_eq!(h.sw.poll_timeout(), Some(h.now + CARRY_HOLD));
    h.advance(CARRY_HOLD.as_millis() as u64);
    let early = h.msgs(cb);
    assert_eq!(
        early.len(),
        1,
        "Bob has the first bytes once the hold is over"
    );
    assert_eq!(
        early[0].byte_range,
        Some(ByteRange {
            start: 1,
            end: Some(156),
            total: Some(171)
        })
    );
    assert_eq!(early[0].flag, Some(Flag::More));
    h.input(ca, rest);
    assert_eq!(h.msgs(ca)[0].code(), 200);
    let mid = h.msgs(cb);
    assert_eq!(mid.len(), 1);
    assert_eq!(
        mid[0].byte_range,
        Some(ByteRange {
            start: 157,
            end: Some(161),
            total: Some(171)
        })
    );
    h.input(ca, &example(14, 2, &a.path));
    assert_eq!(h.msgs(ca)[0].raw, example(14, 3, &a.path));
    let last = h.msgs(cb);
    let mut all = early;
    all.extend(mid);
    all.extend(last);
    let mut whole = body_of(&chunk1);
    whole.extend_from_slice(b"KLMNOPQRST");
    assert_eq!(reassemble(&all, Flag::Last), whole);
    assert_eq!(reassemble(&h.msgs(cc), Flag::Last), whole, "Carol too");
    assert_eq!(h.sw.messages_in_flight(), 0);
}

#[test]
fn later_chunks_go_only_to_first_chunk_recipients() {
    let mut h = Harness::new();
    let [(a, ca), (b, cb), (_c, cc)] = three(&mut h);
    h.input(ca, &example(14, 0, &a.path));
    h.drain(ca);
    assert_eq!(h.msgs(cb).len(), 1);
    assert_eq!(h.msgs(cc).len(), 1);
    let (_d, cd) = h.joined(DAVE);
    h.sw.leave(h.now, b.id);
    h.input(ca, &example(14, 2, &a.path));
    assert_eq!(h.msgs(ca)[0].code(), 200);
    assert!(h.msgs(cd).is_empty(), "Dave joined mid-message");
    assert!(h.drain(cb).is_empty(), "Bob left");
    let last = h.msgs(cc);
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].byte_range.unwrap().start, 162);
    assert_eq!(last[0].flag, Some(Flag::Last));
}

#[test]
fn chunk_timer_aborts_with_example_15() {
    let mut h = Harness::new();
    let [(a, ca), (b, cb), _] = three(&mut h);
    h.input(ca, &example(14, 0, &a.path));
    h.drain(ca);
    let first = h.msgs(cb).remove(0);
    let timeout = h.sw.limits.chunk_timeout_ms;
    assert!(h.sw.poll_timeout().is_some());
    h.advance(timeout / 2);
    assert!(h.drain(cb).is_empty(), "not yet");
    h.advance(timeout / 2);
    let abort = h.msgs(cb);
    assert_eq!(abort.len(), 1);
    let text = MESSAGES.iter().find(|m| m.0 == 15 && m.1 == 1).unwrap().3;
    let expected = wire(
        &with_copy_report(text)
            .replace("Zz9Xx8Cc7Vv6Bb5N", &abort[0].tid)
            .replace("Ff6Gg7Hh8Jj9Kk0L", first.message_id.as_deref().unwrap())
            .replace("msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp", &b.path),
    );
    assert_eq!(abort[0].raw, expected);
    assert_eq!(h.sw.messages_in_flight(), 0);
    assert_eq!(h.sw.poll_timeout(), None);
    // The late chunk 2 is an orphan: 200, nothing forwarded (IMPL-16).
    h.input(ca, &example(14, 2, &a.path));
    assert_eq!(h.msgs(ca)[0].code(), 200);
    assert!(h.drain(cb).is_empty());
}

#[test]
fn each_chunk_resets_the_timer() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    let timeout = h.sw.limits.chunk_timeout_ms;
    let body = cpim(ALICE.uri, ROOM_URI, "0123456789");
    let n = body.len();
    let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
    h.input(
        ca,
        &send(
            "tim00001",
            &a.path,
            ALICE.peer,
            "tm",
            &format!("1-{}/*", n - 5),
            "",
            "message/cpim",
            &body[..n - 5],
            '+',
        ),
    );
    // The peers read what they are sent (else `write_stall_timeout_ms` closes them).
    to_a.extend(h.drain(ca));
    to_b.extend(h.drain(cb));
    h.advance(timeout - 1);
    h.input(
        ca,
        &send(
            "tim00002",
            &a.path,
            ALICE.peer,
            "tm",
            &format!("{}-{}/*", n - 4, n - 3),
            "",
            "message/cpim",
            &body[n - 5..n - 3],
            '+',
        ),
    );
    // The peers read what they are sent (else `write_stall_timeout_ms` closes them).
    to_a.extend(h.drain(ca));
    to_b.extend(h.drain(cb));
    h.advance(timeout - 1);
    assert_eq!(h.sw.messages_in_flight(), 1, "still alive");
    h.input(
        ca,
        &send(
            "tim00003",
            &a.path,
            ALICE.peer,
            "tm",
            &format!("{}-{n}/{n}", n - 2),
            "",
            "message/cpim",
            &body[n - 3..],
            '$',
        ),
    );
    to_a.extend(h.drain(ca));
    to_b.extend(h.drain(cb));
    assert_eq!(
        parse_all(&to_a).iter().filter(|m| m.code() == 200).count(),
        3
    );
    assert_eq!(reassemble(&parse_all(&to_b), Flag::Last), body);
    assert_eq!(h.sw.messages_in_flight(), 0);
}

#[test]
fn sender_connection_loss_mid_message_aborts_recipients() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), (_c, cc)] = three(&mut h);
    h.input(ca, &example(14, 0, &a.path));
    h.events();
    assert_eq!(h.msgs(cb).len(), 1);
    assert_eq!(h.msgs(cc).len(), 1);
    h.sw.conn_closed(h.now, ca);
    assert_eq!(h.events(), vec![SwitchEvent::ParticipantLost(a.id)]);
    assert_eq!(h.sw.poll_timeout(), Some(Instant::ZERO), "abort due now");
    h.advance(0);
    for c in [cb, cc] {
        let abort = h.msgs(c);
        assert_eq!(abort.len(), 1);
        assert_eq!(abort[0].flag, Some(Flag::Abort));
        assert!(!abort[0].has_body);
        assert_eq!(abort[0].byte_range.unwrap().start, 162);
    }
    assert_eq!(h.sw.messages_in_flight(), 0);
    assert_eq!(h.sw.stats().participants, 2);
}

#[test]
fn sender_abort_flag_is_forwarded() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    h.input(ca, &example(14, 0, &a.path));
    let abort = format!(
        "MSRP abrt0001 SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: 4564dpWdE5f6G7h8\r\n\
         Byte-Range: 162-*/171\r\n-------abrt0001#\r\n",
        a.path, ALICE.peer
    );
    h.input(ca, abort.as_bytes());
    let codes: Vec<u16> = h.msgs(ca).iter().map(Msg::code).collect();
    assert_eq!(codes, [200, 200]);
    let got = h.msgs(cb);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].flag, Some(Flag::Abort));
    assert_eq!(h.sw.messages_in_flight(), 0);
}

#[test]
fn cpim_header_block_split_across_chunks_is_held() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    let body = cpim(ALICE.uri, ROOM_URI, "split headers");
    let n = body.len();
    let cut = 20;
    h.input(
        ca,
        &send(
            "hold0001",
            &a.path,
            ALICE.peer,
            "hm",
            &format!("1-{cut}/{n}"),
            "",
            "message/cpim",
            &body[..cut],
            '+',
        ),
    );
    assert_eq!(h.msgs(ca)[0].code(), 200);
    assert!(
        h.drain(cb).is_empty(),
        "nothing before the CPIM headers are complete"
    );
    h.input(
        ca,
        &send(
            "hold0002",
            &a.path,
            ALICE.peer,
            "hm",
            &format!("{}-{n}/{n}", cut + 1),
            "",
            "message/cpim",
            &body[cut..],
            '$',
        ),
    );
    assert_eq!(h.msgs(ca)[0].code(), 200);
    let got = h.msgs(cb);
    assert_eq!(got.len(), 1, "held bytes and the rest as one chunk");
    assert_eq!(reassemble(&got, Flag::Last), body);
    // Out of order while holding: 400.
    h.input(
        ca,
        &send(
            "hold0003",
            &a.path,
            ALICE.peer,
            "hx",
            &format!("1-{cut}/{n}"),
            "",
            "message/cpim",
            &body[..cut],
            '+',
        ),
    );
    h.input(
        ca,
        &send(
            "hold0004",
            &a.path,
            ALICE.peer,
            "hx",
            &format!("{}-{n}/{n}", cut + 5),
            "",
            "message/cpim",
            &body[cut + 4..],
            '$',
        ),
    );
    let codes: Vec<u16> = h.msgs(ca).iter().map(Msg::code).collect();
    assert_eq!(codes, [200, 400]);
    // A message that ends inside its CPIM header block: 400.
    h.input(
        ca,
        &send(
            "hold0005",
            &a.path,
            ALICE.peer,
            "hy",
            &format!("1-{cut}/{cut}"),
            "",
            "message/cpim",
            &body[..cut],
            '$',
        ),
    );
    assert_eq!(h.msgs(ca)[0].code(), 400);
    assert!(h.drain(cb).is_empty());
    assert_eq!(h.sw.messages_in_flight(), 0);
}

#[test]
fn orphan_chunk_gets_200_and_is_dropped() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    h.input(
        ca,
        &send(
            "orph0001",
            &a.path,
            ALICE.peer,
            "nostate",
            "50-59/59",
            "",
            "message/cpim",
            b"0123456789",
            '$',
        ),
    );
    assert_eq!(h.msgs(ca)[0].code(), 200);
    assert!(h.drain(cb).is_empty());
}

#[test]
fn partial_message_limits_give_413() {
    let l = Limits {
        max_partial_per_sender: 2,
        max_message_ids: 3,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let [(a, ca), (b, cb), _] = three(&mut h);
    let body = cpim(ALICE.uri, ROOM_URI, "part");
    let first = |tid: &str, mid: &str| {
        send(
            tid,
            &a.path,
            ALICE.peer,
            mid,
            "1-*/*",
            "",
            "message/cpim",
            &body,
            '+',
        )
    };
    h.input(ca, &first("part0001", "p1"));
    h.input(ca, &first("part0002", "p2"));
    h.input(ca, &first("part0003", "p3"));
    let codes: Vec<u16> = h.msgs(ca).iter().map(Msg::code).collect();
    assert_eq!(codes, [200, 200, 413]);
    assert_eq!(h.msgs(cb).len(), 2, "the refused message was not forwarded");
    // Bob fills the last table entry; Carol's next message finds the table full.
    let bbody = cpim(BOB.uri, ROOM_URI, "b");
    h.input(
        cb,
        &send(
            "bobp0001",
            &b.path,
            BOB.peer,
            "b1",
            "1-*/*",
            "",
            "message/cpim",
            &bbody,
            '+',
        ),
    );
    assert_eq!(h.msgs(cb)[0].code(), 200);
    assert_eq!(h.sw.messages_in_flight(), 3);
    let (c, cc) = (h.join(DAVE), h.conn());
    h.input(cc, &bind_send("binddave", &c.path, DAVE.peer));
    h.drain(cc);
    let dbody = cpim(DAVE.uri, ROOM_URI, "d");
    h.input(
        cc,
        &send(
            "davp0001",
            &c.path,
            DAVE.peer,
            "d1",
            "1-*/*",
            "",
            "message/cpim",
            &dbody,
            '$',
        ),
    );
    assert_eq!(h.msgs(cc)[0].code(), 413);
}

#[test]
fn oversized_chunk_and_message_give_413_and_abort() {
    let l = Limits {
        max_chunk_bytes: 120,
        max_message_bytes: 150,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let [(a, ca), (_b, cb), _] = three(&mut h);
    let mut body = cpim(ALICE.uri, ROOM_URI, "");
    body.resize(140, b'x');
    let req = send(
        "big00001",
        &a.path,
        ALICE.peer,
        "big",
        "1-*/*",
        "",
        "message/cpim",
        &body,
        '+',
    );
    let head = req.len() - body.len() - b"\r\n-------big00001+\r\n".len();
    h.input(ca, &req[..head + 105]);
    // The end is `*`: the 105 bytes wait for more until the hold runs out.
    assert!(h.msgs(cb).is_empty());
    h.advance(CARRY_HOLD.as_millis() as u64);
    let got = h.msgs(cb);
    assert_eq!(got.len(), 1, "the first 105 bytes went out");
    assert_eq!(got[0].byte_range.unwrap().end, Some(105));
    h.input(ca, &req[head + 105..head + 130]);
    let got = h.msgs(cb);
    assert_eq!(got.len(), 1, "then the abort");
    assert_eq!(got[0].flag, Some(Flag::Abort));
    assert_eq!(got[0].byte_range.unwrap().start, 106);
    assert!(h.drain(ca).is_empty());
    h.input(ca, &req[head + 130..]);
    assert_eq!(h.msgs(ca)[0].code(), 413);
    assert_eq!(h.sw.messages_in_flight(), 0);
    h.input(
        ca,
        &send(
            "big00002",
            &a.path,
            ALICE.peer,
            "big2",
            "1-10/151",
            "",
            "message/cpim",
            b"0123456789",
            '+',
        ),
    );
    assert_eq!(h.msgs(ca)[0].code(), 413);
}

/// Every cut of a one-chunk message into two reads, the first ending anywhere from its
/// header block to its end-line: recipients get the message as one whole `$` chunk.
#[test]
fn a_read_ending_inside_a_short_chunk_does_not_split_it() {
    let text = "a short line, split by a read boundary";
    let probe = {
        let mut h = Harness::new();
        let a = h.join(ALICE);
        chat("t1", &a, ALICE, ROOM_URI, text)
    };
    let body = cpim(ALICE.uri, ROOM_URI, text);
    let len = body.len() as u64;
    for cut in 1..probe.len() {
        let mut h = Harness::new();
        let [(a, ca), (_b, cb), (_c, cc)] = three(&mut h);
        let req = chat("t1", &a, ALICE, ROOM_URI, text);
        assert_eq!(req, probe);
        h.input(ca, &req[..cut]);
        h.input(ca, &req[cut..]);
        assert_eq!(h.msgs(ca)[0].code(), 200, "cut {cut}");
        for c in [cb, cc] {
            let copies = h.msgs(c);
            assert_eq!(copies.len(), 1, "cut {cut}: one chunk");
            assert_eq!(
                copies[0].byte_range,
                Some(ByteRange {
                    start: 1,
                    end: Some(len),
                    total: Some(len)
                }),
                "cut {cut}"
            );
            assert_eq!(copies[0].flag, Some(Flag::Last), "cut {cut}");
            assert_eq!(copies[0].body, body, "cut {cut}");
        }
        assert_eq!(h.sw.messages_in_flight(), 0, "cut {cut}");
    }
}

/// One CPIM message in one chunk whose Byte-Range end is `*` (RFC 4975 §7.1.1: the sender
/// did not know the length when it started the chunk).
fn star_chat(j: &Joined, text: &str) -> Vec<u8> {
    let body = cpim(ALICE.uri, ROOM_URI, text);
    send(
        "t1",
        &j.path,
        ALICE.peer,
        "mt1",
        "1-*/*",
        "",
        "message/cpim",
        &body,
        '$',
    )
}

/// A chunk whose end is `*`, cut by one read boundary anywhere: a short one still reaches
/// recipients as one chunk, a 5,000-byte one as chunks of 2048, 2048 and the rest, never
/// with a short chunk before the last (R4975-7.1.1-b).
#[test]
fn a_read_boundary_inside_a_star_chunk_leaves_only_whole_chunks() {
    for text in [
        "a short line whose length was not announced".to_string(),
        "z".repeat(5000),
    ] {
        let body = cpim(ALICE.uri, ROOM_URI, &text);
        let want: Vec<usize> = match body.len() {
            n if n <= 2048 => vec![n],
            n => vec![2048, 2048, n - 4096],
        };
        let n = {
            let mut h = Harness::new();
            let a = h.join(ALICE);
            star_chat(&a, &text).len()
        };
        let step = if body.len() > 2048 { 97 } else { 1 };
        for cut in (1..n).step_by(step) {
            let mut h = Harness::new();
            let [(a, ca), (_b, cb), _] = three(&mut h);
            let req = star_chat(&a, &text);
            assert_eq!(req.len(), n);
            let mut copies = Vec::new();
            h.input(ca, &req[..cut]);
            copies.extend(h.msgs(cb));
            h.input(ca, &req[cut..]);
            copies.extend(h.msgs(cb));
            assert_eq!(h.msgs(ca)[0].code(), 200, "cut {cut}");
            let sizes: Vec<usize> = copies.iter().map(|m| m.body.len()).collect();
            assert_eq!(sizes, want, "cut {cut} of {n}");
            assert_eq!(copies.last().and_then(|m| m.flag), Some(Flag::Last));
            assert_eq!(reassemble(&copies, Flag::Last), body, "cut {cut}");
            assert_eq!(h.sw.messages_in_flight(), 0, "cut {cut}");
        }
    }
}

/// Held bytes go out once the hold is over even if the rest never comes; the chunk
/// timer then aborts the message for the recipients that got them (example 15).
#[test]
fn held_bytes_of_a_stalled_sender_go_out_after_the_hold() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    let req = chat("t1", &a, ALICE, ROOM_URI, "the rest of this never arrives");
    let cut = req.len() - 20;
    h.input(ca, &req[..cut]);
    assert!(h.msgs(cb).is_empty(), "held");
    let hold = CARRY_HOLD.as_millis() as u64;
    h.advance(hold - 1);
    assert!(
        h.msgs(cb).is_empty(),
        "still held just before the hold ends"
    );
    h.advance(1);
    let early = h.msgs(cb);
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].flag, Some(Flag::More));
    let sent = early[0].body.len();
    assert!(
        req[..cut].ends_with(&early[0].body),
        "everything held, in order"
    );
    assert!(sent > 0);
    // Nothing more until the chunk timer gives up on the message.
    h.advance(limits().chunk_timeout_ms - hold - 1);
    assert!(h.msgs(cb).is_empty());
    h.advance(1);
    let abort = h.msgs(cb);
    assert_eq!(abort.len(), 1);
    assert_eq!(abort[0].flag, Some(Flag::Abort));
    assert_eq!(abort[0].byte_range.unwrap().start, sent as u64 + 1);
}

/// A chunk longer than one outbound chunk is streamed as it comes, in whole outbound chunks.
#[test]
fn a_long_chunk_is_streamed_not_held() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    let req = chat("t1", &a, ALICE, ROOM_URI, &"x".repeat(3000));
    h.input(ca, &req[..req.len() - 100]);
    let early = h.msgs(cb);
    assert!(!early.is_empty(), "streamed before the rest arrives");
    assert!(early.iter().all(|m| m.flag == Some(Flag::More)));
    h.input(ca, &req[req.len() - 100..]);
    let mut all = early;
    all.extend(h.msgs(cb));
    assert_eq!(
        reassemble(&all, Flag::Last),
        cpim(ALICE.uri, ROOM_URI, &"x".repeat(3000))
    );
}

/// The sender's connection closing while bytes are held: recipients got nothing, so they
/// get nothing (no `#` for a message they never saw).
#[test]
fn held_bytes_die_with_the_sender_connection() {
    let mut h = Harness::new();
    let [(a, ca), (_b, cb), _] = three(&mut h);
    let req = chat("t1", &a, ALICE, ROOM_URI, "cut off");
    h.input(ca, &req[..req.len() - 20]);
    h.sw.conn_closed(h.now, ca);
    h.advance(limits().chunk_timeout_ms + 1);
    assert!(h.msgs(cb).is_empty());
    assert_eq!(h.sw.messages_in_flight(), 0);
}

/// A long chunk cut by reads anywhere: every outbound chunk but the last carries exactly
/// 2048 octets (R4975-7.1.1-b), whatever the reads were; the held remainder goes out at the
/// next read.
#[test]
fn a_long_chunk_cut_by_reads_goes_out_in_whole_2048_octet_chunks() {
    let text = "y".repeat(5000);
    let body = cpim(ALICE.uri, ROOM_URI, &text);
    let probe = {
        let mut h = Harness::new();
        let a = h.join(ALICE);
        chat("t1", &a, ALICE, ROOM_URI, &text)
    };
    let n = probe.len();
    let cuts: [&[usize]; 7] = [
        &[300],
        &[1000],
        &[2400],
        &[4300],
        &[n - 10],
        &[700, 2600, 4500],
        &[2200, 2300, 2400, 5100],
    ];
    for cut in cuts {
        let mut h = Harness::new();
        let [(a, ca), (_b, cb), _] = three(&mut h);
        let req = chat("t1", &a, ALICE, ROOM_URI, &text);
        assert_eq!(req, probe);
        let mut copies = Vec::new();
        let mut at = 0;
        for &c in cut.iter().chain([&n]) {
            h.input(ca, &req[at..c]);
            at = c;
            copies.extend(h.msgs(cb));
        }
        assert_eq!(h.msgs(ca)[0].code(), 200);
        let sizes: Vec<usize> = copies.iter().map(|m| m.body.len()).collect();
        assert_eq!(sizes, [2048, 2048, body.len() - 4096], "cuts {cut:?}");
        assert_eq!(reassemble(&copies, Flag::Last), body, "cuts {cut:?}");
        assert_eq!(h.sw.messages_in_flight(), 0);
    }
}
