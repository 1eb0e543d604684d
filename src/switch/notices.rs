//! RFC 7701 §11 notices (R7701-11-a/b, A15): a participant whose offer had no `a=chatroom`
//! may not know it joined a multi-party room, so once its session binds the switch sends it
//! two regular messages — that what it sends goes to everyone, and who is in the room
//! (display name, URI, nickname). Each is a Message/CPIM SEND with `From` = the room URI and
//! `To` = the participant, wrapping `text/plain` (the IMPL-1 default every client accepts),
//! in one chunk of at most `OUTBOUND_CHUNK_BYTES` body octets (a long list is cut short with
//! a count of the rest).
//!
//! A participant that asked for privacy and got an anonymous URI minted by the focus
//! (RFC 7701 §5.2) must use that URI as its CPIM From (§6.1) but was never told it over SIP;
//! so, before any other notice, it gets one more: From = the room URI, To = its anonymous URI
//! (so a UA can learn it from the CPIM To header mechanically), saying so in plain text.

use core::fmt::Write as _;

use crate::conference::ParticipantId;
use crate::rand::{fill_ident, Entropy};
use crate::wire::msrp::{ByteRange, Flag};

use super::fanout::{write_copy, Outbound, OUTBOUND_CHUNK_BYTES};
use super::fast_forward::OUT_ID_BASE_LEN;
use super::session::index_of;
use super::Switch;

impl Switch {
    /// Sends the due notices (sessions that bound during this call).
    pub(super) fn write_notices(&mut self, entropy: &mut dyn Entropy) {
        self.write_anonymity_notices(entropy);
        for _ in 0..self.parts.len() {
            let Some(id) = self
                .parts
                .iter()
                .find(|(_, p)| p.notice_due && !p.departed && p.conn.is_some())
                .map(|(_, p)| p.id)
            else {
                return;
            };
            if let Some(p) = self.parts.get_mut(index_of(id)) {
                p.notice_due = false;
            }
            let Some((room_uri, to, list)) = self.notice_texts(id) else {
                continue;
            };
            let intro = format!(
                "You are in the chat room {room_uri}. This is a multi-party session: \
                 everything you send here goes to every participant."
            );
            for text in [intro, list] {
                if !self.write_notice(entropy, id, &room_uri, &to, &text) {
                    log::debug!("participant {}: notice did not fit its ring", id.0);
                }
            }
        }
    }

    /// Tells each just-bound anonymous participant the URI it takes part under.
    fn write_anonymity_notices(&mut self, entropy: &mut dyn Entropy) {
        for _ in 0..self.parts.len() {
            let Some(id) = self
                .parts
                .iter()
                .find(|(_, p)| p.anonymity_notice_due && !p.departed && p.conn.is_some())
                .map(|(_, p)| p.id)
            else {
                return;
            };
            let Some(p) = self.parts.get_mut(index_of(id)) else {
                return;
            };
            p.anonymity_notice_due = false;
            let uri = p.uri.clone();
            let Some(room_uri) = self
                .rooms
                .get(p.room)
                .map(|r| format!("sip:{}@{}", r.name, self.domain))
            else {
                continue;
            };
            let text = anonymity_text(&uri);
            if !self.write_notice(entropy, id, &room_uri, &uri, &text) {
                log::debug!("participant {}: anonymity notice did not fit", id.0);
            }
        }
    }

    /// (room URI, participant URI, participant list) for `id`.
    fn notice_texts(&self, id: ParticipantId) -> Option<(String, String, String)> {
        let p = self.participant(id)?;
        let room = self.rooms.get(p.room)?;
        let room_uri = format!("sip:{}@{}", room.name, self.domain);
        let mut list = format!("Participants in {room_uri}:");
        // Room for the CPIM and MIME headers of the notice itself.
        let budget = OUTBOUND_CHUNK_BYTES.saturating_sub(2 * self.limits.max_uri_bytes + 96);
        let members: Vec<_> = room
            .members
            .iter()
            .filter_map(|m| self.participant(*m))
            .collect();
        for (i, q) in members.iter().enumerate() {
            let mut line = String::from("\r\n- ");
            if !q.display_name.is_empty() {
                let _ = write!(line, "{} ", q.display_name);
            }
            let _ = write!(line, "<{}>", q.uri);
            if let Some(n) = &q.nickname {
                let _ = write!(line, " nickname \"{n}\"");
            }
            if q.id == id {
                line.push_str(" (you)");
            }
            if list.len() + line.len() + 32 > budget {
                let _ = write!(list, "\r\n... and {} more", members.len() - i);
                break;
            }
            list.push_str(&line);
        }
        Some((room_uri, p.uri.clone(), list))
    }

    /// One notice as a complete single-chunk SEND into `id`'s ring.
    pub(super) fn write_notice(
        &mut self,
        entropy: &mut dyn Entropy,
        id: ParticipantId,
        room_uri: &str,
        to: &str,
        text: &str,
    ) -> bool {
        let head = format!(
            "From: <{room_uri}>\r\nTo: <{to}>\r\n\r\nContent-Type: text/plain;charset=utf-8\r\n\r\n"
        );
        let len = (head.len() + text.len()) as u64;
        let mut base = [0u8; OUT_ID_BASE_LEN];
        fill_ident(entropy, &mut base);
        let pieces: [&[u8]; 2] = [head.as_bytes(), text.as_bytes()];
        let copy = Outbound {
            slot: None,
            base: &base,
            range: ByteRange {
                start: 1,
                end: Some(len),
                total: Some(len),
            },
            body: Some(&pieces),
            flag: Flag::Last,
            counted: false,
        };
        let Switch {
            parts,
            conns,
            events,
            counters,
            ..
        } = self;
        write_copy(parts, conns, events, counters, entropy, id, &copy)
    }
}

/// The anonymity notice's text.
fn anonymity_text(uri: &str) -> String {
    format!(
        "You take part anonymously as {uri}; use it as your CPIM From. \
         Messages from any other URI are refused."
    )
}
