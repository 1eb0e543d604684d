//! RFC 4475 torture messages (the bit-exact archive of its Appendix A; a selection is kept
//! in `rfc4475/`): the valid ones (§3.1.1) parse with every field the focus reads, the
//! invalid ones (§3.1.2) fail with the error whose status the RFC expects.

use super::*;

macro_rules! vector {
    ($name:literal) => {
        (
            $name,
            &include_bytes!(concat!("rfc4475/", $name, ".dat"))[..],
        )
    };
}

fn limits() -> SipLimits {
    SipLimits::from(&crate::limits::Limits::default())
}

/// Every field the focus reads from a request.
fn focus_fields_parse(m: &Message<'_>) -> bool {
    let h = &m.headers;
    h.top_via().is_ok()
        && h.from().is_ok()
        && h.to().is_ok()
        && h.call_id().is_ok()
        && h.cseq().is_ok()
        && h.max_forwards().is_ok()
        && h.content_length().is_ok()
}

#[test]
fn valid_torture_messages_parse() {
    for (name, bytes) in [
        vector!("wsinv"),
        vector!("intmeth"),
        vector!("esc01"),
        vector!("lwsdisp"),
        vector!("longreq"),
        vector!("dblreq"),
        vector!("semiuri"),
        vector!("escnull"),
        vector!("inv2543"),
    ] {
        let m = parse(bytes, &limits()).unwrap_or_else(|f| panic!("{name}: {f:?}"));
        assert!(focus_fields_parse(&m), "{name}");
        let rl = m.request().unwrap();
        assert!(SipUri::parse(rl.uri).is_ok(), "{name}: {}", rl.uri);
    }
    for (name, bytes) in [vector!("unreason"), vector!("noreason")] {
        let m = parse(bytes, &limits()).unwrap_or_else(|f| panic!("{name}: {f:?}"));
        assert!(m.status().is_some(), "{name}");
        assert!(focus_fields_parse(&m), "{name}");
    }
}

#[test]
fn whitespace_torture_fields() {
    let (_, bytes) = vector!("wsinv");
    let m = parse(bytes, &limits()).unwrap();
    let h = &m.headers;
    assert_eq!(h.to().unwrap().tag(), Some("1918181833n"));
    let from = h.from().unwrap();
    assert_eq!(from.display_name, r#"J Rosenberg \""#);
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(h.cseq().unwrap().seq, 9);
    assert_eq!(h.max_forwards(), Ok(Some(68)));
    let via = h.top_via().unwrap();
    assert_eq!((via.transport, via.host), ("UDP", "192.0.2.2"));
    assert_eq!(m.body.len(), 150);
    let (_, bytes) = vector!("dblreq");
    let m = parse(bytes, &limits()).unwrap();
    assert_eq!(m.body, b"", "the second message in the datagram is ignored");
}

#[test]
fn invalid_torture_messages_fail_with_their_status() {
    for (name, bytes, want) in [
        (vector!("badvers"), 505),
        (vector!("bigcode"), 400),
        (vector!("clerr"), 400),
        (vector!("mcl01"), 400),
        (vector!("ncl"), 400),
        (vector!("lwsruri"), 400),
        (vector!("lwsstart"), 400),
        (vector!("trws"), 400),
    ]
    .map(|((n, b), w)| (n, b, w))
    {
        let f = parse(bytes, &limits()).expect_err(name);
        assert_eq!(f.error.status().0, want, "{name}: {:?}", f.error);
    }
    let uri_of = |bytes| {
        let m = parse(bytes, &limits()).unwrap();
        SipUri::parse(m.request().unwrap().uri).map(|_| ())
    };
    assert_eq!(uri_of(vector!("ltgtruri").1), Err(SipError::BadUri));
    assert_eq!(
        uri_of(vector!("novelsc").1),
        Err(SipError::UnsupportedScheme)
    );
    let m = parse(vector!("quotbal").1, &limits()).unwrap();
    assert_eq!(m.headers.to().unwrap_err(), SipError::BadNameAddr);
    let m = parse(vector!("scalar02").1, &limits()).unwrap();
    assert_eq!(m.headers.cseq().unwrap_err(), SipError::BadCSeq);
    let m = parse(vector!("insuf").1, &limits()).unwrap();
    assert_eq!(m.headers.call_id(), Err(SipError::MissingHeader));
    let m = parse(vector!("mismatch01").1, &limits()).unwrap();
    assert_ne!(
        m.headers.cseq().unwrap().method,
        m.request().unwrap().method
    );
    let m = parse(vector!("zeromf").1, &limits()).unwrap();
    assert_eq!(m.headers.max_forwards(), Ok(Some(0)));
}
