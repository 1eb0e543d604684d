//! The SDP body the focus answers with, and a chat client's offer in the same layout
//! (RFC 3264 §6 one m-line per offered m-line, refused ones with port 0; RFC 4975 §8 MSRP
//! attributes; RFC 6135 `a=setup`; RFC 7701 §8 `a=chatroom`): emitted line by line, CRLF.

use std::io::Write as _;

use super::{AddrType, Chatroom, Direction, MediaLine, MsrpProto, Setup};

/// The answer the focus sends (layout of wire example 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer<'a> {
    pub origin_username: &'a str,
    pub sess_id: u64,
    pub sess_version: u64,
    /// Address for `o=` and `c=` (the path URI host, IPv6 without brackets).
    pub address: &'a str,
    /// `m=` port (the path URI port).
    pub port: u16,
    pub proto: MsrpProto,
    pub accept_types: &'a str,
    pub accept_wrapped_types: Option<&'a str>,
    pub path: &'a str,
    pub setup: Setup,
    pub max_size: Option<u64>,
    /// `None` = no `a=chatroom`; neither token = bare `a=chatroom`.
    pub chatroom: Option<Chatroom>,
    /// Written as a media-level attribute unless `sendrecv` (the default).
    pub direction: Direction,
    /// The offer's m-lines (RFC 3264 §6): every one but `offered[accepted]` is answered
    /// refused in place; empty = the MSRP section alone.
    pub offered: &'a [MediaLine<'a>],
    /// Index into `offered` of the MSRP line this answer accepts.
    pub accepted: usize,
}

impl<'a> Answer<'a> {
    /// The offer a plain chat client sends (same layout as an answer, so the same emitter
    /// writes it): an active MSRP endpoint at `path` on `address`, taking Message/CPIM that
    /// wraps text/plain, in a chat room with nicknames and private messages (RFC 7701 §5.1).
    pub fn chat_client_offer(address: &'a str, path: &'a str) -> Answer<'a> {
        Answer {
            origin_username: "-",
            sess_id: 1,
            sess_version: 1,
            address,
            port: 9,
            proto: MsrpProto::Tcp,
            accept_types: "message/cpim",
            accept_wrapped_types: Some("text/plain"),
            path,
            setup: Setup::Active,
            max_size: None,
            chatroom: Some(Chatroom {
                nickname: true,
                private_messages: true,
            }),
            direction: Direction::SendRecv,
            offered: &[],
            accepted: 0,
        }
    }

    /// The answer body, every line ending in CRLF.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(320);
        let at = AddrType::of(self.address).as_str();
        let _ = write!(
            out,
            "v=0\r\no={} {} {} IN {at} {addr}\r\ns=-\r\nc=IN {at} {addr}\r\nt=0 0\r\n",
            self.origin_username,
            self.sess_id,
            self.sess_version,
            addr = self.address,
        );
        if self.offered.is_empty() {
            self.emit_msrp(&mut out);
        }
        for (i, line) in self.offered.iter().enumerate() {
            if i == self.accepted {
                self.emit_msrp(&mut out);
            } else {
                let _ = write!(out, "m={} 0 {} {}\r\n", line.media, line.proto, line.fmt);
            }
        }
        out
    }

    /// The accepted MSRP section.
    fn emit_msrp(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "m=message {} {} *\r\na=accept-types:{}\r\n",
            self.port,
            self.proto.as_str(),
            self.accept_types,
        );
        if let Some(awt) = self.accept_wrapped_types {
            let _ = write!(out, "a=accept-wrapped-types:{awt}\r\n");
        }
        let _ = write!(
            out,
            "a=path:{}\r\na=setup:{}\r\n",
            self.path,
            self.setup.as_str()
        );
        if let Some(n) = self.max_size {
            let _ = write!(out, "a=max-size:{n}\r\n");
        }
        if let Some(c) = self.chatroom {
            out.extend_from_slice(b"a=chatroom");
            let tokens: Vec<&str> = [
                c.nickname.then_some("nickname"),
                c.private_messages.then_some("private-messages"),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !tokens.is_empty() {
                let _ = write!(out, ":{}", tokens.join(" "));
            }
            out.extend_from_slice(b"\r\n");
        }
        if self.direction != Direction::SendRecv {
            let _ = write!(out, "a={}\r\n", self.direction.as_str());
        }
    }
}
