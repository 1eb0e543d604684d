//! Offerless INVITE tests (RFC 3264 offer in the 2xx, answer in the ACK; IMPL-25) with the
//! recording FakeConf: the join waits for the peer path, the ACK's answer supplies it, an
//! unusable answer ends the dialog with BYE.

use super::*;

fn offerless_invite(branch: &str) -> Req {
    let mut r = Req::invite(branch);
    r.content_type = None;
    r.body = String::new();
    r
}

fn ack_with(tag: &str, body: Option<String>) -> Vec<u8> {
    let mut ack = Req::new("ACK", "z9hG4bKofferlessack");
    ack.to_tag = Some(tag.to_owned());
    if let Some(b) = body {
        ack.content_type = Some(SDP_CT);
        ack.body = b;
    }
    ack.bytes()
}

/// INVITE without body → 200 with the focus's offer; returns the 200's body and To-tag.
fn offerless_join(h: &mut Harness) -> (String, String) {
    let outs = h.udp(ms(0), ALICE, &offerless_invite("z9hG4bKnooffer").bytes());
    assert_eq!(codes(&outs), [100, 200]);
    let ok = sends(&outs)[1].1.clone();
    let m = msg(&ok);
    assert_eq!(m.headers.get(HeaderName::ContentType), Some(SDP_CT));
    let body = String::from_utf8(m.body.to_vec()).unwrap();
    (body, to_tag(&ok).unwrap())
}

#[test]
fn offerless_invite_offers_actpass_and_joins_with_unknown_peer_path() {
    let mut h = harness();
    let (offer, _) = offerless_join(&mut h);
    assert!(offer.contains("a=setup:actpass\r\n"), "{offer}");
    assert!(
        offer.contains(&format!("a=path:{}\r\n", path_of(1))),
        "{offer}"
    );
    assert_eq!(offer.matches("m=").count(), 1);
    assert_eq!(h.conf.joins.len(), 1);
    assert_eq!(h.conf.joins[0].peer_path, "");
    assert!(!h.conf.joins[0].caps.chatroom_aware);
}

#[test]
fn answer_in_ack_completes_the_session() {
    let answer = example1_offer().replace("a=setup:actpass", "a=setup:active");
    let mut h = harness();
    let (_, tag) = offerless_join(&mut h);
    let outs = h.udp(ms(10), ALICE, &ack_with(&tag, Some(answer.clone())));
    assert!(sends(&outs).is_empty(), "nothing to send for a good answer");
    assert_eq!(
        h.conf.update_paths,
        [Some(
            "msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp".to_owned()
        )]
    );
    assert!(h.conf.updates[0].1.chatroom_aware && h.conf.updates[0].1.private_messages);
    assert!(h.conf.left.is_empty());
    assert_eq!(h.focus.dialog_count(), 1);
    // A retransmitted ACK changes nothing.
    h.udp(ms(20), ALICE, &ack_with(&tag, Some(answer)));
    assert_eq!(h.conf.updates.len(), 1);
}

#[test]
fn unusable_or_missing_answer_in_ack_ends_the_dialog_with_bye() {
    let actpass = example1_offer();
    let good = actpass.replace("a=setup:actpass", "a=setup:active");
    let passive = good.replace("a=setup:active", "a=setup:passive");
    let no_cpim = good.replace("message/cpim", "text/plain");
    let two_lines = format!("{good}m=audio 4000 RTP/AVP 0\r\n");
    for body in [
        Some(actpass),
        Some(passive),
        Some(no_cpim),
        Some(two_lines),
        None,
    ] {
        let mut h = harness();
        let (_, tag) = offerless_join(&mut h);
        let outs = h.udp(ms(10), ALICE, &ack_with(&tag, body.clone()));
        let bye = sends(&outs)
            .into_iter()
            .find(|(_, b)| msg(b).request().is_some_and(|r| r.method.as_str() == "BYE"));
        assert!(bye.is_some(), "no BYE for {body:?}");
        assert_eq!(h.conf.left, [ParticipantId(1)], "{body:?}");
        assert!(h.conf.updates.is_empty());
        assert_eq!(h.focus.dialog_count(), 0);
    }
}
