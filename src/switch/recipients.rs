//! Who gets a message (RFC 7701 §6.1, §6.2, §6.3; RFC 4975 §8.6): CPIM From/To validation,
//! then every other session of the room (To = room URI) or the sessions of the To URI that
//! declared `private-messages` plus the sender's other sessions (private), keeping only
//! recipients that receive at all (offered neither `sendonly` nor `inactive`, RFC 4975 §8.9,
//! IMPL-6), declared the wrapped type (`accept-wrapped-types`, IMPL-1 default) and whose
//! `a=max-size` the message's known total does not exceed.

use crate::conference::ParticipantId;
use crate::wire::cpim::{self, Headers};
use crate::wire::msrp::MsrpError;

use super::fast_forward::{Delivery, MsgSlot, Recipient};
use super::room::is_room_uri;
use super::session::{index_of, Participant};
use super::wrapped_types::{is_plain, AcceptedTypes, DEFAULT_WRAPPED_TYPE};
use super::Switch;

/// Why a room member is not a recipient of this message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fit {
    Takes,
    /// Did not declare the wrapped type (R7701-6.1-h).
    WrongType,
    /// The message is larger than its `a=max-size` (R4975-8.6-b).
    TooLarge,
}

fn fit(q: &Participant, wrapped: &str, total: Option<u64>) -> Fit {
    fit_given(q, q.accepts.accepts(wrapped), total)
}

/// [`fit`] when whether `q` accepts the wrapped type is known.
fn fit_given(q: &Participant, accepts: bool, total: Option<u64>) -> Fit {
    if !accepts {
        Fit::WrongType
    } else if matches!((total, q.max_size), (Some(t), Some(m)) if t > m) {
        Fit::TooLarge
    } else {
        Fit::Takes
    }
}

/// Whether members accept a wrapped type, remembering the last list checked: most members
/// of a room run the same client and declare the same list, so one comparison replaces
/// parsing it again for each of them.
struct AcceptsMemo<'p> {
    wrapped: &'p str,
    last: Option<(&'p AcceptedTypes, bool)>,
}

impl<'p> AcceptsMemo<'p> {
    fn accepts(&mut self, list: &'p AcceptedTypes) -> bool {
        match self.last {
            Some((seen, verdict)) if seen == list => verdict,
            _ => {
                let verdict = list.accepts(self.wrapped);
                self.last = Some((list, verdict));
                verdict
            }
        }
    }
}

/// The answer when members exist but none can take the message: 415 if any was excluded
/// for its type (A5 b), else 413 (all excluded for size).
fn refusal(fits: impl Iterator<Item = Fit>) -> Option<MsrpError> {
    let (mut any, mut wrong_type) = (false, false);
    for f in fits {
        if f == Fit::Takes {
            return None;
        }
        any = true;
        wrong_type |= f == Fit::WrongType;
    }
    match (any, wrong_type) {
        (false, _) => None,
        (true, true) => Some(MsrpError::UnsupportedMedia),
        (true, false) => Some(MsrpError::TooLarge),
    }
}

impl Switch {
    /// Validates CPIM From/To and fixes the recipients of `slot`. `wrapped` is the
    /// Content-Type of the encapsulated MIME part (absent = `text/plain`, the MIME default).
    pub(super) fn choose_recipients(
        &mut self,
        slot: MsgSlot,
        h: &Headers<'_>,
        wrapped: Option<&str>,
    ) -> Result<(), MsrpError> {
        let wrapped = wrapped.unwrap_or(DEFAULT_WRAPPED_TYPE);
        let Switch {
            parts,
            rooms,
            messages,
            domain,
            local,
            ..
        } = self;
        let Some(entry) = messages.get_mut(slot) else {
            return Err(MsrpError::TooLarge);
        };
        let sender = entry.sender;
        let total = entry.total;
        let Some(me) = parts.get(index_of(sender)).filter(|p| p.id == sender) else {
            return Err(MsrpError::SessionUnknown);
        };
        let from_ok = h.from_count == 1 && h.from.is_some_and(|f| cpim::uri_eq(f.uri, &me.uri));
        let (true, 1, Some(to)) = (from_ok, h.to_count, h.to) else {
            return Err(MsrpError::Forbidden);
        };
        let Some(room) = rooms.get(me.room) else {
            return Err(MsrpError::Forbidden);
        };
        let live = |id: ParticipantId| {
            parts
                .get(index_of(id))
                .filter(|q| q.id == id && !q.departed && id != sender)
        };
        entry.recipients.clear();
        entry.private_to = None;
        if is_room_uri(to.uri, &room.name, domain, local.ip()) {
            let members = || {
                room.members
                    .iter()
                    .filter_map(|m| live(*m))
                    .filter(|q| q.direction.receives())
            };
            // One pass: every receiving member is checked once (IMPL-1, R4975-8.6-b).
            let mut memo = AcceptsMemo {
                wrapped,
                last: None,
            };
            let plain = is_plain(wrapped);
            let (mut any, mut wrong_type) = (false, false);
            for q in members() {
                any = true;
                let accepts = match plain {
                    true => q.accepts.accepts_plain(),
                    false => memo.accepts(&q.accepts),
                };
                match fit_given(q, accepts, total) {
                    Fit::Takes => entry.recipients.push(Recipient {
                        pid: q.id,
                        delivery: Delivery::Fresh,
                    }),
                    Fit::WrongType => wrong_type = true,
                    Fit::TooLarge => {}
                }
            }
            if entry.recipients.is_empty() && any {
                // A5 b: 415 if any was excluded for its type, else 413 (all for size).
                return Err(match wrong_type {
                    true => MsrpError::UnsupportedMedia,
                    false => MsrpError::TooLarge,
                });
            }
            return Ok(());
        }
        if !room.policy.private_messages {
            return Err(MsrpError::Forbidden);
        }
        let to_self = cpim::uri_eq(to.uri, &me.uri);
        let named = || {
            room.members
                .iter()
                .filter_map(|m| live(*m))
                .filter(|q| cpim::uri_eq(&q.uri, to.uri))
        };
        if named().next().is_none() && !to_self {
            return Err(MsrpError::UnknownRecipient);
        }
        let capable = || named().filter(|q| q.caps.private_messages);
        if capable().next().is_none() && !to_self {
            return Err(MsrpError::PrivateNotSupported);
        }
        // IMPL-6: a target that offered sendonly/inactive takes no messages at all.
        let receiving = || capable().filter(|q| q.direction.receives());
        if receiving().next().is_none() && !to_self {
            return Err(MsrpError::Forbidden);
        }
        if !to_self {
            if let Some(e) = refusal(receiving().map(|q| fit(q, wrapped, total))) {
                return Err(e);
            }
        }
        entry.private_to = Some(receiving().next().map_or(sender, |q| q.id));
        for m in &room.members {
            let Some(q) = live(*m) else {
                continue;
            };
            let target = cpim::uri_eq(&q.uri, to.uri) && q.caps.private_messages;
            let own = cpim::uri_eq(&q.uri, &me.uri);
            if (target || own) && q.direction.receives() && fit(q, wrapped, total) == Fit::Takes {
                entry.recipients.push(Recipient {
                    pid: *m,
                    delivery: Delivery::Fresh,
                });
            }
        }
        Ok(())
    }
}
