//! NICKNAME (RFC 7701 §7.1-§7.3, §11): checks in order (413 body over RFC 4975 §7.1's
//! non-SEND cap, 400 continuation chunk, 403 room policy whatever the participant's
//! a=chatroom said, 400 report headers or missing Use-Nickname, 424 malformed, 425
//! reserved / shaped like an address / in use by another URI / quarantined), then sets,
//! changes or (`""`) removes the nickname and tells the roster.
//!
//! Uniqueness is per room under the RFC 8266 comparison (`wire::nickname`). A nickname
//! belongs to a URI: other devices of the same URI may use it (§7.1), but it is never copied
//! to a session that did not ask. A holder leaving puts the nickname into QUARANTINE
//! (RFC 7701 §4.1 policy) for `nickname_quarantine_ms`: only the same URI may take it then.
//! Nickname and quarantine bytes are reserved against the memory budget while held.

use ::core::net::IpAddr;
use std::collections::VecDeque;

use crate::conference::ParticipantId;
use crate::time::{Duration, Instant};
use crate::wire::cpim;
use crate::wire::msrp::{Flag, Head, MsrpError};
use crate::wire::nickname::{
    comparison_key, enforce, looks_like_address, parse_use_nickname, Requested, MAX_NON_SEND_BODY,
};

use super::inbound::{Inbound, MethodKind, Reply};
use super::room::RoomId;
use super::session::index_of;
use super::{Switch, SwitchEvent};

/// Bookkeeping bytes of one quarantine entry beyond its strings.
const QUARANTINE_ENTRY_OVERHEAD: usize = crate::limits::QUARANTINE_ENTRY_BYTES;

/// A nickname released by a leaving holder, held back for its URI.
#[derive(Debug)]
struct Quarantined {
    room: String,
    uri: String,
    nickname: String,
    until: Instant,
    /// Bytes reserved against the budget for this entry.
    bytes: usize,
    /// Where the holder's INVITE came from: when the table is full, the source with the
    /// most entries gives one up (issue 15: one peer churning cannot flush the others').
    source: IpAddr,
}

/// Reserved words and the quarantine.
#[derive(Debug)]
pub(super) struct NicknameTable {
    /// Comparison keys (RFC 8266 §2.4) of the reserved words.
    reserved: Vec<String>,
    /// Oldest first.
    quarantine: VecDeque<Quarantined>,
    max_entries: usize,
    max_room_entries: usize,
}

impl NicknameTable {
    /// A table reserving `words` (those the profile refuses are logged and skipped), with
    /// room for `max_entries` quarantined nicknames, `max_room_entries` per room.
    pub(super) fn new(words: &[String], max_entries: usize, max_room_entries: usize) -> Self {
        let reserved = words
            .iter()
            .filter_map(|w| match comparison_key(w) {
                Ok(k) => Some(k),
                Err(e) => {
                    log::warn!("reserved nickname {w:?} ignored: {e:?}");
                    None
                }
            })
            .collect();
        NicknameTable {
            reserved,
            quarantine: VecDeque::new(),
            max_entries,
            max_room_entries,
        }
    }

    fn is_reserved(&self, key: &str) -> bool {
        self.reserved.iter().any(|r| r == key)
    }

    /// Held back from `uri` in `room` now.
    fn quarantined_for_other(&self, room: &str, key: &str, uri: &str) -> bool {
        self.quarantine.iter().any(|q| {
            q.room == room
                && !cpim::uri_eq(&q.uri, uri)
                && comparison_key(&q.nickname).is_ok_and(|k| k == key)
        })
    }
}

/// The room a participant is in, its URI, and the room's name.
struct Holder {
    room: RoomId,
    room_name: String,
    uri: String,
}

impl Switch {
    /// NICKNAME is decided at its end-line, when its body size is known: updates `tx.reply`
    /// (set at the head to `Ok` once the session resolved).
    pub(super) fn finish_nickname(
        &mut self,
        now: Instant,
        head: &Head,
        flag: Flag,
        tx: &mut Inbound,
    ) {
        if tx.method != Some(MethodKind::Nickname) || tx.reply != Reply::Ok {
            return;
        }
        let Some(pid) = tx.pid else {
            return;
        };
        tx.reply = if tx.received > MAX_NON_SEND_BODY as u64 {
            Reply::Error(MsrpError::TooLarge)
        } else if flag != Flag::Last {
            // RFC 4975 §7.1: only SEND may be chunked.
            Reply::Error(MsrpError::BadHeader)
        } else {
            match self.set_nickname(now, pid, head) {
                Ok(changed) => {
                    if changed {
                        self.events.push_back(SwitchEvent::RosterChanged(pid));
                    }
                    Reply::Ok
                }
                Err(e) => {
                    log::debug!("participant {}: NICKNAME refused: {e:?}", pid.0);
                    Reply::Error(e)
                }
            }
        };
    }

    /// Applies a NICKNAME; `Ok(true)` when the roster changed.
    fn set_nickname(
        &mut self,
        now: Instant,
        pid: ParticipantId,
        head: &Head,
    ) -> Result<bool, MsrpError> {
        let me = self.participant(pid).ok_or(MsrpError::SessionUnknown)?;
        let room = self.rooms.get(me.room).ok_or(MsrpError::Forbidden)?;
        // R7701-7.1-e: room policy decides, and nothing else. A participant whose offer had
        // no `a=chatroom` (AG Projects' SDK, so Blink, never sends one) or did not list
        // `nickname` has shown by sending NICKNAME that it supports it; the answer
        // advertised `nickname`, so it gets the room's answer like everyone else.
        if !room.policy.nicknames {
            return Err(MsrpError::Forbidden);
        }
        // IMPL-24 / A10: NICKNAME must not carry report headers (RFC 7701 §7.1).
        if head.headers.success_report.is_some() || head.headers.failure_report.is_some() {
            return Err(MsrpError::BadHeader);
        }
        let raw = head.headers.use_nickname.ok_or(MsrpError::BadHeader)?;
        let max = self.limits.max_nickname_bytes;
        let wanted = match parse_use_nickname(raw, max).map_err(|_| MsrpError::BadNickname)? {
            Requested::Remove => {
                let old = self.participant_mut(pid).and_then(|p| p.nickname.take());
                let changed = old.is_some();
                if let Some(old) = old {
                    self.budget.release(old.len());
                }
                return Ok(changed);
            }
            Requested::Set(s) => enforce(&s, max).map_err(|_| MsrpError::BadNickname)?,
        };
        let key = comparison_key(&wanted).map_err(|_| MsrpError::BadNickname)?;
        let holder = Holder {
            room: me.room,
            room_name: room.name.clone(),
            uri: me.uri.clone(),
        };
        self.check_free(now, pid, &holder, &key)?;
        let old_len = self
            .participant(pid)
            .and_then(|p| p.nickname.as_ref())
            .map_or(0, String::len);
        self.budget.release(old_len);
        if !self.budget.try_reserve(wanted.len()) {
            // Cannot fail: these bytes were reserved a moment ago.
            let _ = self.budget.try_reserve(old_len);
            return Err(MsrpError::TooLarge);
        }
        // The same URI reclaims its quarantined nickname: the entry is done.
        self.unquarantine(&holder.room_name, &key);
        let Some(p) = self.participant_mut(pid) else {
            return Err(MsrpError::SessionUnknown);
        };
        let changed = p.nickname.as_deref() != Some(wanted.as_str());
        p.nickname = Some(wanted);
        Ok(changed)
    }

    /// R7701-7.1-f/h/j, R7701-4.1-a: 425 when `key` is reserved, the room's own name, in
    /// use in the room by another URI, or quarantined for another URI.
    fn check_free(
        &mut self,
        now: Instant,
        pid: ParticipantId,
        holder: &Holder,
        key: &str,
    ) -> Result<(), MsrpError> {
        let room_name_key = comparison_key(&holder.room_name).ok();
        if self.nicknames.is_reserved(key)
            || room_name_key.as_deref() == Some(key)
            || looks_like_address(key)
        {
            return Err(MsrpError::NicknameTaken);
        }
        self.expire_quarantine(now);
        if self
            .nicknames
            .quarantined_for_other(&holder.room_name, key, &holder.uri)
        {
            return Err(MsrpError::NicknameTaken);
        }
        let members = self
            .rooms
            .get(holder.room)
            .map_or(&[][..], |r| r.members.as_slice());
        let taken = members.iter().any(|m| {
            self.parts
                .get(index_of(*m))
                .filter(|q| q.id == *m && q.id != pid && !q.departed)
                .filter(|q| !cpim::uri_eq(&q.uri, &holder.uri))
                .and_then(|q| q.nickname.as_deref())
                .is_some_and(|n| comparison_key(n).is_ok_and(|k| k == key))
        });
        if taken {
            return Err(MsrpError::NicknameTaken);
        }
        Ok(())
    }

    /// Drops quarantine entries whose time is up (checked lazily on every use).
    fn expire_quarantine(&mut self, now: Instant) {
        while self
            .nicknames
            .quarantine
            .front()
            .is_some_and(|q| q.until <= now)
        {
            if let Some(q) = self.nicknames.quarantine.pop_front() {
                self.budget.release(q.bytes);
            }
        }
    }

    /// Removes the quarantine entries for `key` in `room`.
    fn unquarantine(&mut self, room: &str, key: &str) {
        let Switch {
            nicknames, budget, ..
        } = self;
        nicknames.quarantine.retain(|q| {
            let hit = q.room == room && comparison_key(&q.nickname).is_ok_and(|k| k == key);
            if hit {
                budget.release(q.bytes);
            }
            !hit
        });
    }

    /// Leave hook (before the participant leaves its room's member list): its nickname, if
    /// any, goes into quarantine unless another session of the same URI still holds it.
    pub(super) fn quarantine_nickname(&mut self, id: ParticipantId) {
        let now = self.last_now;
        self.expire_quarantine(now);
        let Some(p) = self.participant_mut(id) else {
            return;
        };
        let Some(nickname) = p.nickname.take() else {
            return;
        };
        let (room, uri, source) = (p.room, p.uri.clone(), p.source);
        let nick_bytes = nickname.len();
        let key = comparison_key(&nickname).ok();
        let Some(r) = self.rooms.get(room) else {
            self.budget.release(nick_bytes);
            return;
        };
        let still_held = r.members.iter().any(|m| {
            *m != id
                && self.participant(*m).is_some_and(|q| {
                    cpim::uri_eq(&q.uri, &uri)
                        && q.nickname
                            .as_deref()
                            .map(comparison_key)
                            .and_then(Result::ok)
                            == key
                })
        });
        let room_name = r.name.clone();
        let extra = QUARANTINE_ENTRY_OVERHEAD + room_name.len() + uri.len();
        let no_quarantine = self.limits.nickname_quarantine_ms == 0
            || self.nicknames.max_entries == 0
            || self.nicknames.max_room_entries == 0;
        if still_held || no_quarantine {
            self.budget.release(nick_bytes);
            return;
        }
        // Bounded per room and overall; the budget decides last. To make room, the source
        // holding the most entries (this leaver's counted in) gives up its oldest.
        let in_room =
            |t: &NicknameTable| t.quarantine.iter().filter(|q| q.room == room_name).count();
        while in_room(&self.nicknames) >= self.nicknames.max_room_entries {
            if !self.evict_quarantined(Some(&room_name), source) {
                break;
            }
        }
        while self.nicknames.quarantine.len() >= self.nicknames.max_entries {
            if !self.evict_quarantined(None, source) {
                break;
            }
        }
        while !self.budget.try_reserve(extra) {
            if !self.evict_quarantined(None, source) {
                log::debug!("nickname of participant {} not quarantined: budget", id.0);
                self.budget.release(nick_bytes);
                return;
            }
        }
        self.nicknames.quarantine.push_back(Quarantined {
            room: room_name,
            uri,
            nickname,
            until: now + Duration::from_millis(self.limits.nickname_quarantine_ms),
            bytes: nick_bytes + extra,
            source,
        });
    }

    /// Frees one quarantine entry (in `room`, or anywhere): the oldest of the source that
    /// holds the most of them, counting `leaving` (the source about to add one) once more,
    /// so a source churning nicknames evicts its own entries, never the others'. False if
    /// there is none.
    fn evict_quarantined(&mut self, room: Option<&str>, leaving: IpAddr) -> bool {
        let table = &self.nicknames.quarantine;
        let here = |q: &&Quarantined| room.is_none_or(|r| q.room == r);
        let count = |ip: IpAddr| {
            table.iter().filter(here).filter(|q| q.source == ip).count()
                + usize::from(ip == leaving)
        };
        let biggest = table
            .iter()
            .filter(here)
            .map(|q| q.source)
            .chain(core::iter::once(leaving))
            .max_by_key(|ip| count(*ip));
        let victim = table
            .iter()
            .position(|q| here(&q) && Some(q.source) == biggest)
            .or_else(|| table.iter().position(|q| here(&q)));
        match victim.and_then(|i| self.nicknames.quarantine.remove(i)) {
            Some(q) => {
                self.budget.release(q.bytes);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_entry_fits_the_bytes_limits_counts() {
        // Limits::nickname_table_bytes budgets each entry with this constant.
        assert!(core::mem::size_of::<Quarantined>() <= QUARANTINE_ENTRY_OVERHEAD);
        assert!(core::mem::size_of::<VecDeque<Quarantined>>() < 64);
    }
}
