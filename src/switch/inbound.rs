//! Inbound requests on an MSRP connection (RFC 4975 §5.4, §7.2, §7.3; RFC 7701 §6.1, §6.3):
//! frames the bytes, checks each request in the IMPL-19 order (session → Content-Type →
//! CPIM header block → From → To), holds the CPIM header block until complete, streams
//! accepted body bytes to the fan-out, and answers per Failure-Report after the end-line
//! (plus a success REPORT when asked, example 16).

use crate::conference::ParticipantId;
use crate::rand::{fill_ident, Entropy};
use crate::time::{Duration, Instant};
use crate::wire::cpim::{self, CpimError, Parsed};
use crate::wire::msrp::{
    emit_response, encoded_len, is_media_type, response_to_path, ByteRange, Event, Flag, Head,
    Method, MsrpError, ReportMode, Request, Response, StartLine, StatusHeader, END_WINDOW,
    MAX_IDENT_LEN,
};

use super::connection::{control_write, Conn};
use super::fanout::{COPY_TID_LEN, OUTBOUND_CHUNK_BYTES};
use super::fast_forward::{MsgSlot, Phase, OUT_ID_BASE_LEN};
use super::reports::write_report;
use super::session::index_of;
use super::{MsrpConnId, Switch};

/// The request methods the switch distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MethodKind {
    Send,
    Report,
    Nickname,
    Other,
}

/// What to answer after the end-line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Reply {
    /// Nothing (responses, REPORTs, requests without paths).
    #[default]
    Silent,
    /// 200 OK.
    Ok,
    /// An error status.
    Error(MsrpError),
}

/// What happens to the body of the request being received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Action {
    /// Discarded.
    #[default]
    Ignore,
    /// Appended to the connection's CPIM hold buffer until the header block is complete.
    Hold(MsgSlot),
    /// Forwarded to the message's recipients.
    Forward(MsgSlot),
}

/// The request being received on a connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct Inbound {
    pub(super) method: Option<MethodKind>,
    pub(super) pid: Option<ParticipantId>,
    pub(super) reply: Reply,
    pub(super) failure_report: ReportMode,
    pub(super) success_report: bool,
    pub(super) action: Action,
    /// Byte-Range start of this chunk.
    pub(super) start: u64,
    /// Byte-Range end of this chunk, when announced (not `*`).
    pub(super) end: Option<u64>,
    /// Offset of the next body byte to forward.
    pub(super) pos: u64,
    pub(super) total: Option<u64>,
    /// Body bytes of this chunk so far.
    pub(super) received: u64,
    /// A private message: a session of its CPIM To URI (REPORT bodies, RFC 7701 §6.2).
    pub(super) private_to: Option<ParticipantId>,
}

impl Default for Inbound {
    fn default() -> Self {
        Inbound {
            method: None,
            pid: None,
            reply: Reply::Silent,
            failure_report: ReportMode::Yes,
            success_report: false,
            action: Action::Ignore,
            start: 1,
            end: None,
            pos: 1,
            total: None,
            received: 0,
            private_to: None,
        }
    }
}

/// The outbound chunk assembled during one `conn_input` call: held CPIM bytes (in the
/// connection's hold buffer), replayed end-line window bytes, then one input range.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub(super) held: usize,
    pub(super) spill: heapless::Vec<u8, END_WINDOW>,
    pub(super) input: Option<(usize, usize)>,
}

impl Pending {
    /// The range of this call's input the chunk takes (`bytes` is that input).
    pub(super) fn input_bytes<'b>(&self, bytes: &'b [u8]) -> &'b [u8] {
        self.input.and_then(|(a, b)| bytes.get(a..b)).unwrap_or(&[])
    }
}

impl Conn {
    /// Makes what the hold buffer has the pending chunk, held for the rest of its chunk
    /// until [`CARRY_HOLD`] has passed (`carry_tail`); the buffer is no CPIM header
    /// block's any more.
    fn hold_buffer_as_pending(&mut self, now: Instant) {
        self.pending = Pending {
            held: self.cpim.len(),
            ..Pending::default()
        };
        self.cpim_owner = None;
        self.carry_deadline.get_or_insert(now + CARRY_HOLD);
    }
}

/// Where body bytes are: a range of this call's input, or framer window bytes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Piece<'a> {
    Input(usize, usize),
    Spill(&'a [u8]),
}

impl<'a> Piece<'a> {
    fn bytes<'b>(&self, input: &'b [u8]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Piece::Input(a, b) => input.get(a..b).unwrap_or(&[]),
            Piece::Spill(s) => s,
        }
    }

    /// The part after the first `n` bytes.
    fn skip(&self, n: usize) -> Piece<'a> {
        match *self {
            Piece::Input(a, b) => Piece::Input((a + n).min(b), b),
            Piece::Spill(s) => Piece::Spill(s.get(n..).unwrap_or(&[])),
        }
    }
}

const CPIM: &str = "message/cpim";

/// The length of a header block at the start of `bytes` up to and including its empty
/// line (CRLF or bare LF line ends), if the empty line is there.
fn block_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for _ in 0..bytes.len() {
        let rest = bytes.get(at..)?;
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let line = rest.get(..nl).unwrap_or(&[]);
        at += nl + 1;
        if line.is_empty() || line == b"\r" {
            return Some(at);
        }
    }
    None
}

/// Longest wait of body bytes held by [`Switch::carry_tail`] for the rest of their chunk
/// before they are sent as a chunk of their own.
pub(super) const CARRY_HOLD: Duration = Duration::from_millis(10);

impl Switch {
    /// `conn_input`: returns how many of `bytes` were taken. Fewer than all when input
    /// paused at a request's header block (`admit_request`): the rest stays with the shell
    /// (unread in the socket) until `SwitchEvent::Resume`.
    pub(super) fn input(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        bytes: &[u8],
    ) -> usize {
        let Some(conn) = self.conns.get_mut(ci.0) else {
            return bytes.len();
        };
        if conn.closing {
            return bytes.len();
        }
        let mut framer = core::mem::take(&mut conn.framer);
        let mut paused = false;
        if conn.held_head {
            // The header block input stopped at: handled first, if it may be now.
            match framer.head() {
                Some(h) if !self.admit_request(now, ci, &h) => paused = true,
                Some(h) => {
                    self.release_head(ci);
                    self.on_head(now, entropy, ci, &h);
                }
                None => self.release_head(ci),
            }
        }
        let mut at = 0;
        while !paused {
            if self.conns.get(ci.0).is_none_or(|c| c.closing) {
                break;
            }
            let rest = bytes.get(at..).unwrap_or(&[]);
            match framer.push(rest) {
                Err(e) => {
                    log::debug!("msrp connection {}: framing error {e:?}", ci.0);
                    if e == MsrpError::BadEndLine {
                        self.answer_bad_end_line(entropy, ci, framer.head());
                    }
                    self.close_conn(ci, "framing error");
                    break;
                }
                Ok((_, None)) => {
                    at = bytes.len();
                    break;
                }
                Ok((n, Some(Event::Head(h)))) => {
                    at += n;
                    if !self.admit_request(now, ci, &h) {
                        if let Some(c) = self.conns.get_mut(ci.0) {
                            c.held_head = true;
                        }
                        paused = true;
                        break;
                    }
                    self.on_head(now, entropy, ci, &h);
                }
                Ok((n, Some(Event::Body(b)))) => {
                    let piece = if n > 0 {
                        Piece::Input(at, at + b.len())
                    } else {
                        Piece::Spill(b)
                    };
                    self.on_body(entropy, ci, piece, bytes);
                    at += n;
                }
                Ok((n, Some(Event::End(flag)))) => {
                    at += n;
                    self.on_end(now, entropy, ci, flag, framer.head(), bytes);
                }
            }
        }
        if !self.carry_tail(now, entropy, ci, bytes) {
            self.flush(entropy, ci, None, bytes);
        }
        let closing = match self.conns.get_mut(ci.0) {
            Some(c) => {
                c.framer = framer;
                c.closing
            }
            None => true,
        };
        self.track_header_deadline(now, ci);
        self.write_owed(entropy);
        self.write_notices(entropy);
        match paused && !closing {
            true => at,
            false => bytes.len(),
        }
    }

    /// The header block input stopped at is being handled: input flows again.
    fn release_head(&mut self, ci: MsrpConnId) {
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.held_head = false;
        }
    }

    /// At the end of a read that stopped inside a chunk (its body or end-line): keeps body
    /// bytes not yet forwarded in the connection's hold buffer instead of sending them as a
    /// short chunk of their own. When the chunk's announced end (Byte-Range) leaves what
    /// fits one outbound chunk and the buffer, all of it waits and the next read sends the
    /// chunk whole, with its own flag: a read boundary inside a short message would
    /// otherwise cost every recipient an extra chunk (its headers and end-line outweigh a
    /// short body). In a longer chunk, or one whose end is `*`, the whole outbound chunks
    /// go now and only the remainder waits, so every outbound chunk but the last carries
    /// 2048 octets (R4975-7.1.1-b). Held bytes wait at most [`CARRY_HOLD`] for the rest
    /// (R7701-6.1-i: distribution never waits on a stalled sender). `true` = the pending
    /// bytes are dealt with (held, or sent and the remainder held).
    fn carry_tail(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        bytes: &[u8],
    ) -> bool {
        let room = self.limits.max_cpim_header_bytes.min(OUTBOUND_CHUNK_BYTES) as u64;
        let Some(c) = self.conns.get_mut(ci.0) else {
            return false;
        };
        let Action::Forward(_) = c.tx.action else {
            return false;
        };
        // An end of `*`: how much is left is unknown, so only a remainder under one outbound
        // chunk is ever held, never a whole chunk (more may follow it).
        let unsent = match c.tx.end {
            Some(end) => end.saturating_add(1).saturating_sub(c.tx.pos),
            None => u64::MAX,
        };
        let input = c.pending.input_bytes(bytes);
        let pending = c.pending.held + c.pending.spill.len() + input.len();
        if pending == 0 {
            return false;
        }
        // `pending` can pass `unsent` only when the sender sends more than it announced.
        if unsent > room || pending as u64 > room {
            return self.send_whole_chunks(now, entropy, ci, bytes, pending, unsent, room);
        }
        c.cpim.truncate(c.pending.held);
        c.cpim.extend_from_slice(&c.pending.spill);
        c.cpim.extend_from_slice(input);
        c.hold_buffer_as_pending(now);
        true
    }

    /// `carry_tail` for a chunk longer than one outbound chunk: sends the pending bytes but
    /// their last `pending % 2048`, and holds those. Nothing is held when the pending bytes
    /// are whole outbound chunks with more to come, or the remainder does not fit the
    /// buffer (`false`: the caller sends everything).
    #[allow(clippy::too_many_arguments)]
    fn send_whole_chunks(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        bytes: &[u8],
        pending: usize,
        unsent: u64,
        room: u64,
    ) -> bool {
        // With the body complete (only the end-line missing) the last whole outbound chunk
        // waits too, so that the end-line's flag goes with it rather than in an empty chunk.
        let rest = match pending % OUTBOUND_CHUNK_BYTES {
            0 if pending as u64 >= unsent => OUTBOUND_CHUNK_BYTES,
            r => r,
        };
        if rest == 0 || rest as u64 > room {
            return false;
        }
        let Some(c) = self.conns.get_mut(ci.0) else {
            return false;
        };
        // The last `rest` bytes of held ++ spill ++ input, gathered from the end.
        let mut tail = [0u8; OUTBOUND_CHUNK_BYTES];
        let (held, input) = (
            c.cpim.get(..c.pending.held).unwrap_or(&[]),
            c.pending.input_bytes(bytes),
        );
        let mut need = rest;
        for piece in [input, &c.pending.spill[..], held] {
            let n = need.min(piece.len());
            if let (Some(dst), Some(src)) =
                (tail.get_mut(need - n..need), piece.get(piece.len() - n..))
            {
                dst.copy_from_slice(src);
            }
            need -= n;
        }
        // Trim the same bytes off the pending chunk, from the end.
        let mut cut = rest;
        if let Some((a, b)) = c.pending.input {
            let n = cut.min(b - a);
            c.pending.input = Some((a, b - n));
            cut -= n;
        }
        let n = cut.min(c.pending.spill.len());
        c.pending.spill.truncate(c.pending.spill.len() - n);
        cut -= n;
        c.pending.held = c.pending.held.saturating_sub(cut);
        self.flush(entropy, ci, None, bytes);
        let Some(c) = self.conns.get_mut(ci.0) else {
            return true;
        };
        c.cpim.clear();
        c.cpim.extend_from_slice(tail.get(..rest).unwrap_or(&[]));
        c.hold_buffer_as_pending(now);
        true
    }

    fn on_head(&mut self, now: Instant, entropy: &mut dyn Entropy, ci: MsrpConnId, head: &Head) {
        let mut tx = Inbound::default();
        if let StartLine::Response { code, comment } = head.start {
            self.recipient_response(entropy, ci, head, code, comment);
        }
        if let StartLine::Request(method) = head.start {
            tx.method = Some(match method {
                Method::Send => MethodKind::Send,
                Method::Report => MethodKind::Report,
                Method::Nickname => MethodKind::Nickname,
                Method::Other(_) => MethodKind::Other,
            });
            tx.failure_report = head.failure_report();
            tx.success_report = head.success_report() == ReportMode::Yes;
            self.check_request(now, entropy, ci, head, &mut tx);
        }
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.tx = tx;
        }
    }

    fn check_request(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        head: &Head,
        tx: &mut Inbound,
    ) {
        let Some(from) = head.headers.from_path else {
            // RFC 4975 §7.3: a response goes to the From-Path; without one nothing can be
            // answered, and a peer that sends such requests is not speaking MSRP.
            self.close_conn(ci, "request without From-Path");
            return;
        };
        let Some(to) = head.headers.to_path else {
            log::debug!("msrp connection {}: request without To-Path: 400", ci.0);
            tx.reply = Reply::Error(MsrpError::BadHeader);
            return;
        };
        let pid = match self.resolve_session(ci, to, from) {
            Ok(pid) => pid,
            Err(e) => {
                tx.reply = Reply::Error(e);
                return;
            }
        };
        tx.pid = Some(pid);
        tx.reply = match tx.method {
            Some(MethodKind::Report) => Reply::Silent,
            // Decided at the end-line, once the body size is known (finish_nickname).
            Some(MethodKind::Nickname) => Reply::Ok,
            Some(MethodKind::Send) => match self.check_send(now, entropy, ci, pid, head, tx) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Error(e),
            },
            _ => Reply::Error(MsrpError::NotImplemented),
        };
    }

    /// Decides what a SEND chunk's body does (IMPL-16, IMPL-19, IMPL-20).
    fn check_send(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        pid: ParticipantId,
        head: &Head,
        tx: &mut Inbound,
    ) -> Result<(), MsrpError> {
        let id = head
            .headers
            .message_id
            .map(str::as_bytes)
            .filter(|m| !m.is_empty() && m.len() <= MAX_IDENT_LEN)
            .ok_or(MsrpError::BadHeader)?;
        let range = head.byte_range()?.unwrap_or(ByteRange::UNKNOWN);
        let max = self.limits.max_message_bytes as u64;
        if range.total.is_some_and(|t| t > max)
            || range.end.is_some_and(|e| e > max)
            || range.start > max.saturating_add(1)
        {
            return Err(MsrpError::TooLarge);
        }
        tx.start = range.start;
        tx.end = range.end;
        tx.pos = range.start;
        tx.total = range.total;
        let timer = now + self.limits.chunk_timeout();
        let held = self.conns.get(ci.0).map_or(0, |c| c.cpim.len());
        let Some(p) = self.participant(pid) else {
            return Err(MsrpError::SessionUnknown);
        };
        if let Some(slot) = self.messages.find(&p.partials, id) {
            let Some(e) = self.messages.get_mut(slot) else {
                return Ok(());
            };
            if e.phase == Phase::Forwarding && range.start <= e.checked {
                // Issue 15: a chunk that starts again inside the header blocks already
                // checked and forwarded could carry another CPIM From past the check
                // (RFC 4975 §7.3.1 lets a resend repeat bytes, never change them; an
                // overlap in the content is still forwarded with its offsets, IMPL-10).
                // The whole message ends: its recipients get `#`, the sender 400.
                log::debug!(
                    "participant {}: chunk at {} restarts inside the checked headers (1-{})",
                    pid.0,
                    range.start,
                    e.checked
                );
                self.abort_message(entropy, slot);
                return Err(MsrpError::BadByteRange);
            }
            e.deadline = Some(timer);
            if range.total.is_some() {
                e.total = range.total;
            }
            tx.private_to = e.private_to;
            match e.phase {
                Phase::AwaitingCpim if range.start == held as u64 + 1 => {
                    tx.action = Action::Hold(slot);
                }
                Phase::AwaitingCpim => {
                    // A later part of the CPIM header block out of order: give up.
                    self.detach_slot(slot);
                    self.release_slot(slot);
                    return Err(MsrpError::BadHeader);
                }
                Phase::Forwarding => tx.action = Action::Forward(slot),
                Phase::Finished | Phase::Free => {}
            }
            return Ok(());
        }
        if !head.has_body {
            // Binding SEND (example 5), keep-alive, or an empty chunk of nothing we track.
            return Ok(());
        }
        if !p.direction.sends() {
            // R4975-8.9-a / IMPL-6: it offered recvonly or inactive, so it may not send
            // regular content (REPORTs, responses and NICKNAME are not SENDs with a body).
            return Err(MsrpError::Forbidden);
        }
        let is_cpim = head
            .headers
            .content_type
            .is_some_and(|c| is_media_type(c, CPIM));
        if !is_cpim {
            return Err(MsrpError::UnsupportedMedia);
        }
        if range.start > 1 {
            // IMPL-16: a later chunk of a message we hold no state for (orphan) gets 200
            // and is never delivered: a headerless fragment is useless to recipients.
            return Ok(());
        }
        let busy = self.conns.get(ci.0).is_none_or(|c| c.cpim_owner.is_some());
        if p.partials.len() >= self.limits.max_partial_per_sender || busy {
            return Err(MsrpError::TooLarge);
        }
        let mut base = [0u8; OUT_ID_BASE_LEN];
        fill_ident(entropy, &mut base);
        let slot = self
            .messages
            .alloc(pid, id, base, timer)
            .ok_or(MsrpError::TooLarge)?;
        if let Some(e) = self.messages.get_mut(slot) {
            e.total = range.total;
            e.failure_report = tx.failure_report;
        }
        if let Some(p) = self.participant_mut(pid) {
            p.partials.push(slot);
        }
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.cpim.clear();
            c.cpim_owner = Some(slot);
        }
        tx.action = Action::Hold(slot);
        Ok(())
    }

    fn on_body(&mut self, entropy: &mut dyn Entropy, ci: MsrpConnId, piece: Piece, bytes: &[u8]) {
        let (max_chunk, max_msg) = (
            self.limits.max_chunk_bytes as u64,
            self.limits.max_message_bytes as u64,
        );
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let n = piece.bytes(bytes).len();
        c.tx.received += n as u64;
        if c.tx.method == Some(MethodKind::Send) {
            let pid = c.tx.pid;
            self.charge_body(pid, n);
        }
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let last = c.tx.start.saturating_add(c.tx.received) - 1;
        let err = if c.tx.received > max_chunk || last > max_msg {
            Some(MsrpError::TooLarge)
        } else if c.tx.total.is_some_and(|t| last > t) {
            // More bytes than the Byte-Range total announced.
            Some(MsrpError::BadByteRange)
        } else {
            None
        };
        if let Some(err) = err {
            if c.tx.reply == Reply::Ok {
                c.tx.reply = Reply::Error(err);
            }
            if c.tx.action != Action::Ignore {
                self.refuse_in_flight(entropy, ci, err);
            }
            return;
        }
        match c.tx.action {
            Action::Ignore => {}
            Action::Hold(slot) => self.hold_cpim(entropy, ci, slot, piece, bytes, false),
            Action::Forward(_) => self.queue_piece(entropy, ci, piece, bytes),
        }
    }

    /// Stops a message being received: nothing more is forwarded, recipients that got part
    /// of it get `#`, the sender gets `err`.
    fn refuse_in_flight(&mut self, entropy: &mut dyn Entropy, ci: MsrpConnId, err: MsrpError) {
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let action = c.tx.action;
        c.tx.action = Action::Ignore;
        c.tx.reply = Reply::Error(err);
        c.pending = Pending::default();
        match action {
            Action::Ignore => {}
            Action::Hold(slot) => {
                self.detach_slot(slot);
                self.release_slot(slot);
            }
            Action::Forward(slot) => self.abort_message(entropy, slot),
        }
    }

    /// Appends body bytes to the CPIM hold buffer; once the header block and the wrapped
    /// Content-Type are in, validates them, fixes the recipients and switches the message
    /// to forwarding (both must fit `max_cpim_header_bytes`). `last` = the message ends
    /// here: an unterminated last line still counts, and no wrapped Content-Type at all
    /// means the MIME default `text/plain`.
    #[allow(clippy::too_many_arguments)]
    fn hold_cpim(
        &mut self,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        slot: MsgSlot,
        piece: Piece,
        bytes: &[u8],
        last: bool,
    ) {
        let cap = self.limits.max_cpim_header_bytes;
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let data = piece.bytes(bytes);
        let take = cap.saturating_sub(c.cpim.len()).min(data.len());
        c.cpim.extend_from_slice(data.get(..take).unwrap_or(&[]));
        let held = core::mem::take(&mut c.cpim);
        // What the check below reads: up to the end of the wrapped MIME header block once
        // it is in, else all that is held.
        let mut checked = held.len();
        let verdict = match cpim::parse(&held, cap) {
            Ok(Parsed::Partial) if take < data.len() => Some(Err(MsrpError::TooLarge)),
            Ok(Parsed::Partial) if last => Some(Err(MsrpError::BadHeader)),
            Ok(Parsed::Partial) => None,
            // Held until the wrapped Content-Type is known too (R7701-6.1-h).
            Ok(Parsed::Complete(h)) => {
                if let Some(end) = block_end(held.get(h.body_offset..).unwrap_or(&[])) {
                    checked = h.body_offset + end;
                }
                match cpim::wrapped_content_type(&held, h.body_offset, cap, last) {
                    Ok(Parsed::Complete(wrapped)) => {
                        Some(self.choose_recipients(slot, &h, wrapped))
                    }
                    Ok(Parsed::Partial) if take < data.len() => Some(Err(MsrpError::TooLarge)),
                    Ok(Parsed::Partial) => None,
                    Err(CpimError::TooLarge) => Some(Err(MsrpError::TooLarge)),
                    Err(_) => Some(Err(MsrpError::BadHeader)),
                }
            }
            Err(CpimError::TooLarge) => Some(Err(MsrpError::TooLarge)),
            Err(_) => Some(Err(MsrpError::BadHeader)),
        };
        let held_len = held.len();
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.cpim = held;
        }
        match verdict {
            None => {}
            Some(Err(e)) => self.refuse_in_flight(entropy, ci, e),
            Some(Ok(())) => {
                if let Some(e) = self.messages.get_mut(slot) {
                    e.phase = Phase::Forwarding;
                    e.next = 1;
                    e.checked = checked as u64;
                }
                let private_to = self.messages.get(slot).and_then(|e| e.private_to);
                if let Some(c) = self.conns.get_mut(ci.0) {
                    c.tx.private_to = private_to;
                    c.tx.action = Action::Forward(slot);
                    c.tx.pos = 1;
                    c.pending.held = held_len;
                }
                let rest = piece.skip(take);
                if !rest.bytes(bytes).is_empty() {
                    self.queue_piece(entropy, ci, rest, bytes);
                }
            }
        }
    }

    /// Adds body bytes to the chunk being assembled for this call.
    fn queue_piece(
        &mut self,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        piece: Piece,
        bytes: &[u8],
    ) {
        let Some(c) = self.conns.get(ci.0) else {
            return;
        };
        let must_flush = match piece {
            Piece::Spill(s) => {
                c.pending.input.is_some() || c.pending.spill.len() + s.len() > END_WINDOW
            }
            Piece::Input(a, _) => c.pending.input.is_some_and(|(_, end)| end != a),
        };
        if must_flush {
            self.flush(entropy, ci, None, bytes);
        }
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        match piece {
            Piece::Spill(s) => {
                let _ = c.pending.spill.extend_from_slice(s);
            }
            Piece::Input(a, b) => {
                c.pending.input = Some(match c.pending.input {
                    Some((start, _)) => (start, b),
                    None => (a, b),
                });
            }
        }
    }

    fn on_end(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        flag: Flag,
        head: Option<Head>,
        bytes: &[u8],
    ) {
        let Some(c) = self.conns.get(ci.0) else {
            return;
        };
        let timer = now + self.limits.chunk_timeout();
        match (c.tx.action, flag) {
            (Action::Forward(slot), Flag::More) => {
                self.flush(entropy, ci, Some(flag), bytes);
                if let Some(e) = self.messages.get_mut(slot) {
                    e.deadline = Some(timer);
                }
            }
            (Action::Forward(slot), _) => {
                self.flush(entropy, ci, Some(flag), bytes);
                self.finish_message(slot);
            }
            (Action::Hold(slot), Flag::More) => {
                if let Some(e) = self.messages.get_mut(slot) {
                    e.deadline = Some(timer);
                }
            }
            (Action::Hold(slot), Flag::Last) => {
                // The message ends while held: complete CPIM headers are forwarded now,
                // a CPIM header block that never ended is a 400.
                self.hold_cpim(entropy, ci, slot, Piece::Spill(&[]), bytes, true);
                let forwarding = self.conns.get(ci.0).map(|c| c.tx.action);
                if forwarding == Some(Action::Forward(slot)) {
                    self.flush(entropy, ci, Some(flag), bytes);
                    self.finish_message(slot);
                } else {
                    if let Some(c) = self.conns.get_mut(ci.0) {
                        if c.tx.reply == Reply::Ok {
                            c.tx.reply = Reply::Error(MsrpError::BadHeader);
                        }
                    }
                    self.detach_slot(slot);
                    self.release_slot(slot);
                }
            }
            (Action::Hold(slot), _) => {
                // Aborted by the sender inside its headers: nothing was forwarded.
                self.detach_slot(slot);
                self.release_slot(slot);
            }
            (Action::Ignore, _) => {}
        }
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let mut tx = core::mem::take(&mut c.tx);
        c.pending = Pending::default();
        if let Some(head) = head {
            self.finish_nickname(now, &head, flag, &mut tx);
            self.respond(entropy, ci, &head, &tx);
        }
    }

    /// A bodiless request ended by another transaction's end-line: 400 to its From-Path
    /// (unless it asked for no failure reports) before the connection closes.
    fn answer_bad_end_line(
        &mut self,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        head: Option<Head<'_>>,
    ) {
        // Responses and REPORTs are never answered (RFC 4975 §7.1.2).
        let Some(head) = head.filter(|h| h.method().is_some_and(|m| m != Method::Report)) else {
            return;
        };
        let tx = Inbound {
            method: Some(MethodKind::Other),
            reply: Reply::Error(MsrpError::BadEndLine),
            failure_report: head.failure_report(),
            ..Inbound::default()
        };
        self.respond(entropy, ci, &head, &tx);
    }

    /// The response (RFC 4975 §7.2, Failure-Report rules) and the success REPORT (§7.1.3).
    fn respond(&mut self, entropy: &mut dyn Entropy, ci: MsrpConnId, head: &Head, tx: &Inbound) {
        let Some(method) = tx.method else {
            return;
        };
        let answer = match (method, tx.reply) {
            (MethodKind::Report, _) | (_, Reply::Silent) => false,
            (MethodKind::Nickname, _) => true,
            (_, Reply::Ok) => tx.failure_report == ReportMode::Yes,
            (_, Reply::Error(_)) => tx.failure_report != ReportMode::No,
        };
        let Switch {
            parts,
            conns,
            events,
            local,
            ..
        } = self;
        // A request without To-Path names none of our sessions: its 400 comes from the
        // switch's address with a session-id that no session has.
        let anonymous;
        let own = match tx
            .pid
            .and_then(|id| parts.get(index_of(id)).filter(|p| p.id == id))
            .map(|p| p.path.as_str())
            .or(head.headers.to_path)
        {
            Some(own) => own,
            None => {
                anonymous = format!("msrp://{local}/-;tcp");
                anonymous.as_str()
            }
        };
        let (Some(from_path), Some(m)) = (head.headers.from_path, head.method()) else {
            return;
        };
        if answer {
            let (code, comment) = match tx.reply {
                Reply::Error(e) => e.status(),
                _ => (200, "OK"),
            };
            let resp = Response {
                tid: head.tid,
                code,
                comment,
                to_path: response_to_path(m, from_path),
                from_path: own,
            };
            let len = encoded_len(|c| emit_response(c, &resp));
            control_write(conns, events, ci, len, |s| emit_response(s, &resp));
        }
        let report = method == MethodKind::Send
            && tx.reply == Reply::Ok
            && tx.success_report
            && tx.received > 0;
        if let (true, Some(mid)) = (report, head.headers.message_id) {
            let mut tid = [0u8; COPY_TID_LEN];
            fill_ident(entropy, &mut tid);
            let tid = core::str::from_utf8(&tid).unwrap_or("");
            let mut rep = Request::new(tid, "REPORT", from_path, own);
            rep.message_id = Some(mid);
            rep.byte_range = Some(ByteRange {
                start: tx.start,
                end: Some(tx.start + tx.received - 1),
                total: tx.total,
            });
            rep.status = Some(StatusHeader {
                namespace: 0,
                code: 200,
                comment: Some("OK"),
            });
            // R7701-6.2-h: a REPORT about a private message carries the CPIM From/To.
            let private = tx.private_to.and_then(|t| {
                let uri = |id| {
                    parts
                        .get(index_of(id))
                        .filter(|p| p.id == id)
                        .map(|p| p.uri.as_str())
                };
                Some((uri(tx.pid?)?, uri(t)?))
            });
            write_report(conns, events, ci, &rep, private, 200);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::block_end;

    #[test]
    fn block_end_finds_the_empty_line() {
        assert_eq!(block_end(b"Content-Type: text/plain\r\n\r\nhi"), Some(28));
        assert_eq!(block_end(b"A: 1\nB: 2\n\nrest"), Some(11));
        assert_eq!(block_end(b"\r\nbody"), Some(2));
        assert_eq!(block_end(b"Content-Type: text/plain\r\n"), None);
        assert_eq!(block_end(b""), None);
    }
}
