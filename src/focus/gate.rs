//! The focus's door for dialog-creating requests (RFC 3261 §22 digest authentication,
//! §21.4.2/§21.4.4 401 and 403; RFC 7701 §5.2 admission by local policy; RFC 3323 anonymous
//! From): checks a request against the configured `Admission` data and the digest
//! [`Authenticator`], and sends the challenge or the refusal.

use crate::admission::{Aor, ANONYMOUS_HOST};
use crate::rand::Entropy;
use crate::time::Instant;
use crate::wire::sip::{HeaderName, Headers, RequestLine};

use super::auth::{AuthFailure, Authenticator};
use super::reply::{Pending, Reply};
use super::{Focus, Source};

/// Why a dialog-creating request is not let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gate {
    /// 401 with both digest challenges (`stale=true` if only the nonce was too old).
    Challenge { stale: bool },
    /// 403: authenticated as someone other than the From, or not on the allow list.
    Forbidden,
}

impl Focus {
    /// Digest check of an INVITE or SUBSCRIBE that opens a dialog (RFC 3261 §22.4):
    /// `Ok(None)` when no users are configured (rooms open to everyone), `Ok(Some(user))`
    /// when its Authorization proves `user` and its From names that user (or is an
    /// anonymous URI, RFC 3323: the privacy the user asked for).
    pub(super) fn authenticate(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        rl: RequestLine<'_>,
        h: &Headers<'_>,
    ) -> Result<Option<Aor>, Gate> {
        if !self.config.admission.authenticates() {
            return Ok(None);
        }
        let limits = &self.config.limits;
        let auth = self
            .auth
            .get_or_insert_with(|| Authenticator::new(entropy, limits));
        let mut values = h.get_all(HeaderName::Other("Authorization"));
        let method = rl.method.as_str();
        match auth.check(
            now,
            limits,
            &self.config.admission,
            method,
            rl.uri,
            &mut values,
        ) {
            Ok(user) => {
                let from = h.from().ok().and_then(|f| Aor::parse(f.uri));
                let anonymous = from.as_ref().is_some_and(|f| f.host == ANONYMOUS_HOST);
                if from.as_ref() == Some(&user) || anonymous {
                    Ok(Some(user))
                } else {
                    log::info!("{method} authenticated as {user} but From is another URI: 403");
                    Err(Gate::Forbidden)
                }
            }
            Err(AuthFailure::Stale) => Err(Gate::Challenge { stale: true }),
            Err(why) => {
                log::debug!("{method} to {} not authenticated: {why:?}", rl.uri);
                Err(Gate::Challenge { stale: false })
            }
        }
    }

    /// True if the allow list of `room` admits the requester: the authenticated user, or
    /// (no authentication configured) the From URI.
    pub(super) fn allowed_in(&self, room: &str, user: Option<&Aor>, h: &Headers<'_>) -> bool {
        let from;
        let who = match user {
            Some(u) => Some(u),
            None => {
                from = h.from().ok().and_then(|f| Aor::parse(f.uri));
                from.as_ref()
            }
        };
        let ok = self.config.admission.admits(room, who);
        if !ok {
            let shown = who.map_or_else(|| "a URI without user".to_string(), Aor::to_string);
            log::info!("{shown} is not on the allow list of room {room}: 403");
        }
        ok
    }

    /// Sends the 401 (two challenges: SHA-256, then MD5, RFC 8760 §2.4) or the 403.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn refuse_admission(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        h: &Headers<'_>,
        gate: Gate,
    ) {
        let stale = match gate {
            Gate::Forbidden => {
                return self.finish(now, entropy, src, pending, h, Reply::bare(403, "Forbidden"))
            }
            Gate::Challenge { stale } => stale,
        };
        let limits = &self.config.limits;
        let auth = self
            .auth
            .get_or_insert_with(|| Authenticator::new(entropy, limits));
        let [sha, md5] = auth.challenges(now, entropy, &self.config.admission.realm, stale);
        let headers = [
            ("WWW-Authenticate", sha.as_str()),
            ("WWW-Authenticate", md5.as_str()),
        ];
        let reply = Reply {
            code: 401,
            reason: "Unauthorized",
            headers: &headers,
            body: b"",
        };
        self.finish(now, entropy, src, pending, h, reply);
    }
}
