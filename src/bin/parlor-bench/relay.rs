//! The protocol-free fan-out relay the bench measures parlor against (`parlor-bench
//! relay-serve`): one thread, epoll, frames = u32 little-endian length + payload, every
//! frame from one client appended to every other client's output buffer, each buffer
//! flushed with one write per epoll round (batched writes), TCP_NODELAY. Also the client
//! side: connecting the participants and the frame splitter the load phase uses.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use polling::{Event, Events, PollMode, Poller};

use crate::server_proc::RELAY_LINE_PREFIX;

/// Read buffer per client.
const READ_BYTES: usize = 64 * 1024;
/// Largest frame payload.
const MAX_FRAME: usize = READ_BYTES - 4;
/// A client with this much unwritten gets no more frames (they are dropped).
const OUT_CAP: usize = 32 * 1024 * 1024;
/// The listener's epoll key (polling reserves `usize::MAX`).
const LISTENER: usize = usize::MAX - 1;

/// Calls `deliver` with each whole frame's payload at the start of `buf`; returns the bytes
/// consumed.
pub fn split_frames(buf: &[u8], mut deliver: impl FnMut(&[u8])) -> Result<usize, String> {
    let mut pos = 0;
    while let Some(head) = buf.get(pos..pos + 4) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len > MAX_FRAME {
            return Err(format!("frame of {len} bytes"));
        }
        let Some(payload) = buf.get(pos + 4..pos + 4 + len) else {
            break;
        };
        deliver(payload);
        pos += 4 + len;
    }
    Ok(pos)
}

struct Client {
    stream: TcpStream,
    inbuf: Vec<u8>,
    in_len: usize,
    out: Vec<u8>,
    out_pos: usize,
    write_armed: bool,
}

/// Runs the relay until every client that connected has gone (or the bench kills it).
pub fn serve() -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("relay bind: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let poller = Poller::new().map_err(|e| format!("epoll: {e}"))?;
    // SAFETY (polling's contract): the listener and every client stream are deleted from
    // the poller before they are dropped (clients on disconnect, all at the end).
    unsafe { poller.add_with_mode(&listener, Event::readable(LISTENER), PollMode::Level) }
        .map_err(|e| format!("epoll add: {e}"))?;
    println!("{RELAY_LINE_PREFIX}{addr}");
    let _ = std::io::stdout().flush();
    let mut clients: Vec<Option<Client>> = Vec::new();
    let mut ever = false;
    let mut events = Events::new();
    let result = loop {
        events.clear();
        if let Err(e) = poller.wait(&mut events, None) {
            break Err(format!("epoll wait: {e}"));
        }
        for ev in events.iter() {
            if ev.key == LISTENER {
                while let Ok((stream, _)) = listener.accept() {
                    let _ = stream.set_nonblocking(true);
                    let _ = stream.set_nodelay(true);
                    let key = clients.len();
                    // SAFETY: as above.
                    if unsafe {
                        poller.add_with_mode(&stream, Event::readable(key), PollMode::Level)
                    }
                    .is_ok()
                    {
                        clients.push(Some(Client {
                            stream,
                            inbuf: vec![0; READ_BYTES],
                            in_len: 0,
                            out: Vec::new(),
                            out_pos: 0,
                            write_armed: false,
                        }));
                        ever = true;
                    }
                }
                continue;
            }
            if ev.readable && !read_and_fan_out(&mut clients, ev.key) {
                if let Some(c) = clients.get_mut(ev.key).and_then(Option::take) {
                    let _ = poller.delete(&c.stream);
                }
            }
        }
        for (key, slot) in clients.iter_mut().enumerate() {
            let Some(c) = slot else { continue };
            if !flush(c, &poller, key) {
                let _ = poller.delete(&c.stream);
                *slot = None;
            }
        }
        if ever && clients.iter().all(Option::is_none) {
            break Ok(());
        }
    };
    for c in clients.iter().flatten() {
        let _ = poller.delete(&c.stream);
    }
    let _ = poller.delete(&listener);
    result
}

/// One read from client `key`; its whole frames go to every other client. `false` = gone.
fn read_and_fan_out(clients: &mut [Option<Client>], key: usize) -> bool {
    let Some(Some(c)) = clients.get_mut(key) else {
        return true;
    };
    let got = match c.stream.read(&mut c.inbuf[c.in_len..]) {
        Ok(0) => return false,
        Ok(k) => k,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
            return true
        }
        Err(_) => return false,
    };
    c.in_len += got;
    let Ok(used) = split_frames(&c.inbuf[..c.in_len], |_| {}) else {
        return false;
    };
    if used == 0 {
        return c.in_len < c.inbuf.len();
    }
    // The whole frames are one contiguous run: append it to each other client at once.
    let mut frames = std::mem::take(&mut c.inbuf);
    for (other, slot) in clients.iter_mut().enumerate() {
        if other == key {
            continue;
        }
        if let Some(o) = slot {
            if o.out.len() - o.out_pos < OUT_CAP {
                o.out.extend_from_slice(&frames[..used]);
            }
        }
    }
    let Some(Some(c)) = clients.get_mut(key) else {
        return true;
    };
    frames.copy_within(used..c.in_len, 0);
    c.in_len -= used;
    c.inbuf = frames;
    true
}

/// One write of the client's pending output. `false` = the connection failed.
fn flush(c: &mut Client, poller: &Poller, key: usize) -> bool {
    if c.out_pos < c.out.len() {
        match c.stream.write(&c.out[c.out_pos..]) {
            Ok(0) => return false,
            Ok(k) => c.out_pos += k,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => return false,
        }
    }
    let pending = c.out_pos < c.out.len();
    if !pending {
        c.out.clear();
        c.out_pos = 0;
    } else if c.out_pos > READ_BYTES * 16 {
        c.out.drain(..c.out_pos);
        c.out_pos = 0;
    }
    if pending != c.write_armed {
        let interest = if pending {
            Event::all(key)
        } else {
            Event::readable(key)
        };
        if poller
            .modify_with_mode(&c.stream, interest, PollMode::Level)
            .is_err()
        {
            return false;
        }
        c.write_armed = pending;
    }
    true
}

/// Connects `n` clients to the relay and waits until it has accepted them all: client 0
/// sends empty frames until every other client has received one (empty frames carry no
/// payload fields, so the load phase ignores any still in flight).
pub fn connect_clients(addr: SocketAddr, n: usize) -> Result<Vec<TcpStream>, String> {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect relay: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        streams.push(s);
    }
    let mut heard = vec![false; n];
    heard[0] = true;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while heard.iter().any(|h| !h) {
        if Instant::now() > deadline {
            return Err("the relay did not accept every client within 10 s".to_string());
        }
        (&streams[0])
            .write_all(&0u32.to_le_bytes())
            .map_err(|e| format!("relay probe: {e}"))?;
        std::thread::sleep(Duration::from_millis(20));
        for (i, s) in streams.iter().enumerate().skip(1) {
            // Drain everything; any byte means a probe (only probes are sent so far).
            while let Ok(k) = (&*s).read(&mut buf) {
                if k == 0 {
                    return Err("the relay closed a client".to_string());
                }
                heard[i] = true;
            }
        }
    }
    // Let the last probes land, then drop them so the load starts on a frame boundary.
    std::thread::sleep(Duration::from_millis(50));
    for s in streams.iter().skip(1) {
        while let Ok(k) = (&*s).read(&mut buf) {
            if k == 0 {
                return Err("the relay closed a client".to_string());
            }
        }
    }
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_partial_tail_waits() {
        let mut buf = Vec::new();
        for p in [&b"abc"[..], b"", b"hello"] {
            buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
            buf.extend_from_slice(p);
        }
        let mut got = Vec::new();
        let used = split_frames(&buf[..buf.len() - 1], |p| got.push(p.to_vec())).unwrap();
        assert_eq!(used, 4 + 3 + 4);
        assert_eq!(got, vec![b"abc".to_vec(), Vec::new()]);
        let too_big = (MAX_FRAME as u32 + 1).to_le_bytes();
        assert!(split_frames(&too_big, |_| {}).is_err());
    }
}
