//! The client's side of joining and leaving (RFC 3261 §17.1.1.2 INVITE retransmission,
//! §15.1 BYE in both directions, §20.33 Retry-After and §20.43 Warning in a refusal;
//! RFC 3326 Reason): sends and waits, bounded in time, and says in words what happened.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use smol::channel::Receiver;

use crate::render;
use crate::sip_dialog::{Dialog, SipMessage};
use crate::term::Term;
use crate::transport::{Event, SipLink};

/// RFC 3261 T1 and the give-up time 64×T1 for our UDP retransmissions.
pub(crate) const T1: Duration = Duration::from_millis(500);
pub(crate) const T2: Duration = Duration::from_secs(4);
pub(crate) const GIVE_UP: Duration = Duration::from_secs(32);
/// After this long without any answer to the INVITE over UDP, say that we are waiting.
pub(crate) const SLOW_ANSWER: Duration = Duration::from_secs(4);
/// How long `/quit` waits for the BYE's answer before leaving anyway.
pub(crate) const BYE_WAIT: Duration = Duration::from_secs(4);
/// How long a dropped MSRP connection waits for the server's BYE: a server that shuts down
/// sends BYE and closes MSRP, and the close may arrive first.
pub(crate) const BYE_AFTER_DROP: Duration = Duration::from_secs(2);
/// The line for a refused INVITE: the server's code and reason, then why in words — the
/// server's Warning text (RFC 3261 §20.43) when it gave one, else what the code means for
/// a join — and when to try again (Retry-After, §20.33).
pub(crate) fn refusal(code: u16, reason: &str, resp: &SipMessage, room: &str) -> String {
    let why = match (&resp.warning, code) {
        (Some(warning), _) => Some(render::field(warning)),
        (None, 403) => Some("you are not allowed in this room".to_string()),
        (None, 404) => Some(format!("no room {} on this server", render::field(room))),
        (None, 480 | 486 | 503 | 600 | 603) => Some("the room cannot take you now".to_string()),
        (None, 488) => Some("the server could not use our session offer".to_string()),
        _ => None,
    };
    let mut line = format!("server: {code} {}", render::field(reason));
    if let Some(why) = why {
        line.push_str(&format!(" ({why})"));
    }
    if let Some(secs) = resp.retry_after {
        line.push_str(&format!("; try again in {secs} s"));
    }
    line
}

/// Sends the INVITE (retransmitted over UDP, RFC 3261 §17.1.1.2) until a final response.
/// Lines typed meanwhile are kept for after the join. Over UDP, silence is explained
/// while it lasts: at once when nothing listens at the server's port, after a few seconds
/// otherwise.
pub(crate) async fn loop_invite(
    sip: &SipLink,
    invite: &[u8],
    cseq: u32,
    events: &Receiver<Event>,
    early_lines: &mut Vec<String>,
    (term, server): (&Term, SocketAddr),
) -> io::Result<Result<SipMessage, (u16, String, SipMessage)>> {
    sip.send(invite).await?;
    let started = Instant::now();
    let give_up = started + GIVE_UP;
    let transport = if sip.is_tcp() { "TCP" } else { "UDP" };
    let mut interval = T1;
    // Over UDP: when to send the INVITE again (until a provisional response comes).
    let mut retransmit_at = (!sip.is_tcp()).then(|| started + interval);
    // When to say that no answer came yet (once, over UDP, until anything is heard).
    let mut explain_at = (!sip.is_tcp()).then(|| started + SLOW_ANSWER);
    loop {
        let now = Instant::now();
        if now >= give_up {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no answer from the SIP server at {server} over {transport} within {} s \
                     (is it running there? --server IP:PORT, --tcp)",
                    GIVE_UP.as_secs()
                ),
            ));
        }
        if explain_at.is_some_and(|at| now >= at) {
            explain_at = None;
            term.out(format!(
                "* no answer yet from {server} over UDP; still trying for up to {} s",
                GIVE_UP.as_secs()
            ));
        }
        if let Some(at) = retransmit_at.filter(|at| now >= *at) {
            sip.send(invite).await?;
            interval = (interval * 2).min(T2);
            retransmit_at = Some(at + interval);
        }
        let wake = [retransmit_at, explain_at]
            .into_iter()
            .flatten()
            .fold(give_up, Instant::min);
        let event = smol::future::or(async { events.recv().await.ok() }, async {
            smol::Timer::at(wake).await;
            None
        })
        .await;
        let Some(event) = event else {
            continue;
        };
        match event {
            Event::Sip(msg)
                if msg.cseq_method.as_deref() == Some("INVITE") && msg.cseq_seq == Some(cseq) =>
            {
                explain_at = None;
                match msg.status.clone() {
                    Some((code, _)) if code < 200 => retransmit_at = None,
                    Some((code, _)) if code < 300 => return Ok(Ok(*msg)),
                    Some((code, reason)) => return Ok(Err((code, reason, *msg))),
                    None => {}
                }
            }
            Event::Line(line) => early_lines.push(line),
            // Output gone while joining: leave (quietly) as soon as joined.
            Event::StdinEof | Event::OutputGone => early_lines.push("/quit".to_string()),
            Event::SipUnreachable if explain_at.is_some() => {
                explain_at = None;
                term.out(format!(
                    "* nothing answers at {server} over UDP (port unreachable); still trying \
                     for up to {} s",
                    GIVE_UP.as_secs()
                ));
            }
            Event::SipGone => {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    format!("the SIP server at {server} closed the connection before answering"),
                ))
            }
            _ => {}
        }
    }
}

/// Answers requests other than BYE and re-ACKs a retransmitted 200.
pub(crate) async fn answer_other_sip(
    sip: &SipLink,
    dialog: &Dialog,
    ack_branch: &str,
    msg: &SipMessage,
) -> io::Result<()> {
    match msg.method.as_deref() {
        Some("NOTIFY" | "OPTIONS") => sip.send(&msg.response(200, "OK")).await,
        Some("ACK") | None => {
            let ok = matches!(msg.status, Some((200..=299, _)));
            if msg.cseq_method.as_deref() == Some("INVITE") && ok {
                sip.send(&dialog.ack(ack_branch)).await?;
            }
            Ok(())
        }
        Some(_) => sip.send(&msg.response(501, "Not Implemented")).await,
    }
}

/// What the terminal says when the server ended the session with a BYE (RFC 3261 §15.1.2),
/// with the text of its Reason header (RFC 3326) when it has one.
pub(crate) fn room_closed(reason: Option<&str>) -> String {
    match reason.map(str::trim) {
        Some(reason) if !reason.is_empty() => {
            format!(
                "* the room was closed by the server: {}",
                render::field(reason)
            )
        }
        _ => "* the room was closed by the server".to_string(),
    }
}

/// Answers a BYE from the server: 200 when it is in our dialog (same Call-ID), 481
/// otherwise (RFC 3261 §15.1.2). Returns whether it ended our dialog.
pub(crate) async fn answer_bye(
    sip: &SipLink,
    dialog: &Dialog,
    msg: &SipMessage,
) -> io::Result<bool> {
    if msg.call_id.as_deref() != Some(dialog.call_id.as_str()) {
        sip.send(&msg.response(481, "Call/Transaction Does Not Exist"))
            .await?;
        return Ok(false);
    }
    sip.send(&msg.response(200, "OK")).await?;
    Ok(true)
}

/// After the MSRP connection dropped: waits (at most [`BYE_AFTER_DROP`]) for the server's
/// BYE, answering it and any other request meanwhile. `Some(reason)` = the server ended the
/// session; `None` = no BYE came (or the SIP connection went too).
pub(crate) async fn wait_for_bye(
    sip: &SipLink,
    dialog: &Dialog,
    ack_branch: &str,
    events: &Receiver<Event>,
) -> io::Result<Option<Option<String>>> {
    let deadline = Instant::now() + BYE_AFTER_DROP;
    while Instant::now() < deadline {
        let event = smol::future::or(async { events.recv().await.ok() }, async {
            smol::Timer::at(deadline).await;
            None
        })
        .await;
        match event {
            Some(Event::Sip(msg)) if msg.method.as_deref() == Some("BYE") => {
                if answer_bye(sip, dialog, &msg).await? {
                    return Ok(Some(msg.reason));
                }
            }
            Some(Event::Sip(msg)) => answer_other_sip(sip, dialog, ack_branch, &msg).await?,
            Some(Event::SipGone) | None => return Ok(None),
            Some(_) => {}
        }
    }
    Ok(None)
}

/// Sends BYE (with the Via `branch`) and waits (bounded) for its final response. A refusal is printed, except 481:
/// the server no longer knows the dialog, so it has ended as asked. A BYE from the server
/// that crosses ours is answered; then `Some(its Reason)` is returned.
pub(crate) async fn leave(
    sip: &SipLink,
    dialog: &mut Dialog,
    events: &Receiver<Event>,
    branch: &str,
    term: &Term,
) -> Option<Option<String>> {
    dialog.cseq += 1;
    let bye = dialog.bye(branch);
    if sip.send(&bye).await.is_err() {
        return None;
    }
    let mut ended_by_server = None;
    let started = Instant::now();
    let mut interval = T1;
    while started.elapsed() < BYE_WAIT {
        let event = smol::future::or(async { events.recv().await.ok() }, async {
            smol::Timer::after(interval).await;
            None
        })
        .await;
        match event {
            Some(Event::Sip(msg)) if msg.method.as_deref() == Some("BYE") => {
                let ours = answer_bye(sip, dialog, &msg).await.unwrap_or(false);
                if ours {
                    ended_by_server = Some(msg.reason);
                }
            }
            Some(Event::Sip(msg)) if msg.cseq_method.as_deref() == Some("BYE") => {
                match &msg.status {
                    Some((code, _)) if *code < 200 => {}
                    Some((code, reason)) => {
                        if *code >= 300 && *code != 481 && ended_by_server.is_none() {
                            term.out(format!("server: {code} {}", render::field(reason)));
                        }
                        return ended_by_server;
                    }
                    None => {}
                }
            }
            Some(Event::SipGone) => return ended_by_server,
            Some(_) => {}
            None if !sip.is_tcp() => {
                let _ = sip.send(&bye).await;
                interval = (interval * 2).min(T2);
            }
            None => {}
        }
    }
    ended_by_server
}
