//! What a gather write would cost the kernel (issue 6, "reference the body instead of copying
//! it"): the sending thread's CPU per delivery on a loopback TCP socket, for D deliveries of
//! an MSRP copy per write, either copied whole into one contiguous buffer (what parlor's ring
//! does: one iovec) or with only the per-copy headers copied and the shared CPIM body
//! referenced (three iovecs per delivery: headers, body, end-line).
//!
//! A measuring tool, not a test: `cargo bench --bench gather_cost`, settings via argv or the
//! environment (`D=64 WRITES=100000 PAIRS=5 HEAD=250 BODY=293 TAIL=27`). It prints both
//! figures for each interleaved pair. CPU is this thread's CPU clock, which on loopback
//! includes the receive path the kernel runs in the sender's context, as it does for
//! parlor's writers.

use std::io::{IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};

/// `KEY=VALUE` from argv first, then the environment, else `default`.
fn setting(key: &str, default: usize) -> usize {
    let prefix = format!("{key}=");
    let from_args = std::env::args().find_map(|a| a.strip_prefix(&prefix).map(str::to_owned));
    match from_args.or_else(|| std::env::var(key).ok()) {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{key}={v}: not a number")),
        None => default,
    }
}

/// This thread's on-CPU nanoseconds, exact to now (`CLOCK_THREAD_CPUTIME_ID`; the
/// schedstat file would lag by up to a tick for the thread reading it).
fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

#[derive(Clone, Copy)]
struct Sizes {
    deliveries: usize,
    writes: usize,
    head: usize,
    body: usize,
    tail: usize,
}

/// A connected loopback pair whose far end a thread reads and discards.
fn pair() -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    let tx = TcpStream::connect(addr).expect("connect");
    let (mut rx, _) = listener.accept().expect("accept");
    tx.set_nodelay(true).expect("nodelay");
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        while matches!(rx.read(&mut buf), Ok(n) if n > 0) {}
    });
    tx
}

/// Writes all of `iov`, continuing after short writes.
fn write_all_vectored(tx: &mut TcpStream, mut iov: &mut [IoSlice<'_>]) {
    while !iov.is_empty() {
        match tx.write_vectored(iov) {
            Ok(0) | Err(_) => panic!("loopback write failed"),
            Ok(n) => IoSlice::advance_slices(&mut iov, n),
        }
    }
}

/// CPU ns per delivery of `s.writes` calls of `one_write(w, socket)` on a fresh pair.
fn per_delivery(s: Sizes, mut one_write: impl FnMut(usize, &mut TcpStream)) -> f64 {
    let mut tx = pair();
    let start = thread_cpu_ns();
    for w in 0..s.writes {
        one_write(w, &mut tx);
    }
    (thread_cpu_ns() - start) as f64 / (s.writes * s.deliveries) as f64
}

/// Where in `source` delivery `d` of write `w` takes its copy from: a different one each
/// time, as recipients' headers differ.
fn source_at(s: Sizes, w: usize, d: usize) -> usize {
    ((w * 7 + d) % s.deliveries) * (s.head + s.body + s.tail)
}

/// CPU ns per delivery: every delivery's whole copy memcpy'd into one buffer, one iovec.
fn contiguous(s: Sizes, source: &[u8]) -> f64 {
    let copy = s.head + s.body + s.tail;
    let mut ring = vec![0u8; copy * s.deliveries];
    per_delivery(s, |w, tx| {
        for (d, slot) in ring.chunks_exact_mut(copy).enumerate() {
            let at = source_at(s, w, d);
            slot.copy_from_slice(&source[at..at + copy]);
        }
        write_all_vectored(tx, &mut [IoSlice::new(&ring)]);
    })
}

/// CPU ns per delivery: only headers and end-line copied, the body shared: three iovecs.
fn gathered(s: Sizes, source: &[u8]) -> f64 {
    let own = s.head + s.tail;
    let body = vec![b'b'; s.body];
    let mut heads = vec![0u8; own * s.deliveries];
    per_delivery(s, |w, tx| {
        for (d, slot) in heads.chunks_exact_mut(own).enumerate() {
            let at = source_at(s, w, d);
            slot.copy_from_slice(&source[at..at + own]);
        }
        // One small allocation per write (per D deliveries): about 1 ns per delivery.
        let mut iov: Vec<IoSlice<'_>> = Vec::with_capacity(3 * s.deliveries);
        for slot in heads.chunks_exact(own) {
            let (head, tail) = slot.split_at(s.head);
            iov.extend([IoSlice::new(head), IoSlice::new(&body), IoSlice::new(tail)]);
        }
        write_all_vectored(tx, &mut iov);
    })
}

fn main() {
    let s = Sizes {
        deliveries: setting("D", 64),
        writes: setting("WRITES", 100_000),
        head: setting("HEAD", 250),
        body: setting("BODY", 293),
        tail: setting("TAIL", 27),
    };
    let pairs = setting("PAIRS", 5);
    assert!(s.deliveries > 0 && s.writes > 0 && s.deliveries * 3 <= 1024);
    let source = vec![b'h'; (s.head + s.body + s.tail) * s.deliveries];
    println!(
        "{} deliveries of {}+{}+{} bytes per write, {} writes per figure",
        s.deliveries, s.head, s.body, s.tail, s.writes
    );
    for pair_no in 1..=pairs {
        let one = contiguous(s, &source);
        let three = gathered(s, &source);
        println!(
            "pair {pair_no}: contiguous {one:.1} ns/delivery, gathered {three:.1} ns/delivery \
             (gathered/contiguous {:.2})",
            three / one
        );
    }
}
