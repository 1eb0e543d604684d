//! The bench payload (sender index, sequence number, send stamp, filler) and the three wire
//! framings a sender writes, each formatted once and patched in place per message: an MSRP
//! SEND (RFC 4975 §7.1) carrying Message/CPIM (RFC 3862) for parlor, a little-endian u32
//! length frame for the relay, and an MQTT 3.1.1 QoS 0 PUBLISH (§3.3) for mosquitto.

/// Digits of the sender index field.
const SENDER_DIGITS: usize = 4;
/// Digits of the sequence number field (also used in MSRP transaction and Message ids).
pub const SEQ_DIGITS: usize = 11;
/// Digits of the stamp field (ns since bench start).
const STAMP_DIGITS: usize = 16;
/// `SSSS QQQQQQQQQQQ TTTTTTTTTTTTTTTT ` then filler.
pub const FIELDS_LEN: usize = SENDER_DIGITS + 1 + SEQ_DIGITS + 1 + STAMP_DIGITS + 1;

/// What a received payload says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub sender: usize,
    pub seq: u64,
    pub sent_ns: u64,
}

/// Writes `value` as exactly `dst.len()` decimal digits (the high digits of an overflow are
/// cut; the widths above hold every value a bounded run produces).
fn put_digits(dst: &mut [u8], mut value: u64) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The decimal number in `src`; `None` unless every byte is a digit.
fn read_digits(src: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &b in src {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
    }
    Some(v)
}

/// Parses the fields at the start of a payload.
pub fn parse_fields(payload: &[u8]) -> Option<Stamp> {
    let f = payload.get(..FIELDS_LEN)?;
    let sender = read_digits(f.get(..SENDER_DIGITS)?)?;
    let at = SENDER_DIGITS + 1;
    let seq = read_digits(f.get(at..at + SEQ_DIGITS)?)?;
    let at = at + SEQ_DIGITS + 1;
    let sent_ns = read_digits(f.get(at..at + STAMP_DIGITS)?)?;
    Some(Stamp {
        sender: usize::try_from(sender).ok()?,
        seq,
        sent_ns,
    })
}

/// The text after the two header blocks of a CPIM body (RFC 3862 §3: message headers,
/// blank line, MIME headers, blank line, content).
pub fn cpim_content(body: &[u8]) -> Option<&[u8]> {
    let first = find_blank_line(body)?;
    let rest = body.get(first..)?;
    let second = find_blank_line(rest)?;
    rest.get(second..)
}

/// Offset just past the first `\r\n\r\n` in `hay`.
fn find_blank_line(hay: &[u8]) -> Option<usize> {
    hay.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// One sender's message, formatted once; `stamp` rewrites the varying digits in place.
#[derive(Clone, Debug)]
pub struct Template {
    pub bytes: Vec<u8>,
    /// Offsets of `SEQ_DIGITS`-wide copies of the sequence number (MSRP tid, Message-ID).
    seq_spots: Vec<usize>,
    /// Offset of the payload fields.
    fields_at: usize,
}

impl Template {
    /// The payload of `len` bytes (at least `FIELDS_LEN`) for `sender`, fields zeroed.
    fn payload(sender: usize, len: usize) -> Vec<u8> {
        let mut p = vec![b'.'; len.max(FIELDS_LEN)];
        put_digits(&mut p[..SENDER_DIGITS], sender as u64);
        p[SENDER_DIGITS] = b' ';
        p[SENDER_DIGITS + 1 + SEQ_DIGITS] = b' ';
        p[FIELDS_LEN - 1] = b' ';
        p
    }

    /// A relay frame: u32 LE length, then the payload.
    pub fn relay(sender: usize, payload_len: usize) -> Template {
        let payload = Template::payload(sender, payload_len);
        let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        Template {
            bytes,
            seq_spots: Vec::new(),
            fields_at: 4,
        }
    }

    /// An MQTT QoS 0 PUBLISH to the bench topic whose payload is the relay's payload.
    pub fn mqtt(sender: usize, payload_len: usize) -> Result<Template, String> {
        let payload = Template::payload(sender, payload_len);
        let mut bytes = crate::mqtt::publish_head(crate::mqtt::TOPIC, payload.len())?;
        let fields_at = bytes.len();
        bytes.extend_from_slice(&payload);
        Ok(Template {
            bytes,
            seq_spots: Vec::new(),
            fields_at,
        })
    }

    /// A complete MSRP SEND from `from_path` to `to_path` whose body is a CPIM message from
    /// `uri` to `room` wrapping text/plain `payload_len` bytes long. Default report headers
    /// (the switch answers 200). Transaction id `T<seq>`, Message-ID `M<seq>`.
    pub fn msrp(
        sender: usize,
        payload_len: usize,
        to_path: &str,
        from_path: &str,
        uri: &str,
        room: &str,
    ) -> Template {
        let payload = Template::payload(sender, payload_len);
        let mut cpim =
            format!("From: <{uri}>\r\nTo: <{room}>\r\n\r\nContent-Type: text/plain\r\n\r\n")
                .into_bytes();
        let fields_in_cpim = cpim.len();
        cpim.extend_from_slice(&payload);
        let zeros = "0".repeat(SEQ_DIGITS);
        let len = cpim.len();
        let mut bytes = Vec::new();
        let mut spots = Vec::new();
        bytes.extend_from_slice(b"MSRP T");
        spots.push(bytes.len());
        bytes.extend_from_slice(zeros.as_bytes());
        bytes.extend_from_slice(
            format!(" SEND\r\nTo-Path: {to_path}\r\nFrom-Path: {from_path}\r\nMessage-ID: M")
                .as_bytes(),
        );
        spots.push(bytes.len());
        bytes.extend_from_slice(zeros.as_bytes());
        bytes.extend_from_slice(
            format!("\r\nByte-Range: 1-{len}/{len}\r\nContent-Type: message/cpim\r\n\r\n")
                .as_bytes(),
        );
        let fields_at = bytes.len() + fields_in_cpim;
        bytes.extend_from_slice(&cpim);
        bytes.extend_from_slice(b"\r\n-------T");
        spots.push(bytes.len());
        bytes.extend_from_slice(zeros.as_bytes());
        bytes.extend_from_slice(b"$\r\n");
        Template {
            bytes,
            seq_spots: spots,
            fields_at,
        }
    }

    /// Appends this message with `seq` and `sent_ns` to `out` (no allocation once `out`
    /// has grown to its working size).
    pub fn append_to(&self, out: &mut Vec<u8>, seq: u64, sent_ns: u64) {
        let base = out.len();
        out.extend_from_slice(&self.bytes);
        let msg = &mut out[base..];
        for &at in &self.seq_spots {
            put_digits(&mut msg[at..at + SEQ_DIGITS], seq);
        }
        let f = self.fields_at + SENDER_DIGITS + 1;
        put_digits(&mut msg[f..f + SEQ_DIGITS], seq);
        let f = f + SEQ_DIGITS + 1;
        put_digits(&mut msg[f..f + STAMP_DIGITS], sent_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_frame_round_trips_its_fields() {
        let t = Template::relay(7, 200);
        let mut out = Vec::new();
        t.append_to(&mut out, 12345, 987_654_321);
        assert_eq!(out.len(), 204);
        assert_eq!(u32::from_le_bytes([out[0], out[1], out[2], out[3]]), 200);
        let s = parse_fields(&out[4..]).unwrap();
        assert_eq!(
            s,
            Stamp {
                sender: 7,
                seq: 12345,
                sent_ns: 987_654_321
            }
        );
    }

    #[test]
    fn mqtt_publish_carries_the_relay_payload() {
        let mut relay = Vec::new();
        Template::relay(7, 200).append_to(&mut relay, 12345, 987_654_321);
        let mut mqtt = Vec::new();
        Template::mqtt(7, 200)
            .unwrap()
            .append_to(&mut mqtt, 12345, 987_654_321);
        let mut got = Vec::new();
        let used = crate::mqtt::split_publishes(&mqtt, |p| got.push(p.to_vec())).unwrap();
        assert_eq!(used, mqtt.len());
        assert_eq!(got, vec![relay[4..].to_vec()]);
    }

    #[test]
    fn msrp_send_is_well_formed_and_payload_exact() {
        let t = Template::msrp(
            3,
            200,
            "msrp://a/x;tcp",
            "msrp://b/y;tcp",
            "sip:u@h",
            "sip:r@h",
        );
        let mut out = Vec::new();
        t.append_to(&mut out, 42, 5);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("MSRP T00000000042 SEND\r\n"), "{text}");
        assert!(text.contains("Message-ID: M00000000042\r\n"));
        assert!(text.ends_with("\r\n-------T00000000042$\r\n"));
        let body_start = text.find("\r\n\r\n").unwrap() + 4;
        let body_end = text.len() - "\r\n-------T00000000042$\r\n".len();
        let body = &out[body_start..body_end];
        let range = format!("Byte-Range: 1-{0}/{0}\r\n", body.len());
        assert!(text.contains(&range), "{text}");
        let content = cpim_content(body).unwrap();
        assert_eq!(content.len(), 200);
        let s = parse_fields(content).unwrap();
        assert_eq!((s.sender, s.seq, s.sent_ns), (3, 42, 5));
    }

    #[test]
    fn garbage_fields_are_refused() {
        assert_eq!(parse_fields(b"short"), None);
        assert_eq!(parse_fields(&[b'x'; 64]), None);
    }
}
