//! Tests of `Config::from_args_with`: defaults, precedence, rooms and every error's location,
//! with an in-memory file reader.

use super::*;
use crate::config::profiles::builtin_limits;

/// Files the in-memory reader knows.
type Files<'a> = &'a [(&'a str, &'a str)];

fn run(words: &[&str], files: Files<'_>) -> Result<Config, ConfigError> {
    let args = words.iter().map(OsString::from).collect();
    let read = |path: &Path| -> Result<String, String> {
        files
            .iter()
            .find(|(name, _)| Path::new(name) == path)
            .map(|(_, text)| text.to_string())
            .ok_or_else(|| "No such file or directory".to_string())
    };
    Config::from_args_with(args, &read)
}

fn ok(words: &[&str], files: Files<'_>) -> Config {
    run(words, files).unwrap_or_else(|e| panic!("{words:?}: {e}"))
}

fn error(words: &[&str], files: Files<'_>) -> String {
    match run(words, files) {
        Ok(c) => panic!("{words:?}: expected an error, got {c:?}"),
        Err(e) => {
            assert!(!e.message.contains('\n'), "not one line: {e}");
            assert_eq!(e.to_string(), e.message);
            e.message
        }
    }
}

/// A config file `c.toml` with `text`, and the error it gives.
fn file_error(text: &str) -> String {
    error(&["--config", "c.toml"], &[("c.toml", text)])
}

fn policy(nicknames: bool, private_messages: bool, max_participants: usize) -> RoomPolicy {
    RoomPolicy {
        nicknames,
        private_messages,
        max_participants,
    }
}

#[test]
fn defaults() {
    let c = ok(&[], &[]);
    let open = policy(true, true, Limits::default().max_room_participants);
    assert_eq!(c.sip_listen.to_string(), "127.0.0.1:5060");
    assert_eq!(c.msrp_listen.to_string(), "127.0.0.1:2855");
    assert_eq!(c.domain, "localhost");
    assert_eq!(c.rooms, vec![("lobby".to_string(), open)]);
    assert!(!c.allow_adhoc);
    assert_eq!(c.default_policy, open);
    assert_eq!(c.profile, "router");
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.log_level, log::LevelFilter::Info);
}

#[test]
fn example_file_parses_with_its_documented_meaning() {
    let text = include_str!("../../tests/data/example.toml");
    let c = ok(
        &["--config", "etc/parlor.toml"],
        &[("etc/parlor.toml", text)],
    );
    assert_eq!(c.domain, "chat.example.net");
    assert_eq!(c.sip_listen.to_string(), "127.0.0.1:5060");
    assert_eq!(c.msrp_listen.to_string(), "127.0.0.1:2855");
    assert!(!c.allow_adhoc);
    assert_eq!(c.profile, "router");
    assert_eq!(c.limits.memory_cap, 6 << 20);
    assert_eq!(c.limits.ring_bytes, 32_768);
    assert_eq!(c.limits.max_rooms, 8);
    assert_eq!(c.log_level, log::LevelFilter::Info);
    let max = c.limits.max_room_participants;
    assert_eq!(
        c.rooms,
        vec![
            ("lobby".to_string(), policy(true, true, max)),
            ("support".to_string(), policy(true, false, 16)),
            ("team.ops".to_string(), policy(false, true, max)),
        ]
    );
}

#[test]
fn builtin_profiles_by_name() {
    for name in ["tiny", "router", "gateway"] {
        let c = ok(&["--profile", name], &[]);
        assert_eq!(c.profile, name);
        assert_eq!(c.limits, builtin_limits(name).unwrap());
        assert_eq!(
            c.default_policy.max_participants,
            c.limits.max_room_participants
        );
    }
}

#[test]
fn profile_by_path_from_flag_and_relative_to_the_config_file() {
    let custom = "max_participants = 10\nmax_room_participants = 10\n";
    let c = ok(&["--profile", "my/p.toml"], &[("my/p.toml", custom)]);
    assert_eq!(c.profile, "my/p.toml");
    assert_eq!(c.limits.max_participants, 10);
    assert_eq!(c.limits.ring_bytes, Limits::default().ring_bytes);

    let c = ok(
        &["--config", "etc/c.toml"],
        &[
            ("etc/c.toml", "profile = \"p.toml\"\n"),
            ("etc/p.toml", custom),
        ],
    );
    assert_eq!(c.limits.max_participants, 10);
    // The flag wins over the file and is relative to the working directory.
    let c = ok(
        &["--config", "etc/c.toml", "--profile", "tiny"],
        &[("etc/c.toml", "profile = \"p.toml\"\n")],
    );
    assert_eq!(c.limits, builtin_limits("tiny").unwrap());
}

#[test]
fn missing_profiles() {
    let e = error(&["--profile", "huge"], &[]);
    assert_eq!(
        e,
        "--profile: `huge` is not a built-in profile (tiny, router, gateway) and cannot be read \
         as a file: No such file or directory"
    );
    let e = file_error("\n\nprofile = \"nope.toml\"\n");
    assert!(
        e.starts_with("c.toml:3: `nope.toml` is not a built-in profile"),
        "{e}"
    );
    let e = error(
        &["--profile", "p.toml"],
        &[("p.toml", "ring_bytes = 1\n\nbogus = 1\n")],
    );
    assert_eq!(e, "p.toml:3: unknown limit `bogus`");
}

#[test]
fn precedence_profile_then_file_then_flags() {
    let file =
        "profile = \"tiny\"\ndomain = \"file.example\"\nlog = \"warn\"\nmemory_cap = 900_000\n\
                nicknames = false\nallow_adhoc = true\n[limits]\nring_bytes = 8_192\n";
    let files = [("c.toml", file)];
    let c = ok(&["--config", "c.toml"], &files);
    let tiny = builtin_limits("tiny").unwrap();
    assert_eq!(
        c.limits.max_participants, tiny.max_participants,
        "from the profile"
    );
    assert_eq!(c.limits.ring_bytes, 8_192, "file over profile");
    assert_eq!(c.limits.memory_cap, 900_000, "file over profile");
    assert_eq!(c.domain, "file.example");
    assert_eq!(c.log_level, log::LevelFilter::Warn);
    assert!(!c.default_policy.nicknames && c.default_policy.private_messages);
    assert!(c.allow_adhoc);

    let c = ok(
        &[
            "--config",
            "c.toml",
            "--memory-cap",
            "512K",
            "--domain",
            "flag.example",
            "--log",
            "off",
        ],
        &files,
    );
    assert_eq!(c.limits.memory_cap, 512 * 1024, "flag over file");
    assert_eq!(c.domain, "flag.example");
    assert_eq!(c.log_level, log::LevelFilter::Off);
    assert_eq!(c.limits.ring_bytes, 8_192);

    // --limit NAME=VALUE wins over the file's [limits] and is validated like it.
    let c = ok(
        &["--config", "c.toml", "--limit", "ring_bytes=16_384"],
        &files,
    );
    assert_eq!(c.limits.ring_bytes, 16_384, "--limit over file");
    let e = error(&["--limit", "ring_bytes=100"], &[]);
    assert!(e.starts_with("--limit: "), "{e}");
}

#[test]
fn listen_addresses_from_file_and_flags() {
    let files = [(
        "c.toml",
        "sip_listen = \"[::1]:5070\"\nmsrp_listen = \"10.0.0.1:2900\"\n",
    )];
    let c = ok(&["--config", "c.toml"], &files);
    assert_eq!(c.sip_listen.to_string(), "[::1]:5070");
    assert_eq!(c.msrp_listen.to_string(), "10.0.0.1:2900");
    let c = ok(
        &["--config", "c.toml", "--sip-listen", "127.0.0.1:6060"],
        &files,
    );
    assert_eq!(c.sip_listen.to_string(), "127.0.0.1:6060");
    assert_eq!(c.msrp_listen.to_string(), "10.0.0.1:2900");
    // Port 0 (any free port) may be shared; a real port may not.
    let c = ok(
        &[
            "--sip-listen",
            "127.0.0.1:0",
            "--msrp-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_eq!(c.msrp_listen.port(), 0);
    let e = error(&["--msrp-listen", "127.0.0.1:5060"], &[]);
    assert_eq!(
        e,
        "--msrp-listen: SIP and MSRP cannot both listen on 127.0.0.1:5060"
    );
    let e = file_error("\nsip_listen = \"127.0.0.1:2855\"\n");
    assert_eq!(
        e,
        "c.toml:2: SIP and MSRP cannot both listen on 127.0.0.1:2855"
    );
}

#[test]
fn rooms_from_flags_and_file() {
    let c = ok(&["--room", "a", "--room", "b"], &[]);
    let names: Vec<&str> = c.rooms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b"], "no lobby when rooms are named");

    let file = "[room.a]\nmax_participants = 3\n";
    let c = ok(
        &["--config", "c.toml", "--room", "b", "--room", "a"],
        &[("c.toml", file)],
    );
    let names: Vec<&str> = c.rooms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        c.rooms[0].1.max_participants, 3,
        "the file's policy is kept"
    );
}

#[test]
fn policy_flags_set_the_default_and_explicit_room_keys_win() {
    let file = "[room.open]\nnicknames = true\nprivate_messages = true\n[room.plain]\n";
    let c = ok(
        &[
            "--config",
            "c.toml",
            "--no-nicknames",
            "--no-private-messages",
            "--room",
            "x",
        ],
        &[("c.toml", file)],
    );
    let max = c.limits.max_room_participants;
    assert_eq!(c.default_policy, policy(false, false, max));
    assert_eq!(
        c.rooms,
        vec![
            ("open".to_string(), policy(true, true, max)),
            ("plain".to_string(), policy(false, false, max)),
            ("x".to_string(), policy(false, false, max)),
        ]
    );
    let c = ok(
        &["--config", "c.toml", "--allow-adhoc"],
        &[("c.toml", "allow_adhoc = false\n")],
    );
    assert!(c.allow_adhoc, "--allow-adhoc wins over the file");
}

#[test]
fn file_errors_carry_file_and_line() {
    let cases = [
        ("a = 1 2\n", "c.toml:1: unexpected text after the value"),
        ("\nbogus = 1\n", "c.toml:2: unknown key `bogus`"),
        (
            "ring_bytes = 1\n",
            "c.toml:1: `ring_bytes` is a limit: put it under [limits]",
        ),
        (
            "[server]\n",
            "c.toml:1: unknown table [server]; expected [limits] or [room.NAME]",
        ),
        ("[room]\n", "c.toml:1: unknown table [room]"),
        ("[limits.x]\n", "c.toml:1: unknown table [limits.x]"),
        ("[room.\"a b\"]\n", "c.toml:1: room name `a b` contains ` `"),
        (
            "[room.x]\ncolour = 1\n",
            "c.toml:2: unknown room key `colour`",
        ),
        (
            "[room.x]\nnicknames = 1\n",
            "c.toml:2: `nicknames` must be true or false, not an integer",
        ),
        (
            "[room.x]\nmax_participants = 0\n",
            "c.toml:2: `max_participants` must be at least 1",
        ),
        (
            "[room.x]\nmax_participants = \"3\"\n",
            "c.toml:2: `max_participants` must be an integer",
        ),
        (
            "[room.x]\nmax_participants = 65\n",
            "c.toml:2: room `x`: max_participants (65) exceeds limits.max_room_participants (64)",
        ),
        (
            "domain = 5\n",
            "c.toml:1: `domain` must be a string, not an integer",
        ),
        (
            "domain = \"bad domain\"\n",
            "c.toml:1: `bad domain` is not a domain",
        ),
        (
            "sip_listen = \"localhost:5060\"\n",
            "c.toml:1: `localhost:5060` is not IP:PORT",
        ),
        (
            "allow_adhoc = \"yes\"\n",
            "c.toml:1: `allow_adhoc` must be true or false, not a string",
        ),
        ("log = \"loud\"\n", "c.toml:1: unknown log level `loud`"),
        ("profile = \"\"\n", "c.toml:1: `profile` must not be empty"),
        (
            "memory_cap = true\n",
            "c.toml:1: `memory_cap` must be an integer or a size string",
        ),
        (
            "memory_cap = -1\n",
            "c.toml:1: `memory_cap` value -1 is out of range",
        ),
        ("memory_cap = \"8G\"\n", "c.toml:1: unknown size suffix `G`"),
        (
            "memory_cap = 1\n[limits]\nmemory_cap = 2\n",
            "c.toml:3: `memory_cap` is already set on line 1",
        ),
        ("[limits]\nbogus = 1\n", "c.toml:2: unknown limit `bogus`"),
        (
            "[limits]\nring_bytes = -5\n",
            "c.toml:2: `ring_bytes` must not be negative",
        ),
    ];
    for (text, expected) in cases {
        let e = file_error(text);
        assert!(
            e.starts_with(expected),
            "{text:?}\n got: {e}\nwant: {expected}"
        );
    }
}

#[test]
fn unreadable_config_file() {
    let e = error(&["--config", "missing.toml"], &[]);
    assert_eq!(
        e,
        "--config: cannot read `missing.toml`: No such file or directory"
    );
}

#[test]
fn limits_errors_point_at_where_the_value_was_set() {
    let e = file_error("[limits]\nmax_rooms = 0\n");
    assert_eq!(e, "c.toml:2: `max_rooms` must not be zero");
    let e = file_error("[limits]\n\nmax_participants = 4\n");
    assert_eq!(
        e,
        "c.toml:3: max_room_participants (64) must not exceed max_participants (4)"
    );
    let e = file_error("[limits]\nsip_t2_ms = 100\n");
    assert_eq!(
        e,
        "c.toml:2: sip_t2_ms (100) must be at least sip_t1_ms (500)"
    );
    let e = file_error("[limits]\nmax_sdp_bytes = 9000\n");
    assert_eq!(
        e,
        "c.toml:2: max_sdp_bytes (9000) must not exceed max_sip_message_bytes (8192)"
    );
    let e = file_error("[limits]\nmax_notify_bytes = 4096\n\nsip_tcp_queue_bytes = 9000\n");
    assert_eq!(
        e,
        "c.toml:4: sip_tcp_queue_bytes (9000) must hold one message the focus sends: at least \
         max_notify_bytes (4096) and max_sip_message_bytes + 2048 (10240)"
    );
    let e = file_error("[limits]\nring_bytes = 100\n");
    assert_eq!(
        e,
        "c.toml:2: `ring_bytes` = 100 is below its minimum (see Limits::validate)"
    );
    let e = error(&["--memory-cap", "1K"], &[]);
    assert!(
        e.starts_with("--memory-cap: memory_cap = 1024 is smaller than one participant plus one MSRP connection ("),
        "{e}"
    );
    // A profile's own value is blamed on the profile file's line.
    let e = error(
        &["--profile", "p.toml"],
        &[("p.toml", "# c\nmax_headers = 0\n")],
    );
    assert_eq!(e, "p.toml:2: `max_headers` must not be zero");
}

#[test]
fn too_many_rooms_and_too_long_uris() {
    let file = "[limits]\nmax_rooms = 1\n[room.a]\n[room.b]\n";
    let e = file_error(file);
    assert_eq!(
        e,
        "c.toml:4: room `b` is one room more than limits.max_rooms (1)"
    );
    let e = error(
        &["--config", "c.toml", "--room", "c"],
        &[("c.toml", "[limits]\nmax_rooms = 1\n[room.a]\n")],
    );
    assert_eq!(
        e,
        "--room: room `c` is one room more than limits.max_rooms (1)"
    );

    let long = "x".repeat(300);
    let e = error(&["--room", &long], &[]);
    assert!(e.starts_with("--room: room URI sip:xxx"), "{e}");
    assert!(
        e.ends_with("is 314 bytes, more than limits.max_uri_bytes (256)"),
        "{e}"
    );
    let long_domain = vec!["a".repeat(60); 5].join(".");
    let e = error(&["--domain", &long_domain], &[]);
    assert!(e.starts_with("--domain: room URI sip:lobby@aaa"), "{e}");
}

#[test]
fn control_characters_in_values_stay_on_one_line() {
    let e = file_error("domain = \"a\\nb\"\n");
    assert_eq!(e, "c.toml:1: `a\\nb` is not a domain (labels of letters, digits and inner `-`, separated by dots)");
}

#[test]
fn public_memory_cap_parser() {
    assert_eq!(parse_memory_cap("2MiB"), Ok(2 << 20));
    assert!(parse_memory_cap("2 gigs").is_err());
}

#[test]
fn reserved_nicknames_default_and_from_file() {
    let c = ok(&[], &[]);
    assert_eq!(c.reserved_nicknames, DEFAULT_RESERVED_NICKNAMES);
    assert!(c.reserved_nicknames.iter().any(|w| w == "admin"));
    let file = "reserved_nicknames = [\"Boss\", \"  The  Chair \"]\n";
    let c = ok(&["--config", "c.toml"], &[("c.toml", file)]);
    assert_eq!(c.reserved_nicknames, vec!["Boss", "  The  Chair "]);
    let c = ok(
        &["--config", "c.toml"],
        &[("c.toml", "reserved_nicknames = []\n")],
    );
    assert!(
        c.reserved_nicknames.is_empty(),
        "an empty list reserves nothing"
    );
}

#[test]
fn reserved_nicknames_errors() {
    assert_eq!(
        file_error("reserved_nicknames = \"admin\"\n"),
        "c.toml:1: `reserved_nicknames` must be an array of strings like [\"admin\"], not a string"
    );
    let m = file_error("\nreserved_nicknames = [\"ok\", \"   \"]\n");
    assert!(m.starts_with("c.toml:2: reserved_nicknames: "), "{m}");
    assert!(m.contains("empty"), "{m}");
    let m = file_error("reserved_nicknames = [\"bell\\t\"]\n");
    assert!(m.contains("may not contain"), "{m}");
    let long = format!("reserved_nicknames = [\"{}\"]\n", "a".repeat(1024));
    assert!(file_error(&long).contains("max_nickname_bytes"));
}

// R7701-5.2-a: admission policy from the file: allow lists (own, inherited, ad-hoc
// default), realm, users with their HA1s.
#[test]
fn admission_from_the_example_file_and_inheritance() {
    use crate::admission::Aor;
    let text = include_str!("../../tests/data/example.toml");
    let c = ok(
        &["--config", "etc/parlor.toml"],
        &[("etc/parlor.toml", text)],
    );
    let a = &c.admission;
    assert_eq!(a.realm, "chat.example.net");
    assert_eq!(a.users.len(), 1);
    let alice = Aor::parse("sip:alice@example.com").unwrap();
    assert_eq!(a.users[0].aor, alice);
    assert_eq!(a.users[0].username, "alice");
    assert_eq!(
        a.users[0].ha1_md5.as_deref(),
        Some("f55b4c5e884cf7c88f5ecfcd120c6935")
    );
    assert!(a.admits("lobby", Some(&Aor::parse("bob@example.org").unwrap())));
    assert!(a.admits("team.ops", Some(&alice)));
    assert!(a.admits(
        "team.ops",
        Some(&Aor::parse("eve@OPS.example.net").unwrap())
    ));
    assert!(!a.admits("team.ops", Some(&Aor::parse("bob@example.org").unwrap())));

    let text =
        "allow = [\"@example.org\"]\n[room.a]\n[room.b]\nallow = []\n[room.c]\nallow = [\"x@y\"]\n";
    let c = ok(
        &["--config", "c.toml", "--domain", "d.example"],
        &[("c.toml", text)],
    );
    let bob = Aor::parse("sip:bob@example.org").unwrap();
    assert!(
        c.admission.admits("a", Some(&bob)),
        "inherits the top-level list"
    );
    assert!(
        !c.admission.admits("b", Some(&bob)),
        "empty list admits nobody"
    );
    assert!(!c.admission.admits("c", Some(&bob)));
    assert!(c.admission.admits("adhoc", Some(&bob)));
    assert!(!c
        .admission
        .admits("adhoc", Some(&Aor::parse("x@y").unwrap())));
    assert_eq!(
        c.admission.realm, "d.example",
        "realm defaults to the domain"
    );
    assert!(!c.admission.authenticates());
    let open = ok(&[], &[]);
    assert_eq!(
        open.admission,
        crate::admission::Admission {
            realm: "localhost".into(),
            rooms: vec![("lobby".into(), None)],
            ..Default::default()
        }
    );
}

#[test]
fn admission_errors_carry_file_and_line() {
    let sha = "a".repeat(64);
    let cases: Vec<(String, &str)> = vec![
        (
            "allow = \"@x\"\n".into(),
            "c.toml:1: `allow` must be an array of strings",
        ),
        (
            "[room.a]\nallow = [\"nobody\"]\n".into(),
            "c.toml:2: allow: \"nobody\" is neither",
        ),
        (
            "allow = [\"@\"]\n".into(),
            "c.toml:1: allow: \"@\" is not @DOMAIN",
        ),
        (
            "[user.\"a@b\"]\npassword = \"x\"\n".into(),
            "c.toml:2: plain passwords are not accepted",
        ),
        (
            "[user.\"a@b\"]\nha1_md5 = \"123\"\n".into(),
            "c.toml:2: `ha1_md5` must be 32 hex digits",
        ),
        (
            "[user.\"a@b\"]\nusername = \"a\"\n".into(),
            "c.toml:1: user `a@b` needs ha1_sha256",
        ),
        (
            "[user.nohost]\nha1_md5 = \"00000000000000000000000000000000\"\n".into(),
            "c.toml:1: user `nohost` is not USER@HOST",
        ),
        (
            format!("[user.\"a@b\"]\nrealm = \"other\"\nha1_sha256 = \"{sha}\"\n"),
            "c.toml:2: user `a@b`: realm \"other\" is not the server's realm \"localhost\"",
        ),
        (
            "[user.\"a@b\"]\nbogus = 1\n".into(),
            "c.toml:2: unknown user key `bogus`",
        ),
        (
            "auth_realm = \"\"\n".into(),
            "c.toml:1: `auth_realm` must be a non-empty",
        ),
    ];
    for (text, expected) in cases {
        let e = file_error(&text);
        assert!(
            e.starts_with(expected),
            "{text:?}\n got: {e}\nwant: {expected}"
        );
    }
    let text = format!("[user.\"a@b\"]\nha1_sha256 = \"{}\"\n", "AB".repeat(32));
    let c = ok(&["--config", "c.toml"], &[("c.toml", &text)]);
    assert_eq!(
        c.admission.users[0].ha1_sha256.as_deref(),
        Some("ab".repeat(32).as_str())
    );
    assert!(c.admission.authenticates());
}
