//! `parlor` command line: `parlor serve [FLAGS]` runs the RFC 7701 chat server (flags:
//! see `parlor --help` and the README); `parlor limits [FLAGS]` prints the memory figures
//! those flags give (boards/footprint); `parlor hash-password` prints a digest user's
//! config table (RFC 3261 §22 HA1 for SHA-256 and MD5); `--help`, `--version`.

use std::ffi::OsString;
use std::process::ExitCode;

const USAGE: &str = "\
usage: parlor serve [FLAGS]     run the chat server (SIP focus + MSRP switch)
       parlor limits [FLAGS]    print the memory figures of that configuration
       parlor hash-password [USER [REALM]]
                                print a [user.\"USER\"] config table with the digest
                                hashes; reads USER, REALM if not given, then the
                                password from stdin (one line each)
       parlor --help | -h       print this help (COMMAND --help: that command's)
       parlor --version | -V    print the version

serve flags (defaults in brackets):
SERVE_FLAGS
On start, one line is printed: parlor listening sip=IP:PORT msrp=IP:PORT";

/// The flags `serve` and `limits` share.
const SERVE_FLAGS: &str = "\
  --sip-listen IP:PORT     SIP over UDP and TCP [127.0.0.1:5060]
  --msrp-listen IP:PORT    MSRP over TCP [127.0.0.1:2855]
  --domain NAME            domain of room URIs sip:ROOM@NAME [localhost]
  --room NAME              provision a room (repeatable) [lobby]
  --allow-adhoc            create a room on the first INVITE to an unknown name
  --no-nicknames           rooms refuse NICKNAME
  --no-private-messages    rooms refuse private messages
  --config FILE            settings and rooms from a config file
  --profile NAME|FILE      memory profile: tiny, router, gateway [router]
  --memory-cap BYTES       override the profile's memory cap
  --limit NAME=VALUE       override one memory-profile field (repeatable)
  --log LEVEL              off, error, warn, info, debug, trace [info]";

const SERVE_USAGE: &str = "\
usage: parlor serve [FLAGS]
Runs the chat server until SIGTERM or SIGINT (exit 0). A bad flag or config prints
one error line and exits 2. Flags (defaults in brackets):
SERVE_FLAGS
On start, one line is printed: parlor listening sip=IP:PORT msrp=IP:PORT";

const LIMITS_USAGE: &str = "\
usage: parlor limits [FLAGS]
Prints the memory figures (memory_cap, max_participants, worst_case_bytes, ...) that
`parlor serve` with the same flags would use, as key=value lines. Flags:
SERVE_FLAGS";

const HASH_USAGE: &str = "\
usage: parlor hash-password [USER [REALM]]
Prints a [user.\"USER\"] table for the config file with the user's SIP digest hashes
(HA1 for SHA-256 and MD5; the password itself is never stored). Reads from stdin, one
line each: USER (e.g. sip:alice@example.com) unless given, REALM (the server's
auth_realm, by default its domain) unless given, then the password. Example:
  printf 'sip:alice@example.com\\nchat.example.net\\n%s\\n' \"$PASSWORD\" | parlor hash-password";

/// A usage text with the shared flag list filled in.
fn usage(text: &str) -> String {
    text.replace("SERVE_FLAGS", SERVE_FLAGS)
}

/// `COMMAND --help` (or `-h`) anywhere among a command's words.
fn asks_help(args: &[OsString]) -> bool {
    args.iter()
        .any(|a| a.to_str().is_some_and(|a| a == "--help" || a == "-h"))
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.is_empty() {
        eprintln!("{}", usage(USAGE));
        return ExitCode::from(2);
    }
    let command = args.remove(0);
    let help = match command.to_str() {
        Some("serve") => Some(SERVE_USAGE),
        Some("limits") => Some(LIMITS_USAGE),
        Some("hash-password") => Some(HASH_USAGE),
        _ => None,
    };
    if let Some(text) = help.filter(|_| asks_help(&args)) {
        println!("{}", usage(text));
        return ExitCode::SUCCESS;
    }
    match command.to_str() {
        Some("serve") => serve(args),
        Some("limits") => limits(args),
        Some("hash-password") => hash_password(args),
        Some("--help" | "-h" | "help") => {
            println!("{}", usage(USAGE));
            ExitCode::SUCCESS
        }
        Some("--version" | "-V") => {
            println!("parlor {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("parlor: unknown command {command:?}\n{}", usage(USAGE));
            ExitCode::from(2)
        }
    }
}

/// `parlor serve`: configuration errors exit 2, runtime errors (e.g. a port in use) 1.
fn serve(args: Vec<OsString>) -> ExitCode {
    let config = match parlor::config::Config::from_args(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("parlor: {}", e.message);
            return ExitCode::from(2);
        }
    };
    parlor::shell::logger::init(config.log_level);
    match parlor::shell::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parlor: {e}");
            ExitCode::from(1)
        }
    }
}

/// `parlor limits`: the configuration `serve` would use, as `key=value` lines of the memory
/// figures (Limits::worst_case_bytes() among them), so a board's measured RSS can be set
/// beside them; the target's own binary prints them (usize differs between boards).
fn limits(args: Vec<OsString>) -> ExitCode {
    let config = match parlor::config::Config::from_args(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("parlor: {}", e.message);
            return ExitCode::from(2);
        }
    };
    let l = &config.limits;
    println!("memory_cap={}", l.memory_cap);
    println!("max_participants={}", l.max_participants);
    println!("max_room_participants={}", l.max_room_participants);
    println!("ring_bytes={}", l.ring_bytes);
    println!("participant_bytes={}", l.participant_bytes());
    println!("msrp_connection_bytes={}", l.msrp_connection_bytes());
    println!("sip_connection_bytes={}", l.sip_connection_bytes());
    println!("read_buf_bytes={}", l.read_buf_bytes);
    println!("nickname_table_bytes={}", l.nickname_table_bytes());
    println!("sip_transaction_bytes={}", l.sip_transaction_bytes());
    println!("cap_governed_bytes={}", l.cap_governed_bytes());
    for (name, bytes) in l.ungoverned_parts() {
        println!("{name}={bytes}");
    }
    println!("ungoverned_bytes={}", l.ungoverned_bytes());
    println!("worst_case_bytes={}", l.worst_case_bytes());
    // min(cap_governed_bytes, memory_cap) + ungoverned_bytes.
    println!("bounded_bytes={}", l.bounded_bytes());
    ExitCode::SUCCESS
}

/// `parlor hash-password [USER [REALM]]`: what is not on the command line is read from
/// stdin, one line each, the password always (never argv: no shell history, no `ps`).
/// Prints the `[user."…"]` table with both HA1 hashes. Exit 2 on bad input.
fn hash_password(args: Vec<OsString>) -> ExitCode {
    use parlor::admission::Aor;
    use std::io::{BufRead, IsTerminal, Write};

    let mut given = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    let stdin = std::io::stdin();
    let prompt = stdin.is_terminal();
    let mut lines = stdin.lock();
    let mut next = |what: &str, from_args: Option<String>| -> Option<String> {
        if let Some(v) = from_args {
            return Some(v);
        }
        if prompt {
            eprint!("{what}: ");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end_matches(['\r', '\n']).to_string()),
            _ => None,
        }
    };
    let user = next("user (e.g. sip:alice@example.com)", given.next());
    let realm = next(
        "realm (the server's auth_realm, default its domain)",
        given.next(),
    );
    if prompt {
        eprintln!("(the password is echoed; pipe it in to avoid that)");
    }
    let password = next("password", None);
    if given.next().is_some() {
        eprintln!("parlor: hash-password takes at most USER and REALM\n{HASH_USAGE}");
        return ExitCode::from(2);
    }
    let (Some(user), Some(realm), Some(password)) = (user, realm, password) else {
        eprintln!("parlor: hash-password needs a user, a realm and a password on stdin");
        return ExitCode::from(2);
    };
    let Some(aor) = Aor::parse(user.trim()) else {
        eprintln!("parlor: {user:?} is not sip:USER@HOST or USER@HOST");
        return ExitCode::from(2);
    };
    let realm = realm.trim();
    if realm.is_empty() || password.is_empty() {
        eprintln!("parlor: the realm and the password must not be empty");
        return ExitCode::from(2);
    }
    let username = aor.user.clone();
    print!(
        "{}",
        parlor::focus::auth::config_lines(&aor, &username, realm, &password)
    );
    ExitCode::SUCCESS
}
