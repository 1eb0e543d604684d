//! `parlor-chat`: a terminal client for an RFC 7701 chat room. Joins with SIP INVITE +
//! MSRP SDP offer (RFC 4975 §8, RFC 7701 §8), binds its MSRP session with a bodiless SEND
//! (RFC 4975 §5.4), prints `<sender> text` per received message (rendered inertly,
//! `render.rs`), and sends each stdin line as Message/CPIM (RFC 3862). Commands: `/msg URI
//! text`, `/nick NAME`, `/who` (an in-dialog roster fetch, RFC 6665 §4.4.3 + RFC 4575),
//! `/quit` (also EOF). A room that demands digest authentication (401, RFC 3261 §22.2) is
//! answered with the password from `--password-file`. A BYE from the server (RFC 3261
//! §15.1.2, with an RFC 3326 Reason) ends the session normally. The session runs on one
//! thread; stdin and the terminal's output each have a thread of their own, so a terminal
//! that takes no output never stops the session.

mod msrp_session;
mod render;
mod roster;
mod signalling;
mod sip_dialog;
mod term;
mod transport;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use smol::LocalExecutor;

use msrp_session::{cpim, Inbound, Session};
use parlor::rand::fill_ident;
use parlor::shell::Urandom;
use signalling::{
    answer_bye, answer_other_sip, leave, loop_invite, refusal, room_closed, wait_for_bye, BYE_WAIT,
};
use sip_dialog::{Challenge, Credentials, Dialog, SipMessage};
use term::Term;
use transport::{Event, Links, SipLink};

const USAGE: &str = "\
usage: parlor-chat ROOM-URI --as SIP-URI [--nick NAME] [--tcp] [--server IP:PORT]
                   [--password-file FILE] [--auth-user NAME]
  ROOM-URI          e.g. sip:lobby@localhost
  --as SIP-URI      who you are, e.g. sip:alice@example.com (CPIM From)
  --nick NAME       ask for this nickname after joining
  --tcp             SIP over TCP instead of UDP
  --server IP:PORT  the SIP server [127.0.0.1:5060]
  --password-file FILE  digest password (first line) for a server that asks (401)
  --auth-user NAME  digest username [the user part of --as]
commands: /msg URI text, /nick NAME, /who, /quit (or end of input)";

/// INVITEs with credentials after 401s: one, plus one per `stale=true` answer.
const MAX_AUTH_TRIES: u32 = 3;

/// How long the exit waits for a terminal that takes no output before leaving anyway.
const OUTPUT_STALL: Duration = Duration::from_secs(2);

struct Args {
    room: String,
    me: String,
    nick: Option<String>,
    tcp: bool,
    server: SocketAddr,
    password_file: Option<std::path::PathBuf>,
    auth_user: Option<String>,
}

/// `Ok(None)`: `--help`.
fn parse_args() -> Result<Option<Args>, String> {
    let mut pargs = pico_args::Arguments::from_env();
    if pargs.contains(["-h", "--help"]) {
        return Ok(None);
    }
    let me: String = pargs
        .value_from_str("--as")
        .map_err(|e| format!("--as: {e}"))?;
    let nick: Option<String> = pargs
        .opt_value_from_str("--nick")
        .map_err(|e| e.to_string())?;
    let tcp = pargs.contains("--tcp");
    let password_file: Option<std::path::PathBuf> = pargs
        .opt_value_from_str("--password-file")
        .map_err(|e| format!("--password-file: {e}"))?;
    let auth_user: Option<String> = pargs
        .opt_value_from_str("--auth-user")
        .map_err(|e| format!("--auth-user: {e}"))?;
    let server: SocketAddr = pargs
        .opt_value_from_str("--server")
        .map_err(|e| format!("--server: {e}"))?
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)));
    let room: String = pargs
        .free_from_str()
        .map_err(|_| "missing ROOM-URI".to_string())?;
    let rest = pargs.finish();
    if !rest.is_empty() {
        return Err(format!("unexpected arguments: {rest:?}"));
    }
    for (what, uri) in [("ROOM-URI", &room), ("--as", &me)] {
        if !uri.starts_with("sip:") || !uri.contains('@') {
            return Err(format!("{what}: expected a sip:user@host URI, got {uri:?}"));
        }
    }
    Ok(Some(Args {
        room,
        me,
        nick,
        tcp,
        server,
        password_file,
        auth_user,
    }))
}

fn main() -> ExitCode {
    let term = match Term::start() {
        Ok(term) => term,
        Err(_) => return ExitCode::from(1),
    };
    let code = match parse_args() {
        Ok(None) => {
            term.out(USAGE);
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => {
            let ex = LocalExecutor::new();
            match smol::block_on(ex.run(chat(&ex, args, &term))) {
                Ok(code) => code,
                Err(e) => {
                    term.err(format!("parlor-chat: {e}"));
                    ExitCode::from(1)
                }
            }
        }
        Err(msg) => {
            term.err(format!("parlor-chat: {msg}\n{USAGE}"));
            ExitCode::from(2)
        }
    };
    term.finish(OUTPUT_STALL);
    code
}

/// Random identifiers for tags, branches, transaction ids, Message-IDs and session-ids.
struct Ids(Urandom);

impl Ids {
    /// A fresh Via branch (RFC 3261 §8.1.1.7 magic cookie + 14 random characters).
    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.id(14))
    }

    fn id(&mut self, len: usize) -> String {
        let mut buf = vec![0u8; len];
        fill_ident(&mut self.0, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// What a transaction id we sent was for.
enum Pending {
    Bind,
    Send,
    Nickname(String),
}

async fn chat(ex: &LocalExecutor<'_>, args: Args, term: &Term) -> io::Result<ExitCode> {
    let credentials = match &args.password_file {
        Some(path) => Some(read_credentials(path, &args)?),
        None => None,
    };
    let mut ids = Ids(Urandom::open()?);
    let (sip, local) = SipLink::connect(args.server, args.tcp).await?;
    let links = Links::start(ex, sip.clone());
    let events = links.events.clone();
    let gone = links.sender();
    term.on_gone(move || {
        let _ = gone.try_send(Event::OutputGone);
    });
    let mut dialog = Dialog {
        room: args.room.clone(),
        me: args.me.clone(),
        display: args.nick.clone().unwrap_or_default(),
        local,
        transport: if args.tcp { "TCP" } else { "UDP" },
        call_id: format!("{}@{}", ids.id(16), uri_host(local.ip())),
        from_tag: ids.id(12),
        to_tag: None,
        remote_target: args.room.clone(),
        cseq: 1,
        invite_branch: ids.branch(),
        invite_cseq: 1,
        authorization: None,
    };
    let local_path = format!("msrp://{}:9/{};tcp", uri_host(local.ip()), ids.id(16));
    let mut early_lines = Vec::new();

    // INVITE → final response; a 401 is answered with credentials (RFC 3261 §22.2).
    let mut auth_tries = 0;
    let ok = loop {
        let invite = dialog.invite(&local_path);
        let cseq = dialog.invite_cseq;
        let answer = loop_invite(
            &sip,
            &invite,
            cseq,
            &events,
            &mut early_lines,
            (term, args.server),
        )
        .await?;
        let (code, reason, resp) = match answer {
            Ok(ok) => break ok,
            Err(refusal) => refusal,
        };
        // Non-2xx: the transaction's ACK (RFC 3261 §17.1.1.3).
        dialog.to_tag = resp.to_tag.clone();
        let _ = sip.send(&dialog.ack(&dialog.invite_branch)).await;
        let challenge = if code == 401 {
            Challenge::choose(&resp.challenges())
        } else {
            None
        };
        match (challenge, &credentials) {
            (Some(ch), Some(who))
                if (auth_tries == 0 || ch.stale) && auth_tries < MAX_AUTH_TRIES =>
            {
                auth_tries += 1;
                dialog.invite_cseq += 1;
                dialog.invite_branch = ids.branch();
                dialog.to_tag = None;
                let cnonce = ids.id(16);
                dialog.authorization = Some(ch.authorization(who, "INVITE", &dialog.room, &cnonce));
            }
            (Some(_), None) => {
                term.out(format!(
                    "server: {code} {} (the room wants a password: --password-file)",
                    render::field(&reason)
                ));
                return Ok(ExitCode::from(1));
            }
            _ => {
                term.out(refusal(code, &reason, &resp, &dialog.room));
                return Ok(ExitCode::from(1));
            }
        }
    };
    dialog.cseq = dialog.invite_cseq;
    dialog.to_tag = ok.to_tag.clone();
    if let Some(contact) = &ok.contact {
        dialog.remote_target = contact.clone();
    }
    let ack_branch = ids.branch();
    sip.send(&dialog.ack(&ack_branch)).await?;
    let Some(remote_path) = ok.answer_path() else {
        term.out("server: 200 OK without a=path; leaving");
        leave(&sip, &mut dialog, &events, &ids.branch(), term).await;
        return Ok(ExitCode::from(1));
    };
    let session = Session::new(local_path, remote_path.clone());
    let msrp_addr = first_hop(&remote_path, args.server);
    let msrp = match links.connect_msrp(ex, msrp_addr).await {
        Ok(m) => m,
        Err(e) => {
            term.out(format!("cannot connect MSRP to {msrp_addr}: {e}"));
            leave(&sip, &mut dialog, &events, &ids.branch(), term).await;
            return Ok(ExitCode::from(1));
        }
    };

    let mut pending: HashMap<String, Pending> = HashMap::new();
    let bind_tid = ids.id(12);
    pending.insert(bind_tid.clone(), Pending::Bind);
    msrp.send(&session.send(&bind_tid, &ids.id(12), None))
        .await?;

    let mut run = Running {
        session,
        msrp,
        pending,
        inbound: Inbound::new(),
        term: term.clone(),
        bind_failed: false,
        joined: false,
        me: args.me.clone(),
        room: args.room.clone(),
    };
    // Lines wait until the session is bound; a quit waits (bounded) for pending answers.
    let mut queued: std::collections::VecDeque<String> = early_lines.into();
    if let Some(nick) = &args.nick {
        queued.push_front(format!("/nick {nick}"));
    }
    let mut quit_by: Option<Instant> = None;
    loop {
        while run.joined && quit_by.is_none() {
            let Some(line) = queued.pop_front() else {
                break;
            };
            if line.trim() == "/who" {
                dialog.cseq += 1;
                let branch = ids.branch();
                sip.send(&dialog.roster_fetch(&branch)).await?;
                continue;
            }
            if !run.line(&line, &mut ids).await? {
                quit_by = Some(Instant::now() + BYE_WAIT);
            }
        }
        let event = match quit_by {
            Some(deadline) if run.pending.is_empty() || Instant::now() >= deadline => break,
            Some(deadline) => {
                smol::future::or(async { events.recv().await.ok() }, async {
                    smol::Timer::at(deadline).await;
                    None
                })
                .await
            }
            None => events.recv().await.ok(),
        };
        let Some(event) = event else {
            continue;
        };
        match event {
            Event::Line(line) => queued.push_back(line),
            Event::StdinEof => queued.push_back("/quit".to_string()),
            Event::Msrp(bytes) => {
                if !run.msrp_input(&bytes).await? {
                    term.out("server: sent something that is not MSRP; leaving");
                    leave(&sip, &mut dialog, &events, &ids.branch(), term).await;
                    return Ok(ExitCode::from(1));
                }
                if run.bind_failed {
                    leave(&sip, &mut dialog, &events, &ids.branch(), term).await;
                    return Ok(ExitCode::from(1));
                }
            }
            Event::MsrpGone => {
                let bye = wait_for_bye(&sip, &dialog, &ack_branch, &events).await?;
                if let Some(reason) = bye {
                    term.out(room_closed(reason.as_deref()));
                    return Ok(ExitCode::SUCCESS);
                }
                term.out(
                    "* lost the connection to the server: it closed MSRP without ending \
                     the session; leaving",
                );
                if let Some(reason) = leave(&sip, &mut dialog, &events, &ids.branch(), term).await {
                    term.out(room_closed(reason.as_deref()));
                    return Ok(ExitCode::SUCCESS);
                }
                return Ok(ExitCode::from(1));
            }
            Event::Sip(msg) if msg.method.as_deref() == Some("BYE") => {
                if answer_bye(&sip, &dialog, &msg).await? {
                    term.out(room_closed(msg.reason.as_deref()));
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Event::Sip(msg) => {
                print_roster_news(term, &run.room, &msg);
                answer_other_sip(&sip, &dialog, &ack_branch, &msg).await?;
            }
            Event::SipGone => {
                term.out("* SIP connection closed by the server");
                return Ok(ExitCode::from(1));
            }
            // The server went away; the MSRP drop that comes with it is handled.
            Event::SipUnreachable => {}
            Event::OutputGone => {
                // Nobody can read what we print: leave quietly.
                leave(&sip, &mut dialog, &events, &ids.branch(), term).await;
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    leave(&sip, &mut dialog, &events, &ids.branch(), term).await;
    Ok(ExitCode::SUCCESS)
}

/// The digest username and the first line of the password file.
fn read_credentials(path: &std::path::Path, args: &Args) -> io::Result<Credentials> {
    let text = std::fs::read_to_string(path)?;
    let password = text.lines().next().unwrap_or_default().to_string();
    if password.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: the first line (the password) is empty", path.display()),
        ));
    }
    let from_uri = args.me.strip_prefix("sip:").unwrap_or(&args.me);
    let username = args
        .auth_user
        .clone()
        .unwrap_or_else(|| from_uri.split('@').next().unwrap_or_default().to_string());
    Ok(Credentials { username, password })
}

/// Prints the roster a NOTIFY carries, or the refusal of a `/who` fetch.
fn print_roster_news(term: &Term, room: &str, msg: &SipMessage) {
    match (msg.method.as_deref(), &msg.status) {
        (Some("NOTIFY"), _) if !msg.body.is_empty() => {
            let users = roster::users(&String::from_utf8_lossy(&msg.body));
            term.out(format!("* {} in {room}:", users.len()));
            for line in roster::lines(&users) {
                term.out(line);
            }
        }
        (None, Some((code, reason)))
            if *code >= 300 && msg.cseq_method.as_deref() == Some("SUBSCRIBE") =>
        {
            term.out(format!("server: {code} {}", render::field(reason)));
        }
        _ => {}
    }
}

/// An IP address as the host of a URI: IPv6 in brackets (RFC 3986 §3.2.2, RFC 3261 §25.1
/// `IPv6reference`, RFC 4975 §9 MSRP URIs).
fn uri_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The first hop of an MSRP path: its leftmost URI's authority (RFC 4975 §9: `host:port`,
/// an IPv6 host in brackets). A host name is replaced by the SIP server's IP (no name
/// resolution here); a missing port is 2855 (RFC 4975 §15.1).
fn first_hop(path: &str, server: SocketAddr) -> SocketAddr {
    let uri = path.split_whitespace().next().unwrap_or_default();
    let authority = uri
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', ';']).next().unwrap_or_default())
        .unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, rest)) => (host, rest.strip_prefix(':')),
            None => (v6, None),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = port.and_then(|p| p.parse().ok()).unwrap_or(2855);
    let ip = host.parse().unwrap_or(server.ip());
    SocketAddr::new(ip, port)
}

/// The joined session: MSRP link, requests awaiting answers, the input buffer.
struct Running {
    session: Session,
    msrp: transport::MsrpLink,
    pending: HashMap<String, Pending>,
    inbound: Inbound,
    term: Term,
    bind_failed: bool,
    joined: bool,
    me: String,
    room: String,
}

impl Running {
    /// One stdin line; `false` = quit.
    async fn line(&mut self, line: &str, ids: &mut Ids) -> io::Result<bool> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.starts_with('/') {
            return self.command(line, ids).await;
        }
        if !line.is_empty() {
            let room = self.room.clone();
            self.say(&room, line, ids).await?;
        }
        Ok(true)
    }

    async fn command(&mut self, line: &str, ids: &mut Ids) -> io::Result<bool> {
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "/quit" => return Ok(false),
            "/msg" => match rest.trim().split_once(' ') {
                Some((to, text)) if to.starts_with("sip:") => {
                    self.say(to, text, ids).await?;
                }
                _ => self.term.out("* usage: /msg sip:user@host text"),
            },
            "/nick" if !rest.trim().is_empty() => {
                let tid = ids.id(12);
                let name = rest.trim().to_string();
                self.msrp.send(&self.session.nickname(&tid, &name)).await?;
                self.pending.insert(tid, Pending::Nickname(name));
            }
            _ => self.term.out(format!(
                "* unknown command {}; try /msg, /nick, /who, /quit",
                render::field(cmd)
            )),
        }
        Ok(true)
    }

    async fn say(&mut self, to: &str, text: &str, ids: &mut Ids) -> io::Result<()> {
        let tid = ids.id(12);
        let body = cpim(&self.me, to, text);
        self.msrp
            .send(&self.session.send(&tid, &ids.id(12), Some(&body)))
            .await?;
        self.pending.insert(tid, Pending::Send);
        Ok(())
    }

    /// Bytes from the switch; `false` = not MSRP.
    async fn msrp_input(&mut self, bytes: &[u8]) -> io::Result<bool> {
        let Ok(messages) = self.inbound.push(bytes) else {
            return Ok(false);
        };
        for msg in messages {
            if let Some((code, comment)) = &msg.status {
                self.response(*code, comment, &msg.tid);
                continue;
            }
            if msg.method.as_deref() != Some("SEND") {
                continue;
            }
            if !msg.no_response {
                self.msrp.send(&self.session.ok(&msg)).await?;
            }
            if let Some(shown) = self
                .session
                .receive(&self.me, &msg)
                .and_then(|line| line.display())
            {
                self.term.out(shown);
            }
        }
        Ok(true)
    }

    fn response(&mut self, code: u16, comment: &str, tid: &str) {
        match self.pending.remove(tid) {
            Some(Pending::Bind) if code == 200 => {
                self.joined = true;
                self.term
                    .out(format!("* joined {} as {}", self.room, self.me));
            }
            Some(Pending::Bind) => {
                self.term
                    .out(format!("server: {code} {}", render::field(comment)));
                self.bind_failed = true;
            }
            Some(Pending::Nickname(name)) if code == 200 => self
                .term
                .out(format!("* nickname is now {}", render::field(&name))),
            Some(_) if code >= 300 => self
                .term
                .out(format!("server: {code} {}", render::field(comment))),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_hop_reads_ipv4_ipv6_and_names() {
        let server: SocketAddr = "[2001:db8::5]:5060".parse().unwrap();
        for (path, want) in [
            ("msrp://192.0.2.1:2855/s;tcp", "192.0.2.1:2855"),
            ("msrp://[::1]:40000/abc;tcp", "[::1]:40000"),
            (
                "msrp://[2001:db8::1]/abc;tcp msrp://x:1/y;tcp",
                "[2001:db8::1]:2855",
            ),
            ("msrps://user@[fe80::2]:9/s;tcp", "[fe80::2]:9"),
            ("msrp://relay.example.com:12/s;tcp", "[2001:db8::5]:12"),
            ("msrp://relay.example.com/s;tcp", "[2001:db8::5]:2855"),
            ("garbage", "[2001:db8::5]:2855"),
        ] {
            assert_eq!(first_hop(path, server).to_string(), want, "{path}");
        }
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(uri_host("::1".parse().unwrap()), "[::1]");
        assert_eq!(uri_host("127.0.0.1".parse().unwrap()), "127.0.0.1");
    }
}
