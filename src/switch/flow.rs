//! Input flow control of MSRP connections (issue 15; RFC 4975 §7.1 responses, RFC 7701
//! §6.4 slow peers): a connection's input stops at a request's header block while its
//! control ring has no room for that request's answers, or while its sender is over its
//! per-participant token buckets (`send_rate_*`, `send_burst_*`); the shell stops reading
//! the socket meanwhile, so TCP slows the peer and nothing is lost. "Not reading" is
//! judged by the peer's TCP window alone: output pending with not one byte written for
//! `write_stall_timeout_ms` closes the connection, a burst of our own answers never does.

use crate::conference::ParticipantId;
use crate::time::{Duration, Instant};
use crate::wire::msrp::{Head, Method};

use super::fanout::COPY_TID_LEN;
use super::session::index_of;
use super::{MsrpConnId, Switch, SwitchEvent};

/// Why a connection's input is stopped at a held header block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pause {
    /// Its control ring needs `need` free bytes for the held request's answers.
    Ring { need: usize },
    /// Its sender's token buckets refill enough by then.
    Rate { until: Instant },
}

/// Token scale: one token (a byte or a message) is this many units, so that refills of
/// less than a token per microsecond are not lost to rounding.
const UNIT: u128 = 1_000_000;

/// A participant's two token buckets (bytes of SEND bodies, new messages). Levels are in
/// [`UNIT`]s; the byte level may go below zero (a message larger than the bucket goes
/// through, and its sender waits for the debt).
#[derive(Clone, Copy, Debug)]
pub(super) struct SendBucket {
    bytes: i128,
    messages: i128,
    refilled: Instant,
}

/// The rates and sizes of the buckets, from `Limits`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rates {
    pub(super) bytes_per_s: u64,
    pub(super) burst_bytes: u64,
    pub(super) messages_per_s: u64,
    pub(super) burst_messages: u64,
}

impl SendBucket {
    /// Full buckets at `now`.
    pub(super) fn full(now: Instant, r: &Rates) -> Self {
        SendBucket {
            bytes: i128::from(r.burst_bytes) * UNIT as i128,
            messages: i128::from(r.burst_messages) * UNIT as i128,
            refilled: now,
        }
    }

    /// Adds what `now - refilled` earns, up to the bucket sizes.
    fn refill(&mut self, now: Instant, r: &Rates) {
        let us = i128::from(now.saturating_since(self.refilled).as_micros() as u64);
        if us == 0 {
            return;
        }
        self.refilled = now;
        let earn = |rate: u64| i128::from(rate).saturating_mul(us);
        self.bytes = self
            .bytes
            .saturating_add(earn(r.bytes_per_s))
            .min(i128::from(r.burst_bytes) * UNIT as i128);
        self.messages = self
            .messages
            .saturating_add(earn(r.messages_per_s))
            .min(i128::from(r.burst_messages) * UNIT as i128);
    }

    /// How long from `now` until a new message may start (zero = now); `message` = the
    /// request starts a new message (costs one message token).
    fn wait(&mut self, now: Instant, r: &Rates, message: bool) -> Duration {
        self.refill(now, r);
        let short = |level: i128, need: i128, rate: u64| -> u64 {
            let missing = need.saturating_sub(level);
            if missing <= 0 {
                return 0;
            }
            // Microseconds at `rate` tokens per second: missing / rate (units are µs·token/s).
            let rate = i128::from(rate.max(1));
            u64::try_from((missing + rate - 1) / rate).unwrap_or(u64::MAX)
        };
        let bytes = short(self.bytes, 0, r.bytes_per_s);
        let messages = match message {
            true => short(self.messages, UNIT as i128, r.messages_per_s),
            false => 0,
        };
        Duration::from_micros(bytes.max(messages))
    }

    /// Takes one message token.
    fn charge_message(&mut self) {
        self.messages -= UNIT as i128;
    }

    /// Takes `n` byte tokens (the level may go below zero).
    pub(super) fn charge_bytes(&mut self, n: u64) {
        self.bytes = self
            .bytes
            .saturating_sub(i128::from(n).saturating_mul(UNIT as i128));
    }
}

/// The longest path the switch answers from for its own sessions
/// (`msrp://[IPv6]:port/<session id>;tcp`).
const OWN_PATH_BYTES: usize = 128;

/// An upper bound of the bytes the answers to request `head` take in the control ring: its
/// response (the longest status comment) and, for a SEND asking for one, its success
/// REPORT (which may carry the CPIM From and To of a private message).
pub(super) fn answer_bound(head: &Head<'_>, max_uri_bytes: usize) -> usize {
    let len = |s: Option<&str>| s.map_or(0, str::len);
    let from = len(head.headers.from_path);
    // The switch answers from the session's path, which the To-Path names (the same
    // string, or its session id under our own address: under OWN_PATH_BYTES), or from
    // the request's To-Path, or from the anonymous path of the switch.
    let own = len(head.headers.to_path).max(OWN_PATH_BYTES);
    let response = 2 * head.tid.len() + from + own + 128;
    let report = match head.method() {
        Some(Method::Send) if head.headers.success_report.is_some() => {
            2 * COPY_TID_LEN + from + own + len(head.headers.message_id) + 2 * max_uri_bytes + 384
        }
        _ => 0,
    };
    response + report
}

impl Switch {
    /// The token-bucket settings.
    pub(super) fn rates(&self) -> Rates {
        let l = &self.limits;
        Rates {
            bytes_per_s: l.send_rate_bytes_per_s,
            burst_bytes: l.send_burst_bytes,
            messages_per_s: l.send_rate_messages_per_s,
            burst_messages: l.send_burst_messages,
        }
    }

    /// Whether the request whose header block `head` just completed on `ci` may be handled
    /// now. If not, `ci`'s input pauses there (`Pause`): the framer keeps the header block
    /// and the shell stops reading until `SwitchEvent::Resume`. Charges the sender's
    /// message token when it may.
    pub(super) fn admit_request(&mut self, now: Instant, ci: MsrpConnId, head: &Head<'_>) -> bool {
        let need = answer_bound(head, self.limits.max_uri_bytes);
        let Some(c) = self.conns.get_mut(ci.0) else {
            return true;
        };
        // An answer larger than the whole ring waits for an empty ring (and is then
        // dropped if it still does not fit, see `control_write`).
        let need = need.min(c.control.capacity());
        if c.control.free() < need {
            c.pause = Some(Pause::Ring { need });
            return false;
        }
        let sender = match (head.method(), head.headers.to_path) {
            (Some(Method::Send), Some(to)) => self.bound_sender(ci, to),
            _ => None,
        };
        if let Some(pid) = sender {
            let rates = self.rates();
            let message = head
                .byte_range()
                .ok()
                .flatten()
                .is_none_or(|r| r.start == 1);
            let Some(p) = self.parts.get_mut(index_of(pid)).filter(|p| p.id == pid) else {
                return true;
            };
            let wait = p.bucket.wait(now, &rates, message);
            if !wait.is_zero() {
                if let Some(c) = self.conns.get_mut(ci.0) {
                    if c.pause.is_none() {
                        log::debug!(
                            "msrp connection {}: participant {} over its send rate, input \
                             paused {wait:?}",
                            ci.0,
                            pid.0
                        );
                    }
                    c.pause = Some(Pause::Rate { until: now + wait });
                }
                return false;
            }
            if message {
                p.bucket.charge_message();
            }
        }
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.pause = None;
        }
        true
    }

    /// The session of `ci` a SEND to `to_path` belongs to, if bound there (its From-Path is
    /// checked when the request is handled).
    fn bound_sender(&self, ci: MsrpConnId, to_path: &str) -> Option<ParticipantId> {
        let to = to_path.trim();
        let c = self.conns.get(ci.0)?;
        c.sessions.iter().copied().find(|&id| {
            self.parts
                .get(index_of(id))
                .is_some_and(|p| p.id == id && !p.departed && p.path == to)
        })
    }

    /// Body bytes of a SEND from `pid` count against its byte bucket.
    pub(super) fn charge_body(&mut self, pid: Option<ParticipantId>, n: usize) {
        if let Some(p) = pid.and_then(|id| self.parts.get_mut(index_of(id)).filter(|p| p.id == id))
        {
            p.bucket.charge_bytes(n as u64);
        }
    }

    /// After control-ring output of `ci` was written: a connection paused for ring room
    /// that has it now is told to read again (once).
    pub(super) fn resume_if_room(&mut self, ci: MsrpConnId) {
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        if let Some(Pause::Ring { need }) = c.pause {
            if c.control.free() >= need && !c.closing {
                c.pause = None;
                self.events.push_back(SwitchEvent::Resume(ci));
            }
        }
    }

    /// Starts the stall clock of every connection whose output became pending during the
    /// call that handed in `now` (the queueing paths do not carry the time). A connection
    /// the switch is still dialing has no window yet: `msrp_bind_timeout_ms` covers it.
    pub(super) fn stamp_stalls(&mut self, now: Instant) {
        for (_, c) in self.conns.iter_mut() {
            let up = c.dialed.as_ref().is_none_or(|d| d.connected);
            if up && c.current.is_some() && c.stalled_since.is_none() {
                c.stalled_since = Some(now);
            }
        }
    }

    /// The earliest rate pause that ends, and the earliest write stall that is due.
    pub(super) fn next_flow_deadline(&self) -> Option<Instant> {
        let stall = Duration::from_millis(self.limits.write_stall_timeout_ms);
        self.conns
            .iter()
            .filter(|(_, c)| !c.closing)
            .flat_map(|(_, c)| {
                let rate = match c.pause {
                    Some(Pause::Rate { until }) => Some(until),
                    _ => None,
                };
                [rate, c.stalled_since.map(|t| t + stall)]
            })
            .flatten()
            .min()
    }

    /// Rate pauses that ended by `now` are told to read again; connections whose output
    /// made no progress for `write_stall_timeout_ms` are closed (peer not reading).
    pub(super) fn run_flow_timers(&mut self, now: Instant) {
        let stall = Duration::from_millis(self.limits.write_stall_timeout_ms);
        let mut resumed = Vec::new();
        let mut stalled = Vec::new();
        for (i, c) in self.conns.iter_mut() {
            if c.closing {
                continue;
            }
            if let Some(Pause::Rate { until }) = c.pause {
                if until <= now {
                    c.pause = None;
                    resumed.push(MsrpConnId(i));
                }
            }
            if c.stalled_since.is_some_and(|t| t + stall <= now) {
                stalled.push(MsrpConnId(i));
            }
        }
        for ci in resumed {
            self.events.push_back(SwitchEvent::Resume(ci));
        }
        for ci in stalled {
            log::warn!(
                "msrp connection {}: peer not reading (nothing written for {} ms, its TCP \
                 window stayed closed); closing",
                ci.0,
                self.limits.write_stall_timeout_ms
            );
            self.close_conn(ci, "peer not reading (write_stall_timeout_ms)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::msrp::{
        emit_response, encoded_len, response_to_path, ByteRange, Event, Framer, Request, Response,
        StatusHeader,
    };

    // The bound covers the longest response the switch writes (its longest comment, from
    // the longest own path) and a private message's success REPORT with the longest URIs.
    #[test]
    fn the_answer_bound_covers_the_longest_answers() {
        let uri = 256;
        let long = |c: char| format!("msrp://{}/{};tcp", "h".repeat(40), c.to_string().repeat(30));
        let (to, from) = (long('t'), long('f'));
        let text = format!(
            "MSRP {0} SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nMessage-ID: {1}\r\n\
             Success-Report: yes\r\nByte-Range: 1-5/5\r\nContent-Type: message/cpim\r\n\r\n\
             hello\r\n-------{0}$\r\n",
            "t".repeat(32),
            "m".repeat(32)
        );
        let mut framer = Framer::new(4096, 48);
        let Ok((_, Some(Event::Head(head)))) = framer.push(text.as_bytes()) else {
            panic!("a head");
        };
        let bound = answer_bound(&head, uri);
        let own = "o".repeat(OWN_PATH_BYTES);
        let resp = Response {
            tid: head.tid,
            code: 404,
            comment: "Failure to resolve recipient's URI",
            to_path: response_to_path(Method::Send, &from),
            from_path: &own,
        };
        let response = encoded_len(|c| emit_response(c, &resp));
        let tid = "r".repeat(COPY_TID_LEN);
        let mut rep = Request::new(&tid, "REPORT", &from, &own);
        rep.message_id = head.headers.message_id;
        rep.byte_range = Some(ByteRange {
            start: u64::MAX / 2,
            end: Some(u64::MAX / 2),
            total: Some(u64::MAX / 2),
        });
        rep.status = Some(StatusHeader {
            namespace: 0,
            code: 200,
            comment: Some("OK"),
        });
        let (a, b) = ("a".repeat(uri), "b".repeat(uri));
        let report =
            encoded_len(|c| super::super::reports::emit_report(c, &rep, Some((&a, &b)), 200));
        assert!(
            response + report <= bound,
            "{response} + {report} > {bound}"
        );
    }
}
