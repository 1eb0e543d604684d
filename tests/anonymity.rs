//! Anonymous participants over real sockets (RFC 7701 §5.2, §6.1; RFC 3323; requirements
//! R7701-5.2-h/i/j, R7701-6.1-c, ambiguity A3): a joiner asking for privacy is told the
//! anonymous URI the focus minted for it (a notice whose CPIM To carries it), may send only
//! with that URI as CPIM From (its AOR gets 403), and the others never see its AOR; a client
//! that brings its own unique `anonymous.invalid` URI keeps it and gets no notice.

mod common;
#[path = "common/custom_member.rs"]
mod custom_member;

use common::msrp::MsrpMessage;
use common::{Server, QUIET, ROOM, STEP};
use custom_member::{CustomMember, Extras};

const ALICE: &str = "sip:alice@example.com";

fn join(server: &Server, from: &str, headers: &[&str]) -> CustomMember {
    CustomMember::join(
        server.sip,
        from,
        Extras {
            session: &[],
            media: &[],
            headers,
        },
    )
}

/// The URI inside `<…>` of CPIM header `name` in a SEND's body.
fn cpim_header(m: &MsrpMessage, name: &str) -> Option<String> {
    let body = String::from_utf8_lossy(&m.body).to_string();
    let prefix = format!("{name}:");
    body.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| {
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
}

/// Joins from `from` with `headers`; expects the anonymity notice and returns the member
/// and the URI it announces (checking its form and that it hides `from`).
fn join_and_learn(server: &Server, from: &str, headers: &[&str]) -> (CustomMember, String) {
    let mut a = join(server, from, headers);
    let notice = a.next_send(STEP).expect("anonymity notice");
    assert_eq!(
        cpim_header(&notice, "From").as_deref(),
        Some(ROOM),
        "{notice:?}"
    );
    let anon = cpim_header(&notice, "To").expect("CPIM To of the notice");
    assert!(
        anon.starts_with("sip:anon-") && anon.ends_with("@anonymous.invalid"),
        "announced URI {anon}"
    );
    let text = String::from_utf8_lossy(&notice.cpim_text()).to_string();
    assert!(text.contains(&anon) && text.contains("anonymous"), "{text}");
    assert!(!text.contains("alice"), "the notice names the AOR: {text}");
    (a, anon)
}

// R7701-5.2-i, R7701-5.2-h, R7701-6.1-c, A3: `Privacy: id` with an AOR From → the focus
// mints an anonymous URI, the switch announces it (CPIM To), messages with it as CPIM From
// get 200 and reach B without the AOR anywhere; messages with the AOR as CPIM From get 403.
#[test]
fn r7701_5_2_i_r7701_6_1_c_privacy_joiner_learns_its_anonymous_uri_and_sends_with_it() {
    let server = Server::start(&[]);
    let mut b = join(&server, "sip:bob@example.com", &[]);
    let (mut a, anon) = join_and_learn(&server, ALICE, &["Privacy: id"]);

    assert_eq!(a.send_cpim(&anon, ROOM, b"hello from nobody"), Some(200));
    let copy = b.next_send(STEP).expect("B gets the anonymous message");
    assert_eq!(cpim_header(&copy, "From").as_deref(), Some(anon.as_str()));
    assert!(copy.cpim_text().ends_with(b"hello from nobody"));
    let raw = String::from_utf8_lossy(&copy.body).to_lowercase();
    assert!(!raw.contains("alice"), "AOR leaked to B: {raw}");

    // A3: its real AOR would de-anonymize it.
    assert_eq!(a.send_cpim(ALICE, ROOM, b"it is me, alice"), Some(403));
    assert!(
        b.sends_until_quiet(QUIET).is_empty(),
        "a message with the AOR as CPIM From was forwarded"
    );
    // B may answer it privately under the anonymous URI.
    let b_uri = b.side.from_uri.clone();
    assert_eq!(b.send_cpim(&b_uri, &anon, b"hi stranger"), Some(200));
    let private = a.next_send(STEP).expect("A gets B's private message");
    assert!(private.cpim_text().ends_with(b"hi stranger"));
}

// R7701-5.2-i: the generic `sip:anonymous@anonymous.invalid` From (RFC 3323 §4.1.1.3) is
// shared by everyone, so the focus mints a unique one and announces it.
#[test]
fn r7701_5_2_i_generic_anonymous_from_gets_a_minted_uri_announced() {
    let server = Server::start(&[]);
    let mut b = join(&server, "sip:bob@example.com", &[]);
    let (mut a, anon) = join_and_learn(&server, "sip:anonymous@anonymous.invalid", &[]);
    assert_ne!(anon, "sip:anonymous@anonymous.invalid");
    assert_eq!(a.send_cpim(&anon, ROOM, b"minted"), Some(200));
    assert!(b
        .next_send(STEP)
        .expect("copy")
        .cpim_text()
        .ends_with(b"minted"));
}

// R7701-5.2-i, R7701-6.1-c: a client that brings its own unique anonymous URI as From keeps
// it (it already knows its CPIM From): no notice, and sending with it works.
#[test]
fn r7701_5_2_i_own_unique_anonymous_uri_is_kept() {
    let server = Server::start(&[]);
    let mut b = join(&server, "sip:bob@example.com", &[]);
    let own = "sip:anon-k3q9x7w2m1@anonymous.invalid";
    let mut a = join(&server, own, &["Privacy: id"]);
    assert!(
        a.sends_until_quiet(QUIET).is_empty(),
        "a client that chose its anonymous URI got a notice"
    );
    assert_eq!(a.send_cpim(own, ROOM, b"my own mask"), Some(200));
    let copy = b.next_send(STEP).expect("copy");
    assert_eq!(cpim_header(&copy, "From").as_deref(), Some(own));
}
