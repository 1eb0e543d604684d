//! SIP digest authentication (RFC 3261 §22.2 and §22.4 as a UAS: 401 + WWW-Authenticate,
//! Authorization checked; RFC 7616 §3.3–§3.4 parameters, qop=auth, nonce-count; RFC 8760
//! SHA-256 preferred, MD5 for old phones): the response computation both ends share, the
//! config lines `parlor hash-password` prints, and the focus's [`Authenticator`].
//!
//! Nonces are stateless and bound to this server: 8 bytes of issue time (ms on the
//! core's clock), 8 random bytes, and the first 16 bytes of HMAC-SHA-256 (RFC 2104) over
//! both under a secret drawn from the entropy source once per process, all hex (64
//! characters). The hashes and the MAC are RustCrypto's `sha2`, `md-5` and `hmac`. A nonce
//! older than `nonce_lifetime_s` is stale (401 `stale=true`). Replays: a table of at most
//! `max_auth_nonces` used nonces with their highest nonce-count; the count must grow.
//! When the table is full the oldest entry goes and every nonce issued no later than it
//! counts as stale, so a forgotten nonce can never be replayed.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::admission::{Admission, Aor};
use crate::limits::Limits;
use crate::rand::Entropy;
use crate::time::Instant;
use crate::wire::sip::{quote, DigestParams};

/// A digest algorithm (RFC 7616 §3.3 `algorithm`; absent means MD5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `SHA-256` (RFC 8760), offered first.
    Sha256,
    /// `MD5` (RFC 2617), offered second.
    Md5,
}

impl Algorithm {
    /// Both, in the order the challenges offer them.
    pub const OFFERED: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

    /// The `algorithm=` token.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        }
    }

    /// The algorithm a token names (case-insensitive); `-sess` variants are not offered.
    pub fn from_token(token: &str) -> Option<Algorithm> {
        Algorithm::OFFERED
            .into_iter()
            .find(|a| a.token().eq_ignore_ascii_case(token))
    }

    /// Lower-case hex of H(data).
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Algorithm::Sha256 => hex(&Sha256::digest(data)),
            Algorithm::Md5 => hex(&Md5::digest(data)),
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

/// HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2), lower-case hex.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// The parts of one qop=auth digest response besides HA1.
#[derive(Clone, Copy, Debug)]
pub struct ResponseInput<'a> {
    pub nonce: &'a str,
    /// 8 hex digits.
    pub nc: &'a str,
    pub cnonce: &'a str,
    /// The request method (`INVITE`, `SUBSCRIBE`).
    pub method: &'a str,
    /// The `uri` parameter (the Request-URI).
    pub uri: &'a str,
}

/// response = KD(HA1, nonce ":" nc ":" cnonce ":" "auth" ":" HA2), HA2 = H(method ":" uri)
/// (RFC 7616 §3.4.1, §3.4.3).
pub fn response(alg: Algorithm, ha1_hex: &str, r: &ResponseInput<'_>) -> String {
    let ha2 = alg.hash_hex(format!("{}:{}", r.method, r.uri).as_bytes());
    let kd = format!("{ha1_hex}:{}:{}:{}:auth:{ha2}", r.nonce, r.nc, r.cnonce);
    alg.hash_hex(kd.as_bytes())
}

/// The config table `parlor hash-password` prints for one user: both HA1s, never the
/// password.
pub fn config_lines(aor: &Aor, username: &str, realm: &str, password: &str) -> String {
    format!(
        "[user.{table}]\nusername = {user}\nrealm = {realm_q}\nha1_sha256 = \"{sha}\"\nha1_md5 = \"{md5}\"\n",
        table = quote(&format!("{}@{}", aor.user, aor.host)),
        user = quote(username),
        realm_q = quote(realm),
        sha = ha1(Algorithm::Sha256, username, realm, password),
        md5 = ha1(Algorithm::Md5, username, realm, password),
    )
}

/// Why a request's credentials did not authenticate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No Authorization for our realm.
    Missing,
    /// Not parseable, or a parameter we require is absent or wrong (qop, algorithm, uri).
    Malformed,
    /// The nonce was not issued by this server (or this process).
    ForeignNonce,
    /// No configured user with that username, or the response does not match.
    WrongCredentials,
    /// Right credentials, but the nonce expired (or was forgotten): `stale=true`.
    Stale,
    /// The nonce-count did not grow: a replay.
    Replayed,
}

/// Bytes of issue time, salt and MAC in a nonce (hex doubles them).
const TIME_BYTES: usize = 8;
const SALT_BYTES: usize = 8;
const MAC_BYTES: usize = 16;
const NONCE_BYTES: usize = TIME_BYTES + SALT_BYTES + MAC_BYTES;

/// One remembered use of a nonce by one user (fits `limits::NONCE_ENTRY_BYTES`).
#[derive(Clone, Copy, Debug)]
struct NonceUse {
    issued_ms: u64,
    salt: [u8; SALT_BYTES],
    /// The user (index into `Admission::users`) whose credentials used it.
    user: u32,
    highest_nc: u32,
}

/// The focus's digest state: the nonce secret and the replay table.
///
/// The table is shared by every user, but each user pays for its own turnover (issue 15):
/// when it is full, the user holding the most entries loses its oldest one, and only that
/// user's nonces issued up to then count as stale. One user authenticating over and over
/// can no longer make everyone else's fresh nonces stale.
pub(crate) struct Authenticator {
    /// HMAC-SHA-256 keyed with the secret, cloned for each MAC (the key's two blocks are
    /// hashed once, not per nonce).
    keyed: Hmac<Sha256>,
    used: Vec<NonceUse>,
    /// Per user (by index): its nonces issued at or before this instant and not in `used`
    /// are stale. As long as the configured user list, so bounded by the config.
    forgotten_up_to_ms: Vec<Option<u64>>,
}

impl Authenticator {
    /// A fresh secret from `entropy`: one HMAC block (64 bytes), a key HMAC uses as it is
    /// (RFC 2104 §2), so keying cannot fail.
    pub fn new(entropy: &mut dyn Entropy, limits: &Limits) -> Self {
        let mut secret = hmac::digest::Key::<Hmac<Sha256>>::default();
        entropy.fill(&mut secret);
        Authenticator {
            keyed: Hmac::new(&secret),
            used: Vec::with_capacity(limits.max_auth_nonces),
            forgotten_up_to_ms: Vec::new(),
        }
    }

    /// The first MAC_BYTES of HMAC-SHA-256(secret, issued ‖ salt) (RFC 2104 §5 truncation).
    fn mac(&self, issued: &[u8], salt: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac = self.keyed.clone();
        mac.update(issued);
        mac.update(salt);
        truncated_mac(mac)
    }

    /// A new nonce issued at `now`.
    pub fn nonce(&self, now: Instant, entropy: &mut dyn Entropy) -> String {
        let issued = (now.as_micros() / 1000).to_be_bytes();
        let mut salt = [0u8; SALT_BYTES];
        entropy.fill(&mut salt);
        let mac = self.mac(&issued, &salt);
        let mut all = Vec::with_capacity(NONCE_BYTES);
        all.extend_from_slice(&issued);
        all.extend_from_slice(&salt);
        all.extend_from_slice(&mac);
        hex(&all)
    }

    /// The two WWW-Authenticate values of a 401: SHA-256 first (RFC 8760 §2.4), then MD5.
    pub fn challenges(
        &self,
        now: Instant,
        entropy: &mut dyn Entropy,
        realm: &str,
        stale: bool,
    ) -> [String; 2] {
        let nonce = self.nonce(now, entropy);
        Algorithm::OFFERED.map(|alg| {
            let mut v = format!(
                "Digest realm={}, nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
                quote(realm),
                alg.token()
            );
            if stale {
                v.push_str(", stale=true");
            }
            v
        })
    }

    /// Checks the Authorization values of a `method` request to `request_uri`; `Ok` is the
    /// authenticated user's identity.
    pub fn check(
        &mut self,
        now: Instant,
        limits: &Limits,
        admission: &Admission,
        method: &str,
        request_uri: &str,
        authorizations: &mut dyn Iterator<Item = &str>,
    ) -> Result<Aor, AuthFailure> {
        let params = authorizations
            .filter_map(DigestParams::parse)
            .find(|p| p.get("realm") == Some(admission.realm.as_str()))
            .ok_or(AuthFailure::Missing)?;
        let get = |name| params.get(name).ok_or(AuthFailure::Malformed);
        let alg = match params.get("algorithm") {
            None => Algorithm::Md5,
            Some(t) => Algorithm::from_token(t).ok_or(AuthFailure::Malformed)?,
        };
        let (username, nonce, uri, nc, cnonce, answer) = (
            get("username")?,
            get("nonce")?,
            get("uri")?,
            get("nc")?,
            get("cnonce")?,
            get("response")?,
        );
        // RFC 7616 §3.4: nc counts requests from 00000001; a zero count and an empty
        // cnonce are not a client's first or any later use (issue 15).
        let nc_value = (nc.len() == 8)
            .then(|| u32::from_str_radix(nc, 16).ok())
            .flatten()
            .filter(|n| *n > 0)
            .ok_or(AuthFailure::Malformed)?;
        if cnonce.is_empty() {
            return Err(AuthFailure::Malformed);
        }
        let userhash = params
            .get("userhash")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if params.get("qop") != Some("auth") || uri != request_uri || userhash {
            return Err(AuthFailure::Malformed);
        }
        let (issued_ms, salt) = self.open_nonce(nonce)?;
        let input = ResponseInput {
            nonce,
            nc,
            cnonce,
            method,
            uri,
        };
        let (index, user) = admission
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.username == username)
            .find(|(_, u)| {
                let ha1 = match alg {
                    Algorithm::Sha256 => u.ha1_sha256.as_deref(),
                    Algorithm::Md5 => u.ha1_md5.as_deref(),
                };
                ha1.is_some_and(|h| {
                    constant_time_eq(response(alg, h, &input).as_bytes(), answer.as_bytes())
                })
            })
            .ok_or(AuthFailure::WrongCredentials)?;
        let now_ms = now.as_micros() / 1000;
        let lifetime_ms = limits.nonce_lifetime_s.saturating_mul(1000);
        if now_ms.saturating_sub(issued_ms) > lifetime_ms {
            return Err(AuthFailure::Stale);
        }
        let use_ = NonceUse {
            issued_ms,
            salt,
            user: u32::try_from(index).unwrap_or(u32::MAX),
            highest_nc: nc_value,
        };
        self.count_use(now_ms, lifetime_ms, use_, limits)?;
        Ok(user.aor.clone())
    }

    /// Issue time and salt of a nonce this process issued.
    fn open_nonce(&self, nonce: &str) -> Result<(u64, [u8; SALT_BYTES]), AuthFailure> {
        let bytes = unhex(nonce).ok_or(AuthFailure::ForeignNonce)?;
        let (issued, rest) = bytes.split_at(TIME_BYTES);
        let (salt, mac) = rest.split_at(SALT_BYTES);
        if !constant_time_eq(&self.mac(issued, salt), mac) {
            return Err(AuthFailure::ForeignNonce);
        }
        let mut t = [0u8; TIME_BYTES];
        t.copy_from_slice(issued);
        let mut s = [0u8; SALT_BYTES];
        s.copy_from_slice(salt);
        Ok((u64::from_be_bytes(t), s))
    }

    /// Records a use of a nonce by a user; `Err` if its count did not grow or that user's
    /// use of it was forgotten.
    fn count_use(
        &mut self,
        now_ms: u64,
        lifetime_ms: u64,
        use_: NonceUse,
        limits: &Limits,
    ) -> Result<(), AuthFailure> {
        let same = |u: &NonceUse| {
            u.issued_ms == use_.issued_ms && u.salt == use_.salt && u.user == use_.user
        };
        if let Some(entry) = self.used.iter_mut().find(|u| same(u)) {
            if use_.highest_nc <= entry.highest_nc {
                return Err(AuthFailure::Replayed);
            }
            entry.highest_nc = use_.highest_nc;
            return Ok(());
        }
        let user = use_.user as usize;
        let forgotten = self.forgotten_up_to_ms.get(user).copied().flatten();
        if forgotten.is_some_and(|t| use_.issued_ms <= t) {
            return Err(AuthFailure::Stale);
        }
        self.used
            .retain(|u| now_ms.saturating_sub(u.issued_ms) <= lifetime_ms);
        if self.used.len() >= limits.max_auth_nonces {
            // The biggest holder pays (ties: the user of the oldest entry).
            let holder = self
                .used
                .iter()
                .map(|u| {
                    let count = self.used.iter().filter(|v| v.user == u.user).count();
                    (count, core::cmp::Reverse(u.issued_ms), u.user)
                })
                .max()
                .map(|(_, _, user)| user);
            let oldest = self
                .used
                .iter()
                .enumerate()
                .filter(|(_, u)| Some(u.user) == holder)
                .min_by_key(|(_, u)| u.issued_ms)
                .map(|(i, u)| (i, u.issued_ms, u.user as usize));
            if let Some((i, t, loser)) = oldest {
                self.used.swap_remove(i);
                if self.forgotten_up_to_ms.len() <= loser {
                    self.forgotten_up_to_ms.resize(loser + 1, None);
                }
                if let Some(mark) = self.forgotten_up_to_ms.get_mut(loser) {
                    *mark = Some(mark.map_or(t, |f| f.max(t)));
                }
                if loser == user && use_.issued_ms <= t {
                    return Err(AuthFailure::Stale);
                }
            }
        }
        self.used.push(use_);
        Ok(())
    }

    /// Nonces currently remembered (tests).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.used.len()
    }
}

/// The first MAC_BYTES of a finished MAC.
fn truncated_mac(mac: Hmac<Sha256>) -> [u8; MAC_BYTES] {
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_BYTES];
    if let Some(head) = full.get(..MAC_BYTES) {
        out.copy_from_slice(head);
    }
    out
}

/// Exactly NONCE_BYTES from 2 × NONCE_BYTES hex digits.
fn unhex(s: &str) -> Option<[u8; NONCE_BYTES]> {
    if s.len() != NONCE_BYTES * 2 {
        return None;
    }
    let mut out = [0u8; NONCE_BYTES];
    for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let digits = core::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(out)
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
