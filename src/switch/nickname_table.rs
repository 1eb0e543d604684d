//! NICKNAME (RFC 7701 §7.1-§7.3): room policy check (403), Use-Nickname syntax (400 when
//! missing, 424 when malformed), uniqueness within the room across users (425), removal
//! with `""`. Comparison is a simplified RFC 7700 §2.4: spaces trimmed and collapsed, ASCII
//! case folded (no NFKC; full PRECIS is left to a nickname module).

use crate::conference::ParticipantId;
use crate::wire::cpim;
use crate::wire::msrp::{parse_use_nickname, Head, MsrpError};

use super::inbound::Reply;
use super::session::index_of;
use super::Switch;

/// `s` prepared for comparison: words separated by one space, ASCII lower case.
fn prepared(s: &str) -> impl Iterator<Item = char> + '_ {
    s.split_whitespace().enumerate().flat_map(|(i, word)| {
        (i > 0)
            .then_some(' ')
            .into_iter()
            .chain(word.chars().map(|c| c.to_ascii_lowercase()))
    })
}

/// True when two nicknames collide.
pub(super) fn same_nickname(a: &str, b: &str) -> bool {
    prepared(a).eq(prepared(b))
}

impl Switch {
    /// Handles a NICKNAME from `pid` (already bound and path-checked).
    pub(super) fn nickname_request(&mut self, pid: ParticipantId, head: &Head) -> Reply {
        match self.set_nickname(pid, head) {
            Ok(()) => Reply::Ok,
            Err(e) => Reply::Error(e),
        }
    }

    fn set_nickname(&mut self, pid: ParticipantId, head: &Head) -> Result<(), MsrpError> {
        // IMPL-24: NICKNAME must not carry report headers (RFC 7701 §7.1).
        if head.headers.success_report.is_some() || head.headers.failure_report.is_some() {
            return Err(MsrpError::BadHeader);
        }
        let me = self.participant(pid).ok_or(MsrpError::SessionUnknown)?;
        let room = self.rooms.get(me.room).ok_or(MsrpError::Forbidden)?;
        if !room.policy.nicknames {
            return Err(MsrpError::Forbidden);
        }
        let raw = head.headers.use_nickname.ok_or(MsrpError::BadHeader)?;
        let nick = parse_use_nickname(raw)?;
        if nick.is_empty() {
            // RFC 7701 §7.3: removal.
            if let Some(p) = self.participant_mut(pid) {
                p.nickname = None;
            }
            return Ok(());
        }
        if prepared(&nick).next().is_none() {
            return Err(MsrpError::BadNickname);
        }
        let taken = room.members.iter().any(|m| {
            self.parts
                .get(index_of(*m))
                .filter(|q| q.id == *m && q.id != pid && !cpim::uri_eq(&q.uri, &me.uri))
                .and_then(|q| q.nickname.as_deref())
                .is_some_and(|n| same_nickname(n, &nick))
        });
        if taken {
            return Err(MsrpError::NicknameTaken);
        }
        if let Some(p) = self.participant_mut(pid) {
            p.nickname = Some(nick);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_trims_collapses_and_folds_ascii_case() {
        assert!(same_nickname(
            "Alice in Wonderland",
            "  alice   IN wonderland "
        ));
        assert!(same_nickname("Dopey", "dopey"));
        assert!(!same_nickname("Dopey", "Dopey Donkey"));
        assert!(!same_nickname("B0Y", "BOY"));
        assert!(
            same_nickname("a\u{3000}b", "a b"),
            "non-ASCII space maps to space"
        );
    }
}
