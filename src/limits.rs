//! Every capacity, size and timeout of parlor in one value, with its worst-case memory
//! formula (docs/ARCHITECTURE.md, "every size is a limit"). Loaded from `memory-profiles/*.toml`; RFC 4975 §7.1
//! (chunk sizes), RFC 3261 §17 (timer T1/T2), RFC 7701 §6.1 (chunk timer), §6.4 (congestion).
//!
//! Every field is an integer; durations end in `_ms`. The profile files use the same names,
//! so `Limits::set` is the one place a name maps to a field.

use crate::time::Duration;
use crate::wire::sip::SipLimits;

/// Fixed bookkeeping bytes per participant beyond its ring and strings (slab entry,
/// session-id, partial-message list; a switch test checks the real struct fits).
pub const PARTICIPANT_OVERHEAD: usize = 640;
/// Strings a participant keeps, each at most `max_uri_bytes`: its URI, the switch's path,
/// the peer's path, its accept-wrapped-types and its display name. (A held nickname is
/// reserved against the budget separately while it exists.)
pub const PARTICIPANT_STRINGS: usize = 5;
/// Fixed bookkeeping bytes per MSRP or SIP connection beyond its buffers (slab entry, task,
/// async-io source registration).
pub const CONNECTION_OVERHEAD: usize = 1024;
/// Bytes per entry of the fast-forward Message-ID table beyond its recipient list.
pub const MESSAGE_ID_OVERHEAD: usize = 160;
/// Fixed bookkeeping bytes per conference-event subscription beyond its strings and NOTIFY.
pub const SUBSCRIPTION_OVERHEAD: usize = 512;
/// Bytes per entry of the digest-nonce replay table (timestamp, salt, highest nc, slack).
pub const NONCE_ENTRY_BYTES: usize = 32;
/// Bookkeeping bytes of one quarantined nickname beyond its strings (room name, URI and
/// nickname; a switch test checks the real entry is no larger).
pub const QUARANTINE_ENTRY_BYTES: usize = 128;
/// Bytes per recipient in a fast-forward Message-ID table entry (a test in the switch
/// checks the real entry is no larger).
pub const MESSAGE_ID_RECIPIENT_BYTES: usize = 24;
/// Fixed bookkeeping bytes per SIP transaction beyond its messages and key strings (slab
/// entry, timers, To-tag).
pub const TRANSACTION_OVERHEAD: usize = 256;
/// How much longer than the request a response the focus builds can be: its status line,
/// `received`/`rport`, To-tag, Contact, Allow, Supported, Expires, Warning and an SDP
/// answer (a focus test checks the longest one against a request of the largest size).
pub const SIP_RESPONSE_EXTRA: usize = 2048;
/// Fixed bookkeeping bytes per dialog beyond its strings and stored 2xx.
pub const DIALOG_OVERHEAD: usize = 512;

macro_rules! limits {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty = $default:expr, )*) => {
        /// All limits. Field docs give the memory each one can cost in the worst case.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Limits {
            $( $(#[$doc])* pub $name: $ty, )*
        }

        impl Default for Limits {
            /// The `router` profile's values.
            fn default() -> Self {
                Limits { $( $name: $default, )* }
            }
        }

        impl Limits {
            /// Every field name, in declaration order (the profile file keys).
            pub const FIELD_NAMES: &'static [&'static str] = &[$( stringify!($name), )*];

            /// Sets the field called `name`. Unknown name or a value that does not fit →
            /// `Err` naming the problem.
            pub fn set(&mut self, name: &str, value: u64) -> Result<(), LimitsError> {
                match name {
                    $( stringify!($name) => {
                        self.$name = <$ty>::try_from(value).map_err(|_| LimitsError::OutOfRange(stringify!($name)))?;
                        Ok(())
                    } )*
                    _ => Err(LimitsError::UnknownField),
                }
            }

            /// The value of the field called `name`, widened to u64.
            pub fn get(&self, name: &str) -> Option<u64> {
                match name {
                    $( stringify!($name) => Some(self.$name as u64), )*
                    _ => None,
                }
            }
        }
    };
}

limits! {
    /// Memory budget in bytes checked at every join and MSRP connection accept
    /// (`--memory-cap`). Reserved memory (`Budget`: participants, MSRP connections,
    /// nicknames) never exceeds it; the other tables have their own bounds, added to it in
    /// `bounded_bytes()`.
    memory_cap: usize = 8 * 1024 * 1024,
    /// Participants over all rooms. Memory: × (`ring_bytes` + PARTICIPANT_OVERHEAD +
    /// PARTICIPANT_STRINGS × `max_uri_bytes`).
    max_participants: usize = 64,
    /// Rooms, configured plus ad-hoc. Memory: × (room entry ≈ 256 B + `max_uri_bytes`).
    max_rooms: usize = 16,
    /// Participants in one room unless the room's policy says fewer.
    max_room_participants: usize = 64,
    /// Outbound byte ring per participant: reserved in full against the cap at join, its
    /// buffer allocated as it fills (doubling, never past this). Memory: ×
    /// `max_participants`.
    ring_bytes: usize = 64 * 1024,
    /// Outbound ring per MSRP connection for responses and REPORTs to what it sent.
    /// Memory: × `max_msrp_connections`.
    conn_ring_bytes: usize = 4096,
    /// The one read buffer every MSRP and SIP TCP connection reads through (one thread: a
    /// read is handed to the core before the next). Memory: once.
    read_buf_bytes: usize = 8192,
    /// MSRP connections open at once. Memory: × (`conn_ring_bytes` +
    /// `max_msrp_header_bytes` + `max_cpim_header_bytes` + CONNECTION_OVERHEAD).
    max_msrp_connections: usize = 96,
    /// SIP TCP connections open at once. Memory: × `sip_connection_bytes()`
    /// (`max_sip_message_bytes` + `read_buf_bytes` being framed, `sip_tcp_queue_bytes`
    /// waiting to be written, CONNECTION_OVERHEAD). Not governed by `memory_cap`: counted
    /// on top of it in `bounded_bytes()`.
    max_sip_connections: usize = 64,
    /// Largest SIP message (headers + body) accepted over UDP or TCP; larger → 413 or close.
    max_sip_message_bytes: usize = 8192,
    /// Most header fields in one SIP message or MSRP header block; more → 400.
    max_headers: usize = 48,
    /// Largest SDP body accepted in an offer; larger → 400.
    max_sdp_bytes: usize = 4096,
    /// Largest URI kept per participant (AOR, contact, MSRP path); larger → 400/488.
    max_uri_bytes: usize = 256,
    /// Largest MSRP start line + header block, buffered until complete. Memory: × connections.
    max_msrp_header_bytes: usize = 4096,
    /// Largest CPIM header block, held until From/To are known (RFC 7701 §6.1, IMPL-13).
    /// Memory: × connections.
    max_cpim_header_bytes: usize = 2048,
    /// Largest complete message advertised as `a=max-size` and enforced (413 beyond).
    max_message_bytes: usize = 1024 * 1024,
    /// Largest single chunk body streamed through; larger → 413.
    max_chunk_bytes: usize = 1024 * 1024,
    /// Chunked messages one sender may have in flight at once; more → 413 (IMPL-20).
    max_partial_per_sender: usize = 4,
    /// Fast-forward Message-ID table entries in total. Memory: × (MESSAGE_ID_OVERHEAD +
    /// MESSAGE_ID_RECIPIENT_BYTES × `max_room_participants`).
    max_message_ids: usize = 256,
    /// SIP server and client transactions alive at once. Memory: ×
    /// `sip_transaction_bytes()` (TRANSACTION_OVERHEAD + the larger of 3 ×
    /// `max_sip_message_bytes` + SIP_RESPONSE_EXTRA, a server transaction's key, request and
    /// stored response, and `max_notify_bytes`, a NOTIFY of ours). Not governed by `memory_cap`: counted on top of it in
    /// `bounded_bytes()`.
    max_sip_transactions: usize = 128,
    /// RFC 7701 §6.1 chunk reception timer, reset on every chunk (A1: 540 s).
    chunk_timeout_ms: u64 = 540_000,
    /// RFC 3261 T1, the round-trip estimate.
    sip_t1_ms: u64 = 500,
    /// RFC 3261 T2, the retransmit interval cap for non-INVITE requests and INVITE responses.
    sip_t2_ms: u64 = 4_000,
    /// An MSRP connection that has not bound a session within this time is closed: a
    /// client binds as soon as it connects, so the deadline of a connection that has
    /// proven nothing is short (issue 15: 10 s, was 30 s).
    msrp_bind_timeout_ms: u64 = 10_000,
    /// A SIP TCP connection idle (no complete request) for this long is closed.
    sip_idle_timeout_ms: u64 = 120_000,
    /// Issue 15: a SIP TCP connection that carries no dialog and no subscription (it has
    /// proven nothing worth its slot) is closed this long after its last complete request,
    /// or after it opened, instead of `sip_idle_timeout_ms` (the shorter of the two
    /// applies). Time only, no memory.
    sip_unproven_timeout_ms: u64 = 10_000,
    /// A joined participant whose MSRP connection has not bound within this time is removed
    /// (and sent BYE).
    join_bind_timeout_ms: u64 = 60_000,
    /// Conference-event subscriptions (RFC 4575) alive at once; more → 503. Memory: ×
    /// (SUBSCRIPTION_OVERHEAD + 3 × `max_uri_bytes` + 8 × `max_room_participants` +
    /// `max_notify_bytes`, the NOTIFY kept for retransmission).
    max_subscriptions: usize = 32,
    /// Longest subscription granted (RFC 6665 Expires), also the default when the SUBSCRIBE
    /// has no Expires.
    subscription_expires_s: u64 = 3_600,
    /// At most one NOTIFY per subscription per this interval (RFC 4575 §3.9: 5 s); changes
    /// in between are merged into the next one.
    notify_interval_ms: u64 = 5_000,
    /// Largest NOTIFY (head + conference-info body) the focus builds.
    max_notify_bytes: usize = 16_384,
    /// Largest nickname in octets after unescaping (RFC 7701 §7.1 allows 1023). Memory:
    /// × `max_participants` held, plus as many quarantined (`nickname_table_bytes`).
    max_nickname_bytes: usize = 1_023,
    /// A nickname released by a leaving participant stays reserved for its URI this long
    /// (RFC 7701 §4.1 quarantine).
    nickname_quarantine_ms: u64 = 300_000,
    /// On SIGTERM, how long the shell waits for BYE / final NOTIFY transactions before it
    /// exits anyway.
    shutdown_grace_ms: u64 = 2_000,
    /// MSRP connections one source IP address may hold open at once, and separately SIP
    /// TCP connections; one more is closed at accept (connections the switch dials out are
    /// not counted), and a join whose MSRP connection would be one more from its INVITE's
    /// source is refused at the INVITE (503, Retry-After). The profiles set it to
    /// `max_participants`, so a site behind one NAT can fill the server; the connection
    /// tables still bound the total. No memory.
    max_connections_per_source: usize = 64,
    /// A started MSRP start line + header block must be complete within this time, else the
    /// connection is closed (slowloris: a bound connection must not hold a half-sent header
    /// block, `max_msrp_header_bytes` of memory, forever).
    msrp_header_timeout_ms: u64 = 10_000,
    /// SIP digest nonces (RFC 3261 §22.4, RFC 7616 §3.3) are accepted for this long after
    /// they were issued; later → 401 with `stale=true`. Nonces are stateless (timestamp +
    /// HMAC), so this costs no memory by itself.
    nonce_lifetime_s: u64 = 300,
    /// Digest nonces whose highest nonce-count is remembered to refuse replays (RFC 7616
    /// §3.4); when full, the oldest is forgotten and nonces as old are answered `stale`.
    /// Memory: × NONCE_ENTRY_BYTES.
    max_auth_nonces: usize = 64,
    /// RFC 7701 §6.4 (A4): a participant whose outbound ring is filled to at least this
    /// percentage of `ring_bytes`, or that just lost a copy for want of room, is congested
    /// until its ring drains below it again. 1..=100. No memory.
    congested_fill_percent: usize = 80,
    /// RFC 7701 §6.4: while congested, copies of messages larger than this are dropped for
    /// that participant (small text may still go). No memory.
    congested_max_message_bytes: usize = 4_096,
    /// RFC 7701 §6.4: a participant congested for this long without a break is
    /// disconnected: its MSRP connection is closed and the focus sends BYE. No memory.
    congested_timeout_ms: u64 = 60_000,
    /// Issue 15, UDP reflection: a UDP address that has not yet answered what the focus
    /// sent it in an exchange (no ACK for our final response, no response to our NOTIFY or
    /// BYE) may have been forged by a third party. Each message to it is retransmitted at
    /// most this many times (timers G and E and the 2xx resend; RFC 3261 would go on for
    /// 64·T1); once it answers, the RFC schedule applies. No memory.
    unproven_udp_resends: usize = 2,
    /// Issue 15, UDP reflection: the largest NOTIFY (head and body) sent to a UDP
    /// subscriber that has not yet answered a NOTIFY: one Ethernet frame, with room for
    /// IPv6 and a tunnel header. The users that do not fit follow in the next NOTIFY, sent
    /// as soon as it answers. At least 1024. No memory.
    unproven_udp_notify_bytes: usize = 1_400,
    /// Issue 15: seats (joined participants) whose INVITE came from one source IP address,
    /// over all rooms; one more join from it gets 503 naming this limit. In one room a
    /// source gets the same fraction of the room's size (`room_seats_per_source`: rounded
    /// down, at least 2 or the whole room if smaller). The
    /// profiles set 3/4 of `max_participants`, so one host never takes the last quarter of
    /// the seats while a dozen people behind one NAT still join. No memory.
    max_seats_per_source: usize = 48,
    /// Issue 15: sessions one MSRP connection may bind (RFC 4975 §5.4 lets sessions share
    /// a connection; real clients use one each); a binding request over it gets 403 and
    /// the session may bind on another connection. No memory.
    max_sessions_per_connection: usize = 8,
    /// Issue 15: conference-event subscriptions from one source IP address at once; one
    /// more gets 503 with Retry-After. The profiles set 3/4 of `max_subscriptions`. When
    /// the table is full, a new subscription first evicts the oldest one whose NOTIFY was
    /// never answered (older than `unproven_grace_ms`). No memory.
    max_subscriptions_per_source: usize = 24,
    /// Issue 15: an unproven MSRP connection (no session bound), SIP TCP connection (no
    /// dialog, no subscription) or subscription (no NOTIFY answered) older than this is
    /// evicted, oldest first, when a newcomer would otherwise be refused for want of room;
    /// younger ones are not, so a newcomer has time to prove itself. No memory.
    unproven_grace_ms: u64 = 1_000,
    /// Bytes of SIP messages queued for one SIP TCP connection and not yet taken by the
    /// kernel; a message that would pass it closes the connection (a peer that does not
    /// read, issue 15). At least one NOTIFY (`max_notify_bytes`) or one response
    /// (`max_sip_message_bytes` + SIP_RESPONSE_EXTRA). Memory: × `max_sip_connections`.
    sip_tcp_queue_bytes: usize = 24_576,
    /// Issue 15: an MSRP connection with output pending of which not one byte could be
    /// written for this long (the peer's TCP window stayed closed) is closed as "not
    /// reading". A burst of responses never closes a connection: while its control ring
    /// has no room for the next request's answers the switch stops reading it (TCP flow
    /// control). Time only, no memory.
    write_stall_timeout_ms: u64 = 60_000,
    /// Issue 15: bytes per second a participant may send in SEND bodies, on average (a
    /// token bucket; a sender over it has its connection's input paused until the bucket
    /// refills: TCP slows it, nothing is lost, nobody else waits). No memory.
    send_rate_bytes_per_s: u64 = 1_048_576,
    /// The byte bucket's size: what a participant may send at once before
    /// `send_rate_bytes_per_s` applies (a message larger than this still goes, and the
    /// sender then waits for it). No memory.
    send_burst_bytes: u64 = 8_388_608,
    /// Issue 15: new messages (SENDs starting at byte 1) per second a participant may send
    /// on average; over it, its connection's input pauses until the bucket refills. No
    /// memory.
    send_rate_messages_per_s: u64 = 50,
    /// The message bucket's size: messages a participant may send at once before
    /// `send_rate_messages_per_s` applies. No memory.
    send_burst_messages: u64 = 500,
}

/// The largest number of items that share one key: what the fairest share check looks at
/// (issue 15: no source, connection or sender holds more than its share of a table).
pub fn most_per_key<K: Ord>(keys: impl Iterator<Item = K>) -> usize {
    let mut keys: Vec<K> = keys.collect();
    keys.sort_unstable();
    keys.chunk_by(|a, b| a == b)
        .map(<[K]>::len)
        .max()
        .unwrap_or(0)
}

/// What was wrong with a limits value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitsError {
    /// No field of that name.
    UnknownField,
    /// The value does not fit the field's type.
    OutOfRange(&'static str),
    /// The named field is zero or inconsistent with another.
    Invalid(&'static str),
    /// `worst_case_bytes()` for one participant alone exceeds the memory cap.
    CapTooSmall,
}

impl core::fmt::Display for LimitsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LimitsError::UnknownField => write!(f, "unknown limit"),
            LimitsError::OutOfRange(n) => write!(f, "{n}: value out of range"),
            LimitsError::Invalid(n) => write!(f, "{n}: invalid value"),
            LimitsError::CapTooSmall => {
                write!(
                    f,
                    "memory_cap is smaller than one connection plus one participant"
                )
            }
        }
    }
}

impl Limits {
    /// Checks that every capacity is usable and consistent.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let nonzero: &[(&'static str, u64)] = &[
            ("max_participants", self.max_participants as u64),
            ("max_rooms", self.max_rooms as u64),
            ("max_room_participants", self.max_room_participants as u64),
            ("max_msrp_connections", self.max_msrp_connections as u64),
            ("max_sip_connections", self.max_sip_connections as u64),
            ("max_headers", self.max_headers as u64),
            ("max_partial_per_sender", self.max_partial_per_sender as u64),
            ("max_message_ids", self.max_message_ids as u64),
            ("max_sip_transactions", self.max_sip_transactions as u64),
            ("chunk_timeout_ms", self.chunk_timeout_ms),
            ("sip_t1_ms", self.sip_t1_ms),
            ("msrp_bind_timeout_ms", self.msrp_bind_timeout_ms),
            ("sip_idle_timeout_ms", self.sip_idle_timeout_ms),
            ("sip_unproven_timeout_ms", self.sip_unproven_timeout_ms),
            ("join_bind_timeout_ms", self.join_bind_timeout_ms),
            (
                "max_connections_per_source",
                self.max_connections_per_source as u64,
            ),
            ("msrp_header_timeout_ms", self.msrp_header_timeout_ms),
            ("subscription_expires_s", self.subscription_expires_s),
            ("nonce_lifetime_s", self.nonce_lifetime_s),
            ("max_auth_nonces", self.max_auth_nonces as u64),
            ("max_nickname_bytes", self.max_nickname_bytes as u64),
            ("congested_fill_percent", self.congested_fill_percent as u64),
            ("congested_timeout_ms", self.congested_timeout_ms),
            ("max_seats_per_source", self.max_seats_per_source as u64),
            (
                "max_sessions_per_connection",
                self.max_sessions_per_connection as u64,
            ),
            (
                "max_subscriptions_per_source",
                self.max_subscriptions_per_source as u64,
            ),
            ("unproven_grace_ms", self.unproven_grace_ms),
            ("write_stall_timeout_ms", self.write_stall_timeout_ms),
            ("send_rate_bytes_per_s", self.send_rate_bytes_per_s),
            ("send_burst_bytes", self.send_burst_bytes),
            ("send_rate_messages_per_s", self.send_rate_messages_per_s),
            ("send_burst_messages", self.send_burst_messages),
        ];
        for (name, v) in nonzero {
            if *v == 0 {
                return Err(LimitsError::Invalid(name));
            }
        }
        let at_least: &[(&'static str, usize, usize)] = &[
            // A ring must hold at least one full forwarded header block plus a CPIM block.
            ("ring_bytes", self.ring_bytes, 1024),
            ("conn_ring_bytes", self.conn_ring_bytes, 512),
            ("read_buf_bytes", self.read_buf_bytes, 512),
            ("max_sip_message_bytes", self.max_sip_message_bytes, 1024),
            ("max_sdp_bytes", self.max_sdp_bytes, 128),
            ("max_uri_bytes", self.max_uri_bytes, 64),
            ("max_msrp_header_bytes", self.max_msrp_header_bytes, 512),
            ("max_cpim_header_bytes", self.max_cpim_header_bytes, 256),
            ("max_message_bytes", self.max_message_bytes, 1),
            ("max_chunk_bytes", self.max_chunk_bytes, 1),
        ];
        for (name, v, min) in at_least {
            if v < min {
                return Err(LimitsError::Invalid(name));
            }
        }
        if self.max_nickname_bytes > 1023 {
            return Err(LimitsError::Invalid("max_nickname_bytes"));
        }
        if self.congested_fill_percent > 100 {
            return Err(LimitsError::Invalid("congested_fill_percent"));
        }
        if self.max_notify_bytes < 1024 {
            return Err(LimitsError::Invalid("max_notify_bytes"));
        }
        if self.unproven_udp_notify_bytes < 1024 {
            return Err(LimitsError::Invalid("unproven_udp_notify_bytes"));
        }
        if self.sip_t2_ms < self.sip_t1_ms {
            return Err(LimitsError::Invalid("sip_t2_ms"));
        }
        if self.max_room_participants > self.max_participants {
            return Err(LimitsError::Invalid("max_room_participants"));
        }
        if self.max_sdp_bytes > self.max_sip_message_bytes {
            return Err(LimitsError::Invalid("max_sdp_bytes"));
        }
        // One message of any kind the focus sends must fit a SIP TCP queue.
        if self.sip_tcp_queue_bytes < self.largest_sip_output() {
            return Err(LimitsError::Invalid("sip_tcp_queue_bytes"));
        }
        // Issue 15: every participant's unfinished messages fit the fast-forward table at
        // once, so no sender (or source) can fill it for everyone else.
        if self
            .max_participants
            .checked_mul(self.max_partial_per_sender)
            .is_none_or(|n| n > self.max_message_ids)
        {
            return Err(LimitsError::Invalid("max_message_ids"));
        }
        if self.participant_bytes() + self.msrp_connection_bytes() > self.memory_cap {
            return Err(LimitsError::CapTooSmall);
        }
        Ok(())
    }

    /// Bytes reserved by one joined participant: its ring, bookkeeping and strings.
    pub fn participant_bytes(&self) -> usize {
        self.ring_bytes + PARTICIPANT_OVERHEAD + PARTICIPANT_STRINGS * self.max_uri_bytes
    }

    /// Bytes reserved by one MSRP connection: its control ring, the header block and CPIM
    /// header block it may hold, and bookkeeping. (Reads go through the shell's one shared
    /// buffer, counted once in `worst_case_bytes`.)
    pub fn msrp_connection_bytes(&self) -> usize {
        self.conn_ring_bytes
            + self.max_msrp_header_bytes
            + self.max_cpim_header_bytes
            + CONNECTION_OVERHEAD
    }

    /// The largest SIP message the focus sends: a response to a request of the largest
    /// size, or a NOTIFY.
    pub fn largest_sip_output(&self) -> usize {
        (self.max_sip_message_bytes + SIP_RESPONSE_EXTRA).max(self.max_notify_bytes)
    }

    /// Bytes one SIP TCP connection can hold: a message being framed (at most
    /// `max_sip_message_bytes` plus one read), its write queue and bookkeeping.
    pub fn sip_connection_bytes(&self) -> usize {
        self.max_sip_message_bytes
            + self.read_buf_bytes
            + self.sip_tcp_queue_bytes
            + CONNECTION_OVERHEAD
    }

    /// Bytes one SIP transaction can hold: a server transaction's key strings and request
    /// (INVITE while proceeding; both are cut from one received message, so together at
    /// most two messages) and its stored response; or a client transaction's NOTIFY or BYE.
    pub fn sip_transaction_bytes(&self) -> usize {
        let server = 3 * self.max_sip_message_bytes + SIP_RESPONSE_EXTRA;
        TRANSACTION_OVERHEAD + server.max(self.max_notify_bytes)
    }

    /// Bytes one dialog can hold: strings cut from its INVITE, some twice (the From value
    /// and its display name, the Contact and the roster endpoint: at most two messages),
    /// the 2xx kept until the ACK (at most one response) and the SDP answer, bookkeeping.
    pub fn dialog_bytes(&self) -> usize {
        DIALOG_OVERHEAD + 3 * self.max_sip_message_bytes + SIP_RESPONSE_EXTRA
    }

    /// Bytes the nickname table can hold (each reserved against the cap while held): a
    /// nickname per participant, and as many quarantined ones (RFC 7701 §4.1), each with
    /// its room name and URI.
    pub fn nickname_table_bytes(&self) -> usize {
        let held = self.max_participants * self.max_nickname_bytes;
        let quarantined = self.max_participants
            * (QUARANTINE_ENTRY_BYTES + 2 * self.max_uri_bytes + self.max_nickname_bytes);
        held + quarantined
    }

    /// Bytes one conference-event subscription can hold: bookkeeping, dialog strings, the
    /// pending-change list and the NOTIFY kept for retransmission.
    pub fn subscription_bytes(&self) -> usize {
        SUBSCRIPTION_OVERHEAD
            + 3 * self.max_uri_bytes
            + 8 * self.max_room_participants
            + self.max_notify_bytes
    }

    /// What `memory_cap` governs with every table full: participants (rings, strings),
    /// MSRP connections and the nickname table are reserved against the cap before they
    /// exist, so at run time they never hold more than `memory_cap` together.
    pub fn cap_governed_bytes(&self) -> usize {
        self.max_participants * self.participant_bytes()
            + self.max_msrp_connections * self.msrp_connection_bytes()
            + self.nickname_table_bytes()
    }

    /// Every part the cap does not govern, each bounded by its own table size (issue 15):
    /// `(name, bytes)` in the order `parlor limits` prints them.
    pub fn ungoverned_parts(&self) -> [(&'static str, usize); 8] {
        [
            (
                "sip_connections_bytes",
                self.max_sip_connections * self.sip_connection_bytes(),
            ),
            (
                "sip_transactions_bytes",
                self.max_sip_transactions * self.sip_transaction_bytes(),
            ),
            ("dialogs_bytes", self.max_participants * self.dialog_bytes()),
            (
                "subscriptions_bytes",
                self.max_subscriptions * self.subscription_bytes(),
            ),
            (
                "message_ids_bytes",
                self.max_message_ids
                    * (MESSAGE_ID_OVERHEAD
                        + MESSAGE_ID_RECIPIENT_BYTES * self.max_room_participants),
            ),
            ("rooms_bytes", self.max_rooms * (256 + self.max_uri_bytes)),
            ("nonces_bytes", self.max_auth_nonces * NONCE_ENTRY_BYTES),
            ("read_buffer_bytes", self.read_buf_bytes),
        ]
    }

    /// The sum of `ungoverned_parts()`.
    pub fn ungoverned_bytes(&self) -> usize {
        self.ungoverned_parts().iter().map(|(_, b)| b).sum()
    }

    /// The most memory the sans-IO core can hold for buffers and tables with every table
    /// full, ignoring `memory_cap` (which refuses joins before this is reached when it is
    /// smaller). Code and the executor's fixed cost come on top (see README, footprint).
    pub fn worst_case_bytes(&self) -> usize {
        self.cap_governed_bytes() + self.ungoverned_bytes()
    }

    /// The bytes actually promised at run time under any mix of peers: the cap-governed
    /// part bounded by `memory_cap`, plus every part the cap does not govern (SIP TCP
    /// connections, transactions, dialogs, subscriptions, tables), each at its own bound.
    pub fn bounded_bytes(&self) -> usize {
        self.cap_governed_bytes().min(self.memory_cap) + self.ungoverned_bytes()
    }

    /// Seats one source may hold in a room of `room_size` seats: the fraction
    /// `max_seats_per_source / max_participants` of it (at most all of it), rounded down,
    /// but at least 2 (or the whole room if smaller): two people behind one NAT can always
    /// share a two-seat room (issue 15).
    pub fn room_seats_per_source(&self, room_size: usize) -> usize {
        let share = self.max_seats_per_source.min(self.max_participants);
        let fraction = room_size.saturating_mul(share) / self.max_participants.max(1);
        fraction.max(room_size.min(2))
    }

    /// `unproven_grace_ms` as a duration.
    pub fn unproven_grace(&self) -> Duration {
        Duration::from_millis(self.unproven_grace_ms)
    }

    /// RFC 3261 T1 as a duration.
    pub fn t1(&self) -> Duration {
        Duration::from_millis(self.sip_t1_ms)
    }

    /// RFC 3261 T2 as a duration.
    pub fn t2(&self) -> Duration {
        Duration::from_millis(self.sip_t2_ms)
    }

    /// RFC 7701 §6.1 chunk reception timer as a duration.
    pub fn chunk_timeout(&self) -> Duration {
        Duration::from_millis(self.chunk_timeout_ms)
    }
}

/// The SIP parser's bounds out of the limits: the wire layer takes plain numbers, and this
/// is the one place that knows which limit feeds which bound.
impl From<&Limits> for SipLimits {
    fn from(l: &Limits) -> Self {
        SipLimits {
            max_headers: l.max_headers,
            max_message_bytes: l.max_sip_message_bytes,
            max_uri_bytes: l.max_uri_bytes,
        }
    }
}

#[cfg(test)]
mod tests;
