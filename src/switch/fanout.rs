//! Fan-out (RFC 7701 §6.1, §6.2, §6.4; RFC 4975 §7.1): who gets a message (room or private
//! recipient, never back to the sending session), and writing each re-chunked copy straight
//! into the recipient's ring — byte-identical CPIM body, fresh transaction id, per-recipient
//! Message-ID, exact Byte-Range — without heap allocation. What is the same for every
//! recipient of a chunk is formatted once per chunk; a copy is then a few slice copies into
//! the ring (issue 6 hot path). A copy that does not fit is dropped and counted; a recipient
//! that already had part of the message then owes a `#`.

use slab::Slab;
use std::collections::VecDeque;

use crate::conference::ParticipantId;
use crate::rand::{fill_ident, Entropy};
use crate::wire::msrp::{ByteRange, Flag, Sink, MAX_IDENT_LEN};

use super::congestion::message_size;
use super::connection::{notify, Conn, Source};
use super::fast_forward::{tid_suffix, Delivery, MsgSlot, Phase, OUT_ID_BASE_LEN, TID_TAG_LEN};
use super::inbound::{Action, Pending};
use super::ring::Composed;
use super::session::{index_of, Participant};
use super::{Counters, MsrpConnId, Switch, SwitchEvent};

/// Transaction ids the switch generates: 12 characters, ≥ 69 bits (`fill_ident`; RFC 4975
/// §7.1: ≥ 64).
pub(super) const COPY_TID_LEN: usize = 12;
/// Body octets per outbound chunk: RFC 4975 §7.1.1 makes larger chunks interruptible, so
/// every copy is cut into complete chunks of at most this size (R4975-7.1.1-b).
pub(super) const OUTBOUND_CHUNK_BYTES: usize = 2048;
/// Failure-Report of every copy the switch sends (R7701-6.3-e: any report model): the
/// recipient answers only failures, which stop that copy (R4975-10-a); there are no 200s to
/// wait for, so no pending-response table (RFC 4975 §7.1.1's 30 s rule covers `yes` only).
pub(super) const COPY_FAILURE_REPORT: &str = "partial";
/// Room left in a transaction id after its random characters.
const TID_SUFFIX_ROOM: usize = MAX_IDENT_LEN - COPY_TID_LEN;
/// The longest header part of a [`ChunkHead`]: CRLF, Byte-Range with three 20-digit
/// numbers, Failure-Report, Content-Type and the empty line.
const CHUNK_HEAD_CAP: usize = 160;
/// Body octets a [`ChunkHead`] takes in with the headers. Chat messages are mostly
/// shorter; a longer body stays apart (a few more slice moves per copy, next to its size).
/// The block is zeroed for every chunk, so it is not made large enough for a full chunk.
const JOINED_BODY_BYTES: usize = 512;
/// A [`ChunkHead`] with room for the headers, a short body and the end-line's lead
/// (`\r\n-------`).
const CHUNK_BLOCK_CAP: usize = CHUNK_HEAD_CAP + JOINED_BODY_BYTES + 9;

/// One outbound SEND for one recipient.
#[derive(Clone, Copy)]
pub(super) struct Outbound<'a> {
    /// The message entry the copy belongs to (named in its transaction id), if any.
    pub(super) slot: Option<MsgSlot>,
    pub(super) base: &'a [u8; OUT_ID_BASE_LEN],
    pub(super) range: ByteRange,
    pub(super) body: Option<&'a [&'a [u8]]>,
    pub(super) flag: Flag,
    /// A message copy (counted in the stats) rather than a bodiless abort.
    pub(super) counted: bool,
}

/// The part of a copy from the end of its Message-ID to its transaction id in the end-line,
/// the same for every recipient of one chunk and formatted once per chunk (RFC 4975 §7.1
/// order): the CRLF ending the Message-ID line, Byte-Range, Failure-Report, and — with a
/// body — Content-Type, the empty line, the body and the end-line's lead. A body longer
/// than [`JOINED_BODY_BYTES`] stays apart.
pub(super) struct ChunkHead {
    bytes: [u8; CHUNK_BLOCK_CAP],
    len: usize,
    range: ByteRange,
    has_body: bool,
    /// Body and end-line lead are in `bytes`.
    joined: bool,
    flag: Flag,
}

impl Sink for ChunkHead {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.bytes.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }
}

impl ChunkHead {
    pub(super) fn new(range: ByteRange, body: Option<&[&[u8]]>, flag: Flag) -> ChunkHead {
        let has_body = body.is_some();
        let mut head = ChunkHead {
            bytes: [0; CHUNK_BLOCK_CAP],
            len: 0,
            range,
            has_body,
            joined: false,
            flag,
        };
        head.put(b"\r\nByte-Range: ");
        range.emit(&mut head);
        head.put(b"\r\nFailure-Report: ");
        head.put(COPY_FAILURE_REPORT.as_bytes());
        head.put(b"\r\n");
        if has_body {
            head.put(b"Content-Type: message/cpim\r\n\r\n");
        }
        let body = body.unwrap_or(&[]);
        let body_len: usize = body.iter().map(|p| p.len()).sum();
        let lead = head.end_line_lead();
        if head.len + body_len + lead.len() <= CHUNK_BLOCK_CAP {
            for piece in body {
                head.put(piece);
            }
            head.put(lead);
            head.joined = true;
        }
        head
    }

    fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// What follows the body (or the headers, bodiless) up to the transaction id.
    fn end_line_lead(&self) -> &'static [u8] {
        match self.has_body {
            true => b"\r\n-------",
            false => b"-------",
        }
    }

    /// The flag and the CRLF ending the end-line.
    fn end_line_tail(&self) -> &'static [u8] {
        match self.flag {
            Flag::More => b"+\r\n",
            Flag::Last => b"$\r\n",
            Flag::Abort => b"#\r\n",
        }
    }
}

/// One copy of one chunk for one recipient, its chunk head formatted already.
pub(super) struct ChunkCopy<'a> {
    /// Transaction id after the random part: names the message's entry (see
    /// [`tid_suffix`]); empty for copies of no entry (notices).
    pub(super) tid_suffix: &'a [u8],
    pub(super) base: &'a [u8; OUT_ID_BASE_LEN],
    pub(super) head: &'a ChunkHead,
    pub(super) body: &'a [&'a [u8]],
    /// A message copy (counted in the stats) rather than a bodiless abort or a notice.
    pub(super) counted: bool,
}

/// One copy as what it is made of, in wire order (RFC 4975 §7.1): the transaction id is
/// the random characters then `tid_suffix`, then the recipient's [`copy_lead`] (method,
/// To-Path, From-Path, `Message-ID: `), the Message-ID's value (the message's base then the
/// recipient's id), the chunk's shared part. Its length is computed from the parts, never
/// by writing it twice.
struct CopyLayout<'a> {
    random: &'a [u8; COPY_TID_LEN],
    tid_suffix: &'a [u8],
    lead: &'a str,
    id_base: &'a [u8; OUT_ID_BASE_LEN],
    id_digits: &'a [u8],
    head: &'a ChunkHead,
    body: &'a [&'a [u8]],
}

const START: &[u8; 5] = b"MSRP ";

/// What every copy to one recipient has between its transaction id and its Message-ID
/// value: the method and both paths (formatted when the participant's paths are set).
pub(super) fn copy_lead(to_path: &str, from_path: &str) -> String {
    format!(" SEND\r\nTo-Path: {to_path}\r\nFrom-Path: {from_path}\r\nMessage-ID: ")
}

impl CopyLayout<'_> {
    /// The body pieces and end-line lead not already in the chunk's shared part.
    fn apart(&self) -> (&[&[u8]], &'static [u8]) {
        match (self.head.joined, self.head.has_body) {
            (true, _) => (&[], b""),
            (false, true) => (self.body, self.head.end_line_lead()),
            (false, false) => (&[], self.head.end_line_lead()),
        }
    }
}

impl Composed for CopyLayout<'_> {
    fn len(&self) -> usize {
        let tid = COPY_TID_LEN + self.tid_suffix.len();
        let (body, lead) = self.apart();
        START.len()
            + tid
            + self.lead.len()
            + OUT_ID_BASE_LEN
            + self.id_digits.len()
            + self.head.len
            + body.iter().map(|p| p.len()).sum::<usize>()
            + lead.len()
            + tid
            + self.head.end_line_tail().len()
    }

    #[inline(always)]
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) {
        sink.put(START);
        sink.put(self.random);
        sink.put(self.tid_suffix);
        sink.put(self.lead.as_bytes());
        sink.put(self.id_base);
        sink.put(self.id_digits);
        sink.put(self.head.bytes());
        let (body, lead) = self.apart();
        for piece in body {
            sink.put(piece);
        }
        sink.put(lead);
        sink.put(self.random);
        sink.put(self.tid_suffix);
        sink.put(self.head.end_line_tail());
    }
}

/// The switch's fields a copy touches, borrowed apart from the message table.
pub(super) struct CopyTargets<'s> {
    pub(super) parts: &'s mut Slab<Participant>,
    pub(super) conns: &'s mut Slab<Conn>,
    pub(super) events: &'s mut VecDeque<SwitchEvent>,
    pub(super) counters: &'s mut Counters,
}

/// Writes `copy` into `rid`'s ring; `false` when it does not fit (dropped, counted, logged
/// once per burst).
pub(super) fn write_copy(
    parts: &mut Slab<Participant>,
    conns: &mut Slab<Conn>,
    events: &mut VecDeque<SwitchEvent>,
    counters: &mut Counters,
    entropy: &mut dyn Entropy,
    rid: ParticipantId,
    copy: &Outbound<'_>,
) -> bool {
    let head = ChunkHead::new(copy.range, copy.body, copy.flag);
    let mut targets = CopyTargets {
        parts,
        conns,
        events,
        counters,
    };
    let mut suffix_buf = [0u8; TID_TAG_LEN + 20];
    let chunk = ChunkCopy {
        tid_suffix: match copy.slot {
            Some(slot) => tid_suffix(copy.base, slot, TID_SUFFIX_ROOM, &mut suffix_buf),
            None => &[],
        },
        base: copy.base,
        head: &head,
        body: copy.body.unwrap_or(&[]),
        counted: copy.counted,
    };
    put_copy(&mut targets, entropy, rid, &chunk)
}

/// Writes one chunk copy into `rid`'s ring as a complete SEND, byte for byte what
/// `emit_request` writes for it, as a handful of slice copies: fresh random transaction
/// id, per-recipient Message-ID, the shared chunk head, the body pieces, the end-line.
pub(super) fn put_copy(
    t: &mut CopyTargets<'_>,
    entropy: &mut dyn Entropy,
    rid: ParticipantId,
    copy: &ChunkCopy<'_>,
) -> bool {
    let Some(p) = t
        .parts
        .get_mut(index_of(rid))
        .filter(|p| p.id == rid && !p.departed)
    else {
        return false;
    };
    let mut random = [0u8; COPY_TID_LEN];
    fill_ident(entropy, &mut random);
    // R7701-6.4-d: no copies of large messages while the recipient is congested.
    let range = copy.head.range;
    let size = message_size(range.total, range.end);
    let held_back = copy.counted && p.congestion.is_some_and(|c| c.holds_back(size));
    let Participant {
        ring,
        copy_lead,
        conn,
        dropping,
        id_digits,
        ..
    } = p;
    let layout = CopyLayout {
        random: &random,
        tid_suffix: copy.tid_suffix,
        lead: copy_lead,
        id_base: copy.base,
        id_digits: id_digits.as_bytes(),
        head: copy.head,
        body: copy.body,
    };
    let written = !held_back && ring.write_composed(&layout);
    if written {
        t.counters.delivered += u64::from(copy.counted);
        *dropping = false;
        if let Some(ci) = *conn {
            notify(t.conns, t.events, ci, Source::Session(rid));
        }
        return true;
    }
    t.counters.dropped += u64::from(copy.counted);
    if !*dropping {
        *dropping = true;
        match held_back {
            true => log::debug!("participant {}: congested, large copies dropped", rid.0),
            false => log::warn!("participant {}: outbound ring full, dropping copies", rid.0),
        }
    }
    false
}

impl Switch {
    /// Sends the chunk assembled during this call to every recipient still following the
    /// message: flag `+` while the inbound chunk continues (`end = None`), else its flag.
    pub(super) fn flush(
        &mut self,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        end: Option<Flag>,
        bytes: &[u8],
    ) {
        let Switch {
            parts,
            conns,
            messages,
            events,
            counters,
            ..
        } = self;
        let Some(c) = conns.get_mut(ci.0) else {
            return;
        };
        c.carry_deadline = None;
        let Action::Forward(slot) = c.tx.action else {
            c.pending = Pending::default();
            return;
        };
        let pending = core::mem::take(&mut c.pending);
        let held_buf = if pending.held > 0 {
            core::mem::take(&mut c.cpim)
        } else {
            Vec::new()
        };
        let (start, total) = (c.tx.pos, c.tx.total);
        let input = pending.input_bytes(bytes);
        let held = held_buf.get(..pending.held).unwrap_or(&[]);
        let pieces: [&[u8]; 3] = [held, &pending.spill, input];
        let len = pieces.iter().map(|p| p.len() as u64).sum::<u64>();
        let flag = end.unwrap_or(Flag::More);
        if len > 0 || flag != Flag::More {
            if let Some(entry) = messages.get_mut(slot) {
                let total = total.or(entry.total);
                let (base, cut) = (entry.base, OUTBOUND_CHUNK_BYTES as u64);
                let mut suffix_buf = [0u8; TID_TAG_LEN + 20];
                let suffix = tid_suffix(&base, slot, TID_SUFFIX_ROOM, &mut suffix_buf);
                let mut targets = CopyTargets {
                    parts,
                    conns,
                    events,
                    counters,
                };
                // R4975-7.1.1-b: complete chunks of at most OUTBOUND_CHUNK_BYTES, each
                // formatted once and copied to every recipient still following.
                let mut at = 0u64;
                loop {
                    let upto = len.min(at + cut);
                    let last = upto == len;
                    let window = sub_window(&pieces, at as usize, upto as usize);
                    let n = upto - at;
                    let range = ByteRange {
                        start: start + at,
                        end: match (n, flag) {
                            (0, Flag::Abort) => None,
                            _ => Some(start + upto - 1),
                        },
                        total,
                    };
                    let body = (n > 0).then_some(&window[..]);
                    let head = ChunkHead::new(range, body, if last { flag } else { Flag::More });
                    let copy = ChunkCopy {
                        tid_suffix: suffix,
                        base: &base,
                        head: &head,
                        body: &window,
                        counted: n > 0,
                    };
                    entry.recipients.retain_mut(|r| {
                        if matches!(r.delivery, Delivery::Owes { .. }) {
                            return true;
                        }
                        if put_copy(&mut targets, entropy, r.pid, &copy) {
                            r.delivery = Delivery::Active;
                            return true;
                        }
                        if r.delivery == Delivery::Active {
                            // Had earlier chunks: owes `#` from here, gets no more.
                            r.delivery = Delivery::Owes { next: start + at };
                            if let Some(p) = targets.parts.get_mut(index_of(r.pid)) {
                                p.owes_aborts = true;
                            }
                            return true;
                        }
                        false
                    });
                    if last {
                        break;
                    }
                    at = upto;
                }
                entry.next = start + len;
            }
        }
        if let Some(c) = conns.get_mut(ci.0) {
            c.tx.pos = start + len;
            if pending.held > 0 {
                let mut buf = held_buf;
                buf.clear();
                c.cpim = buf;
                c.cpim_owner = None;
            }
        }
    }

    /// Aborts a message (chunk timer, sender gone, over a limit): every recipient that got
    /// part of it gets a bodiless `#` chunk (example 15), then the state is freed.
    pub(super) fn abort_message(&mut self, entropy: &mut dyn Entropy, slot: MsgSlot) {
        let Switch {
            parts,
            conns,
            messages,
            events,
            counters,
            ..
        } = self;
        let Some(entry) = messages.get_mut(slot) else {
            return;
        };
        let next = entry.next;
        let copy = Outbound {
            slot: Some(slot),
            base: &entry.base,
            range: ByteRange {
                start: next,
                end: None,
                total: entry.total,
            },
            body: None,
            flag: Flag::Abort,
            counted: false,
        };
        entry.recipients.retain_mut(|r| match r.delivery {
            Delivery::Fresh => false,
            Delivery::Owes { .. } => true,
            Delivery::Active => {
                if write_copy(parts, conns, events, counters, entropy, r.pid, &copy) {
                    false
                } else {
                    r.delivery = Delivery::Owes { next };
                    if let Some(p) = parts.get_mut(index_of(r.pid)) {
                        p.owes_aborts = true;
                    }
                    true
                }
            }
        });
        self.finish_message(slot);
    }

    /// The message is over (`$`, `#`, abort): keeps the entry only for owed aborts.
    pub(super) fn finish_message(&mut self, slot: MsgSlot) {
        self.detach_slot(slot);
        let Some(entry) = self.messages.get_mut(slot) else {
            return;
        };
        let sender = entry.sender;
        entry
            .recipients
            .retain(|r| matches!(r.delivery, Delivery::Owes { .. }));
        if entry.recipients.is_empty() {
            self.release_slot(slot);
        } else {
            entry.phase = Phase::Finished;
            entry.deadline = None;
        }
        if let Some(p) = self.participant_mut(sender) {
            p.partials.retain(|s| *s != slot);
        }
    }

    /// Frees an entry and removes it from its sender's in-flight list.
    pub(super) fn release_slot(&mut self, slot: MsgSlot) {
        let sender = self.messages.get(slot).map(|e| e.sender);
        self.messages.release(slot);
        if let Some(p) = sender.and_then(|s| self.participant_mut(s)) {
            p.partials.retain(|s| *s != slot);
        }
    }

    /// Unhooks `slot` from its sender's connection (the request being received, the CPIM
    /// hold buffer) so no later byte refers to a freed entry.
    pub(super) fn detach_slot(&mut self, slot: MsgSlot) {
        let Some(sender) = self.messages.get(slot).map(|e| e.sender) else {
            return;
        };
        let Some(ci) = self.participant(sender).and_then(|p| p.conn) else {
            return;
        };
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        if matches!(c.tx.action, Action::Hold(s) | Action::Forward(s) if s == slot) {
            c.tx.action = Action::Ignore;
            c.pending = Pending::default();
        }
        if c.cpim_owner == Some(slot) {
            c.cpim_owner = None;
            c.cpim.clear();
        }
    }

    /// Writes owed `#` aborts into rings that drained (asked for by `consumed`).
    pub(super) fn write_owed(&mut self, entropy: &mut dyn Entropy) {
        if !core::mem::take(&mut self.retry_owed) {
            return;
        }
        let Switch {
            parts,
            conns,
            messages,
            events,
            counters,
            ..
        } = self;
        for (_, p) in parts.iter_mut() {
            p.owes_aborts = false;
        }
        let mut i = 0;
        while i < messages.capacity() {
            let slot = MsgSlot(i);
            i += 1;
            let Some(entry) = messages.get_mut(slot) else {
                continue;
            };
            let (base, total) = (entry.base, entry.total);
            entry.recipients.retain_mut(|r| {
                let Delivery::Owes { next } = r.delivery else {
                    return true;
                };
                let copy = Outbound {
                    slot: Some(slot),
                    base: &base,
                    range: ByteRange {
                        start: next,
                        end: None,
                        total,
                    },
                    body: None,
                    flag: Flag::Abort,
                    counted: false,
                };
                if write_copy(parts, conns, events, counters, entropy, r.pid, &copy) {
                    return false;
                }
                if let Some(p) = parts.get_mut(index_of(r.pid)) {
                    p.owes_aborts = true;
                }
                true
            });
            if entry.phase == Phase::Finished && entry.recipients.is_empty() {
                messages.release(slot);
            }
        }
    }
}

/// Bytes `a..b` of the concatenation of `pieces`, as three (possibly empty) slices.
fn sub_window<'x>(pieces: &[&'x [u8]; 3], a: usize, b: usize) -> [&'x [u8]; 3] {
    let mut out: [&[u8]; 3] = [&[]; 3];
    let mut offset = 0;
    for (slot, piece) in out.iter_mut().zip(pieces) {
        let (lo, hi) = (offset, offset + piece.len());
        offset = hi;
        let from = a.clamp(lo, hi) - lo;
        let to = b.clamp(lo, hi) - lo;
        *slot = piece.get(from..to).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::msrp::{emit_request, Request};

    /// The sliced copy is byte for byte what the generic emitter writes for the same SEND.
    #[test]
    fn copies_match_the_generic_emitter() {
        let (to, from) = (
            "msrp://10.0.0.2:7000/peer;tcp",
            "msrp://10.0.0.1:2855/sw;tcp",
        );
        let cases = [
            (
                ByteRange {
                    start: 1,
                    end: Some(5),
                    total: Some(5),
                },
                true,
                Flag::Last,
            ),
            (
                ByteRange {
                    start: 1,
                    end: Some(2048),
                    total: None,
                },
                true,
                Flag::More,
            ),
            (
                ByteRange {
                    start: 4097,
                    end: None,
                    total: Some(9000),
                },
                false,
                Flag::Abort,
            ),
            (
                ByteRange {
                    start: 3,
                    end: Some(2),
                    total: Some(2),
                },
                false,
                Flag::Last,
            ),
        ];
        let pieces: [&[u8]; 3] = [b"ab", b"", b"cde"];
        let long = [b'x'; CHUNK_BLOCK_CAP];
        let too_long: [&[u8]; 2] = [b"y", &long];
        let lead = copy_lead(to, from);
        let with_bodies = cases
            .into_iter()
            .map(|(range, has_body, flag)| (range, has_body, flag, &pieces[..]))
            .chain([(cases[1].0, true, Flag::More, &too_long[..])]);
        for (range, has_body, flag, pieces) in with_bodies {
            let head = ChunkHead::new(range, has_body.then_some(pieces), flag);
            assert_eq!(head.joined, pieces.len() == 3 || !has_body);
            let layout = CopyLayout {
                random: b"tidtidtidtid",
                tid_suffix: b"123",
                lead: &lead,
                id_base: b"midmidmidmid",
                id_digits: b"77",
                head: &head,
                body: pieces,
            };
            let mut ours = Vec::new();
            layout.emit(&mut ours);
            assert_eq!(ours.len(), layout.len());
            let mut req = Request::new("tidtidtidtid123", "SEND", to, from);
            req.message_id = Some("midmidmidmid77");
            req.byte_range = Some(range);
            req.failure_report = Some(COPY_FAILURE_REPORT);
            req.content_type = Some("message/cpim");
            let mut theirs = Vec::new();
            emit_request(&mut theirs, &req, has_body.then_some(pieces), flag);
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{range:?} {flag:?}"
            );
        }
    }

    #[test]
    fn sub_windows_cut_across_pieces() {
        let pieces: [&[u8]; 3] = [b"abc", b"", b"defgh"];
        assert_eq!(sub_window(&pieces, 0, 8).concat(), b"abcdefgh");
        assert_eq!(sub_window(&pieces, 2, 5).concat(), b"cde");
        assert_eq!(sub_window(&pieces, 3, 3).concat(), b"");
        assert_eq!(sub_window(&pieces, 6, 20).concat(), b"gh");
        assert_eq!(sub_window(&pieces, 1, 2), [&b"b"[..], &[][..], &[][..]]);
    }
}
