//! NICKNAME (RFC 7701 §7, examples 6-8).

use super::*;

/// Alice as she appears in example 6 (its own paths).
const ALICE_EX6: Who = Who {
    uri: "sip:alice@atlanta.example.com",
    peer: "msrp://client.atlanta.example.com:7654/jshA7weztas;tcp",
};
const EX6_SWITCH_PATH: &str = "msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp";

fn ex6(idx: u8, path: &str) -> Vec<u8> {
    let text = MESSAGES.iter().find(|m| m.0 == 6 && m.1 == idx).unwrap().3;
    wire(&text.replace(EX6_SWITCH_PATH, path))
}

fn nickname(tid: &str, j: &Joined, who: Who, value: Option<&str>, extra: &str) -> Vec<u8> {
    let header = value
        .map(|v| format!("Use-Nickname: {v}\r\n"))
        .unwrap_or_default();
    format!(
        "MSRP {tid} NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\n{header}{extra}-------{tid}$\r\n",
        j.path, who.peer
    )
    .into_bytes()
}

#[test]
fn examples_6_7_8() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE_EX6);
    let (b, cb) = h.joined(BOB);
    h.input(
        cb,
        &nickname("bobnick1", &b, BOB, Some("\"alice  THE great \""), ""),
    );
    assert_eq!(h.msgs(cb)[0].code(), 200);
    assert_eq!(h.sw.nickname(b.id), Some("alice  THE great "));
    h.input(ca, &ex6(0, &a.path));
    assert_eq!(h.drain(ca), ex6(1, &a.path), "425");
    h.input(ca, &ex6(2, &a.path));
    assert_eq!(h.drain(ca), ex6(3, &a.path), "200");
    assert_eq!(h.sw.nickname(a.id), Some("Alice in Wonderland"));
    let (a2, c2) = h.joined(ALICE);
    h.input(c2, &example(7, 0, &a2.path));
    assert_eq!(h.drain(c2), example(7, 1, &a2.path), "424");
    h.input(
        c2,
        &nickname("same0001", &a2, ALICE, Some("\"alice in wonderland\""), ""),
    );
    assert_eq!(h.msgs(c2)[0].code(), 200, "same user on another device");
    h.input(
        cb,
        &nickname("bobnick2", &b, BOB, Some("\"ALICE IN WONDERLAND\""), ""),
    );
    assert_eq!(h.msgs(cb)[0].code(), 425);
    assert_eq!(
        h.sw.nickname(b.id),
        Some("alice  THE great "),
        "a failed change keeps the old one"
    );
    h.input(c2, &example(8, 0, &a2.path));
    assert_eq!(h.drain(c2), example(8, 1, &a2.path), "removal");
    assert_eq!(h.sw.nickname(a2.id), None);
}

#[test]
fn nickname_refusals() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let cases: [(Option<&str>, &str, u16); 5] = [
        (None, "", 400),
        (Some("\"x\""), "Failure-Report: no\r\n", 400),
        (Some("\"x\""), "Success-Report: yes\r\n", 400),
        (Some("\"   \""), "", 424),
        (Some("\"bad\\q\""), "", 424),
    ];
    for (i, (value, extra, code)) in cases.iter().enumerate() {
        h.input(
            ca,
            &nickname(&format!("nick{i:04}"), &a, ALICE, *value, extra),
        );
        let out = h.msgs(ca);
        assert_eq!(out[0].code(), *code, "case {i}");
        assert_eq!(out[0].to_path, ALICE.peer);
    }
    let q = h.try_join("quiet", BOB, ALL_CAPS).unwrap();
    let cq = h.conn();
    h.input(cq, &bind_send("bindquie", &q.path, BOB.peer));
    h.drain(cq);
    h.input(cq, &nickname("quiet001", &q, BOB, Some("\"Bob\""), ""));
    assert_eq!(h.msgs(cq)[0].code(), 403, "room without nicknames");
}
