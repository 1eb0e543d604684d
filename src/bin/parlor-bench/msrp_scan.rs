//! Cheap receive-side framing of the byte stream parlor sends each participant (RFC 4975
//! §7.1 chunks, §7.1.1 Byte-Range, §7.2 responses): splits it into whole messages with byte
//! scans, skips responses and other requests, and reassembles the head of every SEND per
//! Message-ID (parlor re-chunks bodies) so the payload fields can be read when the chunk
//! flagged `$` arrives. No allocation in steady state.

/// Bytes of a message's body kept until its last chunk: CPIM headers plus payload fields.
const HEAD_BYTES: usize = 256;
/// Longest Message-ID tracked.
const MID_BYTES: usize = 64;

/// Why a stream is not the MSRP the bench expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// A message does not start with `MSRP `.
    NotMsrp,
    /// A message's end-line does not match its start line.
    BadEndLine,
}

/// A message whose last chunk has not arrived yet.
struct Partial {
    in_use: bool,
    mid: [u8; MID_BYTES],
    mid_len: usize,
    head: [u8; HEAD_BYTES],
    head_len: usize,
}

/// One connection's reassembly state.
#[derive(Default)]
pub struct MsrpScan {
    partials: Vec<Partial>,
}

/// Offset of the first `\n` in `hay`.
fn find_lf(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'\n')
}

/// The `a-b/c` numbers of a Byte-Range value (`None` for `*`).
fn byte_range(v: &[u8]) -> (Option<u64>, Option<u64>) {
    let num = |s: &[u8]| -> Option<u64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let dash = v.iter().position(|&b| b == b'-');
    let slash = v.iter().position(|&b| b == b'/');
    match (dash, slash) {
        (Some(d), Some(s)) if d < s => (num(&v[..d]), num(&v[d + 1..s])),
        _ => (None, None),
    }
}

/// Where the body ends: the offset of `\r\n-------TID` + flag + `\r\n` at or after `from`,
/// and the flag. `Ok(None)` = not all here yet.
fn find_end_line(buf: &[u8], from: usize, tid: &[u8]) -> Result<Option<(usize, u8)>, ScanError> {
    let mut at = from;
    loop {
        let Some(rel) = buf
            .get(at..)
            .and_then(|b| b.windows(9).position(|w| w == b"\r\n-------"))
        else {
            return Ok(None);
        };
        let start = at + rel;
        let tid_at = start + 9;
        let Some(tail) = buf.get(tid_at..tid_at + tid.len() + 3) else {
            return Ok(None);
        };
        if &tail[..tid.len()] == tid && &tail[tid.len() + 1..] == b"\r\n" {
            return Ok(Some((start, tail[tid.len()])));
        }
        at = start + 2;
    }
}

impl MsrpScan {
    /// Consumes every complete message at the start of `buf`, calling `deliver` with the
    /// first bytes of each SEND body whose final chunk (`$`) is among them. Returns the
    /// bytes consumed; an incomplete message at the end is left for the next call.
    pub fn scan(&mut self, buf: &[u8], mut deliver: impl FnMut(&[u8])) -> Result<usize, ScanError> {
        let mut pos = 0;
        while let Some(used) = self.one(&buf[pos..], &mut deliver)? {
            pos += used;
        }
        Ok(pos)
    }

    /// One message at the start of `buf`: `Ok(Some(len))` when complete.
    fn one(
        &mut self,
        buf: &[u8],
        deliver: &mut impl FnMut(&[u8]),
    ) -> Result<Option<usize>, ScanError> {
        let Some(lf) = find_lf(buf) else {
            return Ok(None);
        };
        let start = &buf[..lf];
        let rest = start.strip_prefix(b"MSRP ").ok_or(ScanError::NotMsrp)?;
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or(ScanError::NotMsrp)?;
        let tid = &rest[..sp];
        let is_send = rest[sp + 1..].starts_with(b"SEND");
        let mut line_at = lf + 1;
        let mut mid: &[u8] = &[];
        let mut range = (None, None);
        // Header lines until the blank line (body follows) or the end-line (bodiless).
        loop {
            let Some(rel) = find_lf(&buf[line_at..]) else {
                return Ok(None);
            };
            let line = &buf[line_at..line_at + rel];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let next = line_at + rel + 1;
            if line.is_empty() {
                line_at = next;
                break;
            }
            if let Some(end) = line.strip_prefix(b"-------") {
                if end.len() != tid.len() + 1 || &end[..tid.len()] != tid {
                    return Err(ScanError::BadEndLine);
                }
                if is_send && end[tid.len()] != b'+' {
                    self.finish(mid, end[tid.len()], &[], range.0, deliver);
                }
                return Ok(Some(next));
            }
            if let Some(v) = line.strip_prefix(b"Message-ID: ") {
                mid = v;
            } else if let Some(v) = line.strip_prefix(b"Byte-Range: ") {
                range = byte_range(v);
            }
            line_at = next;
        }
        let body_start = line_at;
        // Exact Byte-Range: jump over the body; otherwise search for the end-line.
        let known = match range {
            (Some(a), Some(b)) => b
                .checked_add(1)
                .and_then(|e| e.checked_sub(a))
                .and_then(|len| usize::try_from(len).ok())
                .and_then(|len| body_start.checked_add(len)),
            _ => None,
        };
        let end = match known {
            Some(e) => match buf.get(e..e + 9 + tid.len() + 3) {
                None => return Ok(None),
                Some(t)
                    if t.starts_with(b"\r\n-------")
                        && &t[9..9 + tid.len()] == tid
                        && t.ends_with(b"\r\n") =>
                {
                    Some((e, t[9 + tid.len()]))
                }
                Some(_) => find_end_line(buf, body_start.saturating_sub(2), tid)?,
            },
            None => find_end_line(buf, body_start.saturating_sub(2), tid)?,
        };
        let Some((body_end, flag)) = end else {
            return Ok(None);
        };
        if is_send {
            let body = buf.get(body_start..body_end).unwrap_or(&[]);
            self.finish(mid, flag, body, range.0, deliver);
        }
        Ok(Some(body_end + 9 + tid.len() + 3))
    }

    /// Adds a chunk of message `mid`; delivers its head when `flag` is `$`.
    fn finish(
        &mut self,
        mid: &[u8],
        flag: u8,
        body: &[u8],
        start: Option<u64>,
        deliver: &mut impl FnMut(&[u8]),
    ) {
        let first = start == Some(1);
        let found = self
            .partials
            .iter()
            .position(|p| p.in_use && &p.mid[..p.mid_len] == mid);
        if first && flag == b'$' && found.is_none() {
            deliver(&body[..body.len().min(HEAD_BYTES)]);
            return;
        }
        let slot = match found {
            Some(i) => i,
            None if first && mid.len() <= MID_BYTES => {
                match self.partials.iter().position(|p| !p.in_use) {
                    Some(i) => i,
                    None => {
                        self.partials.push(Partial {
                            in_use: false,
                            mid: [0; MID_BYTES],
                            mid_len: 0,
                            head: [0; HEAD_BYTES],
                            head_len: 0,
                        });
                        self.partials.len() - 1
                    }
                }
            }
            // A later chunk of a message not seen from its start: nothing to measure.
            None => return,
        };
        let p = &mut self.partials[slot];
        if !p.in_use {
            p.in_use = true;
            p.mid[..mid.len()].copy_from_slice(mid);
            p.mid_len = mid.len();
            p.head_len = 0;
        }
        let take = body.len().min(HEAD_BYTES - p.head_len);
        p.head[p.head_len..p.head_len + take].copy_from_slice(&body[..take]);
        p.head_len += take;
        match flag {
            b'$' => {
                p.in_use = false;
                deliver(&p.head[..p.head_len]);
            }
            b'#' => p.in_use = false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(tid: &str, mid: &str, range: &str, body: &str, flag: char) -> Vec<u8> {
        format!(
            "MSRP {tid} SEND\r\nTo-Path: msrp://a/b;tcp\r\nFrom-Path: msrp://c/d;tcp\r\nMessage-ID: {mid}\r\nByte-Range: {range}\r\nContent-Type: message/cpim\r\n\r\n{body}\r\n-------{tid}{flag}\r\n"
        )
        .into_bytes()
    }

    fn collect(scan: &mut MsrpScan, buf: &[u8]) -> (usize, Vec<Vec<u8>>) {
        let mut got = Vec::new();
        let used = scan.scan(buf, |h| got.push(h.to_vec())).unwrap();
        (used, got)
    }

    #[test]
    fn whole_messages_and_responses() {
        let mut buf = chunk("t1", "m1", "1-5/5", "hello", '$');
        buf.extend_from_slice(b"MSRP t9 200 OK\r\nTo-Path: msrp://a/b;tcp\r\nFrom-Path: msrp://c/d;tcp\r\n-------t9$\r\n");
        buf.extend_from_slice(&chunk("t2", "m2", "1-3/3", "abc", '$'));
        let mut s = MsrpScan::default();
        let (used, got) = collect(&mut s, &buf);
        assert_eq!(used, buf.len());
        assert_eq!(got, vec![b"hello".to_vec(), b"abc".to_vec()]);
    }

    #[test]
    fn interleaved_chunks_are_joined_by_message_id() {
        let mut buf = chunk("t1", "mA", "1-3/6", "abc", '+');
        buf.extend_from_slice(&chunk("t2", "mB", "1-2/2", "zz", '$'));
        buf.extend_from_slice(&chunk("t3", "mA", "4-6/6", "def", '$'));
        let mut s = MsrpScan::default();
        let (used, got) = collect(&mut s, &buf);
        assert_eq!(used, buf.len());
        assert_eq!(got, vec![b"zz".to_vec(), b"abcdef".to_vec()]);
    }

    #[test]
    fn incomplete_tail_is_left_and_aborts_forget() {
        let whole = chunk("t1", "m1", "1-5/5", "hello", '$');
        let mut s = MsrpScan::default();
        for cut in 0..whole.len() {
            let (used, got) = collect(&mut s, &whole[..cut]);
            assert_eq!((used, got.len()), (0, 0), "cut {cut}");
        }
        let mut buf = chunk("t1", "mA", "1-3/9", "abc", '+');
        buf.extend_from_slice(
            b"MSRP t2 SEND\r\nMessage-ID: mA\r\nByte-Range: 4-*/9\r\n-------t2#\r\n",
        );
        buf.extend_from_slice(&chunk("t3", "mA", "4-6/6", "def", '$'));
        let (used, got) = collect(&mut s, &buf);
        assert_eq!(used, buf.len());
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn absurd_byte_ranges_fall_back_to_the_end_line() {
        let mut s = MsrpScan::default();
        let buf = chunk("t1", "m1", "1-18446744073709551615/*", "hello", '$');
        let (used, got) = collect(&mut s, &buf);
        assert_eq!((used, got), (buf.len(), vec![b"hello".to_vec()]));
        let buf = chunk("t2", "m2", "9-3/5", "hello", '$');
        let (used, got) = collect(&mut s, &buf);
        assert_eq!(used, buf.len());
        assert!(
            got.is_empty(),
            "a chunk not starting at 1 with no earlier part: {got:?}"
        );
    }

    #[test]
    fn garbage_is_an_error() {
        let mut s = MsrpScan::default();
        assert_eq!(
            s.scan(b"HTTP/1.1 200 OK\r\n", |_| {}),
            Err(ScanError::NotMsrp)
        );
        let bad = b"MSRP t1 200 OK\r\n-------t2$\r\n";
        assert_eq!(s.scan(bad, |_| {}), Err(ScanError::BadEndLine));
    }
}
