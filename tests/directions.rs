//! Stream directions over real sockets (RFC 4975 §8.9, RFC 3264 §6.1, requirements
//! R4975-8.9-a and IMPL-6): a participant that offered `recvonly` may not send regular
//! content (403) but still receives, one that offered `sendonly` sends but gets no copies,
//! `inactive` neither; the answer mirrors the direction; a re-INVITE changes it.

mod common;
#[path = "common/custom_member.rs"]
mod custom_member;

use common::nickname::{nickname_request, quoted};
use common::{ident, Server, QUIET, ROOM};
use custom_member::{CustomMember, Extras};

fn member(server: &Server, name: &str, media: &[&str], session: &[&str]) -> CustomMember {
    CustomMember::join(
        server.sip,
        &format!("sip:{name}@example.com"),
        Extras {
            session,
            media,
            headers: &[],
        },
    )
}

fn direction_lines(answer: &str) -> Vec<&str> {
    answer
        .lines()
        .filter(|l| ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"].contains(l))
        .collect()
}

/// Status of a NICKNAME request for `nick` on `m`'s session.
fn nickname_status(m: &mut CustomMember, nick: &str) -> Option<u16> {
    let tid = ident(12);
    let req = nickname_request(&tid, &m.answer.path, &m.local_path, Some(&quoted(nick)), "");
    m.conn.write(&req);
    m.status_of(&tid)
}

// R4975-8.9-a, IMPL-6: `recvonly` → its SENDs with a body get 403 and reach nobody, but it
// receives the others' messages; its NICKNAME, bodiless SEND and responses still work; the
// answer says `sendonly`.
#[test]
fn r4975_8_9_a_impl_6_recvonly_member_gets_403_for_sends_but_receives() {
    let server = Server::start(&[]);
    let mut a = member(&server, "alice", &["a=recvonly"], &[]);
    let mut b = member(&server, "bob", &[], &[]);
    assert_eq!(
        direction_lines(&a.answer.text),
        ["a=sendonly"],
        "{}",
        a.answer.text
    );
    assert!(
        direction_lines(&b.answer.text).is_empty(),
        "{}",
        b.answer.text
    );

    let from = a.side.from_uri.clone();
    assert_eq!(a.send_cpim(&from, ROOM, b"may I?"), Some(403));
    assert!(
        b.sends_until_quiet(QUIET).is_empty(),
        "a recvonly participant's message was forwarded"
    );
    // Not regular content: NICKNAME and a bodiless SEND are still answered 200.
    assert_eq!(nickname_status(&mut a, "Alice"), Some(200));
    let tid = ident(12);
    let keepalive = common::msrp::bodiless_send(&tid, &a.answer.path, &a.local_path);
    a.conn.write(&keepalive);
    assert_eq!(a.status_of(&tid), Some(200), "bodiless SEND");

    let from = b.side.from_uri.clone();
    assert_eq!(b.send_cpim(&from, ROOM, b"hello alice"), Some(200));
    let copy = a.next_send(common::STEP).expect("recvonly still receives");
    assert!(copy.cpim_text().ends_with(b"hello alice"), "{copy:?}");
}

// R4975-8.9-a, IMPL-6: session-level `sendonly` → it sends (others receive) but gets no
// copies, not even a private message (403 to its sender); the answer says `recvonly`.
#[test]
fn r4975_8_9_a_impl_6_sendonly_member_sends_but_gets_no_copies() {
    let server = Server::start(&[]);
    let mut a = member(&server, "alice", &[], &["a=sendonly"]);
    let mut b = member(&server, "bob", &[], &[]);
    assert_eq!(
        direction_lines(&a.answer.text),
        ["a=recvonly"],
        "{}",
        a.answer.text
    );

    let a_uri = a.side.from_uri.clone();
    assert_eq!(a.send_cpim(&a_uri, ROOM, b"announcement"), Some(200));
    let copy = b.next_send(common::STEP).expect("B gets A's message");
    assert!(copy.cpim_text().ends_with(b"announcement"));

    let b_uri = b.side.from_uri.clone();
    assert_eq!(b.send_cpim(&b_uri, ROOM, b"to the room"), Some(200));
    assert_eq!(b.send_cpim(&b_uri, &a_uri, b"just for you"), Some(403));
    assert!(
        a.sends_until_quiet(QUIET).is_empty(),
        "a sendonly participant got copies"
    );
}

// IMPL-6: `inactive` → neither sends (403) nor receives; the answer says `inactive`.
#[test]
fn impl_6_inactive_member_neither_sends_nor_receives() {
    let server = Server::start(&[]);
    let mut a = member(&server, "alice", &["a=inactive"], &[]);
    let mut b = member(&server, "bob", &[], &[]);
    assert_eq!(direction_lines(&a.answer.text), ["a=inactive"]);
    let a_uri = a.side.from_uri.clone();
    assert_eq!(a.send_cpim(&a_uri, ROOM, b"x"), Some(403));
    let b_uri = b.side.from_uri.clone();
    assert_eq!(b.send_cpim(&b_uri, ROOM, b"anyone?"), Some(200));
    assert!(a.sends_until_quiet(QUIET).is_empty());
    assert!(b.sends_until_quiet(QUIET).is_empty());
}

// R4975-8.9-a, IMPL-6, RFC 3264 §8: a re-INVITE without the direction attribute makes a
// recvonly participant sendrecv (it may send from then on); the changed answer has the
// next o= version; a media-level attribute overrides the session-level one.
#[test]
fn r4975_8_9_a_impl_6_reinvite_changes_direction() {
    let server = Server::start(&[]);
    let mut a = member(&server, "alice", &["a=recvonly"], &[]);
    let mut b = member(&server, "bob", &[], &[]);
    let a_uri = a.side.from_uri.clone();
    assert_eq!(a.send_cpim(&a_uri, ROOM, b"blocked"), Some(403));
    let first_o = common::conformance::sdp_value(&a.answer.text, "o=")
        .map(str::to_string)
        .expect("o= line");

    let ok = a.reinvite(Extras {
        session: &["a=inactive"],
        media: &["a=sendrecv"],
        headers: &[],
    });
    assert_eq!(ok.status(), Some(200));
    assert!(
        direction_lines(&a.answer.text).is_empty(),
        "{}",
        a.answer.text
    );
    let second_o = common::conformance::sdp_value(&a.answer.text, "o=").expect("o= line");
    let version = |o: &str| o.split(' ').nth(2).and_then(|v| v.parse::<u64>().ok());
    assert_eq!(
        version(second_o),
        version(&first_o).map(|v| v + 1),
        "{first_o} → {second_o}"
    );
    assert_eq!(a.send_cpim(&a_uri, ROOM, b"now I may"), Some(200));
    let copy = b.next_send(common::STEP).expect("B gets it");
    assert!(copy.cpim_text().ends_with(b"now I may"));
}
