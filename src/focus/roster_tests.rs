//! Focus roster tests (RFC 4575, RFC 6665, RFC 7701 §5.2/§8): subscriptions, NOTIFY
//! timing and transactions, privacy, re-INVITE updates and shutdown, with a fake clock.

use super::*;
use crate::wire::sip::{emit_response, Response};

const WATCHER: &str = "192.0.2.200:5070";

fn udp_watcher() -> SipTransport {
    SipTransport::Udp(addr(WATCHER))
}

fn subscribe_req(branch: &str, extra: &[&str]) -> Req {
    let mut r = Req::new("SUBSCRIBE", branch);
    r.call_id = "7a9d3e11f0c2@192.0.2.200";
    r.from_tag = "4b2c9e1a";
    r.extra
        .push("Contact: <sip:watcher@192.0.2.200:5070>".into());
    r.extra.extend(extra.iter().map(|e| e.to_string()));
    r
}

/// Subscribes at `now`; returns (200 bytes, first NOTIFY bytes).
fn subscribe(h: &mut Harness, now: Instant, extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let outs = h.udp(now, WATCHER, &subscribe_req("z9hG4bKsub1", extra).bytes());
    let s = sends(&outs);
    assert_eq!(s.len(), 2, "200 + NOTIFY");
    assert_eq!(code(&s[0].1), 200);
    assert_eq!(s[1].0, udp_watcher());
    (s[0].1.clone(), s[1].1.clone())
}

fn ok_to(notify: &[u8]) -> Vec<u8> {
    emit_response(
        &msg(notify).headers,
        None,
        &Response {
            code: 200,
            reason: "OK",
            to_tag: None,
            headers: &[],
            body: b"",
        },
    )
}

fn answer(h: &mut Harness, now: Instant, notify: &[u8], code: u16) {
    let mut r = ok_to(notify);
    if code != 200 {
        let text = String::from_utf8(r).unwrap();
        r = text
            .replacen("SIP/2.0 200 OK", &format!("SIP/2.0 {code} Nope"), 1)
            .into_bytes();
    }
    assert!(h.udp(now, WATCHER, &r).is_empty());
}

fn header(bytes: &[u8], name: &str) -> Option<String> {
    let m = parse(bytes, &limits()).ok()?;
    m.headers.get(HeaderName::Other(name)).map(str::to_owned)
}

fn body(bytes: &[u8]) -> String {
    String::from_utf8(msg(bytes).body.to_vec()).unwrap()
}

#[test]
fn subscribe_gets_200_and_a_full_notify_in_the_new_dialog() {
    let mut h = harness();
    join_alice(&mut h, ms(0));
    let (ok, notify) = subscribe(&mut h, ms(10), &["Event: conference", "Expires: 7200"]);
    let ok_m = msg(&ok);
    assert_eq!(ok_m.headers.get(HeaderName::Expires), Some("3600"));
    let tag = to_tag(&ok).unwrap();
    let n = msg(&notify);
    let rl = n.request().unwrap();
    assert_eq!(rl.method.as_str(), "NOTIFY");
    assert_eq!(rl.uri, "sip:watcher@192.0.2.200:5070");
    assert_eq!(n.headers.from().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(n.headers.to().unwrap().tag(), Some("4b2c9e1a"));
    assert_eq!(n.headers.call_id().unwrap(), "7a9d3e11f0c2@192.0.2.200");
    assert_eq!(n.headers.get(HeaderName::Event), Some("conference"));
    assert_eq!(
        header(&notify, "Subscription-State").as_deref(),
        Some("active;expires=3600")
    );
    assert_eq!(
        n.headers.get(HeaderName::ContentType),
        Some("application/conference-info+xml")
    );
    let xml = body(&notify);
    assert!(xml.contains("entity=\"sip:chat22@chat.example.com\" state=\"full\" version=\"1\""));
    assert!(xml.contains("<user entity=\"sip:alice@atlanta.example.com\" state=\"full\">"));
    assert!(xml.contains("<display-text>Alice</display-text>"));
    assert!(xml.contains("<endpoint entity=\"sip:alice@192.0.2.101:5060\""));
    assert_eq!(h.focus.subscription_count(), 1);
}

#[test]
fn changes_wait_for_the_interval_and_the_previous_answer() {
    let mut h = harness();
    let (_, first) = subscribe(&mut h, ms(0), &["Event: conference"]);
    let (_, tag) = join_alice(&mut h, ms(100));
    let mut ack = Req::new("ACK", "z9hG4bKack9");
    ack.to_tag = Some(tag);
    h.udp(ms(101), ALICE, &ack.bytes());
    // Interval not over, and the first NOTIFY unanswered: only its retransmissions.
    answer(&mut h, ms(200), &first, 200);
    assert_eq!(h.focus.poll_timeout(), Some(ms(5_000)));
    assert!(h.tick(ms(4_999)).is_empty());
    let outs = h.tick(ms(5_000));
    let s = sends(&outs);
    assert_eq!(s.len(), 1);
    let xml = body(&s[0].1);
    assert!(xml.contains("state=\"partial\" version=\"2\""), "{xml}");
    assert!(xml.contains("sip:alice@atlanta.example.com"));
    // Roster change of an unknown participant: nothing.
    h.focus
        .roster_changed(ms(5_001), &h.conf, &mut h.entropy, ParticipantId(99));
    answer(&mut h, ms(5_010), &s[0].1, 200);
    assert!(h.run_until(ms(20_000)).is_empty());
}

#[test]
fn unanswered_notify_is_retransmitted_then_the_subscription_dropped() {
    let mut h = rfc_schedule_harness();
    let (_, first) = subscribe(&mut h, ms(0), &["Event: conference"]);
    let seen = h.run_until(ms(40_000));
    let times: Vec<u64> = seen.iter().map(|(t, _)| t.as_micros() / 1000).collect();
    assert_eq!(&times[..4], [500, 1500, 3500, 7500]);
    assert!(seen.iter().all(|(_, o)| *o
        == FocusOutput::Send {
            to: udp_watcher(),
            bytes: first.clone()
        }));
    assert_eq!(h.focus.subscription_count(), 0, "dropped at timer F");
}

#[test]
fn a_481_to_notify_drops_the_subscription() {
    let mut h = harness();
    let (_, first) = subscribe(&mut h, ms(0), &["Event: conference"]);
    answer(&mut h, ms(10), &first, 481);
    assert_eq!(h.focus.subscription_count(), 0);
}

#[test]
fn fetch_and_unsubscribe_end_with_terminated() {
    let mut h = harness();
    let (_, n) = subscribe(&mut h, ms(0), &["Event: conference", "Expires: 0"]);
    assert_eq!(
        header(&n, "Subscription-State").as_deref(),
        Some("terminated;reason=timeout")
    );
    assert!(body(&n).contains("version=\"1\""), "a fetch carries state");
    assert_eq!(h.focus.subscription_count(), 0);

    let mut h = harness();
    let (ok, first) = subscribe(&mut h, ms(0), &["Event: conference"]);
    answer(&mut h, ms(1), &first, 200);
    let mut unsub = subscribe_req("z9hG4bKsub2", &["Event: conference", "Expires: 0"]);
    unsub.to_tag = to_tag(&ok);
    unsub.cseq = 2;
    let outs = h.udp(ms(2), WATCHER, &unsub.bytes());
    let s = sends(&outs);
    assert_eq!(code(&s[0].1), 200);
    assert_eq!(
        header(&s[1].1, "Subscription-State").as_deref(),
        Some("terminated;reason=timeout")
    );
    assert_eq!(msg(&s[1].1).headers.cseq().unwrap().seq, 2);
    assert_eq!(h.focus.subscription_count(), 0);
}

#[test]
fn refusals_unknown_event_room_dialog_and_capacity() {
    let mut h = harness_with(Limits {
        max_subscriptions: 1,
        ..Limits::default()
    });
    let r = subscribe_req("z9hG4bKe1", &["Event: presence"]);
    assert_eq!(codes(&h.udp(ms(0), WATCHER, &r.bytes())), [489]);
    let mut r = subscribe_req("z9hG4bKe2", &["Event: conference"]);
    r.uri = "sip:nowhere@chat.example.com".into();
    assert_eq!(codes(&h.udp(ms(0), WATCHER, &r.bytes())), [404]);
    let mut r = subscribe_req("z9hG4bKe3", &["Event: conference"]);
    r.to_tag = Some("nosuchtag".into());
    assert_eq!(codes(&h.udp(ms(0), WATCHER, &r.bytes())), [481]);
    let r = subscribe_req("z9hG4bKe4", &["Event: conference", "Expires: soon"]);
    assert_eq!(codes(&h.udp(ms(0), WATCHER, &r.bytes())), [400]);
    let mut r = subscribe_req("z9hG4bKe6", &["Event: conference"]);
    let long = format!("{}@192.0.2.200", "c".repeat(800));
    r.call_id = long.leak();
    let outs = h.udp(ms(0), WATCHER, &r.bytes());
    let refusal = String::from_utf8(sends(&outs)[0].1.clone()).unwrap();
    assert!(refusal.starts_with("SIP/2.0 400 Dialog Identifiers Too Long"));
    assert_eq!(h.focus.subscription_count(), 0);
    subscribe(&mut h, ms(0), &["Event: conference"]);
    let mut r = subscribe_req("z9hG4bKe5", &["Event: conference"]);
    r.call_id = "other@192.0.2.200";
    assert_eq!(codes(&h.udp(ms(0), WATCHER, &r.bytes())), [503]);
}

#[test]
fn subscription_in_the_invite_dialog_shares_its_cseq_space() {
    let mut h = harness();
    let (_, tag) = join_alice(&mut h, ms(0));
    let mut r = Req::new("SUBSCRIBE", "z9hG4bKin1");
    r.to_tag = Some(tag.clone());
    r.cseq = 2;
    r.extra.push("Event: conference;id=9".into());
    let outs = h.udp(ms(1), ALICE, &r.bytes());
    let s = sends(&outs);
    assert_eq!(code(&s[0].1), 200);
    let n = msg(&s[1].1);
    assert_eq!(n.headers.from().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(n.headers.get(HeaderName::Event), Some("conference;id=9"));
    let notify_cseq = n.headers.cseq().unwrap().seq;
    // The focus's BYE in the same dialog comes after the NOTIFY's CSeq.
    h.focus
        .participant_lost(ms(2), &mut h.entropy, ParticipantId(1));
    let outs = h.drain();
    let bye = sends(&outs)
        .into_iter()
        .find(|(_, b)| msg(b).request().is_some_and(|r| r.method.as_str() == "BYE"))
        .expect("BYE");
    assert!(msg(&bye.1).headers.cseq().unwrap().seq > notify_cseq);
}

#[test]
fn privacy_joins_under_a_fresh_anonymous_uri() {
    let mut h = harness();
    let mut inv = Req::invite("z9hG4bKpriv1");
    inv.extra.push("Privacy: id".into());
    assert_eq!(codes(&h.udp(ms(0), ALICE, &inv.bytes())), [100, 200]);
    let mut inv = Req::invite("z9hG4bKpriv2");
    inv.call_id = "second@192.0.2.101";
    inv.extra.push("Privacy: header;user".into());
    assert_eq!(codes(&h.udp(ms(0), ALICE, &inv.bytes())), [100, 200]);
    let uris: Vec<&str> = h.conf.joins.iter().map(|j| j.uri.as_str()).collect();
    for u in &uris {
        let id = u
            .strip_prefix("sip:anon-")
            .and_then(|r| r.strip_suffix("@anonymous.invalid"))
            .unwrap();
        assert_eq!(id.len(), 14);
    }
    assert_ne!(uris[0], uris[1]);
    assert!(h.conf.joins.iter().all(|j| j.display_name.is_empty()));
    let (_, n) = subscribe(&mut h, ms(1), &["Event: conference"]);
    // The watcher has not answered yet: the first NOTIFY is cut to one frame (issue 15)
    // and the rest follows as soon as it answers.
    answer(&mut h, ms(2), &n, 200);
    let rest = sends(&h.tick(ms(2)));
    assert_eq!(rest.len(), 1, "the rest of the roster at once");
    let xml = body(&n) + &body(&rest[0].1);
    assert!(!xml.contains("alice") && !xml.contains("Alice"), "{xml}");
    assert_eq!(xml.matches("anonymous.invalid").count(), 4, "{xml}");
}

/// Joins `n` participants from distinct addresses with long display names, ACKed.
fn join_many(h: &mut Harness, n: usize) {
    for k in 0..n {
        let mut inv = Req::invite(Box::leak(format!("z9hG4bKmany{k}").into_boxed_str()));
        inv.call_id = Box::leak(format!("many{k}@192.0.2.101").into_boxed_str());
        let bytes = String::from_utf8(inv.bytes())
            .unwrap()
            .replace(
                "Alice <sip:alice@",
                &format!("Person Number {k} With A Long Name <sip:p{k}@"),
            )
            .into_bytes();
        assert_eq!(codes(&h.udp(ms(0), ALICE, &bytes)), [100, 200]);
    }
}

// Issue 15, UDP reflection: a SUBSCRIBE from a UDP address that never answers (perhaps
// forged: the NOTIFYs would land on a victim) gets one NOTIFY of at most
// `unproven_udp_notify_bytes`, resent at most `unproven_udp_resends` times.
#[test]
fn an_unanswered_udp_subscriber_gets_a_small_bounded_notify() {
    let limits = Limits::default();
    let mut h = harness();
    join_many(&mut h, 12);
    let sub = subscribe_req("z9hG4bKsub1", &["Event: conference"]).bytes();
    let (ok, first) = subscribe(&mut h, ms(10), &["Event: conference"]);
    assert!(
        first.len() <= limits.unproven_udp_notify_bytes,
        "{} bytes",
        first.len()
    );
    let xml = body(&first);
    assert!(xml.contains("<user-count>12</user-count>"), "{xml}");
    let seen = h.run_until(ms(100_000));
    let to_watcher: Vec<_> = seen
        .iter()
        .filter_map(|(_, o)| match o {
            FocusOutput::Send { to, bytes } if *to == udp_watcher() => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(to_watcher.len(), limits.unproven_udp_resends);
    let sent = ok.len() + first.len() + to_watcher.iter().map(|b| b.len()).sum::<usize>();
    let factor = sent as f64 / sub.len() as f64;
    assert!(
        factor < 15.0,
        "{sent} bytes for a {}-byte SUBSCRIBE",
        sub.len()
    );
    assert_eq!(h.focus.subscription_count(), 0, "dropped at timer F");
}

#[test]
fn an_answering_udp_subscriber_gets_every_user_at_once() {
    let mut h = harness();
    join_many(&mut h, 12);
    let (_, first) = subscribe(&mut h, ms(10), &["Event: conference"]);
    let mut notifies = vec![first];
    let mut now = 10;
    while notifies.len() < 20 {
        now += 1;
        answer(&mut h, ms(now), notifies.last().unwrap(), 200);
        match sends(&h.tick(ms(now))).as_slice() {
            [] => break,
            [(_, n)] => notifies.push(n.clone()),
            more => panic!("{} NOTIFYs at once", more.len()),
        }
    }
    assert!(notifies.len() > 1, "the first one was cut");
    let all: String = notifies.iter().map(|n| body(n)).collect();
    for k in 0..12 {
        assert!(
            all.contains(&format!("sip:p{k}@atlanta.example.com")),
            "p{k}"
        );
        assert!(
            all.contains(&format!("Person Number {k} With")),
            "p{k} name"
        );
    }
    // Once proven, NOTIFYs are no longer cut: a change gets the normal schedule.
    assert!(notifies[1..]
        .iter()
        .any(|n| n.len() > Limits::default().unproven_udp_notify_bytes));
}

/// An INVITE from `from` instead of Alice's AOR, with `extra` headers.
fn invite_from(branch: &str, call_id: &'static str, from: &str, extra: &[&str]) -> Vec<u8> {
    let mut inv = Req::invite(branch);
    inv.call_id = call_id;
    inv.extra.extend(extra.iter().map(|e| e.to_string()));
    String::from_utf8(inv.bytes())
        .unwrap()
        .replace("sip:alice@atlanta.example.com", from)
        .into_bytes()
}

#[test]
fn own_unique_anonymous_uri_is_kept_unless_user_privacy_asks_otherwise() {
    let mut h = harness();
    let own = "sip:anon-q8w7e6r5@anonymous.invalid";
    let cases: [(&str, &[&str], bool); 4] = [
        // (From, headers, minted by the focus)
        (own, &[], false),
        (own, &["Privacy: id"], false),
        (own, &["Privacy: user"], true),
        ("sip:anonymous@anonymous.invalid", &[], true),
    ];
    let ids = ["c1@x", "c2@x", "c3@x", "c4@x"];
    for (i, (from, extra, _)) in cases.iter().enumerate() {
        let bytes = invite_from(&format!("z9hG4bKown{i}"), ids[i], from, extra);
        assert_eq!(codes(&h.udp(ms(0), ALICE, &bytes)), [100, 200]);
    }
    for (j, (from, _, minted)) in h.conf.joins.iter().zip(cases) {
        assert_eq!(j.anonymous, minted, "{from}");
        if minted {
            assert!(j.uri.starts_with("sip:anon-") && j.uri != from, "{}", j.uri);
        } else {
            assert_eq!(j.uri, from);
        }
        assert!(j.display_name.is_empty());
    }
    // An AOR without privacy is neither anonymous nor minted.
    let bytes = invite_from("z9hG4bKown9", "c9@x", "sip:carol@example.com", &[]);
    assert_eq!(codes(&h.udp(ms(0), ALICE, &bytes)), [100, 200]);
    let last = h.conf.joins.last().unwrap();
    assert_eq!(
        (last.uri.as_str(), last.anonymous),
        ("sip:carol@example.com", false)
    );
}

#[test]
fn reinvite_passes_changed_declarations_to_the_switch() {
    let mut h = harness();
    let (_, tag) = join_alice(&mut h, ms(0));
    let mut same = Req::invite("z9hG4bKre1");
    same.to_tag = Some(tag.clone());
    same.cseq = 2;
    assert_eq!(codes(&h.udp(ms(10), ALICE, &same.bytes())), [100, 200]);
    assert!(h.conf.updates.is_empty(), "nothing changed");
    let mut changed = same.clone();
    changed.via = "SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKre2".into();
    changed.cseq = 3;
    changed.body = changed
        .body
        .replace("a=chatroom:nickname private-messages\r\n", "");
    assert_eq!(codes(&h.udp(ms(20), ALICE, &changed.bytes())), [100, 200]);
    assert_eq!(h.conf.updates.len(), 1);
    let (id, caps) = h.conf.updates[0];
    assert_eq!(id, ParticipantId(1));
    assert!(!caps.chatroom_aware && !caps.private_messages);
}

#[test]
fn shutdown_terminates_subscriptions_and_refuses_new_dialogs() {
    let mut h = harness();
    let (_, first) = subscribe(&mut h, ms(0), &["Event: conference"]);
    answer(&mut h, ms(1), &first, 200);
    h.focus.shutdown(ms(2), &mut h.conf, &mut h.entropy);
    let outs = h.drain();
    let s = sends(&outs);
    assert_eq!(s.len(), 1);
    assert_eq!(
        header(&s[0].1, "Subscription-State").as_deref(),
        Some("terminated;reason=noresource")
    );
    assert!(!h.focus.shutdown_complete());
    let mut again = subscribe_req("z9hG4bKlate", &["Event: conference"]);
    again.call_id = "late@192.0.2.200";
    assert_eq!(codes(&h.udp(ms(3), WATCHER, &again.bytes())), [503]);
    assert_eq!(
        codes(&h.udp(ms(3), ALICE, &Req::invite("z9hG4bKlate2").bytes())),
        [100, 503]
    );
    answer(&mut h, ms(4), &s[0].1, 200);
    assert!(h.focus.shutdown_complete());
}

#[test]
fn a_burst_beyond_the_pending_budget_becomes_full_state() {
    let mut h = harness_with(Limits {
        max_room_participants: 2,
        ..Limits::default()
    });
    let (_, first) = subscribe(&mut h, ms(0), &["Event: conference"]);
    answer(&mut h, ms(1), &first, 200);
    // 16 bytes of budget: one URI fits, the second overflows.
    h.focus.mark_user_changed("chat22", "sip:a@x.example");
    h.focus.mark_user_changed("chat22", "sip:b@x.example");
    let outs = h.tick(ms(5_000));
    let xml = body(&sends(&outs)[0].1);
    assert!(xml.contains("state=\"full\" version=\"2\""), "{xml}");
}

/// A SUBSCRIBE to the room from `from`, its own dialog (`n` makes Call-ID and branch).
fn subscribe_from(h: &mut Harness, now: Instant, from: &str, n: usize) -> Vec<Vec<u8>> {
    let branch = format!("z9hG4bKq{n}");
    let mut r = Req::new("SUBSCRIBE", &branch);
    r.call_id = Box::leak(format!("quota{n}@192.0.2.200").into_boxed_str());
    r.from_tag = "4b2c9e1a";
    r.extra.push("Event: conference".into());
    let outs = h.udp(now, from, &r.bytes());
    sends(&outs).into_iter().map(|(_, b)| b).collect()
}

/// Issue 15: unanswered SUBSCRIBEs filled the table and members' roster requests got 503
/// until timer F (~32 s), renewable. Now the oldest subscription whose NOTIFY was never
/// answered (and older than `unproven_grace_ms`) makes room; answered ones are never evicted.
#[test]
fn unanswered_subscriptions_make_room_for_a_member() {
    let mut h = harness_with(Limits {
        max_subscriptions: 4,
        ..Limits::default()
    });
    // A member subscribed first and answers its NOTIFY.
    let member = subscribe_from(&mut h, ms(0), WATCHER, 0);
    assert_eq!(code(&member[0]), 200);
    answer(&mut h, ms(5), &member[1], 200);
    // Three hosts subscribe and never answer.
    for n in 1..4 {
        let out = subscribe_from(&mut h, ms(10), &format!("192.0.2.5{n}:5070"), n);
        assert_eq!(code(&out[0]), 200);
    }
    assert_eq!(h.focus.subscription_count(), 4);
    // Within the grace of the unanswered ones nobody is evicted.
    let early = subscribe_from(&mut h, ms(100), WATCHER, 10);
    assert_eq!(code(&early[0]), 503);
    // Later, members get in: each evicts the oldest unanswered subscription.
    for n in 11..14 {
        let out = subscribe_from(&mut h, ms(1_100), WATCHER, n);
        assert_eq!(code(&out[0]), 200, "member subscription {n}");
        answer(&mut h, ms(1_101), &out[1], 200);
    }
    assert_eq!(h.focus.subscription_count(), 4);
    // Now every subscription is answered: the table is really full.
    let full = subscribe_from(&mut h, ms(2_000), "192.0.2.60:5070", 20);
    assert_eq!(code(&full[0]), 503);
    assert_eq!(h.focus.subscription_count(), 4);
}

/// Issue 15: one source holds at most `max_subscriptions_per_source`; one more gets 503
/// with a Warning naming the limit, while another source still subscribes.
#[test]
fn one_source_holds_its_share_of_subscriptions() {
    let mut h = harness_with(Limits {
        max_subscriptions: 4,
        max_subscriptions_per_source: 3,
        ..Limits::default()
    });
    for n in 0..3 {
        let out = subscribe_from(&mut h, ms(0), WATCHER, n);
        assert_eq!(code(&out[0]), 200);
    }
    let refused = subscribe_from(&mut h, ms(0), WATCHER, 3);
    assert_eq!(code(&refused[0]), 503);
    let warning = header(&refused[0], "Warning").unwrap_or_default();
    assert!(
        warning.contains("max_subscriptions_per_source"),
        "{warning}"
    );
    let other = subscribe_from(&mut h, ms(0), "192.0.2.61:5070", 4);
    assert_eq!(code(&other[0]), 200);
}
