//! SDP subset (RFC 4566, RFC 4975 §8, RFC 7701 §8): `SessionDescription::parse` on the input
//! and every accessor; for an offer with a usable MSRP line, the answer the focus would build
//! from it must parse back with the same path, port, setup and m-line count.

use parlor::wire::sdp::{
    msrp_uri_authority, type_list_contains, Answer, Chatroom, MsrpProto, SessionDescription, Setup,
};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let max = super::limits().max_sdp_bytes;
    let Ok(sd) = SessionDescription::parse(data, max) else {
        return;
    };
    for m in &sd.media {
        let _ = (m.accepts("message/cpim"), m.accepts("text/plain"));
        if let Some(list) = m.accept_wrapped_types {
            let _ = type_list_contains(list, "text/plain");
        }
        if let Some(path) = m.path {
            for uri in path.split(' ') {
                let _ = msrp_uri_authority(uri);
            }
        }
    }
    for i in 0..sd.lines.len() {
        let _ = sd.media_of_line(i);
    }
    let Some(line) = sd.msrp_line() else { return };
    assert!(sd.msrp_media().is_some(), "msrp_line without msrp_media");
    let path = "msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp";
    let answer = Answer {
        origin_username: "focus",
        sess_id: 1,
        sess_version: 2,
        address: "192.0.2.10",
        port: 2855,
        proto: MsrpProto::Tcp,
        accept_types: "message/cpim",
        accept_wrapped_types: Some("text/plain *"),
        path,
        setup: Setup::Passive,
        max_size: Some(65536),
        chatroom: Some(Chatroom::parse("nickname private-messages")),
        direction: sd
            .msrp_media()
            .map(|m| m.direction.answered())
            .unwrap_or_default(),
        offered: &sd.lines,
        accepted: line,
    };
    let body = answer.emit();
    let back = match SessionDescription::parse(&body, body.len()) {
        Ok(back) => back,
        Err(e) => panic!(
            "emitted answer does not parse: {e:?}\n{}",
            String::from_utf8_lossy(&body)
        ),
    };
    assert_eq!(
        back.lines.len(),
        sd.lines.len(),
        "one answer m-line per offer m-line"
    );
    let m = back.media_of_line(line).expect("accepted line is MSRP");
    assert_eq!(m.path, Some(path));
    assert_eq!(m.port, 2855);
    assert_eq!(m.setup, Some(Setup::Passive));
    assert_eq!(
        back.msrp_line(),
        Some(line),
        "the accepted line is the first usable one"
    );
}
