//! Message/CPIM (RFC 3862 §2-§3, RFC 7701 §6): the header block parser, the wrapped
//! Content-Type look-up, address parsing and URI comparison. A block that parses complete
//! must parse the same from any longer buffer (more bytes never change a complete result),
//! and its prefixes are Partial or the same error class — never a different block.

use parlor::wire::cpim::{self, uri_eq, wrapped_content_type, Address, Parsed, UriParts};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let max = super::limits().max_cpim_header_bytes;
    let parsed = cpim::parse(data, max);
    if let Err(e) = parsed {
        let _ = e.msrp_status();
    }
    let Ok(Parsed::Complete(h)) = parsed else {
        // Incomplete now: a strictly shorter prefix is not complete either.
        if let Some(prefix) = data.get(..data.len().saturating_sub(1)) {
            if let Ok(Parsed::Complete(h)) = cpim::parse(prefix, max) {
                panic!("a prefix completed ({h:?}) but the whole did not ({parsed:?})");
            }
        }
        return;
    };
    assert!(h.body_offset <= data.len(), "body offset past the buffer");
    let fields = h.fields().count();
    let _ = (h.to_all().count(), h.cc_all().count(), fields);
    for a in [h.from, h.to].into_iter().flatten() {
        if let Some(p) = UriParts::split(a.uri) {
            let _ = (p.user, p.port, p.rest);
        }
        assert!(uri_eq(a.uri, a.uri), "uri_eq is reflexive: {}", a.uri);
        // The address re-parses from its own parts.
        let again = format!("{} <{}>", a.name.unwrap_or(""), a.uri);
        assert_eq!(Address::parse(&again).map(|b| b.uri), Ok(a.uri));
    }
    for at_end in [false, true] {
        if let Ok(Parsed::Complete(Some(ct))) =
            wrapped_content_type(data, h.body_offset, data.len().max(max), at_end)
        {
            assert!(!ct.contains('\n'));
        }
    }
    // Appending bytes after a complete block does not change it.
    let mut longer = data.to_vec();
    longer.extend_from_slice(b"\r\nX: y\r\n\r\n");
    match cpim::parse(&longer, max.max(longer.len())) {
        Ok(Parsed::Complete(h2)) => {
            assert_eq!(h2.body_offset, h.body_offset);
            assert_eq!(h2.from, h.from);
            assert_eq!(h2.to, h.to);
            assert_eq!(h2.to_count, h.to_count);
        }
        other => panic!("complete block became {other:?} with more bytes after it"),
    }
}
