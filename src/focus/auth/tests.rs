//! Digest tests: known answers for the hashes and the MAC as this module calls them (FIPS
//! 180-4, RFC 1321, RFC 4231, the RFC 7616 §3.9.1 worked example), and the authenticator's
//! nonces (binding, expiry, replay, the bounded table) on a fake clock.

use super::*;
use crate::admission::UserCredentials;
use crate::rand::TestEntropy;

const REALM: &str = "chat.example.com";
const URI: &str = "sip:lobby@chat.example.com";

#[test]
fn sha256_fips_180_examples() {
    // FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf"), plus the empty message and one
    // million 'a' (many blocks).
    let cases: [(&[u8], &str); 3] = [
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(Algorithm::Sha256.hash_hex(input), want);
    }
    assert_eq!(
        Algorithm::Sha256.hash_hex(&vec![b'a'; 1_000_000]),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

#[test]
fn md5_rfc1321_test_suite() {
    // RFC 1321 §A.5.
    let suite: [(&[u8], &str); 7] = [
        (b"", "d41d8cd98f00b204e9800998ecf8427e"),
        (b"a", "0cc175b9c0f1b6a831c399e269772661"),
        (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
        (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (
            b"abcdefghijklmnopqrstuvwxyz",
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "d174ab98d277d9f5a5611c2c9f419d9f",
        ),
        (
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];
    for (input, want) in suite {
        assert_eq!(
            Algorithm::Md5.hash_hex(input),
            want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// HMAC-SHA-256 of `message` under `key`, fed in two pieces as `Authenticator::mac` feeds
/// the issue time and the salt.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    let (a, b) = message.split_at(message.len() / 2);
    mac.update(a);
    mac.update(b);
    mac
}

#[test]
fn rfc4231_hmac_sha256_vectors() {
    // RFC 4231 §4: cases 1 and 3 (short keys), 2 (a key shorter than the output), 6 and 7
    // (a key longer than the block, hashed first).
    let cases: [(&[u8], &[u8], &str); 5] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            &[0xaa; 20],
            &[0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            &[0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size \
              data. The key needs to be hashed before being used by the HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (key, message, want) in cases {
        let mac = hmac_sha256(key, message).finalize().into_bytes();
        assert_eq!(hex(&mac), want, "{:?}", String::from_utf8_lossy(message));
    }
    // Case 5: output truncated to 128 bits, as the nonce MAC is.
    let mac = truncated_mac(hmac_sha256(&[0x0c; 20], b"Test With Truncation"));
    assert_eq!(hex(&mac), "a3b6167473100ee06e0c796c2955552b");
}

#[test]
fn nonce_mac_is_truncated_hmac_sha256_under_the_secret() {
    // The secret is one 64-byte block drawn from the entropy source: recompute the MAC
    // of a fresh nonce from the same draws, with the same crate keyed from a slice.
    let mut entropy = TestEntropy::new(5);
    let auth = Authenticator::new(&mut entropy, &Limits::default());
    let nonce = auth.nonce(secs(3), &mut entropy);
    let mut replay = TestEntropy::new(5);
    let mut secret = [0u8; 64];
    replay.fill(&mut secret);
    let mut salt = [0u8; SALT_BYTES];
    replay.fill(&mut salt);
    let issued = 3000u64.to_be_bytes();
    let mut message = issued.to_vec();
    message.extend_from_slice(&salt);
    let mac = truncated_mac(hmac_sha256(&secret, &message));
    assert_eq!(
        nonce,
        format!("{}{}{}", hex(&issued), hex(&salt), hex(&mac))
    );
}

#[test]
fn rfc7616_worked_example() {
    // RFC 7616 §3.9.1: Mufasa / "Circle of Life", GET /dir/index.html.
    let input = ResponseInput {
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc: "00000001",
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        method: "GET",
        uri: "/dir/index.html",
    };
    let realm = "http-auth@example.org";
    let sha = ha1(Algorithm::Sha256, "Mufasa", realm, "Circle of Life");
    assert_eq!(
        response(Algorithm::Sha256, &sha, &input),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    let md5 = ha1(Algorithm::Md5, "Mufasa", realm, "Circle of Life");
    assert_eq!(
        response(Algorithm::Md5, &md5, &input),
        "8ca523f5e9506fed4657c9700eebdbec"
    );
}

#[test]
fn config_lines_carry_both_hashes_not_the_password() {
    let aor = Aor::parse("sip:alice@example.com").unwrap();
    let text = config_lines(&aor, "alice", REALM, "s3cret pass");
    assert!(text.starts_with("[user.\"alice@example.com\"]\n"), "{text}");
    assert!(text.contains(&format!(
        "ha1_sha256 = \"{}\"",
        ha1(Algorithm::Sha256, "alice", REALM, "s3cret pass")
    )));
    assert!(text.contains(&format!(
        "ha1_md5 = \"{}\"",
        ha1(Algorithm::Md5, "alice", REALM, "s3cret pass")
    )));
    assert!(!text.contains("s3cret"));
}

fn admission() -> Admission {
    Admission {
        realm: REALM.into(),
        users: vec![UserCredentials {
            aor: Aor::parse("alice@example.com").unwrap(),
            username: "alice".into(),
            ha1_sha256: Some(ha1(Algorithm::Sha256, "alice", REALM, "pw")),
            ha1_md5: Some(ha1(Algorithm::Md5, "alice", REALM, "pw")),
        }],
        ..Admission::default()
    }
}

fn authorization(alg: Algorithm, password: &str, nonce: &str, nc: &str) -> String {
    authorization_for("alice", alg, password, nonce, nc)
}

/// An Authorization value of user `name` answering `nonce` with count `nc`.
fn authorization_for(name: &str, alg: Algorithm, password: &str, nonce: &str, nc: &str) -> String {
    let input = ResponseInput {
        nonce,
        nc,
        cnonce: "0a4f113b",
        method: "INVITE",
        uri: URI,
    };
    let h = ha1(alg, name, REALM, password);
    format!(
        "Digest username=\"{name}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{URI}\", \
         algorithm={}, qop=auth, nc={nc}, cnonce=\"0a4f113b\", response=\"{}\"",
        alg.token(),
        response(alg, &h, &input)
    )
}

fn secs(s: u64) -> Instant {
    Instant::from_micros(s * 1_000_000)
}

struct Fixture {
    auth: Authenticator,
    limits: Limits,
    adm: Admission,
    entropy: TestEntropy,
}

impl Fixture {
    fn new(limits: Limits) -> Self {
        let mut entropy = TestEntropy::new(9);
        Fixture {
            auth: Authenticator::new(&mut entropy, &limits),
            limits,
            adm: admission(),
            entropy,
        }
    }

    fn nonce(&mut self, at: Instant) -> String {
        self.auth.nonce(at, &mut self.entropy)
    }

    fn check(&mut self, at: Instant, value: &str) -> Result<Aor, AuthFailure> {
        self.auth.check(
            at,
            &self.limits,
            &self.adm,
            "INVITE",
            URI,
            &mut std::iter::once(value),
        )
    }
}

// R7701-5.2-a: digest credentials authenticate the user.
#[test]
fn both_algorithms_authenticate_and_wrong_password_does_not() {
    let mut f = Fixture::new(Limits::default());
    let n = f.nonce(secs(1));
    let alice = Aor::parse("alice@example.com").unwrap();
    let sha = authorization(Algorithm::Sha256, "pw", &n, "00000001");
    assert_eq!(f.check(secs(2), &sha), Ok(alice.clone()));
    let md5 = authorization(Algorithm::Md5, "pw", &n, "00000002");
    assert_eq!(f.check(secs(2), &md5), Ok(alice));
    let wrong = authorization(Algorithm::Sha256, "nope", &n, "00000003");
    assert_eq!(f.check(secs(2), &wrong), Err(AuthFailure::WrongCredentials));
    let no_qop = sha.replace("qop=auth, ", "");
    assert_eq!(f.check(secs(2), &no_qop), Err(AuthFailure::Malformed));
    let other_uri = sha.replace(URI, "sip:other@chat.example.com");
    assert_eq!(f.check(secs(2), &other_uri), Err(AuthFailure::Malformed));
    let other_realm = sha.replace(REALM, "elsewhere");
    assert_eq!(f.check(secs(2), &other_realm), Err(AuthFailure::Missing));
}

#[test]
fn nonces_are_bound_to_the_server_secret() {
    let mut f = Fixture::new(Limits::default());
    let mut other = Fixture::new(Limits::default());
    other.auth = Authenticator::new(&mut TestEntropy::new(10), &other.limits);
    let foreign = other.nonce(secs(1));
    let v = authorization(Algorithm::Sha256, "pw", &foreign, "00000001");
    assert_eq!(f.check(secs(1), &v), Err(AuthFailure::ForeignNonce));
    // A nonce whose time was edited no longer matches its MAC.
    let mine = f.nonce(secs(1));
    let edited = format!("{}{}", "00000000000003e9", &mine[16..]);
    assert_ne!(edited, mine);
    let v = authorization(Algorithm::Sha256, "pw", &edited, "00000001");
    assert_eq!(f.check(secs(1), &v), Err(AuthFailure::ForeignNonce));
    assert_ne!(f.nonce(secs(1)), mine, "two nonces of one instant differ");
}

#[test]
fn nonces_expire() {
    let limits = Limits {
        nonce_lifetime_s: 10,
        ..Limits::default()
    };
    let mut f = Fixture::new(limits);
    let n = f.nonce(secs(100));
    let v = authorization(Algorithm::Sha256, "pw", &n, "00000001");
    assert_eq!(f.check(secs(111), &v), Err(AuthFailure::Stale));
    assert!(f.check(secs(110), &v).is_ok());
    // Stale is only said to someone who knows the password.
    let wrong = authorization(Algorithm::Sha256, "x", &n, "00000002");
    assert_eq!(
        f.check(secs(111), &wrong),
        Err(AuthFailure::WrongCredentials)
    );
    let challenges = f.auth.challenges(secs(111), &mut f.entropy, REALM, true);
    assert!(challenges[0].contains("algorithm=SHA-256") && challenges[0].ends_with("stale=true"));
    assert!(challenges[1].contains("algorithm=MD5") && challenges[1].contains("qop=\"auth\""));
}

#[test]
fn nonce_count_must_grow() {
    let mut f = Fixture::new(Limits::default());
    let n = f.nonce(secs(1));
    let first = authorization(Algorithm::Sha256, "pw", &n, "00000001");
    assert!(f.check(secs(1), &first).is_ok());
    assert_eq!(f.check(secs(1), &first), Err(AuthFailure::Replayed));
    let second = authorization(Algorithm::Md5, "pw", &n, "00000002");
    assert!(f.check(secs(1), &second).is_ok());
    assert_eq!(f.check(secs(1), &first), Err(AuthFailure::Replayed));
    assert_eq!(f.auth.remembered(), 1);
}

#[test]
fn a_full_table_forgets_the_oldest_and_treats_it_as_stale() {
    let limits = Limits {
        max_auth_nonces: 2,
        ..Limits::default()
    };
    let mut f = Fixture::new(limits);
    let nonces: Vec<String> = (1..=3).map(|s| f.nonce(secs(s))).collect();
    for n in &nonces {
        let v = authorization(Algorithm::Sha256, "pw", n, "00000001");
        assert!(f.check(secs(4), &v).is_ok());
    }
    assert_eq!(f.auth.remembered(), 2);
    // The first nonce was forgotten: its replay is not accepted but called stale.
    let replay = authorization(Algorithm::Sha256, "pw", &nonces[0], "00000002");
    assert_eq!(f.check(secs(4), &replay), Err(AuthFailure::Stale));
    // Later nonces keep working with growing counts.
    let next = authorization(Algorithm::Sha256, "pw", &nonces[2], "00000002");
    assert!(f.check(secs(4), &next).is_ok());
}

#[test]
fn expired_entries_leave_the_table() {
    let limits = Limits {
        max_auth_nonces: 2,
        nonce_lifetime_s: 5,
        ..Limits::default()
    };
    let mut f = Fixture::new(limits);
    for s in [1, 2] {
        let n = f.nonce(secs(s));
        let v = authorization(Algorithm::Sha256, "pw", &n, "00000001");
        assert!(f.check(secs(s), &v).is_ok());
    }
    let n = f.nonce(secs(20));
    let v = authorization(Algorithm::Sha256, "pw", &n, "00000001");
    assert!(f.check(secs(20), &v).is_ok());
    assert_eq!(f.auth.remembered(), 1);
    assert!(f.auth.forgotten_up_to_ms.iter().all(Option::is_none));
}

/// `authorization_for` with SHA-256 and the password "pw".
fn authorization_as(name: &str, nonce: &str, nc: &str) -> String {
    authorization_for(name, Algorithm::Sha256, "pw", nonce, nc)
}

// Issue 15 (medium): successful authentications of one user turned the 16-entry replay
// table over, so nonces issued to others before that came back stale, and a client
// retrying 3 times never got in. Now the user holding the most entries pays for the
// turnover: bob's fresh nonce stays good however often alice authenticates.
#[test]
fn one_user_cannot_make_the_others_nonces_stale() {
    let limits = Limits {
        max_auth_nonces: 4,
        ..Limits::default()
    };
    let mut f = Fixture::new(limits);
    f.adm.users.push(UserCredentials {
        aor: Aor::parse("bob@example.com").unwrap(),
        username: "bob".into(),
        ha1_sha256: Some(ha1(Algorithm::Sha256, "bob", REALM, "pw")),
        ha1_md5: None,
    });
    let bob_used = f.nonce(secs(1));
    assert!(f
        .check(secs(1), &authorization_as("bob", &bob_used, "00000001"))
        .is_ok());
    let bob_fresh = f.nonce(secs(2));
    let mut alice_first = None;
    for s in 3..40 {
        let n = f.nonce(secs(s));
        let v = authorization_as("alice", &n, "00000001");
        assert!(f.check(secs(s), &v).is_ok(), "alice at {s}");
        alice_first.get_or_insert(n);
    }
    assert_eq!(f.auth.remembered(), 4);
    let v = authorization_as("bob", &bob_fresh, "00000001");
    assert!(
        f.check(secs(40), &v).is_ok(),
        "bob's fresh nonce is still good"
    );
    let again = authorization_as("bob", &bob_used, "00000002");
    assert!(f.check(secs(40), &again).is_ok(), "and his used one");
    let replay = authorization_as("bob", &bob_used, "00000002");
    assert_eq!(f.check(secs(40), &replay), Err(AuthFailure::Replayed));
    // Alice's own oldest uses were forgotten: their replays are stale, never accepted.
    let first = alice_first.expect("alice's first nonce");
    let replay = authorization_as("alice", &first, "00000002");
    assert_eq!(f.check(secs(40), &replay), Err(AuthFailure::Stale));
}

#[test]
fn hex_round_trip() {
    assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    assert_eq!(unhex("zz"), None);
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}

// Issue 15: nc=00000000 and an empty cnonce were accepted; both are refused (RFC 7616 §3.4:
// the count starts at 1, the client nonce is the client's contribution to the response).
#[test]
fn zero_nonce_count_and_empty_cnonce_are_malformed() {
    let mut f = Fixture::new(Limits::default());
    let n = f.nonce(secs(1));
    let zero = authorization(Algorithm::Sha256, "pw", &n, "00000000");
    assert_eq!(f.check(secs(2), &zero), Err(AuthFailure::Malformed));
    let input = ResponseInput {
        nonce: &n,
        nc: "00000001",
        cnonce: "",
        method: "INVITE",
        uri: URI,
    };
    let h = ha1(Algorithm::Sha256, "alice", REALM, "pw");
    let empty = format!(
        "Digest username=\"alice\", realm=\"{REALM}\", nonce=\"{n}\", uri=\"{URI}\", \
         algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"\", response=\"{}\"",
        response(Algorithm::Sha256, &h, &input)
    );
    assert_eq!(f.check(secs(2), &empty), Err(AuthFailure::Malformed));
    let good = authorization(Algorithm::Sha256, "pw", &n, "00000001");
    assert!(
        f.check(secs(2), &good).is_ok(),
        "the same nonce still works"
    );
}
