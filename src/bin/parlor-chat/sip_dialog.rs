//! The chat client's SIP side (RFC 3261 §13 INVITE/ACK, §15 BYE, §8.2.6 responses; RFC 4975
//! §8 + RFC 7701 §8 SDP offer), built on the crate's own codecs: `wire::sip` parses and
//! emits every message, `wire::sdp` writes the offer and reads the answer's `a=path`.
//! A 401 is answered with digest credentials (RFC 3261 §22.2, RFC 7616 qop=auth, RFC 8760
//! SHA-256 preferred over MD5).

use std::net::SocketAddr;

use parlor::focus::auth::{self, Algorithm, ResponseInput};
use parlor::limits::Limits;
use parlor::wire::sdp::{self, SessionDescription};
use parlor::wire::sip::{self, CSeq, HeaderName, NameAddr, OutgoingRequest, SipLimits};

/// What the client needs of one SIP message, owned (the parse is a view into `raw`).
#[derive(Clone, Debug)]
pub struct SipMessage {
    pub raw: Vec<u8>,
    /// `(code, reason)` of a response.
    pub status: Option<(u16, String)>,
    /// Method of a request.
    pub method: Option<String>,
    pub cseq_method: Option<String>,
    /// The CSeq number.
    pub cseq_seq: Option<u32>,
    pub to_tag: Option<String>,
    /// The Contact URI.
    pub contact: Option<String>,
    pub call_id: Option<String>,
    /// What the Reason header says (RFC 3326), e.g. on a BYE.
    pub reason: Option<String>,
    /// The text of the first Warning header (RFC 3261 §20.43), e.g. why an offer failed.
    pub warning: Option<String>,
    /// Retry-After in seconds (RFC 3261 §20.33).
    pub retry_after: Option<u32>,
    pub body: Vec<u8>,
}

/// The parser's bounds: the server's default limits are generous for a client.
pub fn sip_limits() -> SipLimits {
    SipLimits::from(&Limits::default())
}

impl SipMessage {
    /// Parses one whole message; `None` if `wire::sip` refuses it.
    pub fn parse(raw: &[u8]) -> Option<SipMessage> {
        let msg = sip::parse(raw, &sip_limits()).ok()?;
        let h = &msg.headers;
        Some(SipMessage {
            raw: raw.to_vec(),
            status: msg.status().map(|s| (s.code, s.reason.to_string())),
            method: msg.request().map(|r| r.method.as_str().to_string()),
            cseq_method: h
                .get(HeaderName::CSeq)
                .and_then(|v| CSeq::parse(v).ok())
                .map(|c| c.method.as_str().to_string()),
            cseq_seq: h
                .get(HeaderName::CSeq)
                .and_then(|v| CSeq::parse(v).ok())
                .map(|c| c.seq),
            to_tag: h.to().ok().and_then(|t| t.tag().map(str::to_string)),
            contact: h
                .get(HeaderName::Contact)
                .and_then(|v| NameAddr::parse(v).ok())
                .map(|c| c.uri.to_string()),
            call_id: h.call_id().ok().map(str::to_string),
            reason: h.get(HeaderName::Other("Reason")).map(reason_text),
            warning: h.get(HeaderName::Other("Warning")).map(warning_text),
            retry_after: h.get(HeaderName::Other("Retry-After")).and_then(|v| {
                let digits = v.trim_start();
                let end = digits
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(digits.len());
                digits.get(..end)?.parse().ok()
            }),
            body: msg.body.to_vec(),
        })
    }

    /// The rightmost-session `a=path` of the SDP answer in the body.
    pub fn answer_path(&self) -> Option<String> {
        let sdp = SessionDescription::parse(&self.body, Limits::default().max_sdp_bytes).ok()?;
        sdp.msrp_media()?.path.map(str::to_string)
    }

    /// The WWW-Authenticate values of a 401, in order.
    pub fn challenges(&self) -> Vec<String> {
        match sip::parse(&self.raw, &sip_limits()) {
            Ok(msg) => msg
                .headers
                .get_all(HeaderName::Other("WWW-Authenticate"))
                .map(str::to_string)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A response to this request (RFC 3261 §8.2.6: Via, From, To, Call-ID, CSeq copied).
    pub fn response(&self, code: u16, reason: &str) -> Vec<u8> {
        match sip::parse(&self.raw, &sip_limits()) {
            Ok(req) => sip::emit_response(
                &req.headers,
                None,
                &sip::Response {
                    code,
                    reason,
                    to_tag: None,
                    headers: &[],
                    body: b"",
                },
            ),
            Err(_) => Vec::new(),
        }
    }
}

/// The text of a Reason value (RFC 3326 §2: `protocol ;cause=N ;text="…"`): its `text`
/// parameter unquoted, else the value as written.
pub fn reason_text(value: &str) -> String {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = 0;
    let mut params = Vec::new();
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => {
                params.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    params.push(value.get(start..).unwrap_or_default());
    let text = params.iter().skip(1).find_map(|p| {
        let (name, v) = p.split_once('=')?;
        name.trim().eq_ignore_ascii_case("text").then(|| v.trim())
    });
    match text {
        Some(quoted) if quoted.starts_with('"') => unquote(quoted.get(1..).unwrap_or_default()),
        Some(token) => token.to_string(),
        None => value.trim().to_string(),
    }
}

/// The warn-text of a Warning value (RFC 3261 §20.43: `code agent "text"`), unquoted; the
/// value as written when it has no quoted text.
pub fn warning_text(value: &str) -> String {
    let Some(open) = value.find('"') else {
        return value.trim().to_string();
    };
    unquote(value.get(open + 1..).unwrap_or_default())
}

/// The text of a quoted-string whose opening quote is already consumed: up to the closing
/// quote, `\` escapes undone (RFC 3261 §25.1).
fn unquote(after_quote: &str) -> String {
    let mut out = String::new();
    let mut chars = after_quote.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Our side of the dialog with the room's focus.
pub struct Dialog {
    pub room: String,
    pub me: String,
    pub display: String,
    pub local: SocketAddr,
    pub transport: &'static str,
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: Option<String>,
    pub remote_target: String,
    pub cseq: u32,
    pub invite_branch: String,
    /// CSeq of the (latest) INVITE: 1, then one more per authenticated retry.
    pub invite_cseq: u32,
    /// The Authorization value the INVITE carries after a 401.
    pub authorization: Option<String>,
}

/// What answering a digest challenge needs.
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// One challenge chosen from a 401: SHA-256 if offered, else MD5 (RFC 8760 §2.4); whether
/// it says `stale=true`.
pub struct Challenge {
    pub algorithm: Algorithm,
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub stale: bool,
}

impl Challenge {
    /// The preferred usable challenge among WWW-Authenticate values.
    pub fn choose(values: &[String]) -> Option<Challenge> {
        let parsed: Vec<Challenge> = values
            .iter()
            .filter_map(|v| {
                let p = sip::DigestParams::parse(v)?;
                let algorithm = match p.get("algorithm") {
                    None => Algorithm::Md5,
                    Some(t) => Algorithm::from_token(t)?,
                };
                let qop_auth = p
                    .get("qop")
                    .is_some_and(|q| q.split(',').any(|t| t.trim() == "auth"));
                qop_auth.then(|| Challenge {
                    algorithm,
                    realm: p.get("realm").unwrap_or_default().to_string(),
                    nonce: p.get("nonce").unwrap_or_default().to_string(),
                    opaque: p.get("opaque").map(str::to_string),
                    stale: p
                        .get("stale")
                        .is_some_and(|s| s.eq_ignore_ascii_case("true")),
                })
            })
            .collect();
        let pick = |alg| parsed.iter().position(|c: &Challenge| c.algorithm == alg);
        let i = pick(Algorithm::Sha256).or_else(|| pick(Algorithm::Md5))?;
        parsed.into_iter().nth(i)
    }

    /// The Authorization value for `method` to `uri` (nonce-count 1: every retry uses the
    /// fresh nonce of its 401).
    pub fn authorization(
        &self,
        who: &Credentials,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        let ha1 = auth::ha1(self.algorithm, &who.username, &self.realm, &who.password);
        let nc = "00000001";
        let input = ResponseInput {
            nonce: &self.nonce,
            nc,
            cnonce,
            method,
            uri,
        };
        let response = auth::response(self.algorithm, &ha1, &input);
        let mut v = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, algorithm={}, qop=auth, nc={nc}, cnonce={}, response=\"{response}\"",
            sip::quote(&who.username),
            sip::quote(&self.realm),
            sip::quote(&self.nonce),
            sip::quote(uri),
            self.algorithm.token(),
            sip::quote(cnonce),
        );
        if let Some(opaque) = &self.opaque {
            v.push_str(&format!(", opaque={}", sip::quote(opaque)));
        }
        v
    }
}

impl Dialog {
    /// The INVITE carrying an SDP offer for an active MSRP endpoint at `local_path`. The
    /// offer has the same attribute layout as the focus's answer, so `wire::sdp`'s
    /// emitter writes it.
    pub fn invite(&self, local_path: &str) -> Vec<u8> {
        let address = self.local.ip().to_string();
        let offer = sdp::Answer::chat_client_offer(&address, local_path).emit();
        let user = self.me.split('@').next().unwrap_or(&self.me);
        let contact = format!(
            "<{user}@{};transport={}>",
            self.local,
            self.transport.to_ascii_lowercase()
        );
        let mut headers = vec![
            ("Contact", contact.as_str()),
            ("Content-Type", "application/sdp"),
        ];
        if let Some(authorization) = &self.authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
        self.request(
            "INVITE",
            &self.room,
            self.invite_cseq,
            &self.invite_branch,
            false,
            &headers,
            &offer,
        )
    }

    /// The ACK for the final response (a 2xx gets a new branch, RFC 3261 §13.2.2.4; a
    /// non-2xx reuses the INVITE's, §17.1.1.3).
    pub fn ack(&self, branch: &str) -> Vec<u8> {
        self.request(
            "ACK",
            &self.remote_target,
            self.invite_cseq,
            branch,
            true,
            &[],
            b"",
        )
    }

    /// BYE in the dialog.
    pub fn bye(&self, branch: &str) -> Vec<u8> {
        self.request(
            "BYE",
            &self.remote_target,
            self.cseq,
            branch,
            true,
            &[],
            b"",
        )
    }

    /// A one-time fetch of the roster in the dialog (RFC 6665 §4.4.3: SUBSCRIBE with
    /// `Expires: 0`; RFC 4575 `Event: conference`). The NOTIFY that answers carries it.
    pub fn roster_fetch(&self, branch: &str) -> Vec<u8> {
        self.request(
            "SUBSCRIBE",
            &self.remote_target,
            self.cseq,
            branch,
            true,
            &[
                ("Event", "conference"),
                ("Expires", "0"),
                ("Accept", "application/conference-info+xml"),
            ],
            b"",
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &str,
        uri: &str,
        cseq: u32,
        branch: &str,
        in_dialog: bool,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        let mut to = format!("<{}>", self.room);
        if let (true, Some(tag)) = (in_dialog, &self.to_tag) {
            to.push_str(";tag=");
            to.push_str(tag);
        }
        let from = if self.display.is_empty() {
            format!("<{}>;tag={}", self.me, self.from_tag)
        } else {
            let quoted = self.display.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{quoted}\" <{}>;tag={}", self.me, self.from_tag)
        };
        let sent_by = self.local.to_string();
        sip::emit_request(&OutgoingRequest {
            method,
            uri,
            via_transport: self.transport,
            via_sent_by: &sent_by,
            branch,
            from: &from,
            to: &to,
            call_id: &self.call_id,
            cseq,
            max_forwards: 70,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_text_is_the_text_parameter_unquoted() {
        assert_eq!(
            reason_text("SIP ;cause=200 ;text=\"Room closed; bye \\\"all\\\"\""),
            "Room closed; bye \"all\""
        );
        assert_eq!(reason_text("Q.850;cause=16;text=Normal"), "Normal");
        assert_eq!(reason_text("SIP;cause=503"), "SIP;cause=503");
        assert_eq!(reason_text("SIP;text=\"unterminated"), "unterminated");
    }

    #[test]
    fn warning_text_is_the_quoted_text() {
        assert_eq!(
            warning_text("399 [::1]:5060 \"no MSRP m-line \\\"here\\\"\""),
            "no MSRP m-line \"here\""
        );
        assert_eq!(warning_text("301 host"), "301 host");
    }
}
