//! Rooms (RFC 7701 §4, §5.1): provisioned from the configuration or created ad hoc by the
//! first join to an unknown name, each with its policy and member list; an ad-hoc room is
//! deleted when its last member leaves. Also recognises the room URI `sip:NAME@DOMAIN` in a
//! CPIM To header.

use core::net::IpAddr;

use slab::Slab;

use crate::conference::{ParticipantId, RoomPolicy};
use crate::wire::cpim::UriParts;

/// A room in the switch's slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct RoomId(pub(super) usize);

/// One room.
#[derive(Debug)]
pub(super) struct Room {
    pub(super) name: String,
    pub(super) policy: RoomPolicy,
    pub(super) adhoc: bool,
    /// Joined participants, in join order.
    pub(super) members: Vec<ParticipantId>,
}

/// The room table.
#[derive(Debug)]
pub(super) struct Rooms {
    slab: Slab<Room>,
    max_rooms: usize,
    max_room_participants: usize,
}

impl Rooms {
    /// An empty table for at most `max_rooms` rooms.
    pub(super) fn new(max_rooms: usize, max_room_participants: usize) -> Self {
        Rooms {
            slab: Slab::with_capacity(max_rooms),
            max_rooms,
            max_room_participants,
        }
    }

    /// The policy with `max_participants` bounded by `Limits::max_room_participants`.
    pub(super) fn bounded(&self, policy: RoomPolicy) -> RoomPolicy {
        RoomPolicy {
            max_participants: policy.max_participants.min(self.max_room_participants),
            ..policy
        }
    }

    /// Creates a room; `None` when the table is full.
    pub(super) fn create(&mut self, name: &str, policy: RoomPolicy, adhoc: bool) -> Option<RoomId> {
        if self.slab.len() >= self.max_rooms {
            return None;
        }
        let policy = self.bounded(policy);
        let id = self.slab.insert(Room {
            name: name.to_string(),
            policy,
            adhoc,
            members: Vec::with_capacity(policy.max_participants),
        });
        Some(RoomId(id))
    }

    /// The room called `name` (exact, case-sensitive like a SIP user part).
    pub(super) fn find(&self, name: &str) -> Option<RoomId> {
        self.slab
            .iter()
            .find(|(_, r)| r.name == name)
            .map(|(id, _)| RoomId(id))
    }

    pub(super) fn get(&self, id: RoomId) -> Option<&Room> {
        self.slab.get(id.0)
    }

    pub(super) fn get_mut(&mut self, id: RoomId) -> Option<&mut Room> {
        self.slab.get_mut(id.0)
    }

    /// Removes `pid` from the room; deletes an ad-hoc room left empty.
    pub(super) fn remove_member(&mut self, id: RoomId, pid: ParticipantId) {
        let Some(room) = self.slab.get_mut(id.0) else {
            return;
        };
        room.members.retain(|m| *m != pid);
        if room.adhoc && room.members.is_empty() {
            self.slab.remove(id.0);
        }
    }
}

/// True for a room name usable as the user part of `sip:NAME@DOMAIN`.
pub(super) fn valid_room_name(name: &str, max_bytes: usize) -> bool {
    !name.is_empty()
        && name.len() <= max_bytes
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,".contains(&b))
}

/// Whether a CPIM To URI names room `name`: scheme `sip`/`sips`, user = `name`, and host =
/// `domain` (case-insensitive) or the switch's own IP literal (any port).
pub(super) fn is_room_uri(uri: &str, name: &str, domain: &str, own_ip: IpAddr) -> bool {
    let Some(p) = UriParts::split(uri) else {
        return false;
    };
    let scheme_ok = p.scheme.eq_ignore_ascii_case("sip") || p.scheme.eq_ignore_ascii_case("sips");
    let host_ok = if p.host.eq_ignore_ascii_case(domain) {
        true
    } else {
        p.host.parse::<IpAddr>().is_ok_and(|ip| ip == own_ip)
    };
    scheme_ok && p.user == Some(name) && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RoomPolicy = RoomPolicy {
        nicknames: true,
        private_messages: true,
        max_participants: 100,
    };

    #[test]
    fn create_find_and_delete_adhoc_when_empty() {
        let mut rooms = Rooms::new(2, 8);
        let lobby = rooms.create("lobby", POLICY, false).unwrap();
        let x = rooms.create("x", POLICY, true).unwrap();
        assert_eq!(rooms.create("y", POLICY, true), None, "table full");
        assert_eq!(rooms.find("lobby"), Some(lobby));
        assert_eq!(rooms.find("Lobby"), None);
        assert_eq!(rooms.get(lobby).unwrap().policy.max_participants, 8);
        rooms.get_mut(x).unwrap().members.push(ParticipantId(7));
        rooms.remove_member(x, ParticipantId(7));
        assert_eq!(rooms.find("x"), None);
        rooms.remove_member(lobby, ParticipantId(1));
        assert_eq!(rooms.find("lobby"), Some(lobby), "provisioned rooms stay");
        assert!(
            rooms.create("z", POLICY, true).is_some(),
            "a slot was freed"
        );
    }

    #[test]
    fn room_uri_recognition() {
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        assert!(is_room_uri(
            "sip:chat22@chat.example.com",
            "chat22",
            "chat.example.com",
            ip
        ));
        assert!(is_room_uri(
            "SIP:chat22@CHAT.example.com",
            "chat22",
            "chat.example.com",
            ip
        ));
        assert!(is_room_uri(
            "sip:chat22@192.0.2.10:5060",
            "chat22",
            "chat.example.com",
            ip
        ));
        assert!(!is_room_uri(
            "sip:Chat22@chat.example.com",
            "chat22",
            "chat.example.com",
            ip
        ));
        assert!(!is_room_uri(
            "sip:chat22@other.example",
            "chat22",
            "chat.example.com",
            ip
        ));
        assert!(!is_room_uri(
            "tel:chat22@chat.example.com",
            "chat22",
            "chat.example.com",
            ip
        ));
        assert!(!is_room_uri(
            "sip:bob@chat.example.com",
            "chat22",
            "chat.example.com",
            ip
        ));
    }

    #[test]
    fn room_names() {
        assert!(valid_room_name("chat22", 64));
        assert!(!valid_room_name("", 64));
        assert!(!valid_room_name("a@b", 64));
        assert!(!valid_room_name("a b", 64));
        assert!(!valid_room_name("abc", 2));
    }
}
