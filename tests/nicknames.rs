//! NICKNAME over real sockets (RFC 7701 §7, §11; RFC 8266 Nickname profile, which
//! obsoletes the RFC 7700 the requirement IDs are named after): 200 / 400 / 403 / 413 /
//! 424 / 425, uniqueness per room, several devices of one user, removal, quarantine.
//! Tests whose outcome depends on the `precis` feature have one variant per side.

mod common;

use std::time::Duration;

use common::nickname::{
    ask_nickname, join_with_chatroom, nickname_exchange, nickname_request, quoted, temp_config,
};
use common::{crlf, ident, Participant, Server, Transport};

fn join(server: &Server, name: &str) -> Participant {
    Participant::join_and_bind(server.sip, Transport::Udp, name)
}

/// Status of a NICKNAME with the raw `value` (already quoted or deliberately not).
fn ask_raw(p: &mut Participant, value: &str) -> u16 {
    nickname_exchange(p, Some(value), "").status.unwrap_or(0)
}

/// A server whose config file is `text`.
fn server_with(text: &str) -> Server {
    let path = temp_config(text);
    let server = Server::start(&["--config", path.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(&path);
    server
}

// R7701-7-a: a nickname is tied to one user in the room.
#[test]
fn r7701_7_a_nickname_held_by_another_user_is_425() {
    let server = Server::start(&[]);
    let mut b = join(&server, "bob");
    let mut a = join(&server, "alice");
    assert_eq!(ask_nickname(&mut b, "Dopey"), 200);
    assert_eq!(ask_nickname(&mut a, "dopey"), 425);
    assert_eq!(ask_nickname(&mut a, "Dopey"), 425);
}

// R7701-11-f: no takeover: another user can neither take a held nickname by spelling
// variants nor displace it; the holder keeps it.
#[test]
fn r7701_11_f_held_nickname_cannot_be_taken_over() {
    let server = Server::start(&[]);
    let mut b = join(&server, "bob");
    let mut mallory = join(&server, "mallory");
    assert_eq!(ask_nickname(&mut b, "Bobby"), 200);
    for variant in ["BOBBY", " bobby ", "bObBy", "  BoBbY  "] {
        assert_eq!(ask_nickname(&mut mallory, variant), 425, "{variant:?}");
    }
    assert_eq!(
        ask_nickname(&mut b, "Bobby"),
        200,
        "the holder still has it"
    );
    assert_eq!(ask_nickname(&mut mallory, "Mallory"), 200);
}

// R7701-7-b: the same user (same URI) on a second device may use its nickname.
#[test]
fn r7701_7_b_same_user_on_another_device_may_share_it() {
    let server = Server::start(&[]);
    let mut a1 = join(&server, "alice");
    let mut a2 = join(&server, "alice");
    assert_eq!(ask_nickname(&mut a1, "Al"), 200);
    assert_eq!(ask_nickname(&mut a2, "al"), 200);
    let mut c = join(&server, "carol");
    assert_eq!(ask_nickname(&mut c, "AL"), 425);
}

// R7701-7.1-b: Use-Nickname is mandatory; without it → 400 (issue 3; IMPL-23 suggested 424).
#[test]
fn r7701_7_1_b_missing_use_nickname_is_400() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let resp = nickname_exchange(&mut a, None, "");
    assert_eq!(resp.status, Some(400), "{resp:?}");
    assert_eq!(ask_nickname(&mut a, "Al"), 200, "the session still works");
}

// R7701-7.1-c: at most 1023 octets (of the unescaped value, A7).
#[test]
fn r7701_7_1_c_1023_octets_ok_1024_is_424() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    assert_eq!(ask_nickname(&mut a, &"a".repeat(1024)), 424);
    assert_eq!(ask_nickname(&mut a, &"a".repeat(1023)), 200);
    // 1023 escaped quotes are 2046 characters on the wire but 1023 octets.
    assert_eq!(ask_raw(&mut b, &quoted(&"\"".repeat(1023))), 200);
    assert_eq!(ask_raw(&mut b, &quoted(&"\"".repeat(1024))), 424);
}

// R7701-7.1-d: NICKNAME must not carry Success-/Failure-Report → 400 (IMPL-24, A10), and is
// answered even with `Failure-Report: no`.
#[test]
fn r7701_7_1_d_report_headers_are_400() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let resp = nickname_exchange(&mut a, Some("\"Al\""), "Failure-Report: no\r\n");
    assert_eq!(resp.status, Some(400), "{resp:?}");
    let resp = nickname_exchange(&mut a, Some("\"Al\""), "Success-Report: yes\r\n");
    assert_eq!(resp.status, Some(400), "{resp:?}");
    let mut b = join(&server, "bob");
    assert_eq!(
        ask_nickname(&mut b, "Al"),
        200,
        "the refused ones allocated nothing"
    );
}

// R7701-7.1-e: room policy first: a room without nicknames → 403.
#[test]
fn r7701_7_1_e_room_without_nicknames_is_403() {
    let server = Server::start(&["--no-nicknames"]);
    let mut a = join(&server, "alice");
    assert!(
        !a.answer.text.contains("nickname"),
        "the answer does not offer nicknames:\n{}",
        a.answer.text
    );
    assert_eq!(ask_nickname(&mut a, "Al"), 403);
    // Policy is checked before the value: even a malformed one is 403.
    assert_eq!(ask_raw(&mut a, "Al"), 403);
}

// R7701-7.1-f: compared under the profile against names in use AND reserved ones.
#[test]
fn r7701_7_1_f_profile_comparison_against_used_and_reserved() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    assert_eq!(ask_nickname(&mut a, "Foo Bar"), 200);
    for variant in ["foo bar", "  FOO   BAR  ", "Foo  Bar"] {
        assert_eq!(ask_nickname(&mut b, variant), 425, "{variant:?}");
    }
    for reserved in ["Admin", " ROOT ", "Moderator", "LOBBY"] {
        assert_eq!(ask_nickname(&mut b, reserved), 425, "{reserved:?}");
    }
    assert_eq!(ask_nickname(&mut b, "Foo Baz"), 200);
}

// R7701-7.1-h: an already-used nickname only for the same user (URI).
#[test]
fn r7701_7_1_h_other_uri_gets_425() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut c = join(&server, "carol");
    assert_eq!(ask_nickname(&mut a, "Wonder"), 200);
    assert_eq!(ask_nickname(&mut c, "Wonder"), 425);
    let mut a2 = join(&server, "alice");
    assert_eq!(ask_nickname(&mut a2, "Wonder"), 200);
}

// R7701-7.1-i: malformed Use-Nickname → 424 (example 7 and friends).
#[test]
fn r7701_7_1_i_malformed_value_is_424() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    // Example 7: not a quoted string.
    let tid = "Vb6Nq1Xc8Zr4Tw0e";
    let req = nickname_request(tid, &a.answer.path, &a.local_path, Some("Alice"), "");
    a.conn().write(&req);
    let resp = a.response_to(tid);
    assert_eq!(resp.status, Some(424));
    assert_eq!(resp.header("To-Path"), Some(a.local_path.as_str()));
    assert_eq!(resp.header("From-Path"), Some(a.answer.path.as_str()));
    for bad in [
        "\"Alice",
        "Alice\"",
        "\"bad\\escape\"",
        "\"a\"b\"",
        "\"trailing\\\"",
    ] {
        assert_eq!(ask_raw(&mut a, bad), 424, "{bad:?}");
    }
}

// R7701-7.1-j: reserved word or in use by another user → 425 (example 6: F1 refused, F3
// accepted), with a configured reserved list.
#[test]
fn r7701_7_1_j_reserved_or_in_use_is_425() {
    let server = server_with("reserved_nicknames = [\"Alice the great\", \"boss\"]\n");
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    let f1 = crlf(&[
        "MSRP d93kswow NICKNAME",
        &format!("To-Path: {}", a.answer.path),
        &format!("From-Path: {}", a.local_path),
        "Use-Nickname: \"Alice the great\"",
        "-------d93kswow$",
    ]);
    a.conn().write(f1.as_bytes());
    let f2 = a.response_to("d93kswow");
    assert_eq!(f2.status, Some(425), "{f2:?}");
    let f3 = crlf(&[
        "MSRP 09swk2d NICKNAME",
        &format!("To-Path: {}", a.answer.path),
        &format!("From-Path: {}", a.local_path),
        "Use-Nickname: \"Alice in Wonderland\"",
        "-------09swk2d$",
    ]);
    a.conn().write(f3.as_bytes());
    assert_eq!(a.response_to("09swk2d").status, Some(200));
    assert_eq!(ask_nickname(&mut b, "BOSS"), 425, "configured word");
    assert_eq!(ask_nickname(&mut b, "alice IN wonderland"), 425, "in use");
    assert_eq!(
        ask_nickname(&mut b, "admin"),
        200,
        "the configured list replaces the default one"
    );
}

// R7701-7.1-k: acceptable → 200; after 424/425 nothing is allocated and the user may retry.
// The response goes to the full From-Path (RFC 4975 §7.2).
#[test]
fn r7701_7_1_k_200_after_refusals_and_response_to_full_from_path() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    assert_eq!(ask_nickname(&mut b, "Taken"), 200);
    assert_eq!(ask_raw(&mut a, "Unquoted"), 424);
    assert_eq!(ask_nickname(&mut a, "taken"), 425);
    let from_path = format!("msrp://127.0.0.1:9/relay{};tcp {}", ident(8), a.local_path);
    let tid = ident(12);
    let req = nickname_request(&tid, &a.answer.path, &from_path, Some("\"Free\""), "");
    a.conn().write(&req);
    let resp = a.response_to(&tid);
    assert_eq!(resp.status, Some(200));
    assert_eq!(resp.header("To-Path"), Some(from_path.as_str()));
    let mut c = join(&server, "carol");
    assert_eq!(
        ask_nickname(&mut c, "unquoted"),
        200,
        "the 424 allocated nothing"
    );
    assert_eq!(ask_nickname(&mut c, "free"), 425, "the 200 did");
}

// R7701-7.1-l: a second session of the same URI never gets the nickname automatically:
// once device 1 moves to another nickname, the old one is free (device 2 never held it).
#[test]
fn r7701_7_1_l_no_automatic_copy_to_another_session() {
    let server = Server::start(&[]);
    let mut a1 = join(&server, "alice");
    assert_eq!(ask_nickname(&mut a1, "Al"), 200);
    let _a2 = join(&server, "alice");
    assert_eq!(ask_nickname(&mut a1, "Alicia"), 200);
    let mut c = join(&server, "carol");
    assert_eq!(
        ask_nickname(&mut c, "Al"),
        200,
        "device 2 was not given \"Al\""
    );
}

// R7701-7.2-a: a failed change keeps the old nickname; the old one is released only by a
// successful change.
#[test]
fn r7701_7_2_a_failed_change_keeps_the_old_one() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    let mut c = join(&server, "carol");
    assert_eq!(ask_nickname(&mut a, "Al"), 200);
    assert_eq!(ask_nickname(&mut b, "Bo"), 200);
    assert_eq!(ask_nickname(&mut a, "Bo"), 425);
    assert_eq!(ask_raw(&mut a, "\"bad\\x\""), 424);
    assert_eq!(ask_nickname(&mut c, "Al"), 425, "A still holds Al");
    assert_eq!(ask_nickname(&mut a, "Cy"), 200);
    assert_eq!(ask_nickname(&mut c, "Al"), 200, "released by the change");
}

// R7701-7.3-a: `Use-Nickname: ""` removes the nickname (example 8, A6).
#[test]
fn r7701_7_3_a_empty_string_removes() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut c = join(&server, "carol");
    assert_eq!(ask_nickname(&mut a, "Al"), 200);
    let tid = "Gg5Hh6Jj7Kk8Ll9M";
    let req = nickname_request(tid, &a.answer.path, &a.local_path, Some("\"\""), "");
    a.conn().write(&req);
    assert_eq!(a.response_to(tid).status, Some(200));
    assert_eq!(ask_nickname(&mut c, "Al"), 200, "removed");
    assert_eq!(ask_raw(&mut a, "\"\""), 200, "removing nothing is fine too");
}

// R7701-4.1-a: a holder that left keeps its nickname in quarantine: others get 425, the same
// URI rejoining gets it back; after the quarantine anyone may take it.
#[test]
fn r7701_4_1_a_quarantine_after_leaving() {
    let server = server_with("[limits]\nnickname_quarantine_ms = 1_500\n");
    let mut a = join(&server, "alice");
    let mut c = join(&server, "carol");
    assert_eq!(ask_nickname(&mut a, "Al"), 200);
    assert_eq!(a.bye().status(), Some(200));
    assert_eq!(ask_nickname(&mut c, "Al"), 425, "quarantined");
    let mut a = join(&server, "alice");
    assert_eq!(ask_nickname(&mut a, "al"), 200, "the holder reclaims it");
    assert_eq!(a.bye().status(), Some(200));
    assert_eq!(ask_nickname(&mut c, "Al"), 425);
    std::thread::sleep(Duration::from_millis(1_700));
    assert_eq!(ask_nickname(&mut c, "Al"), 200, "quarantine over");
}

// R7700-2.1-a: additional mapping: spaces trimmed, runs collapsed (and, with the precis
// feature, every Unicode Zs space mapped to SPACE).
#[test]
fn r7700_2_1_a_space_mapping() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    assert_eq!(ask_nickname(&mut a, "  Al   Bo "), 200);
    assert_eq!(ask_nickname(&mut b, "Al Bo"), 425);
    assert_eq!(
        ask_nickname(&mut b, "AlBo"),
        200,
        "spaces are not removed inside"
    );
    let ideographic = "Al\u{3000}\u{a0}Bo";
    if cfg!(feature = "precis") {
        assert_eq!(ask_nickname(&mut b, ideographic), 425);
    } else {
        assert_eq!(ask_nickname(&mut b, ideographic), 424, "ASCII only");
    }
}

// R7700-2.1-b: case mapping for comparison ("Foo" = "foo"). RFC 8266 uses toLowerCase:
// Σ (U+03A3) = σ (U+03C3), but final ς (U+03C2) is already lower case and stays distinct
// (RFC 7700's case folding made all three collide; A17 picks RFC 8266).
#[test]
fn r7700_2_1_b_case_mapping() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    assert_eq!(ask_nickname(&mut a, "Foo"), 200);
    assert_eq!(ask_nickname(&mut b, "foo"), 425);
    assert_eq!(ask_nickname(&mut b, "FOO"), 425);
    #[cfg(feature = "precis")]
    {
        let mut c = join(&server, "carol");
        assert_eq!(ask_nickname(&mut b, "x\u{3a3}"), 200);
        assert_eq!(ask_nickname(&mut c, "x\u{3c3}"), 425, "Σ and σ collide");
        assert_eq!(
            ask_nickname(&mut c, "x\u{3c2}"),
            200,
            "ς differs under RFC 8266"
        );
    }
    #[cfg(not(feature = "precis"))]
    assert_eq!(ask_nickname(&mut b, "x\u{3a3}"), 424, "ASCII only");
}

// R7700-2.1-c: NFKC: "Richard " + U+2163 (ROMAN NUMERAL FOUR) = "richard iv".
#[test]
fn r7700_2_1_c_nfkc() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    if cfg!(feature = "precis") {
        assert_eq!(ask_nickname(&mut a, "Richard \u{2163}"), 200);
        assert_eq!(ask_nickname(&mut b, "richard iv"), 425);
        assert_eq!(
            ask_nickname(&mut b, "\u{ff52}ichard IV"),
            425,
            "fullwidth r"
        );
    } else {
        assert_eq!(ask_nickname(&mut a, "Richard \u{2163}"), 424, "ASCII only");
        assert_eq!(ask_nickname(&mut a, "Richard IV"), 200);
        assert_eq!(ask_nickname(&mut b, "richard iv"), 425);
    }
}

// R7700-2.2-a: only FreeformClass code points: controls → 424.
#[test]
fn r7700_2_2_a_controls_are_424() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    assert_eq!(ask_nickname(&mut a, "bell\u{7}"), 424);
    assert_eq!(ask_nickname(&mut a, "tab\there"), 424);
    assert_eq!(ask_nickname(&mut a, "next\u{85}line"), 424, "C1 control");
    assert_eq!(ask_nickname(&mut a, "fine"), 200);
}

// R7700-2.3-a: enforcement must not yield an empty string: only spaces → 424.
#[test]
fn r7700_2_3_a_only_spaces_is_424() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    assert_eq!(ask_nickname(&mut a, "     "), 424);
    assert_eq!(ask_nickname(&mut a, " "), 424);
    // Unicode spaces: empty after mapping (precis), or not ASCII (fallback): 424 either way.
    assert_eq!(ask_nickname(&mut a, "\u{3000}\u{2003}"), 424);
    assert_eq!(ask_nickname(&mut a, " x "), 200);
}

// R7700-2.4-a: comparison = additional mapping + case mapping + NFKC on both, then octets.
#[test]
fn r7700_2_4_a_comparison_combines_all_rules() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    assert_eq!(ask_nickname(&mut a, "Big Al"), 200);
    assert_eq!(ask_nickname(&mut b, "  BIG   al "), 425);
    #[cfg(feature = "precis")]
    assert_eq!(
        ask_nickname(&mut b, "\u{2003}\u{ff22}IG\u{3000}\u{ff41}l"),
        425,
        "fullwidth letters, em and ideographic spaces"
    );
    assert_eq!(ask_nickname(&mut b, "Big Al 2"), 200);
}

// Issue 14: a participant whose offer had no `a=chatroom` (AG Projects' SDK and Blink never
// send one), or whose a=chatroom lacks `nickname`, still gets a nickname when the room
// allows them: RFC 7701 §7.1 makes 403 a matter of room policy. The nickname reaches the
// others' view of the room (a second NICKNAME for it from another URI is 425).
#[test]
fn issue14_participant_without_chatroom_attribute_may_take_a_nickname() {
    let server = Server::start(&[]);
    let mut unaware = join_with_chatroom(server.sip, "dave", None);
    assert_eq!(unaware.ask_nickname("Dave"), 200, "no a=chatroom at all");
    let mut private_only = join_with_chatroom(server.sip, "erin", Some("private-messages"));
    assert_eq!(
        private_only.ask_nickname("Erin"),
        200,
        "a=chatroom without nickname"
    );
    let mut legacy = join_with_chatroom(server.sip, "frank", Some("nicknames"));
    assert_eq!(
        legacy.ask_nickname("Frank"),
        200,
        "A8: `nicknames` accepted"
    );
    assert_eq!(
        legacy.ask_nickname("dave"),
        425,
        "Dave is held by dave's URI"
    );
}

// R7701-7.1-e with IMPL-3: in a room without nicknames the participant without
// `a=chatroom` gets the room's 403 like everyone else.
#[test]
fn r7701_7_1_e_room_policy_decides_for_unaware_participants_too() {
    let server = Server::start(&["--no-nicknames"]);
    let mut unaware = join_with_chatroom(server.sip, "dave", None);
    assert_eq!(unaware.ask_nickname("Dave"), 403);
}

// R4975-7.1-d / IMPL-9: a NICKNAME body over 10240 octets → 413 and no effect.
#[test]
fn r4975_7_1_d_nickname_body_over_10240_is_413() {
    let server = Server::start(&[]);
    let mut a = join(&server, "alice");
    let mut b = join(&server, "bob");
    let tid = ident(12);
    let body = "x".repeat(10_241);
    let req = format!(
        "MSRP {tid} NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\nUse-Nickname: \"Al\"\r\n\
         Content-Type: text/plain\r\n\r\n{body}\r\n-------{tid}$\r\n",
        a.answer.path, a.local_path
    );
    a.conn().write(req.as_bytes());
    assert_eq!(a.response_to(&tid).status, Some(413));
    assert_eq!(ask_nickname(&mut b, "Al"), 200, "the 413 set nothing");
}
