//! What the focus does with each inbound SIP message (RFC 3261 §8.2 UAS behaviour, §12
//! dialogs, §17.2.3 transaction matching, §21 status codes; RFC 7701 §5.2 joining a room):
//! dispatch by method, the checks before it (Max-Forwards, Require, Request-URI scheme,
//! capacity), and the final response with its transaction. BYE, ACK, CANCEL and responses
//! are handled in `in_dialog.rs`.

use crate::conference::Conference;
use crate::rand::Entropy;
use crate::time::Instant;
use crate::wire::sip::{
    emit_response, is_keepalive, parse, parse_head, HeaderName, Headers, Message, Method,
    ParseFailure, RequestLine, Response, SipError, SipLimits, SipUri, StartLine, Via, ViaReceived,
};

use super::reply::{Pending, Reply, ALLOW, EVENT_PACKAGE};
use super::transaction::{lifetime, Retransmit, ServerState, ServerTx, TxKey};
use super::{Focus, FocusOutput, SipTransport, Source};

impl Focus {
    /// One whole message from `src`.
    pub(super) fn on_message(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        bytes: &[u8],
    ) {
        if is_keepalive(bytes) {
            return;
        }
        match parse(bytes, &self.sip_limits) {
            Ok(msg) => match msg.start {
                StartLine::Request(rl) => self.on_request(now, conf, entropy, src, rl, &msg, bytes),
                StartLine::Response(sl) => self.on_response(now, conf, sl, &msg.headers),
            },
            Err(failure) if failure.error == SipError::TooLarge => {
                self.reject_unframed(entropy, src, bytes, SipError::TooLarge)
            }
            Err(failure) if failure.error == SipError::TooManyHeaders => {
                self.reject_too_many_headers(entropy, src, bytes)
            }
            Err(failure) => self.on_malformed(entropy, src, failure),
        }
    }

    /// True if a response can be built: Via, From, To, Call-ID and CSeq all parse.
    pub(super) fn answerable(h: &Headers<'_>) -> bool {
        h.top_via().is_ok()
            && h.from().is_ok()
            && h.to().is_ok()
            && h.call_id().is_ok()
            && h.cseq().is_ok()
    }

    /// True if an error response can still be addressed: it has a Via to echo (RFC 3261
    /// §8.2.6.2; it goes back to the source address anyway). From/To/Call-ID/CSeq are copied
    /// when present, so requests missing them still learn why (RFC 4475 §3.3.1, §3.1.2.16).
    pub(super) fn replyable(h: &Headers<'_>) -> bool {
        h.vias().next().is_some()
    }

    /// RFC 4475 §3.3.8 and §3.1.2.1: a single-valued header field given twice, or a Via
    /// element that does not parse, makes the request malformed (400).
    fn malformed_header_set(h: &Headers<'_>) -> bool {
        let single = [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::MaxForwards,
        ];
        single.iter().any(|&n| h.get_all(n).nth(1).is_some())
            || h.vias().any(|v| Via::parse(v).is_err())
    }

    fn on_malformed(&mut self, entropy: &mut dyn Entropy, src: Source, f: ParseFailure<'_>) {
        match (f.method, &f.headers) {
            (Some(m), Some(h)) if m != Method::Ack && Self::replyable(h) => {
                log::debug!("malformed {} request: {:?}", m.as_str(), f.error);
                let (code, reason) = f.error.status();
                let tag = self.new_tag(entropy);
                self.respond(src, h, code, reason, Some(&tag), &[], b"");
            }
            _ => self.log_dropped(&format!("{:?}", f.error)),
        }
    }

    /// Answers a request too large to take or whose body could not be framed (413 / 400)
    /// from its header block alone, if it is an answerable request.
    pub(super) fn reject_unframed(
        &mut self,
        entropy: &mut dyn Entropy,
        src: Source,
        head: &[u8],
        error: SipError,
    ) {
        let Ok(msg) = parse_head(head, &self.sip_limits) else {
            return;
        };
        let Some(rl) = msg.request() else {
            return;
        };
        if rl.method == Method::Ack || !Self::replyable(&msg.headers) {
            return;
        }
        let (code, reason) = error.status();
        let tag = self.new_tag(entropy);
        self.respond(src, &msg.headers, code, reason, Some(&tag), &[], b"");
    }

    /// Answers 400 to a request with more than `max_headers` header fields: its header block
    /// is read once more with a bounded larger table (4 × `max_headers`) only to address the
    /// response; a block beyond even that is dropped (logged once).
    fn reject_too_many_headers(&mut self, entropy: &mut dyn Entropy, src: Source, bytes: &[u8]) {
        let wider = SipLimits {
            max_headers: self.sip_limits.max_headers.saturating_mul(4),
            ..self.sip_limits
        };
        let headers = match parse(bytes, &wider) {
            Ok(msg) => msg.request().map(|rl| (rl.method, msg.headers)),
            Err(f) => f.method.zip(f.headers),
        };
        match headers {
            Some((m, h)) if m != Method::Ack && Self::replyable(&h) => {
                log::debug!("{} request with too many header fields", m.as_str());
                let (code, reason) = SipError::TooManyHeaders.status();
                let tag = self.new_tag(entropy);
                self.respond(src, &h, code, reason, Some(&tag), &[], b"");
            }
            _ => self.log_dropped("TooManyHeaders"),
        }
    }

    /// Sends a response built from `req` to `src` and returns its bytes.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn respond(
        &mut self,
        src: Source,
        req: &Headers<'_>,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        let rx = ViaReceived {
            ip: src.addr.ip(),
            port: src.addr.port(),
        };
        let mut bytes = emit_response(
            req,
            Some(rx),
            &Response {
                code,
                reason,
                to_tag,
                headers,
                body,
            },
        );
        // Kept in a transaction: no spare capacity beyond what `sip_transaction_bytes`
        // counts (the builder grows by doubling).
        bytes.shrink_to_fit();
        self.outputs.push_back(FocusOutput::Send {
            to: src.transport,
            bytes: bytes.clone(),
        });
        bytes
    }

    /// Sends a final response and records it in its transaction (RFC 3261 §17.2.1/§17.2.2).
    pub(super) fn finish(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        req: &Headers<'_>,
        reply: Reply<'_>,
    ) {
        let limits = self.config.limits.clone();
        match pending {
            Pending::NonInvite(_) => {
                let tag = self.new_tag(entropy);
                self.finish_tagged(now, src, pending, req, reply, &tag);
            }
            Pending::Invite(id) => {
                let Some(tx) = self.txs.servers.get(id) else {
                    return;
                };
                let (tag, tx_src) = (tx.to_tag.clone(), tx.source);
                let bytes = self.respond(
                    tx_src,
                    req,
                    reply.code,
                    reply.reason,
                    Some(&tag),
                    reply.headers,
                    reply.body,
                );
                let Some(tx) = self.txs.servers.get_mut(id) else {
                    return;
                };
                // RFC 3261 §17.2.1 / RFC 6026: over TCP nothing is retransmitted, so a
                // final response ends the transaction (timers I and L are zero there).
                if matches!(tx_src.transport, SipTransport::Tcp(_)) {
                    self.txs.servers.remove(id);
                    return;
                }
                tx.response = bytes;
                tx.request = Vec::new();
                tx.expires = now + lifetime(&limits);
                if (200..300).contains(&reply.code) {
                    tx.state = ServerState::Accepted;
                    tx.retransmit = None;
                } else {
                    tx.state = ServerState::Completed;
                    // Before the ACK the address is unproven (issue 15): bounded resends.
                    tx.retransmit = match tx_src.transport {
                        SipTransport::Udp(_) => Retransmit::unproven(now, &limits),
                        SipTransport::Tcp(_) => None,
                    };
                }
            }
        }
    }

    /// Sends a non-INVITE final response with our To-tag `tag` (a dialog's or a new
    /// subscription's) and keeps its transaction over UDP (RFC 3261 §17.2.2).
    pub(super) fn finish_tagged(
        &mut self,
        now: Instant,
        src: Source,
        pending: Pending,
        req: &Headers<'_>,
        reply: Reply<'_>,
        tag: &str,
    ) {
        let Pending::NonInvite(key) = pending else {
            return;
        };
        let bytes = self.respond(
            src,
            req,
            reply.code,
            reply.reason,
            Some(tag),
            reply.headers,
            reply.body,
        );
        let keep =
            matches!(src.transport, SipTransport::Udp(_)) && !self.txs.full(&self.config.limits);
        if keep {
            let expires = now + lifetime(&self.config.limits);
            self.txs.servers.insert(ServerTx {
                key,
                source: src,
                state: ServerState::Completed,
                response: bytes,
                request: Vec::new(),
                to_tag: tag.to_owned(),
                dialog: None,
                retransmit: None,
                expires,
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_request(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        rl: RequestLine<'_>,
        msg: &Message<'_>,
        bytes: &[u8],
    ) {
        let h = &msg.headers;
        let cseq_ok = h.cseq().is_ok_and(|c| c.method == rl.method);
        if !Self::answerable(h) || !cseq_ok || Self::malformed_header_set(h) {
            if rl.method != Method::Ack && Self::replyable(h) {
                let tag = self.new_tag(entropy);
                self.respond(src, h, 400, "Bad Request", Some(&tag), &[], b"");
            } else {
                self.log_dropped("request without usable Via/From/To/Call-ID/CSeq");
            }
            return;
        }
        if rl.method == Method::Ack {
            self.on_ack(now, conf, entropy, msg);
            return;
        }
        let Some(key) = TxKey::of(h, rl.method) else {
            self.log_dropped("no transaction key");
            return;
        };
        if let Some(id) = self.txs.find_server(&key) {
            if let Some(tx) = self.txs.servers.get(id) {
                log::debug!("retransmitted {} absorbed", rl.method.as_str());
                let bytes = tx.response.clone();
                self.outputs.push_back(FocusOutput::Send {
                    to: src.transport,
                    bytes,
                });
            }
            return;
        }
        // A finished transaction only absorbs retransmissions: under pressure the oldest
        // one makes room, so a burst of OPTIONS cannot lock joins out for 64·T1.
        if self.txs.full(&self.config.limits) && !self.txs.evict_oldest_finished() {
            let retry = lifetime(&self.config.limits).as_secs().max(1).to_string();
            let tag = self.new_tag(entropy);
            if self.txs.full_warned {
                log::debug!("transaction table full: 503 to {}", rl.method.as_str());
            } else {
                self.txs.full_warned = true;
                log::warn!(
                    "transaction table full: 503 to {} (further ones logged at debug)",
                    rl.method.as_str()
                );
            }
            self.respond(
                src,
                h,
                503,
                "Service Unavailable",
                Some(&tag),
                &[("Retry-After", &retry)],
                b"",
            );
            return;
        }
        self.txs.full_warned = false;
        if rl.method == Method::Cancel {
            self.on_cancel(now, conf, entropy, src, key, h);
            return;
        }
        let pending = if rl.method == Method::Invite {
            Pending::Invite(self.invite_received(now, entropy, src, key, h, bytes))
        } else {
            Pending::NonInvite(key)
        };
        if let Some(reply) = self.precheck(rl, h) {
            let extra;
            let headers: &[(&str, &str)] = match reply {
                Precheck::Unsupported(tokens) => {
                    extra = [("Unsupported", tokens)];
                    &extra
                }
                _ => &[],
            };
            let (code, reason) = reply.status();
            let r = Reply {
                code,
                reason,
                headers,
                body: b"",
            };
            self.finish(now, entropy, src, pending, h, r);
            return;
        }
        let to_tag = h.to().ok().and_then(|t| t.tag().map(str::to_owned));
        let opening = matches!(
            (rl.method, &to_tag),
            (Method::Invite, None) | (Method::Subscribe, _)
        );
        if self.shutting_down && opening {
            let r = Reply::bare(503, "Service Unavailable");
            return self.finish(now, entropy, src, pending, h, r);
        }
        // RFC 3261 §22: requests that open a dialog prove who they are (R7701-5.2-a).
        let creates_dialog = matches!(
            (rl.method, &to_tag),
            (Method::Invite, None) | (Method::Subscribe, None)
        );
        // Authenticate only what can succeed (issue 15): a dialog with no room behind it is
        // 404 before any challenge, so it neither costs a nonce-table entry nor tells a
        // guesser whether its password was right.
        if creates_dialog && self.existing_room(conf, rl.uri).is_none() {
            return self.finish(now, entropy, src, pending, h, Reply::bare(404, "Not Found"));
        }
        let user = match creates_dialog {
            true => match self.authenticate(now, entropy, rl, h) {
                Ok(user) => user,
                Err(gate) => return self.refuse_admission(now, entropy, src, pending, h, gate),
            },
            false => None,
        };
        match (rl.method, to_tag) {
            (Method::Options, _) => {
                let r = Reply {
                    code: 200,
                    reason: "OK",
                    headers: &[
                        ("Allow", ALLOW),
                        ("Accept", "application/sdp"),
                        ("Allow-Events", EVENT_PACKAGE),
                        // RFC 3261 §11.2, §20.37: no option tags supported (empty list).
                        ("Supported", ""),
                    ],
                    body: b"",
                };
                self.finish(now, entropy, src, pending, h, r);
            }
            (Method::Invite, None) => {
                self.admit(now, conf, entropy, src, pending, rl, msg, user.as_ref())
            }
            (Method::Invite, Some(tag)) => {
                self.reinvite(now, conf, entropy, src, pending, &tag, msg)
            }
            (Method::Bye, tag) => self.bye(now, conf, entropy, src, pending, tag.as_deref(), h),
            (Method::Subscribe, tag) => {
                let uri = rl.uri;
                let user = user.as_ref();
                self.subscribe(
                    now,
                    conf,
                    entropy,
                    src,
                    pending,
                    uri,
                    tag.as_deref(),
                    msg,
                    user,
                )
            }
            (
                Method::Notify
                | Method::Message
                | Method::Register
                | Method::Info
                | Method::Prack
                | Method::Update
                | Method::Refer
                | Method::Publish,
                _,
            ) => {
                let r = Reply {
                    code: 405,
                    reason: "Method Not Allowed",
                    headers: &[("Allow", ALLOW)],
                    body: b"",
                };
                self.finish(now, entropy, src, pending, h, r);
            }
            (Method::Ack | Method::Cancel | Method::Other(_), _) => {
                let r = Reply {
                    code: 501,
                    reason: "Not Implemented",
                    headers: &[("Allow", ALLOW)],
                    body: b"",
                };
                self.finish(now, entropy, src, pending, h, r);
            }
        }
    }

    /// Checks every request passes before its method is looked at.
    fn precheck<'h>(&self, rl: RequestLine<'_>, h: &'h Headers<'_>) -> Option<Precheck<'h>> {
        match SipUri::parse(rl.uri) {
            Err(e) => return Some(Precheck::Malformed(e)),
            Ok(u) if u.secure => return Some(Precheck::Malformed(SipError::UnsupportedScheme)),
            Ok(_) => {}
        }
        match h.max_forwards() {
            Err(e) => return Some(Precheck::Malformed(e)),
            Ok(Some(0)) if rl.method != Method::Options => return Some(Precheck::TooManyHops),
            Ok(_) => {}
        }
        h.get(HeaderName::Require)
            .filter(|v| !v.is_empty())
            .map(Precheck::Unsupported)
    }
}

/// A refusal found before the method is looked at.
enum Precheck<'h> {
    /// Request-URI or Max-Forwards unusable.
    Malformed(SipError),
    /// Max-Forwards 0 → 483.
    TooManyHops,
    /// Require named extensions we lack → 420 with Unsupported.
    Unsupported(&'h str),
}

impl Precheck<'_> {
    fn status(&self) -> (u16, &'static str) {
        match self {
            Precheck::Malformed(e) => e.status(),
            Precheck::TooManyHops => (483, "Too Many Hops"),
            Precheck::Unsupported(_) => (420, "Bad Extension"),
        }
    }
}
