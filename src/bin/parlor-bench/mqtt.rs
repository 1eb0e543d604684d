//! A minimal MQTT 3.1.1 client for the bench's third target, mosquitto: the packet encoder
//! (§2.2 fixed header and §2.2.3 Remaining Length, §1.5.3 strings, §3.1 CONNECT, §3.8
//! SUBSCRIBE, §3.3 PUBLISH at QoS 0), the framer that splits a received byte stream into
//! packets and hands each PUBLISH payload (§3.3.2, §3.3.3) to the load phase, and the
//! blocking handshake (CONNECT/CONNACK §3.2, SUBSCRIBE/SUBACK §3.9) that connects the
//! participants before a run.
//!
//! Every participant subscribes to the topic [`TOPIC`] and publishes to it at QoS 0 with a
//! clean session and keep-alive 0 (no PINGREQ needed however long a run is). MQTT 3.1.1 has
//! no "no local" subscription option (that is MQTT 5), so the broker sends each message
//! back to its publisher as well: the load phase reads those self-deliveries and the tally
//! does not count them (a sender's own copy is never a delivery, as with parlor and the
//! relay). The broker still spends CPU on them, and that CPU stays in its figure: server
//! CPU per delivery is the broker's CPU divided by the N−1 deliveries to the *other*
//! participants, so it compares with parlor's and the relay's, which make N−1 copies.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The one topic every participant subscribes and publishes to.
pub const TOPIC: &str = "room";
/// Largest value the four-byte Remaining Length can hold (§2.2.3).
pub const MAX_REMAINING: usize = 268_435_455;
/// Largest packet the bench accepts: one must fit the load phase's 64 KiB read buffer.
pub const MAX_PACKET: usize = 64 * 1024;
/// How long one handshake step (connect, CONNACK, SUBACK) may take.
const STEP: Duration = Duration::from_secs(5);

/// Control packet types (§2.2.1), the high nibble of the first byte.
const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;

/// Appends `len` as a Remaining Length (§2.2.3): 7 bits per byte, low group first, the top
/// bit saying another byte follows; at most four bytes.
pub fn encode_remaining_length(len: usize, out: &mut Vec<u8>) -> Result<(), String> {
    if len > MAX_REMAINING {
        return Err(format!("remaining length {len} exceeds {MAX_REMAINING}"));
    }
    let mut x = len;
    loop {
        let mut byte = (x % 128) as u8;
        x /= 128;
        if x > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if x == 0 {
            return Ok(());
        }
    }
}

/// Decodes a Remaining Length at the start of `buf`: `Ok(Some((value, bytes used)))`,
/// `Ok(None)` if `buf` ends inside it, `Err` if a fourth byte still says "more follows".
pub fn decode_remaining_length(buf: &[u8]) -> Result<Option<(usize, usize)>, String> {
    let mut value = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Err("remaining length longer than four bytes".to_string())
}

/// One whole packet at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Packet type (high nibble of byte 1).
    pub kind: u8,
    /// Flags (low nibble of byte 1).
    pub flags: u8,
    /// Variable header and payload.
    pub body: &'a [u8],
    /// Bytes the whole packet takes.
    pub len: usize,
}

/// The packet at the start of `buf`: `Ok(None)` if it is not all there yet; `Err` for a
/// reserved packet type, a malformed Remaining Length or a packet above [`MAX_PACKET`]
/// (which could never complete in the load phase's buffer).
pub fn next_packet(buf: &[u8]) -> Result<Option<Packet<'_>>, String> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let kind = first >> 4;
    if kind == 0 || kind == 15 {
        return Err(format!("reserved packet type {kind}"));
    }
    let Some((remaining, len_bytes)) = decode_remaining_length(&buf[1..])? else {
        return Ok(None);
    };
    let total = 1 + len_bytes + remaining;
    if total > MAX_PACKET {
        return Err(format!("packet of {total} bytes"));
    }
    let Some(body) = buf.get(1 + len_bytes..total) else {
        return Ok(None);
    };
    Ok(Some(Packet {
        kind,
        flags: first & 0x0f,
        body,
        len: total,
    }))
}

/// The application message of a PUBLISH body (§3.3.2: topic name, packet identifier only
/// at QoS 1 and 2; §3.3.3: the rest is the payload).
pub fn publish_payload(flags: u8, body: &[u8]) -> Result<&[u8], String> {
    let qos = (flags >> 1) & 3;
    if qos == 3 {
        return Err("PUBLISH with QoS 3".to_string());
    }
    let topic_len = match body {
        [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => return Err("PUBLISH without a topic name".to_string()),
    };
    let start = 2 + topic_len + if qos > 0 { 2 } else { 0 };
    body.get(start..)
        .ok_or_else(|| format!("PUBLISH topic of {topic_len} bytes overruns the packet"))
}

/// Calls `deliver` with the payload of each whole PUBLISH at the start of `buf`; returns
/// the bytes consumed (a partial packet at the end waits for the next read). Any other
/// packet during the load is an error: at QoS 0 with keep-alive 0 the broker sends nothing
/// else.
pub fn split_publishes(buf: &[u8], mut deliver: impl FnMut(&[u8])) -> Result<usize, String> {
    let mut pos = 0;
    while let Some(p) = next_packet(&buf[pos..])? {
        if p.kind != PUBLISH {
            return Err(format!(
                "unexpected MQTT packet type {} in the load",
                p.kind
            ));
        }
        deliver(publish_payload(p.flags, p.body)?);
        pos += p.len;
    }
    Ok(pos)
}

/// Appends a UTF-8 string: two-byte big-endian length, then the bytes (§1.5.3).
fn put_str(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A packet of type `kind` with `flags` around `body`.
fn packet(kind: u8, flags: u8, body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = vec![kind << 4 | flags];
    encode_remaining_length(body.len(), &mut out)?;
    out.extend_from_slice(body);
    Ok(out)
}

/// CONNECT (§3.1): protocol "MQTT" level 4, Clean Session, no will, no credentials.
pub fn connect_packet(client_id: &str, keep_alive_s: u16) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    put_str("MQTT", &mut body);
    body.push(4);
    body.push(0x02);
    body.extend_from_slice(&keep_alive_s.to_be_bytes());
    put_str(client_id, &mut body);
    packet(CONNECT, 0, &body)
}

/// SUBSCRIBE (§3.8): fixed-header flags 0010, one topic filter at the requested QoS.
pub fn subscribe_packet(packet_id: u16, topic: &str, qos: u8) -> Result<Vec<u8>, String> {
    let mut body = packet_id.to_be_bytes().to_vec();
    put_str(topic, &mut body);
    body.push(qos);
    packet(SUBSCRIBE, 0x02, &body)
}

/// The bytes of a QoS 0 PUBLISH (§3.3) to `topic` before a payload of `payload_len` bytes:
/// fixed header, Remaining Length, topic name (no packet identifier at QoS 0).
pub fn publish_head(topic: &str, payload_len: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![PUBLISH << 4];
    encode_remaining_length(2 + topic.len() + payload_len, &mut out)?;
    put_str(topic, &mut out);
    Ok(out)
}

/// Reads from blocking `stream` until `buf` starts with a whole packet; returns its type,
/// flags and body, and leaves any bytes after it in `buf`.
fn read_packet(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(u8, u8, Vec<u8>), String> {
    let mut chunk = [0u8; 512];
    loop {
        if let Some(p) = next_packet(buf)? {
            let got = (p.kind, p.flags, p.body.to_vec());
            let len = p.len;
            buf.drain(..len);
            return Ok(got);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no answer from the broker within {STEP:?}"));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| format!("read timeout: {e}"))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err("the broker closed the connection".to_string()),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// One participant: connect, CONNECT, wait for CONNACK with return code 0, SUBSCRIBE to
/// [`TOPIC`] at QoS 0, wait for its SUBACK. The broker sends the SUBACK once the
/// subscription is in place, so a participant connected here receives every later PUBLISH.
fn connect_one(addr: SocketAddr, index: usize) -> Result<TcpStream, String> {
    let deadline = Instant::now() + STEP;
    let mut s =
        TcpStream::connect_timeout(&addr, STEP).map_err(|e| format!("connect broker: {e}"))?;
    s.set_nodelay(true)
        .map_err(|e| format!("TCP_NODELAY: {e}"))?;
    s.set_write_timeout(Some(STEP))
        .map_err(|e| format!("write timeout: {e}"))?;
    let id = format!("bench-{index:04}");
    s.write_all(&connect_packet(&id, 0)?)
        .map_err(|e| format!("CONNECT: {e}"))?;
    let mut buf = Vec::new();
    match read_packet(&mut s, &mut buf, deadline)? {
        (CONNACK, _, body) if body.len() == 2 && body[1] == 0 => {}
        (CONNACK, _, body) => return Err(format!("CONNACK refused: {body:?}")),
        (kind, _, _) => return Err(format!("packet type {kind} instead of CONNACK")),
    }
    let packet_id: u16 = 1;
    s.write_all(&subscribe_packet(packet_id, TOPIC, 0)?)
        .map_err(|e| format!("SUBSCRIBE: {e}"))?;
    match read_packet(&mut s, &mut buf, deadline)? {
        (SUBACK, _, body) if body.len() == 3 && body[..2] == packet_id.to_be_bytes() => {
            if body[2] == 0x80 {
                return Err("SUBACK: subscription refused".to_string());
            }
        }
        (kind, _, body) => {
            return Err(format!(
                "packet type {kind} ({body:?}) instead of the SUBACK"
            ))
        }
    }
    if !buf.is_empty() {
        return Err(format!("{} unexpected bytes after the SUBACK", buf.len()));
    }
    Ok(s)
}

/// Connects and subscribes `n` participants ("bench-0000" …) to the broker at `addr`.
pub fn connect_clients(addr: SocketAddr, n: usize) -> Result<Vec<TcpStream>, String> {
    (0..n)
        .map(|i| connect_one(addr, i).map_err(|e| format!("mosquitto participant {i}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode_remaining_length(len, &mut out).unwrap();
        out
    }

    #[test]
    fn remaining_length_edges_match_the_spec_table() {
        // §2.2.3 Table 2.4: the bounds of one to four bytes.
        let cases: [(usize, &[u8]); 8] = [
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xff, 0xff, 0x7f]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (MAX_REMAINING, &[0xff, 0xff, 0xff, 0x7f]),
        ];
        for (value, bytes) in cases {
            assert_eq!(enc(value), bytes, "encoding {value}");
            let mut with_tail = bytes.to_vec();
            with_tail.push(0xaa);
            assert_eq!(
                decode_remaining_length(&with_tail).unwrap(),
                Some((value, bytes.len())),
                "decoding {value}"
            );
            // Every proper prefix is incomplete, not an error.
            for cut in 0..bytes.len() {
                assert_eq!(decode_remaining_length(&bytes[..cut]).unwrap(), None);
            }
        }
        assert!(encode_remaining_length(MAX_REMAINING + 1, &mut Vec::new()).is_err());
        assert!(decode_remaining_length(&[0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(decode_remaining_length(&[0x80, 0x80, 0x80, 0x80]).is_err());
    }

    /// A stream of PUBLISHes with payloads of assorted sizes (1- to 3-byte lengths).
    fn stream_of(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            out.extend_from_slice(&publish_head(TOPIC, p.len()).unwrap());
            out.extend_from_slice(p);
        }
        out
    }

    fn payloads() -> Vec<Vec<u8>> {
        vec![
            b"first".to_vec(),
            Vec::new(),
            (0..200u32).map(|i| i as u8).collect(),
            vec![b'x'; 20_000],
        ]
    }

    /// Feeds `stream` cut at `cuts` the way the load phase does (keep the unconsumed tail,
    /// append the next read) and returns the payloads delivered.
    fn feed(stream: &[u8], cuts: &[usize]) -> Result<Vec<Vec<u8>>, String> {
        let mut got = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut from = 0;
        for &to in cuts.iter().chain(std::iter::once(&stream.len())) {
            pending.extend_from_slice(&stream[from..to]);
            from = to;
            let used = split_publishes(&pending, |p| got.push(p.to_vec()))?;
            pending.drain(..used);
        }
        assert!(pending.is_empty(), "{} bytes left over", pending.len());
        Ok(got)
    }

    #[test]
    fn publish_split_at_every_byte_gives_the_same_payloads() {
        let want = payloads();
        let stream = stream_of(&want);
        assert_eq!(feed(&stream, &[]).unwrap(), want);
        for cut in 1..stream.len() {
            assert_eq!(feed(&stream, &[cut]).unwrap(), want, "cut at {cut}");
        }
        // Byte by byte through the small packets.
        let cuts: Vec<usize> = (1..300).collect();
        assert_eq!(feed(&stream, &cuts).unwrap(), want);
    }

    #[test]
    fn publish_head_and_payload_round_trip_with_qos1_identifier() {
        let head = publish_head(TOPIC, 3).unwrap();
        assert_eq!(head, [0x30, 9, 0, 4, b'r', b'o', b'o', b'm']);
        // QoS 1: a packet identifier sits between topic and payload.
        let body = [0, 1, b't', 0x12, 0x34, b'p', b'q'];
        assert_eq!(publish_payload(0x02, &body).unwrap(), b"pq");
        assert_eq!(
            publish_payload(0x00, &body).unwrap(),
            [0x12, 0x34, b'p', b'q']
        );
    }

    #[test]
    fn malformed_packets_are_errors() {
        // Remaining Length with five bytes.
        assert!(split_publishes(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], |_| {}).is_err());
        // Reserved packet types 0 and 15.
        assert!(split_publishes(&[0x00, 0x00], |_| {}).is_err());
        assert!(split_publishes(&[0xf0, 0x00], |_| {}).is_err());
        // Topic length beyond the packet.
        assert!(split_publishes(&[0x30, 0x03, 0x00, 0x09, b'r'], |_| {}).is_err());
        // No room for the topic length at all.
        assert!(split_publishes(&[0x30, 0x01, 0x00], |_| {}).is_err());
        // QoS 3.
        assert!(split_publishes(&[0x36, 0x02, 0x00, 0x00], |_| {}).is_err());
        // Larger than the read buffer could ever hold, announced in the header alone.
        let mut big = vec![0x30];
        encode_remaining_length(MAX_PACKET, &mut big).unwrap();
        assert!(split_publishes(&big, |_| {}).is_err());
        // A non-PUBLISH packet in the load.
        assert!(split_publishes(&[0xd0, 0x00], |_| {}).is_err());
        // A good packet before the bad one is not enough to succeed.
        let mut s = stream_of(&[b"ok".to_vec()]);
        s.extend_from_slice(&[0x30, 0x03, 0x00, 0x09, b'r']);
        assert!(split_publishes(&s, |_| {}).is_err());
    }

    #[test]
    fn connect_and_subscribe_bytes_follow_the_spec() {
        let c = connect_packet("bench-0007", 0).unwrap();
        let mut want = vec![0x10, 22, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 0, 0, 10];
        want.extend_from_slice(b"bench-0007");
        assert_eq!(c, want);
        let s = subscribe_packet(1, TOPIC, 0).unwrap();
        assert_eq!(s, [0x82, 9, 0, 1, 0, 4, b'r', b'o', b'o', b'm', 0]);
        let parsed = next_packet(&s).unwrap().unwrap();
        assert_eq!((parsed.kind, parsed.flags, parsed.len), (SUBSCRIBE, 2, 11));
    }
}
