//! The `parlor` command line: a bad flag exits 2 with one error line; SIGTERM and SIGINT
//! end the server with exit code 0; `--help`, `--version`, unknown commands.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{wait_bounded, Server};

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parlor"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parlor");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    (status.code(), out, err)
}

#[test]
fn bad_flag_exits_2_with_one_error_line() {
    let (code, out, err) = run(&["serve", "--no-such-flag"]);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert!(out.is_empty(), "stdout: {out}");
    assert_eq!(
        err.lines().count(),
        1,
        "expected one error line, got: {err:?}"
    );
    assert!(err.starts_with("parlor: "), "error line: {err:?}");
}

#[test]
fn bad_address_exits_2() {
    let (code, _, err) = run(&["serve", "--sip-listen", "not-an-address"]);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
}

#[test]
fn sigterm_exits_0() {
    let mut server = Server::start(&[]);
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn sigint_exits_0() {
    let mut server = Server::start(&[]);
    let status = server.terminate_with("INT");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn help_version_and_unknown_command() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("parlor serve"), "{out}");
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert_eq!(out.trim(), format!("parlor {}", env!("CARGO_PKG_VERSION")));
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("usage"), "{err}");
    let (code, _, _) = run(&[]);
    assert_eq!(code, Some(2));
}

// Issue 14: every subcommand's `--help` (or `-h`) prints that command's usage on stdout and
// exits 0; `hash-password --help` used to take `--help` as the user name and wait for a
// realm and a password on stdin.
#[test]
fn every_subcommand_has_help() {
    for (command, expect) in [
        ("serve", "usage: parlor serve"),
        ("limits", "usage: parlor limits"),
        ("hash-password", "usage: parlor hash-password"),
    ] {
        for flag in ["--help", "-h"] {
            let (code, out, err) = run(&[command, flag]);
            assert_eq!(code, Some(0), "{command} {flag}: {err}");
            assert!(out.starts_with(expect), "{command} {flag}: {out}");
            assert!(err.is_empty(), "{command} {flag} stderr: {err}");
        }
    }
    let (_, out, _) = run(&["serve", "--help"]);
    assert!(out.contains("--limit NAME=VALUE"), "{out}");
    let (code, out, _) = run(&["serve", "--log", "warn", "--help"]);
    assert_eq!(code, Some(0), "--help after other flags");
    assert!(out.starts_with("usage: parlor serve"), "{out}");
}
