//! The chat client's MSRP side (RFC 4975 §7 framing, §7.2 responses; RFC 3862 CPIM;
//! RFC 7701 §7 NICKNAME): frames what the switch sends, reassembles chunks per Message-ID,
//! and builds SEND/NICKNAME requests and 200 responses.

use std::collections::HashMap;

/// Byte offset of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Chunks buffered for one incoming message at most (a chat client, not a file transfer).
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// One whole MSRP message from the switch.
#[derive(Clone, Debug)]
pub struct MsrpMessage {
    pub tid: String,
    /// Method for requests, `None` for responses.
    pub method: Option<String>,
    /// `(code, comment)` for responses.
    pub status: Option<(u16, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub flag: u8,
}

impl MsrpMessage {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Takes the first whole message off `buf`; `Err` = not MSRP at all.
pub fn take_message(buf: &mut Vec<u8>) -> Result<Option<MsrpMessage>, ()> {
    let Some(line_end) = find(buf, b"\r\n") else {
        return if buf.len() > MAX_MESSAGE_BYTES {
            Err(())
        } else {
            Ok(None)
        };
    };
    let first = std::str::from_utf8(&buf[..line_end]).map_err(|_| ())?;
    let mut parts = first.splitn(3, ' ');
    if parts.next() != Some("MSRP") {
        return Err(());
    }
    let tid = parts.next().ok_or(())?.to_string();
    let rest = parts.next().ok_or(())?.to_string();
    let marker = format!("\r\n-------{tid}");
    let Some(end) = find(&buf[line_end..], marker.as_bytes()).map(|i| i + line_end) else {
        return if buf.len() > MAX_MESSAGE_BYTES {
            Err(())
        } else {
            Ok(None)
        };
    };
    let flag_at = end + marker.len();
    match buf.get(flag_at..flag_at + 3) {
        None => return Ok(None),
        Some([flag, b'\r', b'\n']) if b"$+#".contains(flag) => {}
        Some(_) => return Err(()),
    }
    let flag = buf[flag_at];
    let block = &buf[line_end + 2..end + 2];
    let (head, body) = match find(block, b"\r\n\r\n") {
        Some(i) => (&block[..i + 2], buf[line_end + 2 + i + 4..end].to_vec()),
        None => (block, Vec::new()),
    };
    let headers = String::from_utf8_lossy(head)
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let (word, comment) = rest.split_once(' ').unwrap_or((&rest, ""));
    let (method, status) = match word.parse::<u16>() {
        Ok(code) => (None, Some((code, comment.to_string()))),
        Err(_) => (Some(word.to_string()), None),
    };
    let msg = MsrpMessage {
        tid,
        method,
        status,
        headers,
        body,
        flag,
    };
    buf.drain(..flag_at + 3);
    Ok(Some(msg))
}

/// Our MSRP session: its two paths and the chunks of messages still arriving.
pub struct Session {
    pub local_path: String,
    pub remote_path: String,
    partial: HashMap<String, Vec<u8>>,
}

/// A complete chat line: who sent it and the text.
pub struct ChatLine {
    pub from: String,
    pub private: bool,
    pub text: String,
}

impl Session {
    pub fn new(local_path: String, remote_path: String) -> Self {
        Session {
            local_path,
            remote_path,
            partial: HashMap::new(),
        }
    }

    /// A SEND request with `body` (bodiless when `None`).
    pub fn send(&self, tid: &str, message_id: &str, body: Option<&[u8]>) -> Vec<u8> {
        let mut out = format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: {message_id}\r\n",
            self.remote_path, self.local_path
        )
        .into_bytes();
        match body {
            None => out.extend_from_slice(b"Byte-Range: 1-0/0\r\n"),
            Some(b) => {
                let n = b.len();
                out.extend_from_slice(
                    format!("Byte-Range: 1-{n}/{n}\r\nContent-Type: message/cpim\r\n\r\n")
                        .as_bytes(),
                );
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(format!("-------{tid}$\r\n").as_bytes());
        out
    }

    /// A NICKNAME request (RFC 7701 §7.1) for `name`, quoted with `\"`/`\\` escapes.
    pub fn nickname(&self, tid: &str, name: &str) -> Vec<u8> {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!(
            "MSRP {tid} NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\nUse-Nickname: \"{quoted}\"\r\n\
             -------{tid}$\r\n",
            self.remote_path, self.local_path
        )
        .into_bytes()
    }

    /// The 200 for a request the switch sent (RFC 4975 §7.2).
    pub fn ok(&self, req: &MsrpMessage) -> Vec<u8> {
        let to = req
            .header("From-Path")
            .and_then(|p| p.split_whitespace().next())
            .unwrap_or(&self.remote_path);
        format!(
            "MSRP {} 200 OK\r\nTo-Path: {to}\r\nFrom-Path: {}\r\n-------{}$\r\n",
            req.tid, self.local_path, req.tid
        )
        .into_bytes()
    }

    /// Adds one received SEND chunk; returns the line once the message is complete.
    pub fn receive(&mut self, me: &str, msg: &MsrpMessage) -> Option<ChatLine> {
        let id = msg.header("Message-ID")?.to_string();
        if msg.flag == b'#' {
            self.partial.remove(&id);
            return None;
        }
        let start = msg
            .header("Byte-Range")
            .and_then(|r| r.split('-').next())
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let whole = self.partial.entry(id.clone()).or_default();
        let end = start - 1 + msg.body.len();
        if end > MAX_MESSAGE_BYTES {
            self.partial.remove(&id);
            return None;
        }
        if whole.len() < end {
            whole.resize(end, 0);
        }
        whole[start - 1..end].copy_from_slice(&msg.body);
        if msg.flag != b'$' {
            return None;
        }
        let body = self.partial.remove(&id)?;
        parse_cpim(me, &body)
    }
}

/// The CPIM From, whether To was us (a private message), and the text after the
/// encapsulated MIME headers (RFC 3862 §3; the empty line after the CPIM headers may be
/// missing, as in RFC 7701's own examples).
fn parse_cpim(me: &str, body: &[u8]) -> Option<ChatLine> {
    let text = String::from_utf8_lossy(body);
    let (cpim_head, rest) = text.split_once("\r\n\r\n")?;
    let mut from = String::new();
    let mut private = false;
    for line in cpim_head.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            let uri = uri_of(value.trim());
            match name.trim() {
                "From" => from = uri,
                "To" => private = uri == me,
                _ => {}
            }
        }
    }
    // With the RFC 3862 layout the MIME headers follow; otherwise `rest` starts with them.
    let content = match rest.split_once("\r\n\r\n") {
        Some((mime, content)) if mime.to_ascii_lowercase().contains("content-type") => content,
        _ => rest,
    };
    Some(ChatLine {
        from,
        private,
        text: content.to_string(),
    })
}

/// The URI inside `<...>` of a CPIM address (or the whole value).
fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value.get(a + 1..b).unwrap_or_default().to_string(),
        _ => value.to_string(),
    }
}

/// A CPIM body from `from` to `to` wrapping UTF-8 text.
pub fn cpim(from: &str, to: &str, text: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\n\r\nContent-Type: text/plain;charset=utf-8\r\n\r\n{text}"
    )
    .into_bytes()
}
