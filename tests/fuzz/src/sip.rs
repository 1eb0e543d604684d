//! SIP codec (RFC 3261 §7, §18.3, §20): the input as one UDP datagram through `parse` and
//! `parse_head`, every typed accessor on what parsed, a response emitted from a parsed
//! request (it must parse back with the same Call-ID and CSeq), and the same bytes through
//! the TCP `StreamFramer` in pieces (every frame it cuts must be a prefix-free part of the
//! stream and must parse without panicking).

use parlor::wire::sip::{
    emit_response, is_keepalive, parse, parse_head, HeaderName, Message, Response, SipLimits,
    SipUri, StreamFramer, ViaReceived,
};

/// Issue 15: an allow list matches the parsed host, so a URI that parses has exactly one
/// `@` before its parameters: `sip:evil@evil.com;x=@trusted.example` must never parse
/// with `trusted.example` (or anything holding an `@`) as its host or user.
fn check_uri(value: &str) {
    if let Ok(uri) = SipUri::parse(value) {
        assert!(!uri.host.contains('@'), "host {:?} of {value:?}", uri.host);
        assert!(
            !uri.user.is_some_and(|u| u.contains('@')),
            "user {:?} of {value:?}",
            uri.user
        );
        assert!(
            value.matches('@').count() <= 1,
            "{value:?} parsed with two `@`"
        );
    }
}

fn exercise(m: &Message<'_>, limits: &SipLimits) {
    let h = &m.headers;
    if let Ok(via) = h.top_via() {
        let _ = (
            via.branch(),
            via.has_rfc3261_branch(),
            via.wants_rport(),
            via.sent_by(),
        );
    }
    for na in [h.from(), h.to()].into_iter().flatten() {
        let _ = (na.tag(), na.param("transport"));
        check_uri(na.uri);
    }
    if let Some(Ok(c)) = h.contact() {
        let _ = c.tag();
    }
    let _ = (h.call_id(), h.cseq(), h.content_length(), h.max_forwards());
    for header in h.iter() {
        let _ = h.elements(header.name).count();
        let _ = header.name.as_str();
    }
    let Some(req) = m.request() else { return };
    check_uri(req.uri);
    if let Ok(uri) = SipUri::parse(req.uri) {
        let _ = (uri.transport(), uri.param("lr"));
    }
    // A response to a request with the mandatory headers parses back and echoes them.
    let (Ok(call_id), Ok(cseq), Ok(_), Ok(_)) = (h.call_id(), h.cseq(), h.from(), h.to()) else {
        return;
    };
    if h.top_via().is_err() {
        return;
    }
    let rx = ViaReceived {
        ip: core::net::IpAddr::from([192, 0, 2, 7]),
        port: 5060,
    };
    let out = emit_response(
        h,
        Some(rx),
        &Response {
            code: 200,
            reason: "OK",
            to_tag: Some("fuzztag"),
            headers: &[],
            body: b"",
        },
    );
    // The emitted response may hold more lines than the input had header fields (a
    // comma-separated Via becomes several lines) and grows by received/rport.
    let roomy = SipLimits {
        max_headers: limits.max_headers.saturating_mul(4).saturating_add(8),
        max_message_bytes: out.len(),
        max_uri_bytes: limits.max_uri_bytes,
    };
    let back = match parse(&out, &roomy) {
        Ok(back) => back,
        Err(e) => panic!(
            "emitted response does not parse: {:?}\n{}",
            e.error,
            String::from_utf8_lossy(&out)
        ),
    };
    assert_eq!(back.status().map(|s| s.code), Some(200));
    assert_eq!(back.headers.call_id(), Ok(call_id));
    assert_eq!(back.headers.cseq().map(|c| c.seq), Ok(cseq.seq));
    assert_eq!(
        back.headers.get(HeaderName::CSeq),
        h.get(HeaderName::CSeq),
        "CSeq copied verbatim"
    );
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let limits = SipLimits::from(&super::limits());
    let _ = is_keepalive(data);
    match parse(data, &limits) {
        Ok(m) => exercise(&m, &limits),
        Err(failure) => {
            let _ = failure.error.status();
            if let Some(headers) = &failure.headers {
                let _ = (headers.call_id(), headers.top_via(), headers.cseq());
            }
        }
    }
    if let Ok(m) = parse_head(data, &limits) {
        exercise(&m, &limits);
    }

    // The same bytes as a TCP stream, cut into pieces at points derived from the input.
    let mut framer = StreamFramer::new(limits.max_message_bytes);
    let step = 1 + data.first().map_or(0, |&b| usize::from(b) % 97);
    let mut framed = 0usize;
    for piece in data.chunks(step) {
        framer.push(piece);
        for _ in 0..=piece.len() {
            match framer.next_frame() {
                Ok(Some(frame)) => {
                    framed += frame.len();
                    assert!(framed <= data.len(), "framer handed out more than it got");
                    if let Ok(m) = parse(frame, &limits) {
                        exercise(&m, &limits);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = e.status();
                    if let Some(head) = framer.pending_head() {
                        let _ = parse_head(head, &limits);
                    }
                    return;
                }
            }
        }
        assert!(framer.buffered() <= data.len());
    }
}
