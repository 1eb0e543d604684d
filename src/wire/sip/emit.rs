//! Emitting SIP messages (RFC 3261 §8.2.6 responses built from a request, §8.1.1 requests;
//! RFC 3581 §4 `received`/`rport` on the top Via). Content-Length is always written.

use ::core::net::IpAddr;
use std::io::Write as _;

use super::header::{HeaderName, Headers};
use super::values::Via;

/// Where a request came from, for `received=`/`rport=` on the top Via.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViaReceived {
    pub ip: IpAddr,
    pub port: u16,
}

/// A response to build from the request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'r> {
    pub code: u16,
    pub reason: &'r str,
    /// Added to To when the request's To has no tag yet.
    pub to_tag: Option<&'r str>,
    /// Extra header fields, written after CSeq in this order.
    pub headers: &'r [(&'r str, &'r str)],
    pub body: &'r [u8],
}

/// Builds a response: status line, every Via in order (the top one with `received`/`rport`
/// when `received` is given), From, To (+ tag), Call-ID, CSeq, the extra headers,
/// Content-Length, then the body.
pub fn emit_response(
    request: &Headers<'_>,
    received: Option<ViaReceived>,
    r: &Response<'_>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + r.body.len());
    let _ = write!(out, "SIP/2.0 {} {}\r\n", r.code, r.reason);
    for (i, via) in request.vias().enumerate() {
        out.extend_from_slice(b"Via: ");
        match (i, received) {
            (0, Some(rx)) => write_top_via(&mut out, via, rx),
            _ => out.extend_from_slice(via.as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
    }
    copy_header(&mut out, request, HeaderName::From);
    if let Some(to) = request.get(HeaderName::To) {
        let _ = write!(out, "To: {to}");
        let has_tag = request.to().ok().and_then(|t| t.tag()).is_some();
        if let (Some(tag), false) = (r.to_tag, has_tag) {
            let _ = write!(out, ";tag={tag}");
        }
        out.extend_from_slice(b"\r\n");
    }
    copy_header(&mut out, request, HeaderName::CallId);
    copy_header(&mut out, request, HeaderName::CSeq);
    finish(&mut out, r.headers, r.body);
    out
}

/// A request the focus originates (BYE, later NOTIFY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutgoingRequest<'r> {
    pub method: &'r str,
    pub uri: &'r str,
    /// Via transport token (`UDP`, `TCP`).
    pub via_transport: &'r str,
    /// Via sent-by (`host:port`).
    pub via_sent_by: &'r str,
    /// Full branch including `z9hG4bK`.
    pub branch: &'r str,
    /// From value including its tag.
    pub from: &'r str,
    /// To value including its tag.
    pub to: &'r str,
    pub call_id: &'r str,
    pub cseq: u32,
    pub max_forwards: u32,
    /// Extra header fields, written after CSeq.
    pub headers: &'r [(&'r str, &'r str)],
    pub body: &'r [u8],
}

/// Builds a request: request line, Via, Max-Forwards, From, To, Call-ID, CSeq, the extra
/// headers, Content-Length, body.
pub fn emit_request(r: &OutgoingRequest<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + r.body.len());
    let _ = write!(
        out,
        "{m} {uri} SIP/2.0\r\nVia: SIP/2.0/{t} {sb};branch={br}\r\nMax-Forwards: {mf}\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {seq} {m}\r\n",
        m = r.method,
        uri = r.uri,
        t = r.via_transport,
        sb = r.via_sent_by,
        br = r.branch,
        mf = r.max_forwards,
        from = r.from,
        to = r.to,
        cid = r.call_id,
        seq = r.cseq,
    );
    finish(&mut out, r.headers, r.body);
    out
}

fn copy_header(out: &mut Vec<u8>, request: &Headers<'_>, name: HeaderName<'_>) {
    if let Some(v) = request.get(name) {
        let _ = write!(out, "{}: {v}\r\n", name.as_str());
    }
}

fn finish(out: &mut Vec<u8>, headers: &[(&str, &str)], body: &[u8]) {
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
}

/// The top Via with RFC 3261 §18.2.1 `received` (when the sent-by host is not the source
/// IP, or rport was asked for) and RFC 3581 `rport=PORT` (when asked for).
fn write_top_via(out: &mut Vec<u8>, raw: &str, rx: ViaReceived) {
    let Ok(via) = Via::parse(raw) else {
        out.extend_from_slice(raw.as_bytes());
        return;
    };
    let prefix_len = via.raw.len().saturating_sub(via.params.len());
    out.extend_from_slice(via.raw.get(..prefix_len).unwrap_or(via.raw).as_bytes());
    let rport = via.wants_rport();
    for p in via.params.split(';').filter(|p| !p.is_empty()) {
        let name = p.split('=').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("received") {
            continue;
        }
        if name.eq_ignore_ascii_case("rport") {
            let _ = write!(out, ";rport={}", rx.port);
        } else {
            let _ = write!(out, ";{p}");
        }
    }
    let host = via.host.trim_start_matches('[').trim_end_matches(']');
    let same_host = host.parse::<IpAddr>().is_ok_and(|ip| ip == rx.ip);
    if rport || !same_host {
        let _ = write!(out, ";received={}", rx.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, SipLimits};
    use super::*;

    fn limits() -> SipLimits {
        SipLimits {
            max_headers: 16,
            max_message_bytes: 2048,
            max_uri_bytes: 128,
        }
    }

    const REQ: &[u8] = b"OPTIONS sip:x@y SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport, SIP/2.0/TCP p.example;branch=z9hG4bKb\r\n\
        v: SIP/2.0/UDP q.example;branch=z9hG4bKc\r\n\
        f: <sip:a@b>;tag=1\r\nt: <sip:x@y>\r\ni: cid\r\nCSeq: 5 OPTIONS\r\nl: 0\r\n\r\n";

    #[test]
    fn response_copies_vias_and_adds_rport_received_and_tag() {
        let m = parse(REQ, &limits()).unwrap();
        let rx = ViaReceived {
            ip: "192.0.2.7".parse().unwrap(),
            port: 40000,
        };
        let out = emit_response(
            &m.headers,
            Some(rx),
            &Response {
                code: 200,
                reason: "OK",
                to_tag: Some("zz"),
                headers: &[("Allow", "INVITE")],
                body: b"hi",
            },
        );
        let want = "SIP/2.0 200 OK\r\n\
            Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport=40000;received=192.0.2.7\r\n\
            Via: SIP/2.0/TCP p.example;branch=z9hG4bKb\r\n\
            Via: SIP/2.0/UDP q.example;branch=z9hG4bKc\r\n\
            From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>;tag=zz\r\nCall-ID: cid\r\nCSeq: 5 OPTIONS\r\n\
            Allow: INVITE\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn received_only_when_host_differs() {
        let req = b"BYE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;received=1.1.1.1\r\n\r\n";
        let m = parse(req, &limits()).unwrap();
        let same = ViaReceived {
            ip: "10.0.0.1".parse().unwrap(),
            port: 5060,
        };
        let r = Response {
            code: 200,
            reason: "OK",
            to_tag: None,
            headers: &[],
            body: b"",
        };
        let out = String::from_utf8(emit_response(&m.headers, Some(same), &r)).unwrap();
        assert!(
            out.contains("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa\r\n"),
            "{out}"
        );
        let other = ViaReceived {
            ip: "::1".parse().unwrap(),
            port: 5060,
        };
        let out = String::from_utf8(emit_response(&m.headers, Some(other), &r)).unwrap();
        assert!(out.contains(";branch=z9hG4bKa;received=::1\r\n"), "{out}");
    }

    #[test]
    fn existing_to_tag_is_kept() {
        let req = b"BYE sip:x SIP/2.0\r\nTo: <sip:x@y>;tag=mine\r\n\r\n";
        let m = parse(req, &limits()).unwrap();
        let r = Response {
            code: 481,
            reason: "Call/Transaction Does Not Exist",
            to_tag: Some("other"),
            headers: &[],
            body: b"",
        };
        let out = String::from_utf8(emit_response(&m.headers, None, &r)).unwrap();
        assert!(out.contains("To: <sip:x@y>;tag=mine\r\n"));
        assert!(!out.contains("other"));
    }

    #[test]
    fn request_layout_round_trips() {
        let r = OutgoingRequest {
            method: "BYE",
            uri: "sip:alice@192.0.2.101:5060",
            via_transport: "UDP",
            via_sent_by: "192.0.2.10:5060",
            branch: "z9hG4bKabc",
            from: "<sip:chat22@chat.example.com>;tag=8321234356",
            to: "Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
            call_id: "c1",
            cseq: 2,
            max_forwards: 70,
            headers: &[],
            body: b"",
        };
        let out = emit_request(&r);
        let m = parse(&out, &limits()).unwrap();
        let rl = m.request().unwrap();
        assert_eq!(rl.uri, "sip:alice@192.0.2.101:5060");
        assert_eq!(m.headers.top_via().unwrap().branch(), Some("z9hG4bKabc"));
        assert_eq!(m.headers.cseq().unwrap().seq, 2);
        assert_eq!(m.headers.to().unwrap().tag(), Some("9fxced76sl"));
        assert_eq!(m.headers.from().unwrap().tag(), Some("8321234356"));
        assert_eq!(m.headers.max_forwards(), Ok(Some(70)));
        assert_eq!(m.headers.content_length(), Ok(Some(0)));
    }
}
