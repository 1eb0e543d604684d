//! Who may enter which room, as plain data (RFC 7701 §5.2 leaves admission to local policy;
//! RFC 3261 §22 digest credentials; RFC 3323 anonymous URIs): per-room allow lists of URIs
//! and domains, the digest user table (HA1 hashes only, never passwords) and the realm.
//! Built by `config`, consumed by the focus, which applies it (`focus/gate.rs`) and checks
//! digests (`focus/auth.rs`); the switch stays policy-free. A room without an allow list is
//! open; without users there is no authentication (and an allow list then trusts the From
//! header).

use crate::wire::sip::SipUri;

/// Host of the anonymous URIs the focus hands out (RFC 3323 §4.1.1.3 `anonymous.invalid`).
pub const ANONYMOUS_HOST: &str = "anonymous.invalid";

/// The identity part of a SIP URI that admission compares: user (case-sensitive, RFC 3261
/// §19.1.4) and host (lower-cased). Scheme, port and parameters do not matter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aor {
    /// The user part.
    pub user: String,
    /// The host, lower-case.
    pub host: String,
}

impl Aor {
    /// `sip:user@host…`, `sips:…` or bare `user@host`; `None` without a user part.
    pub fn parse(uri: &str) -> Option<Aor> {
        let with_scheme;
        let uri = if uri.starts_with("sip:") || uri.starts_with("sips:") {
            uri
        } else {
            with_scheme = format!("sip:{uri}");
            &with_scheme
        };
        let parsed = SipUri::parse(uri).ok()?;
        let user = parsed.user.filter(|u| !u.is_empty())?;
        Some(Aor {
            user: user.to_owned(),
            host: parsed
                .host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
        })
    }
}

impl core::fmt::Display for Aor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "sip:{}@{}", self.user, self.host)
    }
}

/// One allow-list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowEntry {
    /// Exactly this user (`"sip:alice@example.com"` or `"alice@example.com"`).
    User(Aor),
    /// Anyone at this domain (`"@example.org"`), compared case-insensitively.
    Domain(String),
}

impl AllowEntry {
    /// Parses one configured entry; `Err` says why it is not one.
    pub fn parse(text: &str) -> Result<AllowEntry, String> {
        if let Some(domain) = text.strip_prefix('@') {
            let ok = !domain.is_empty()
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
            return if ok {
                Ok(AllowEntry::Domain(domain.to_ascii_lowercase()))
            } else {
                Err(format!("{text:?} is not @DOMAIN"))
            };
        }
        Aor::parse(text)
            .map(AllowEntry::User)
            .ok_or_else(|| format!("{text:?} is neither sip:USER@HOST, USER@HOST nor @DOMAIN"))
    }

    fn admits(&self, who: &Aor) -> bool {
        match self {
            AllowEntry::User(aor) => aor == who,
            AllowEntry::Domain(domain) => *domain == who.host,
        }
    }
}

/// A room's allow list: nobody else may join or subscribe (403). Empty = nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    /// The entries, any of which admits.
    pub entries: Vec<AllowEntry>,
}

impl AllowList {
    /// True if an entry admits `who`.
    pub fn admits(&self, who: &Aor) -> bool {
        self.entries.iter().any(|e| e.admits(who))
    }
}

/// One digest user (`[user."alice@example.com"]` in the config). Its Debug output hides
/// the hashes: an HA1 is as good as the password for digest.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCredentials {
    /// The identity the user is admitted as; the request's From must name it.
    pub aor: Aor,
    /// The digest `username` (default: the AOR's user part).
    pub username: String,
    /// Lower-case hex SHA-256(username:realm:password) (RFC 8760, RFC 7616 §3.4.2).
    pub ha1_sha256: Option<String>,
    /// Lower-case hex MD5(username:realm:password) (RFC 2617 §3.2.2.2).
    pub ha1_md5: Option<String>,
}

impl core::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let hidden = |h: &Option<String>| h.as_ref().map(|_| "<hidden>");
        f.debug_struct("UserCredentials")
            .field("aor", &self.aor)
            .field("username", &self.username)
            .field("ha1_sha256", &hidden(&self.ha1_sha256))
            .field("ha1_md5", &hidden(&self.ha1_md5))
            .finish()
    }
}

/// The focus's admission policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Admission {
    /// The digest realm of every challenge.
    pub realm: String,
    /// Digest users; empty = no authentication.
    pub users: Vec<UserCredentials>,
    /// Allow list of ad-hoc rooms and rooms without their own (`None` = open).
    pub default_allow: Option<AllowList>,
    /// Each provisioned room's allow list (`None` = open).
    pub rooms: Vec<(String, Option<AllowList>)>,
}

impl Admission {
    /// True if requests that open dialogs must carry digest credentials.
    pub fn authenticates(&self) -> bool {
        !self.users.is_empty()
    }

    /// The allow list that governs `room`, if any.
    pub fn allow_list(&self, room: &str) -> Option<&AllowList> {
        match self.rooms.iter().find(|(name, _)| name == room) {
            Some((_, list)) => list.as_ref(),
            None => self.default_allow.as_ref(),
        }
    }

    /// True if `who` (authenticated, or the From URI when nobody authenticates) may enter
    /// `room`. `None` = a URI without a user part: only an open room admits it.
    pub fn admits(&self, room: &str, who: Option<&Aor>) -> bool {
        match (self.allow_list(room), who) {
            (None, _) => true,
            (Some(list), Some(who)) => list.admits(who),
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList {
            entries: entries
                .iter()
                .map(|e| AllowEntry::parse(e).unwrap())
                .collect(),
        }
    }

    #[test]
    fn aor_ignores_scheme_port_params_and_host_case() {
        let a = Aor::parse("sip:alice@Example.COM:5070;transport=tcp").unwrap();
        assert_eq!(a, Aor::parse("alice@example.com").unwrap());
        assert_eq!(a, Aor::parse("sips:alice@example.com").unwrap());
        assert_ne!(a, Aor::parse("sip:Alice@example.com").unwrap());
        assert_eq!(Aor::parse("sip:example.com"), None);
        assert_eq!(a.to_string(), "sip:alice@example.com");
    }

    // R7701-5.2-a: admission by policy.
    #[test]
    fn allow_lists_by_user_and_domain() {
        let mut adm = Admission {
            default_allow: Some(list(&["@example.org"])),
            rooms: vec![
                ("open".into(), None),
                ("staff".into(), Some(list(&["sip:alice@example.com"]))),
                ("closed".into(), Some(AllowList::default())),
            ],
            ..Admission::default()
        };
        let alice = Aor::parse("sip:alice@example.com").unwrap();
        let bob = Aor::parse("sip:bob@EXAMPLE.org").unwrap();
        assert!(adm.admits("open", Some(&alice)));
        assert!(adm.admits("open", None));
        assert!(adm.admits("staff", Some(&alice)));
        assert!(!adm.admits("staff", Some(&bob)));
        assert!(!adm.admits("closed", Some(&alice)));
        // Ad-hoc rooms take the default list.
        assert!(adm.admits("adhoc", Some(&bob)));
        assert!(!adm.admits("adhoc", Some(&alice)));
        assert!(!adm.admits("adhoc", None));
        adm.default_allow = None;
        assert!(adm.admits("adhoc", Some(&alice)));
        assert!(!adm.authenticates());
    }

    #[test]
    fn debug_output_hides_the_hashes() {
        let user = UserCredentials {
            aor: Aor::parse("a@b").unwrap(),
            username: "a".into(),
            ha1_sha256: Some("5e".repeat(32)),
            ha1_md5: None,
        };
        let shown = format!("{user:?}");
        assert!(
            shown.contains("<hidden>") && !shown.contains("5e5e"),
            "{shown}"
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in ["@", "example.com", "@exa mple", "sip:@x", ""] {
            assert!(AllowEntry::parse(bad).is_err(), "{bad:?}");
        }
    }
}
