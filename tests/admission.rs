//! Admission control over real loopback sockets (RFC 7701 §5.2 leaves it to policy,
//! R7701-5.2-a): per-room allow lists, and SIP digest authentication (RFC 3261 §22, RFC
//! 7616 qop=auth, RFC 8760 SHA-256 + MD5) of INVITE and SUBSCRIBE with expiring,
//! server-bound, replay-checked nonces; `parlor-chat --password-file` against it.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::conformance::{config_file, fresh_path, raw_request};
use common::participant::sdp_offer;
use common::roster::subscribe_request;
use common::sip::{SipClient, SipMessage};
use common::{expect_line, ident, line_channel, wait_bounded, Server, Transport, ROOM, STEP};
use parlor::focus::auth::{ha1, response, Algorithm, ResponseInput};
use parlor::wire::sip::DigestParams;

/// The realm: the server's domain (no `auth_realm` in the configs below).
const REALM: &str = "localhost";
const ALICE: &str = "sip:alice@example.com";
const ALICE_PASSWORD: &str = "correct horse";

/// `[user."alice@example.com"]` with both HA1s for ALICE_PASSWORD, plus `extra` lines.
fn auth_config(extra: &str) -> String {
    let text = format!(
        "[room.lobby]\n\n[user.\"alice@example.com\"]\nha1_sha256 = \"{}\"\nha1_md5 = \"{}\"\n{extra}",
        ha1(Algorithm::Sha256, "alice", REALM, ALICE_PASSWORD),
        ha1(Algorithm::Md5, "alice", REALM, ALICE_PASSWORD),
    );
    config_file(&text)
}

fn client(server: &Server, transport: Transport) -> SipClient {
    match transport {
        Transport::Udp => SipClient::udp(server.sip),
        Transport::Tcp => SipClient::tcp(server.sip),
    }
}

/// INVITE `ruri` from `from` with an SDP offer and `extra` headers; the final response.
fn invite(
    server: &Server,
    transport: Transport,
    ruri: &str,
    from: &str,
    extra: &[&str],
) -> SipMessage {
    let mut sip = client(server, transport);
    let sdp = sdp_offer("t", &fresh_path(), "active", Some("nickname"));
    let call_id = format!("{}@127.0.0.1", ident(16));
    let req = raw_request(
        &sip,
        "INVITE",
        ruri,
        from,
        &call_id,
        &ident(12),
        extra,
        Some(("application/sdp", &sdp)),
    );
    sip.send(req.as_bytes());
    sip.final_response("INVITE")
}

/// SUBSCRIBE to the room's conference package from `from`; the final response.
fn subscribe(server: &Server, from: &str, extra: &[&str]) -> SipMessage {
    let mut sip = SipClient::udp(server.sip);
    let mut headers = vec!["Event: conference", "Expires: 60"];
    headers.extend_from_slice(extra);
    let call_id = format!("{}@127.0.0.1", ident(16));
    let req = subscribe_request(&sip, ROOM, from, &ident(10), None, &call_id, 1, &headers);
    sip.send(req.as_bytes());
    sip.final_response("SUBSCRIBE")
}

fn challenges(resp: &SipMessage) -> Vec<String> {
    resp.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("WWW-Authenticate"))
        .map(|(_, v)| v.clone())
        .collect()
}

/// The nonce of the challenge for `alg` in a 401.
fn nonce_for(resp: &SipMessage, alg: Algorithm) -> String {
    challenges(resp)
        .iter()
        .filter_map(|v| {
            let p = DigestParams::parse(v)?;
            (p.get("algorithm") == Some(alg.token())).then(|| p.get("nonce").map(str::to_string))?
        })
        .next()
        .unwrap_or_else(|| panic!("no {} challenge in {:?}", alg.token(), resp.headers))
}

/// An Authorization header line answering `nonce` for `method` to `ruri`.
fn authorization(
    alg: Algorithm,
    user: &str,
    password: &str,
    nonce: &str,
    nc: &str,
    method: &str,
    ruri: &str,
) -> String {
    let cnonce = ident(12);
    let input = ResponseInput {
        nonce,
        nc,
        cnonce: &cnonce,
        method,
        uri: ruri,
    };
    let digest = response(alg, &ha1(alg, user, REALM, password), &input);
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", \
         uri=\"{ruri}\", algorithm={}, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{digest}\"",
        alg.token()
    )
}

/// A fresh nonce: the 401 to an INVITE without credentials.
fn fresh_nonce(server: &Server, alg: Algorithm) -> String {
    let resp = invite(server, Transport::Udp, ROOM, ALICE, &[]);
    assert_eq!(resp.status(), Some(401), "{}", resp.start);
    nonce_for(&resp, alg)
}

// R7701-5.2-a: a room's allow list admits its URIs and domains; anyone else gets 403,
// for INVITE and SUBSCRIBE alike; ad-hoc rooms take the top-level list.
#[test]
fn r7701_5_2_a_allow_list_admits_listed_uris_and_domains_only() {
    let config = config_file(
        "allow_adhoc = true\nallow = [\"@example.org\"]\n\n[room.lobby]\n\
         allow = [\"sip:alice@example.com\", \"@example.net\"]\n",
    );
    let server = Server::start(&["--config", &config]);
    let ok = invite(&server, Transport::Udp, ROOM, ALICE, &[]);
    assert_eq!(ok.status(), Some(200), "listed URI: {}", ok.start);
    let ok = invite(&server, Transport::Tcp, ROOM, "sip:dave@EXAMPLE.net", &[]);
    assert_eq!(ok.status(), Some(200), "listed domain: {}", ok.start);
    let refused = invite(&server, Transport::Udp, ROOM, "sip:carol@example.com", &[]);
    assert_eq!(refused.status(), Some(403), "{}", refused.start);
    let refused = subscribe(&server, "sip:carol@example.com", &[]);
    assert_eq!(refused.status(), Some(403), "roster of a closed room");
    assert_eq!(subscribe(&server, ALICE, &[]).status(), Some(200));
    // Ad-hoc rooms: the top-level allow list.
    let adhoc = "sip:newroom@localhost";
    let refused = invite(&server, Transport::Udp, adhoc, ALICE, &[]);
    assert_eq!(refused.status(), Some(403), "{}", refused.start);
    let ok = invite(&server, Transport::Udp, adhoc, "sip:bob@example.org", &[]);
    assert_eq!(ok.status(), Some(200), "{}", ok.start);
}

// R7701-5.2-a: with users configured, an INVITE without credentials is challenged with
// SHA-256 first and MD5 second (RFC 8760 §2.4), qop="auth".
#[test]
fn r7701_5_2_a_invite_without_credentials_gets_both_challenges() {
    let config = auth_config("");
    let server = Server::start(&["--config", &config]);
    for transport in [Transport::Udp, Transport::Tcp] {
        let resp = invite(&server, transport, ROOM, ALICE, &[]);
        assert_eq!(resp.status(), Some(401), "{}", resp.start);
        let values = challenges(&resp);
        assert_eq!(values.len(), 2, "{values:?}");
        for (value, alg) in values.iter().zip(["SHA-256", "MD5"]) {
            let p = DigestParams::parse(value).expect("Digest challenge");
            assert_eq!(p.get("realm"), Some(REALM));
            assert_eq!(p.get("algorithm"), Some(alg));
            assert_eq!(p.get("qop"), Some("auth"));
            assert_eq!(p.get("stale"), None);
            assert!(p.get("nonce").is_some_and(|n| n.len() >= 32), "{value}");
        }
    }
}

// R7701-5.2-a: correct SHA-256 or MD5 credentials get 200.
#[test]
fn r7701_5_2_a_correct_credentials_join_with_sha256_and_md5() {
    let config = auth_config("");
    let server = Server::start(&["--config", &config]);
    for (alg, transport) in [
        (Algorithm::Sha256, Transport::Udp),
        (Algorithm::Md5, Transport::Tcp),
    ] {
        let nonce = fresh_nonce(&server, alg);
        let auth = authorization(
            alg,
            "alice",
            ALICE_PASSWORD,
            &nonce,
            "00000001",
            "INVITE",
            ROOM,
        );
        let ok = invite(&server, transport, ROOM, ALICE, &[&auth]);
        assert_eq!(ok.status(), Some(200), "{}: {}", alg.token(), ok.start);
    }
}

// R7701-5.2-a: a wrong password is challenged again; credentials of another user than
// the From are forbidden.
#[test]
fn r7701_5_2_a_wrong_password_and_foreign_from_are_refused() {
    let config = auth_config("");
    let server = Server::start(&["--config", &config]);
    let nonce = fresh_nonce(&server, Algorithm::Sha256);
    let wrong = authorization(
        Algorithm::Sha256,
        "alice",
        "wrong",
        &nonce,
        "00000001",
        "INVITE",
        ROOM,
    );
    let resp = invite(&server, Transport::Udp, ROOM, ALICE, &[&wrong]);
    assert_eq!(resp.status(), Some(401), "{}", resp.start);
    assert_eq!(challenges(&resp).len(), 2);

    let good = authorization(
        Algorithm::Sha256,
        "alice",
        ALICE_PASSWORD,
        &nonce,
        "00000002",
        "INVITE",
        ROOM,
    );
    let resp = invite(
        &server,
        Transport::Udp,
        ROOM,
        "sip:mallory@example.com",
        &[&good],
    );
    assert_eq!(
        resp.status(),
        Some(403),
        "From is not the user: {}",
        resp.start
    );
}

// R7701-5.2-a: a nonce older than nonce_lifetime_s is answered 401 stale=true, and a
// nonce-count used before is a replay (401).
#[test]
fn r7701_5_2_a_expired_nonce_is_stale_and_replayed_nc_is_refused() {
    let config = auth_config("\n[limits]\nnonce_lifetime_s = 1\n");
    let server = Server::start(&["--config", &config]);
    let nonce = fresh_nonce(&server, Algorithm::Sha256);
    let first = authorization(
        Algorithm::Sha256,
        "alice",
        ALICE_PASSWORD,
        &nonce,
        "00000001",
        "INVITE",
        ROOM,
    );
    let ok = invite(&server, Transport::Udp, ROOM, ALICE, &[&first]);
    assert_eq!(ok.status(), Some(200), "{}", ok.start);
    // The same credentials in a new transaction (new Call-ID, branch): a replay.
    let replay = invite(&server, Transport::Udp, ROOM, ALICE, &[&first]);
    assert_eq!(replay.status(), Some(401), "{}", replay.start);
    let stale_flag = challenges(&replay)
        .iter()
        .any(|v| DigestParams::parse(v).is_some_and(|p| p.get("stale").is_some()));
    assert!(!stale_flag, "a replay is not called stale");

    let old = fresh_nonce(&server, Algorithm::Sha256);
    std::thread::sleep(Duration::from_millis(2_100));
    let late = authorization(
        Algorithm::Sha256,
        "alice",
        ALICE_PASSWORD,
        &old,
        "00000001",
        "INVITE",
        ROOM,
    );
    let resp = invite(&server, Transport::Udp, ROOM, ALICE, &[&late]);
    assert_eq!(resp.status(), Some(401), "{}", resp.start);
    let values = challenges(&resp);
    assert_eq!(values.len(), 2);
    for v in &values {
        let p = DigestParams::parse(v).expect("challenge");
        assert_eq!(p.get("stale"), Some("true"), "{v}");
        assert_ne!(p.get("nonce"), Some(old.as_str()), "a fresh nonce");
    }
}

// R7701-5.2-a: SUBSCRIBE to the room's roster is challenged too.
#[test]
fn r7701_5_2_a_subscribe_is_challenged_too() {
    let config = auth_config("");
    let server = Server::start(&["--config", &config]);
    let resp = subscribe(&server, ALICE, &[]);
    assert_eq!(resp.status(), Some(401), "{}", resp.start);
    let nonce = nonce_for(&resp, Algorithm::Sha256);
    let auth = authorization(
        Algorithm::Sha256,
        "alice",
        ALICE_PASSWORD,
        &nonce,
        "00000001",
        "SUBSCRIBE",
        ROOM,
    );
    let ok = subscribe(&server, ALICE, &[&auth]);
    assert_eq!(ok.status(), Some(200), "{}", ok.start);
    // Credentials computed for INVITE do not pass for SUBSCRIBE (HA2 has the method).
    let as_invite = authorization(
        Algorithm::Sha256,
        "alice",
        ALICE_PASSWORD,
        &nonce,
        "00000002",
        "INVITE",
        ROOM,
    );
    assert_eq!(subscribe(&server, ALICE, &[&as_invite]).status(), Some(401));
}

// R7701-5.2-a: without [user] tables and allow lists, rooms are open: no challenge.
#[test]
fn r7701_5_2_a_no_credentials_configured_means_open_rooms() {
    let server = Server::start(&[]);
    let ok = invite(&server, Transport::Udp, ROOM, "sip:anyone@example.com", &[]);
    assert_eq!(ok.status(), Some(200), "{}", ok.start);
    assert!(challenges(&ok).is_empty());
    assert_eq!(
        subscribe(&server, "sip:anyone@example.com", &[]).status(),
        Some(200)
    );
}

fn chat(server: &Server, password_file: Option<&str>, tcp: bool) -> std::process::Child {
    let sip = server.sip.to_string();
    let mut args = vec![ROOM, "--as", ALICE, "--server", &sip];
    if let Some(path) = password_file {
        args.extend_from_slice(&["--password-file", path]);
    }
    if tcp {
        args.push("--tcp");
    }
    Command::new(env!("CARGO_BIN_EXE_parlor-chat"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn parlor-chat")
}

// R7701-5.2-a: parlor-chat answers the 401 with the password from --password-file and
// joins; without it, it prints the refusal and exits 1.
#[test]
fn r7701_5_2_a_parlor_chat_with_password_file_joins() {
    let config = auth_config("");
    let server = Server::start(&["--config", &config]);
    let password = config_file(&format!("{ALICE_PASSWORD}\n"));
    for tcp in [false, true] {
        let mut child = chat(&server, Some(&password), tcp);
        let lines = line_channel(child.stdout.take().expect("stdout"));
        expect_line(&lines, "* joined sip:lobby@localhost");
        drop(child.stdin.take()); // end of input = /quit
        let status = wait_bounded(&mut child, Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "{status:?}");
    }

    let mut child = chat(&server, None, false);
    let lines = line_channel(child.stdout.take().expect("stdout"));
    let line = expect_line(&lines, "server: 401");
    assert!(line.contains("--password-file"), "{line}");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{status:?}");

    let wrong = config_file("not the password\n");
    let mut child = chat(&server, Some(&wrong), false);
    let lines = line_channel(child.stdout.take().expect("stdout"));
    expect_line(&lines, "server: 401 Unauthorized");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{status:?}");
}

/// Runs `parlor hash-password ARGS` with `stdin`; (exit code, stdout).
fn hash_password(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_parlor"))
        .arg("hash-password")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn parlor hash-password");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let lines = line_channel(child.stdout.take().expect("stdout"));
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    // The reader thread ends at EOF; bounded in count and time.
    let mut out = String::new();
    for _ in 0..100 {
        match lines.recv_timeout(STEP) {
            Ok(line) => out.push_str(&line),
            Err(_) => break,
        }
    }
    (status.code(), out)
}

// R7701-5.2-a: `parlor hash-password` output, pasted into the config, makes a user who
// can join; the password is read from stdin only and never printed.
#[test]
fn r7701_5_2_a_hash_password_output_configures_a_user() {
    let (code, table) = hash_password(&[], &format!("{ALICE}\n{REALM}\n{ALICE_PASSWORD}\n"));
    assert_eq!(code, Some(0), "{table}");
    assert!(
        table.starts_with("[user.\"alice@example.com\"]\n"),
        "{table}"
    );
    assert!(!table.contains(ALICE_PASSWORD));
    let want_md5 = ha1(Algorithm::Md5, "alice", REALM, ALICE_PASSWORD);
    assert!(
        table.contains(&format!("ha1_md5 = \"{want_md5}\"")),
        "{table}"
    );
    let (code, same) = hash_password(&[ALICE, REALM], &format!("{ALICE_PASSWORD}\n"));
    assert_eq!((code, same.as_str()), (Some(0), table.as_str()));
    let (code, _) = hash_password(&[ALICE, REALM], "");
    assert_eq!(code, Some(2), "no password on stdin");
    let (code, _) = hash_password(&["not-an-address", REALM], "pw\n");
    assert_eq!(code, Some(2));

    let config = config_file(&format!("[room.lobby]\n{table}"));
    let server = Server::start(&["--config", &config]);
    let nonce = fresh_nonce(&server, Algorithm::Md5);
    let auth = authorization(
        Algorithm::Md5,
        "alice",
        ALICE_PASSWORD,
        &nonce,
        "00000001",
        "INVITE",
        ROOM,
    );
    let ok = invite(&server, Transport::Udp, ROOM, ALICE, &[&auth]);
    assert_eq!(ok.status(), Some(200), "{}", ok.start);
}

// Issue 15 (medium): any user with a valid account turned the replay table over with
// successful logins, so nonces issued to others before that came back stale and a client
// retrying 3 times never got in (0 of 10 joins during the burst). Now the user holding
// the most entries pays for the turnover: bob's nonce, fetched before alice's burst, still
// lets him in after it. And a request that cannot succeed is not challenged at all: an
// INVITE to a room that does not exist gets 404 before any 401.
#[test]
fn issue15_one_users_logins_do_not_lock_the_others_out() {
    let bob = format!(
        "\n[user.\"bob@example.com\"]\nha1_sha256 = \"{}\"\n\n[limits]\nmax_auth_nonces = 4\n",
        ha1(Algorithm::Sha256, "bob", REALM, "bobs password"),
    );
    let config = auth_config(&bob);
    let server = Server::start(&["--config", &config]);
    let bob_nonce = fresh_nonce(&server, Algorithm::Sha256);
    let join = |user: &str, password: &str, nonce: &str| {
        let auth = authorization(
            Algorithm::Sha256,
            user,
            password,
            nonce,
            "00000001",
            "INVITE",
            ROOM,
        );
        let from = format!("sip:{user}@example.com");
        invite(&server, Transport::Udp, ROOM, &from, &[&auth])
    };
    for _ in 0..12 {
        let ok = join(
            "alice",
            ALICE_PASSWORD,
            &fresh_nonce(&server, Algorithm::Sha256),
        );
        assert_eq!(ok.status(), Some(200), "{}", ok.start);
    }
    let ok = join("bob", "bobs password", &bob_nonce);
    assert_eq!(ok.status(), Some(200), "bob locked out: {}", ok.start);

    let nowhere = invite(&server, Transport::Udp, "sip:nowhere@localhost", ALICE, &[]);
    assert_eq!(nowhere.status(), Some(404), "{}", nowhere.start);
    assert!(
        challenges(&nowhere).is_empty(),
        "challenged for a missing room"
    );
}
