//! Fan-out (RFC 7701 §6.1, §6.2, §6.4; RFC 4975 §7.1): who gets a message (room or private
//! recipient, never back to the sending session), and writing each re-chunked copy straight
//! into the recipient's ring — byte-identical CPIM body, fresh transaction id, per-recipient
//! Message-ID, exact Byte-Range — without heap allocation. A copy that does not fit is
//! dropped and counted; a recipient that already had part of the message then owes a `#`.

use slab::Slab;
use std::collections::VecDeque;

use crate::conference::ParticipantId;
use crate::rand::{fill_ident, Entropy};
use crate::wire::msrp::{emit_request, encoded_len, ByteRange, Flag, Request, MAX_IDENT_LEN};

use super::congestion::message_size;
use super::connection::{notify, Conn, Source};
use super::fast_forward::{copy_tid, out_message_id, Delivery, MsgSlot, Phase, OUT_ID_BASE_LEN};
use super::inbound::{Action, Pending};
use super::session::{index_of, Participant};
use super::{Counters, MsrpConnId, Switch, SwitchEvent};

/// Transaction ids the switch generates: 12 × 5.95 ≈ 71 bits (RFC 4975 §7.1: ≥ 64).
pub(super) const COPY_TID_LEN: usize = 12;
/// Body octets per outbound chunk: RFC 4975 §7.1.1 makes larger chunks interruptible, so
/// every copy is cut into complete chunks of at most this size (R4975-7.1.1-b).
pub(super) const OUTBOUND_CHUNK_BYTES: usize = 2048;
/// Failure-Report of every copy the switch sends (R7701-6.3-e: any report model): the
/// recipient answers only failures, which stop that copy (R4975-10-a); there are no 200s to
/// wait for, so no pending-response table (RFC 4975 §7.1.1's 30 s rule covers `yes` only).
pub(super) const COPY_FAILURE_REPORT: &str = "partial";

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
    let Some(p) = parts
        .get_mut(index_of(rid))
        .filter(|p| p.id == rid && !p.departed)
    else {
        return false;
    };
    let mut random = [0u8; COPY_TID_LEN];
    fill_ident(entropy, &mut random);
    let mut tid_buf = [0u8; MAX_IDENT_LEN];
    let tid = match copy.slot {
        Some(slot) => copy_tid(&random, copy.base, slot, &mut tid_buf),
        None => core::str::from_utf8(&random).unwrap_or(""),
    };
    let mut mid = [0u8; MAX_IDENT_LEN];
    let mid = out_message_id(copy.base, rid, &mut mid);
    // R7701-6.4-d: no copies of large messages while the recipient is congested.
    let size = message_size(copy.range.total, copy.range.end);
    let held_back = copy.counted && p.congestion.is_some_and(|c| c.holds_back(size));
    let Participant {
        ring,
        peer_path,
        path,
        conn,
        dropping,
        ..
    } = p;
    let mut req = Request::new(tid, "SEND", peer_path, path);
    req.message_id = Some(mid);
    req.byte_range = Some(copy.range);
    req.failure_report = Some(COPY_FAILURE_REPORT);
    req.content_type = Some("message/cpim");
    let len = encoded_len(|c| emit_request(c, &req, copy.body, copy.flag));
    if !held_back && ring.write(len, |s| emit_request(s, &req, copy.body, copy.flag)) {
        counters.delivered += u64::from(copy.counted);
        *dropping = false;
        if let Some(ci) = *conn {
            notify(conns, events, ci, Source::Session(rid));
        }
        return true;
    }
    counters.dropped += u64::from(copy.counted);
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
        let input = pending
            .input
            .and_then(|(a, b)| bytes.get(a..b))
            .unwrap_or(&[]);
        let held = held_buf.get(..pending.held).unwrap_or(&[]);
        let pieces: [&[u8]; 3] = [held, &pending.spill, input];
        let len = pieces.iter().map(|p| p.len() as u64).sum::<u64>();
        let flag = end.unwrap_or(Flag::More);
        if len > 0 || flag != Flag::More {
            if let Some(entry) = messages.get_mut(slot) {
                let total = total.or(entry.total);
                let (base, cut) = (entry.base, OUTBOUND_CHUNK_BYTES as u64);
                entry.recipients.retain_mut(|r| {
                    if matches!(r.delivery, Delivery::Owes { .. }) {
                        return true;
                    }
                    // R4975-7.1.1-b: complete chunks of at most OUTBOUND_CHUNK_BYTES.
                    let mut at = 0u64;
                    loop {
                        let upto = len.min(at + cut);
                        let last = upto == len;
                        let window = sub_window(&pieces, at as usize, upto as usize);
                        let n = upto - at;
                        let copy = Outbound {
                            slot: Some(slot),
                            base: &base,
                            range: ByteRange {
                                start: start + at,
                                end: match (n, flag) {
                                    (0, Flag::Abort) => None,
                                    _ => Some(start + upto - 1),
                                },
                                total,
                            },
                            body: (n > 0).then_some(&window[..]),
                            flag: if last { flag } else { Flag::More },
                            counted: n > 0,
                        };
                        if write_copy(parts, conns, events, counters, entropy, r.pid, &copy) {
                            r.delivery = Delivery::Active;
                        } else if r.delivery == Delivery::Active {
                            r.delivery = Delivery::Owes { next: start + at };
                            if let Some(p) = parts.get_mut(index_of(r.pid)) {
                                p.owes_aborts = true;
                            }
                            return true;
                        } else {
                            return false;
                        }
                        if last {
                            return true;
                        }
                        at = upto;
                    }
                });
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
    use super::sub_window;

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
