//! The fast-forward Message-ID table (RFC 7701 §6.1; requirements §7, IMPL-15/16/20/21/22):
//! one entry per in-flight inbound message, keyed by (sender, inbound Message-ID), holding
//! the recipients fixed when its CPIM headers were validated, the random base of the
//! outbound Message-IDs, the next byte offset and the chunk reception timer. Entries are
//! preallocated (`max_message_ids` × `max_room_participants` recipients): no allocation per
//! message.

use crate::conference::ParticipantId;
use crate::time::Instant;
use crate::wire::msrp::{Decimal, ReportMode, MAX_IDENT_LEN};

/// Random characters of every outbound Message-ID (12: ≥ 69 bits, RFC 4975 §7.1);
/// the recipient's id follows in decimal so each (message, recipient) pair is distinct.
pub(super) const OUT_ID_BASE_LEN: usize = 12;
/// Characters of a message's outbound-id base repeated in every copy's transaction id,
/// after its random part and before the entry's index: a recipient's error response names
/// its message without a pending-response table (R4975-10-a, IMPL-22).
pub(super) const TID_TAG_LEN: usize = 4;

/// An entry of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct MsgSlot(pub(super) usize);

/// Where an entry is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Unused.
    Free,
    /// First chunk(s) seen; the CPIM header block is still being held.
    AwaitingCpim,
    /// Recipients fixed; chunks are forwarded as they arrive.
    Forwarding,
    /// The message ended; the entry only remembers recipients still owed a `#` abort.
    Finished,
}

/// What a recipient has had of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Nothing yet.
    Fresh,
    /// Every chunk so far.
    Active,
    /// Lost a chunk after earlier ones: owes a bodiless `#` chunk starting at `next`.
    Owes { next: u64 },
}

/// One recipient of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Recipient {
    pub(super) pid: ParticipantId,
    pub(super) delivery: Delivery,
}

/// One in-flight message.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) phase: Phase,
    pub(super) sender: ParticipantId,
    pub(super) inbound_id: heapless::Vec<u8, MAX_IDENT_LEN>,
    pub(super) base: [u8; OUT_ID_BASE_LEN],
    pub(super) recipients: Vec<Recipient>,
    /// The inbound total (Byte-Range), if known.
    pub(super) total: Option<u64>,
    /// Offset of the next byte active recipients would get.
    pub(super) next: u64,
    /// Bytes `1..=checked` were held and checked (CPIM and wrapped MIME headers) before
    /// forwarding began: no later chunk may start inside them (issue 15), so no byte of a
    /// checked header is ever forwarded changed.
    pub(super) checked: u64,
    /// Chunk reception timer; `None` once finished.
    pub(super) deadline: Option<Instant>,
    /// A private message: a session of the CPIM To URI (for REPORT bodies, RFC 7701 §6.2).
    pub(super) private_to: Option<ParticipantId>,
    /// The sender's Failure-Report on the first chunk.
    pub(super) failure_report: ReportMode,
}

/// The table.
#[derive(Debug)]
pub(super) struct MessageTable {
    entries: Vec<Entry>,
    free: Vec<usize>,
    /// Recipient capacity each entry gets when it is first used.
    max_recipients: usize,
}

impl MessageTable {
    /// `max_ids` entries of up to `max_recipients` recipients each. An entry's recipient
    /// list is allocated in full when the entry is first used (the free list hands back the
    /// most recently freed entry, so a steady flow reuses a few warm entries and allocates
    /// nothing); the memory cap reserves all of them from the start.
    pub(super) fn new(max_ids: usize, max_recipients: usize) -> Self {
        let entries = (0..max_ids)
            .map(|_| Entry {
                phase: Phase::Free,
                sender: ParticipantId(usize::MAX),
                inbound_id: heapless::Vec::new(),
                base: [0; OUT_ID_BASE_LEN],
                recipients: Vec::new(),
                total: None,
                next: 1,
                checked: 0,
                deadline: None,
                private_to: None,
                failure_report: ReportMode::Yes,
            })
            .collect();
        MessageTable {
            entries,
            free: (0..max_ids).rev().collect(),
            max_recipients,
        }
    }

    /// The entry among `slots` (a sender's in-flight list) for inbound Message-ID `id`.
    pub(super) fn find(&self, slots: &[MsgSlot], id: &[u8]) -> Option<MsgSlot> {
        slots.iter().copied().find(|s| {
            self.entries
                .get(s.0)
                .is_some_and(|e| e.phase != Phase::Free && e.inbound_id.as_slice() == id)
        })
    }

    /// Takes a free entry for a new message; `None` when the table is full or the id is
    /// longer than an `ident`.
    pub(super) fn alloc(
        &mut self,
        sender: ParticipantId,
        id: &[u8],
        base: [u8; OUT_ID_BASE_LEN],
        deadline: Instant,
    ) -> Option<MsgSlot> {
        let mut inbound_id = heapless::Vec::new();
        inbound_id.extend_from_slice(id).ok()?;
        if self.free.is_empty() {
            // An ended message kept only for `#` aborts its recipients could not take yet
            // gives way to a message in flight: `Limits::validate` makes room for every
            // participant's `max_partial_per_sender` in-flight messages, and those aborts
            // belong to recipients whose rings are full (issue 15: no one can fill the
            // table for everyone else).
            let finished = self
                .entries
                .iter()
                .position(|e| e.phase == Phase::Finished)?;
            log::debug!("message table full: dropping the owed aborts of entry {finished}");
            self.release(MsgSlot(finished));
        }
        let i = self.free.pop()?;
        let e = self.entries.get_mut(i)?;
        e.phase = Phase::AwaitingCpim;
        e.sender = sender;
        e.inbound_id = inbound_id;
        e.base = base;
        e.recipients.clear();
        // A no-op once the entry has been used.
        e.recipients.reserve_exact(self.max_recipients);
        e.total = None;
        e.next = 1;
        e.checked = 0;
        e.deadline = Some(deadline);
        e.private_to = None;
        e.failure_report = ReportMode::Yes;
        Some(MsgSlot(i))
    }

    /// Returns an entry to the free list.
    pub(super) fn release(&mut self, slot: MsgSlot) {
        if let Some(e) = self.entries.get_mut(slot.0) {
            if e.phase != Phase::Free {
                e.phase = Phase::Free;
                e.recipients.clear();
                e.deadline = None;
                self.free.push(slot.0);
            }
        }
    }

    pub(super) fn get(&self, slot: MsgSlot) -> Option<&Entry> {
        self.entries.get(slot.0).filter(|e| e.phase != Phase::Free)
    }

    pub(super) fn get_mut(&mut self, slot: MsgSlot) -> Option<&mut Entry> {
        self.entries
            .get_mut(slot.0)
            .filter(|e| e.phase != Phase::Free)
    }

    /// Entries in the table, used or not.
    pub(super) fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Entries in use.
    pub(super) fn in_use(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// The sender of every message still in flight (held or forwarding), one item each.
    pub(super) fn in_flight_senders(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.entries
            .iter()
            .filter(|e| matches!(e.phase, Phase::AwaitingCpim | Phase::Forwarding))
            .map(|e| e.sender)
    }

    /// An entry whose chunk timer is due at `now`.
    pub(super) fn first_expired(&self, now: Instant) -> Option<MsgSlot> {
        self.entries
            .iter()
            .position(|e| e.phase != Phase::Free && e.deadline.is_some_and(|d| d <= now))
            .map(MsgSlot)
    }

    /// The earliest chunk timer.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.entries.iter().filter_map(|e| e.deadline).min()
    }

    /// Removes `pid` from every recipient list; entries left finished with nobody owed are
    /// released.
    pub(super) fn forget_recipient(&mut self, pid: ParticipantId) {
        for i in 0..self.entries.len() {
            let Some(e) = self.entries.get_mut(i) else {
                continue;
            };
            if e.phase == Phase::Free {
                continue;
            }
            e.recipients.retain(|r| r.pid != pid);
            if e.phase == Phase::Finished && e.recipients.is_empty() {
                self.release(MsgSlot(i));
            }
        }
    }
}

/// What follows the random characters of a copy's transaction id: the tag of the message's
/// `base` and the entry's index in decimal (see [`TID_TAG_LEN`]), cut to `room` characters.
pub(super) fn tid_suffix<'b>(
    base: &[u8; OUT_ID_BASE_LEN],
    slot: MsgSlot,
    room: usize,
    buf: &'b mut [u8; TID_TAG_LEN + 20],
) -> &'b [u8] {
    let tag = base.get(..TID_TAG_LEN).unwrap_or(&[]);
    let index = Decimal::new(slot.0 as u64);
    let digits = index.as_bytes();
    if let Some(dst) = buf.get_mut(..TID_TAG_LEN) {
        dst.copy_from_slice(tag);
    }
    if let Some(dst) = buf.get_mut(TID_TAG_LEN..TID_TAG_LEN + digits.len()) {
        dst.copy_from_slice(digits);
    }
    let len = (TID_TAG_LEN + digits.len()).min(room);
    buf.get(..len).unwrap_or(&[])
}

/// The (tag, entry) a copy's transaction id names, if it has the shape `copy_tid` writes
/// with a `random_len`-character random part.
pub(super) fn slot_of_tid(tid: &str, random_len: usize) -> Option<(&[u8], MsgSlot)> {
    let tag = tid.as_bytes().get(random_len..random_len + TID_TAG_LEN)?;
    let digits = tid.get(random_len + TID_TAG_LEN..)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((tag, MsgSlot(digits.parse().ok()?)))
}

impl Entry {
    /// Whether a copy transaction id's tag belongs to this entry's current message.
    pub(super) fn tag_matches(&self, tag: &[u8]) -> bool {
        self.base.get(..TID_TAG_LEN) == Some(tag)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_sizes_match_the_limits_formula() {
        // Limits::worst_case_bytes() budgets the table with these constants.
        assert!(core::mem::size_of::<Recipient>() <= crate::limits::MESSAGE_ID_RECIPIENT_BYTES);
        let entry = core::mem::size_of::<Entry>();
        assert!(
            entry <= crate::limits::MESSAGE_ID_OVERHEAD,
            "Entry is {entry} bytes"
        );
    }

    use super::*;

    #[test]
    fn alloc_find_release() {
        let mut t = MessageTable::new(2, 4);
        let a = t
            .alloc(ParticipantId(1), b"m1", [b'a'; 12], Instant::ZERO)
            .unwrap();
        let b = t
            .alloc(ParticipantId(1), b"m2", [b'b'; 12], Instant::from_micros(5))
            .unwrap();
        assert_eq!(
            t.alloc(ParticipantId(2), b"m3", [b'c'; 12], Instant::ZERO),
            None
        );
        assert_eq!(t.find(&[a, b], b"m2"), Some(b));
        assert_eq!(t.find(&[a], b"m2"), None);
        assert_eq!(t.in_use(), 2);
        assert_eq!(t.next_deadline(), Some(Instant::ZERO));
        t.release(a);
        t.release(a);
        assert_eq!(t.in_use(), 1);
        assert!(t.get(a).is_none());
        assert_eq!(t.first_expired(Instant::from_micros(4)), None);
        assert_eq!(t.first_expired(Instant::from_micros(5)), Some(b));
        assert_eq!(
            t.alloc(ParticipantId(1), &[b'x'; 33], [0; 12], Instant::ZERO),
            None
        );
    }

    #[test]
    fn forgetting_a_recipient_frees_finished_entries() {
        let mut t = MessageTable::new(2, 4);
        let a = t
            .alloc(ParticipantId(1), b"m1", [b'a'; 12], Instant::ZERO)
            .unwrap();
        let e = t.get_mut(a).unwrap();
        e.recipients.push(Recipient {
            pid: ParticipantId(9),
            delivery: Delivery::Owes { next: 5 },
        });
        e.phase = Phase::Finished;
        t.forget_recipient(ParticipantId(9));
        assert_eq!(t.in_use(), 0);
    }

    /// Issue 15: an ended message kept only for owed `#` aborts gives its entry to a new
    /// message when the table is full; entries in flight never do.
    #[test]
    fn a_full_table_takes_a_finished_entry_never_one_in_flight() {
        let mut t = MessageTable::new(2, 4);
        let a = t
            .alloc(ParticipantId(1), b"m1", [b'a'; 12], Instant::ZERO)
            .unwrap();
        let b = t
            .alloc(ParticipantId(2), b"m2", [b'b'; 12], Instant::ZERO)
            .unwrap();
        assert_eq!(
            t.alloc(ParticipantId(3), b"m3", [b'c'; 12], Instant::ZERO),
            None,
            "both in flight"
        );
        let e = t.get_mut(a).unwrap();
        e.recipients.push(Recipient {
            pid: ParticipantId(9),
            delivery: Delivery::Owes { next: 5 },
        });
        e.phase = Phase::Finished;
        let c = t
            .alloc(ParticipantId(3), b"m3", [b'c'; 12], Instant::ZERO)
            .expect("the finished entry gives way");
        assert_eq!(c, a);
        assert!(t.get(c).unwrap().recipients.is_empty());
        assert_eq!(t.get(b).unwrap().phase, Phase::AwaitingCpim);
    }

    #[test]
    fn copy_tids_name_their_entry() {
        let base = *b"AbCdEfGhIjKl";
        let mut buf = [0u8; TID_TAG_LEN + 20];
        let suffix = tid_suffix(&base, MsgSlot(217), 20, &mut buf);
        let tid = format!("r4nd0mR4nd0m{}", core::str::from_utf8(suffix).unwrap());
        assert_eq!(tid, "r4nd0mR4nd0mAbCd217");
        assert!(crate::wire::msrp::is_ident(tid.as_bytes()));
        assert_eq!(slot_of_tid(&tid, 12), Some((&b"AbCd"[..], MsgSlot(217))));
        assert_eq!(slot_of_tid("r4nd0mR4nd0m", 12), None);
        assert_eq!(slot_of_tid("r4nd0mR4nd0mAbCdx1", 12), None);
        assert_eq!(slot_of_tid("short", 12), None);
        assert_eq!(tid_suffix(&base, MsgSlot(217), 5, &mut buf), b"AbCd2");
    }
}
