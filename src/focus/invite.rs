//! Joining a room by INVITE (RFC 3261 §13.3 UAS INVITE processing, §17.2.1 100 Trying;
//! RFC 4579 isfocus Contact; RFC 7701 §5.2 admission through the switch): the Request-URI
//! names the room, the offer is checked, the switch admits, the 2xx carries the answer and
//! waits for its ACK (re-INVITEs get the answer to their offer). An offerless INVITE
//! (RFC 3264 via RFC 3261 §13.2.1, IMPL-25) gets the focus's offer in the 2xx and its ACK
//! must bring the answer, else BYE. Privacy (RFC 7701 §5.2, RFC 3323): the anonymous URI.

use ::core::net::IpAddr;

use crate::admission::{Aor, ANONYMOUS_HOST};
use crate::conference::{Conference, JoinRequest, SessionUpdate};
use crate::rand::{fill_ident, Entropy};
use crate::time::Instant;
use crate::wire::sdp::MsrpMedia;
use crate::wire::sip::{HeaderName, Headers, Message, RequestLine, SipUri};

use super::dialog::{AckWait, Declared, Dialog, Member};
use super::offer_answer::{
    answer_for, caps_of, check_answer, check_connect_target, check_offer, offer_for,
    switch_connects, AnswerBasis, Refusal,
};
use super::reply::{Pending, Reply, ALLOW};
use super::transaction::{lifetime, Retransmit, ServerState, ServerTx, TxKey};
use super::{remote_target_of, DialogId, Focus, SipTransport, Source};

impl Focus {
    /// Creates the INVITE server transaction in Proceeding and sends 100 Trying (no To-tag,
    /// RFC 3261 §8.2.6.1). Returns the transaction's slot.
    pub(super) fn invite_received(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        src: Source,
        key: TxKey,
        h: &Headers<'_>,
        request: &[u8],
    ) -> usize {
        let trying = self.respond(src, h, 100, "Trying", None, &[], b"");
        let to_tag = self.new_tag(entropy);
        self.txs.servers.insert(ServerTx {
            key,
            source: src,
            state: ServerState::Proceeding,
            response: trying,
            request: request.to_vec(),
            to_tag,
            dialog: None,
            retransmit: None,
            expires: now + lifetime(&self.config.limits),
        })
    }

    /// The room named by a Request-URI: user part, with the host being the configured
    /// domain or the SIP listen IP (and the port, if given, the listen port).
    pub(super) fn room_of<'u>(&self, uri: &SipUri<'u>) -> Option<&'u str> {
        let local = self.config.sip_local;
        let host = uri.host.trim_start_matches('[').trim_end_matches(']');
        let host_ok = host.eq_ignore_ascii_case(&self.config.domain)
            || host.parse::<IpAddr>().is_ok_and(|ip| ip == local.ip());
        let port_ok = uri.port.is_none_or(|p| p == local.port());
        uri.user.filter(|u| !u.is_empty() && host_ok && port_ok)
    }

    /// The room a Request-URI names, if it exists (or a join would create it ad hoc).
    pub(super) fn existing_room<'u>(&self, conf: &dyn Conference, uri: &'u str) -> Option<&'u str> {
        SipUri::parse(uri)
            .ok()
            .and_then(|u| self.room_of(&u))
            .filter(|r| conf.room_policy(r).is_some())
    }

    fn refuse(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        h: &Headers<'_>,
        r: Refusal,
    ) {
        let warning = r
            .warning
            .map(|(code, text)| format!("{code} {} \"{text}\"", self.config.sip_local));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(w) = warning.as_deref() {
            headers.push(("Warning", w));
        }
        if r.accept_sdp {
            headers.push(("Accept", "application/sdp"));
        }
        let reply = Reply {
            code: r.code,
            reason: r.reason,
            headers: &headers,
            body: b"",
        };
        self.finish(now, entropy, src, pending, h, reply);
    }

    /// An initial INVITE: admit the participant into the room and answer its offer.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn admit(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        rl: RequestLine<'_>,
        msg: &Message<'_>,
        user: Option<&Aor>,
    ) {
        let h = &msg.headers;
        let Some(room) = self.existing_room(conf, rl.uri) else {
            self.finish(now, entropy, src, pending, h, Reply::bare(404, "Not Found"));
            return;
        };
        // RFC 7701 §5.2: admission is local policy (R7701-5.2-a).
        if !self.allowed_in(room, user, h) {
            return self.finish(now, entropy, src, pending, h, Reply::bare(403, "Forbidden"));
        }
        // IMPL-25: no body = no offer; the focus offers in the 200, the answer comes in
        // the ACK (RFC 3264 §5 as used by RFC 3261 §13.2.1).
        let offer = if msg.body.is_empty() {
            None
        } else {
            match check_offer(
                h.get(HeaderName::ContentType),
                msg.body,
                &self.config.limits,
            ) {
                Ok(m) => Some(m),
                Err(r) => return self.refuse(now, entropy, src, pending, h, r),
            }
        };
        let (Ok(from), Ok(call_id), Ok(cseq)) = (h.from(), h.call_id(), h.cseq()) else {
            return;
        };
        let unknown = MsrpMedia::unknown();
        let media = offer.as_ref().map_or(&unknown, |o| &o.media);
        if let Err(r) = check_connect_target(media, src.addr.ip()) {
            return self.refuse(now, entropy, src, pending, h, r);
        }
        let identity = anonymous_identity(h, from.uri, entropy);
        let minted = identity.as_ref().is_some_and(|(_, minted)| *minted);
        let anonymous = identity.map(|(uri, _)| uri);
        let (uri, display_name) = match &anonymous {
            Some(anon) => (anon.as_str(), ""),
            None => (from.uri, &*from.display_name),
        };
        let req = JoinRequest {
            room,
            uri,
            display_name,
            caps: caps_of(media),
            accept_wrapped_types: media.accept_wrapped_types.unwrap_or(""),
            peer_path: media.path.unwrap_or(""),
            peer_max_size: media.max_size,
            switch_connects: switch_connects(media),
            direction: media.direction,
            anonymous: minted,
            source: src.addr.ip(),
        };
        let joined = match conf.join(now, entropy, &req) {
            Ok(j) => j,
            Err(e) => {
                let (code, reason) = e.sip_status();
                log::info!("join of {uri} to {room} from {} refused: {e:?}", src.addr);
                let warning = format!("399 {} \"{}\"", self.config.sip_local, e.warning());
                // Seats and connections of joins that never bind free up by then.
                let retry = (self.config.limits.join_bind_timeout_ms / 1000)
                    .max(1)
                    .to_string();
                let mut headers: Vec<(&str, &str)> = vec![("Warning", &warning)];
                if e.transient() {
                    headers.push(("Retry-After", &retry));
                }
                let reply = Reply {
                    code,
                    reason,
                    headers: &headers,
                    body: b"",
                };
                return self.finish(now, entropy, src, pending, h, reply);
            }
        };
        let mut id_bytes = [0u8; 4];
        entropy.fill(&mut id_bytes);
        let sess_id = u64::from(u32::from_le_bytes(id_bytes));
        let basis = AnswerBasis {
            path: joined.path.clone(),
            policy: joined.policy,
            sess_id,
            version: sess_id,
        };
        let sdp = match &offer {
            Some(offer) => answer_for(&basis, offer, &self.config.limits),
            None => offer_for(&basis, &self.config.limits),
        };
        let Some(answer) = sdp else {
            log::warn!("switch path {:?} unusable in SDP", joined.path);
            conf.leave(now, joined.id);
            return self.finish(
                now,
                entropy,
                src,
                pending,
                h,
                Reply::bare(500, "Server Internal Error"),
            );
        };
        let Pending::Invite(tx) = pending else {
            return;
        };
        let Some(local_tag) = self.txs.servers.get(tx).map(|t| t.to_tag.clone()) else {
            return;
        };
        let contact = self.focus_contact(room, src.transport);
        let remote_target = remote_target_of(h, from.uri);
        self.joins += 1;
        let member = Member {
            room: room.to_owned(),
            user: uri.to_owned(),
            display: display_name.to_owned(),
            // An anonymous user's Contact may name it: the roster shows the anonymous URI.
            endpoint: anonymous.clone().unwrap_or_else(|| remote_target.clone()),
            seq: self.joins,
        };
        let declared = Declared {
            caps: req.caps,
            accept_wrapped_types: req.accept_wrapped_types.to_owned(),
            max_size: req.peer_max_size,
            direction: req.direction,
        };
        let dialog = Dialog {
            call_id: call_id.to_owned(),
            remote_tag: from.tag().unwrap_or_default().to_owned(),
            local_tag,
            local: h.get(HeaderName::To).unwrap_or_default().to_owned(),
            remote: h.get(HeaderName::From).unwrap_or_default().to_owned(),
            remote_target,
            transport: Some(src.transport),
            participant: joined.id,
            local_cseq: cseq.seq,
            answer,
            basis,
            awaiting_answer: offer.is_none(),
            contact,
            ack_wait: None,
            proven: !matches!(src.transport, SipTransport::Udp(_)),
            member,
            declared,
        };
        self.mark_user_changed(room, uri);
        let id = DialogId(self.dialogs.slab.insert(dialog));
        if let Some(t) = self.txs.servers.get_mut(tx) {
            t.dialog = Some(id);
        }
        log::info!("{uri} joined {room} as {:?}", joined.id);
        self.answer_in_dialog(now, entropy, src, tx, id, cseq.seq, h);
    }

    /// Sends the dialog's 2xx with its SDP answer and starts waiting for the ACK.
    #[allow(clippy::too_many_arguments)]
    fn answer_in_dialog(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        src: Source,
        tx: usize,
        id: DialogId,
        cseq: u32,
        h: &Headers<'_>,
    ) {
        let Some(d) = self.dialogs.slab.get(id.0) else {
            return;
        };
        let (contact, answer) = (d.contact.clone(), d.answer.clone());
        let headers = [
            ("Contact", contact.as_str()),
            ("Allow", ALLOW),
            ("Content-Type", "application/sdp"),
        ];
        let reply = Reply {
            code: 200,
            reason: "OK",
            headers: &headers,
            body: &answer,
        };
        self.finish(now, entropy, src, Pending::Invite(tx), h, reply);
        let limits = &self.config.limits;
        let response = self
            .txs
            .servers
            .get(tx)
            .map(|t| t.response.clone())
            .unwrap_or_default();
        if let Some(d) = self.dialogs.slab.get_mut(id.0) {
            d.ack_wait = Some(AckWait {
                cseq,
                response,
                retransmit: match src.transport {
                    SipTransport::Udp(_) => Retransmit::for_peer(now, limits, d.proven),
                    SipTransport::Tcp(_) => None,
                },
                give_up: now + lifetime(limits),
            });
        }
    }

    /// The ACK of a 2xx that carried the focus's offer (IMPL-25): its answer completes
    /// the participant's session in the switch; an unusable one (or none) ends the dialog
    /// with BYE.
    pub(super) fn ack_answer(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        id: DialogId,
        msg: &Message<'_>,
    ) {
        let content_type = msg.headers.get(HeaderName::ContentType);
        let Some(d) = self.dialogs.slab.get_mut(id.0) else {
            return;
        };
        d.awaiting_answer = false;
        match check_answer(content_type, msg.body, &self.config.limits) {
            Ok(media) => {
                let declared = Declared {
                    caps: caps_of(&media),
                    accept_wrapped_types: media.accept_wrapped_types.unwrap_or("").to_owned(),
                    max_size: media.max_size,
                    direction: media.direction,
                };
                let update = SessionUpdate {
                    caps: declared.caps,
                    accept_wrapped_types: &declared.accept_wrapped_types,
                    peer_max_size: declared.max_size,
                    direction: declared.direction,
                    peer_path: media.path,
                };
                conf.update(now, d.participant, &update);
                log::debug!("call {}: answer in the ACK accepted", d.call_id);
                d.declared = declared;
            }
            Err(why) => {
                log::info!("call {}: {why}; ending it with BYE", d.call_id);
                conf.leave(now, d.participant);
                self.end_dialog_with_bye(now, entropy, id);
            }
        }
    }

    /// A re-INVITE: the answer to the new offer (RFC 3264 §8: same o= version when it is
    /// byte-for-byte the previous one, else the next); a change of `a=chatroom`,
    /// accept-wrapped-types, max-size or direction is passed to the switch (RFC 7701 §8,
    /// IMPL-3, IMPL-6).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reinvite(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        to_tag: &str,
        msg: &Message<'_>,
    ) {
        let h = &msg.headers;
        let (Ok(from), Ok(call_id), Ok(cseq)) = (h.from(), h.call_id(), h.cseq()) else {
            return;
        };
        let from_tag = from.tag().unwrap_or_default();
        let Some(id) = self.dialogs.find(call_id, from_tag, to_tag) else {
            let reply = Reply::bare(481, "Call/Transaction Does Not Exist");
            return self.finish(now, entropy, src, pending, h, reply);
        };
        let offer = match check_offer(
            h.get(HeaderName::ContentType),
            msg.body,
            &self.config.limits,
        ) {
            Ok(m) => m,
            Err(r) => return self.refuse(now, entropy, src, pending, h, r),
        };
        let media = &offer.media;
        let declared = Declared {
            caps: caps_of(media),
            accept_wrapped_types: media.accept_wrapped_types.unwrap_or("").to_owned(),
            max_size: media.max_size,
            direction: media.direction,
        };
        let limits = &self.config.limits;
        if let Some(d) = self.dialogs.slab.get_mut(id.0) {
            if let Some(answer) = answer_for(&d.basis, &offer, limits) {
                if answer != d.answer {
                    d.basis.version = d.basis.version.wrapping_add(1);
                    d.answer = answer_for(&d.basis, &offer, limits).unwrap_or(answer);
                }
            }
            if d.declared != declared {
                log::info!("re-INVITE of {:?} changes {:?}", d.participant, declared);
                conf.update(
                    now,
                    d.participant,
                    &SessionUpdate {
                        caps: declared.caps,
                        accept_wrapped_types: &declared.accept_wrapped_types,
                        peer_max_size: declared.max_size,
                        direction: declared.direction,
                        peer_path: None,
                    },
                );
                d.declared = declared;
            }
        }
        let Pending::Invite(tx) = pending else {
            return;
        };
        if let Some(t) = self.txs.servers.get_mut(tx) {
            t.dialog = Some(id);
        }
        self.answer_in_dialog(now, entropy, src, tx, id, cseq.seq, h);
    }
}

/// Random characters in an anonymous URI: 14 alphanumerics carry ≥ 80 bits (`fill_ident`).
const ANONYMOUS_CHARS: usize = 14;

/// The anonymous URI a joiner takes part under, if it wants privacy (RFC 7701 §5.2, §6.1;
/// RFC 3323 `Privacy: id`/`user`/`header`, RFC 3325 `id`, or an anonymous From, RFC 3323
/// §4.1.1.3), and whether the focus minted it (so the participant must be told, see
/// `JoinRequest::anonymous`). A From that is already a unique `anonymous.invalid` URI (not
/// the generic `sip:anonymous@anonymous.invalid`) is used as is, so the client knows its
/// CPIM From, unless `Privacy: user` asks the focus to replace what the user inserted.
fn anonymous_identity(
    h: &Headers<'_>,
    from_uri: &str,
    entropy: &mut dyn Entropy,
) -> Option<(String, bool)> {
    let tokens = || {
        h.get_all(HeaderName::Other("Privacy"))
            .flat_map(|v| v.split([';', ',']))
            .map(str::trim)
    };
    let asked = tokens().any(|t| {
        ["id", "user", "header"]
            .iter()
            .any(|p| t.eq_ignore_ascii_case(p))
    });
    let user_level = tokens().any(|t| t.eq_ignore_ascii_case("user"));
    let from = SipUri::parse(from_uri).ok();
    let anonymous_host = from
        .as_ref()
        .is_some_and(|u| u.host.eq_ignore_ascii_case(ANONYMOUS_HOST));
    let user = from.as_ref().and_then(|u| u.user).unwrap_or_default();
    let generic = user.eq_ignore_ascii_case("anonymous");
    if anonymous_host && !user.is_empty() && !generic && !user_level {
        return Some((from_uri.to_owned(), false));
    }
    (asked || anonymous_host || generic).then(|| (anonymous_uri(entropy), true))
}

/// A fresh anonymous URI `sip:anon-XXXXXXXXXXXXXX@anonymous.invalid`.
fn anonymous_uri(entropy: &mut dyn Entropy) -> String {
    let mut buf = [0u8; ANONYMOUS_CHARS];
    fill_ident(entropy, &mut buf);
    format!(
        "sip:anon-{}@{ANONYMOUS_HOST}",
        String::from_utf8_lossy(&buf)
    )
}
