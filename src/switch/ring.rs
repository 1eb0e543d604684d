//! A byte ring of fixed capacity: the per-participant outbound queue and the per-connection
//! control queue. Writes are atomic — a whole MSRP message or nothing — so an empty ring is
//! always at a message boundary and a dropped copy never leaves half a message behind. The
//! capacity is reserved in full against the memory cap when the ring is made, but its
//! buffer is allocated on demand, doubling up to the capacity and never shrinking: resident
//! memory follows the highest fill a ring has seen, not its capacity (50 idle 64 KiB rings
//! would otherwise be 3.2 MB of RSS), and steady traffic allocates nothing once the buffers
//! have grown.

use crate::wire::msrp::Sink;

/// The first buffer a ring allocates (or its capacity, if smaller).
const FIRST_BUFFER_BYTES: usize = 2048;

/// A byte ring of fixed capacity.
#[derive(Debug, Default)]
pub(super) struct Ring {
    /// What is allocated so far (`capacity` at most); indices wrap at its length.
    buf: Box<[u8]>,
    capacity: usize,
    start: usize,
    len: usize,
}

impl Ring {
    /// A ring of `capacity` bytes; nothing is allocated until the first write.
    pub(super) fn new(capacity: usize) -> Self {
        Ring {
            buf: Box::default(),
            capacity,
            start: 0,
            len: 0,
        }
    }

    /// Makes the buffer hold `extra` more bytes after the queued ones (the caller checked
    /// they fit the capacity): doubles it as needed, moving the queued bytes to its start.
    #[inline]
    fn grow_for(&mut self, extra: usize) {
        let need = self.len + extra;
        if need > self.buf.len() {
            self.grow_to(need);
        }
    }

    /// Replaces the buffer with one of at least `need` bytes (doubling, up to the capacity).
    #[cold]
    fn grow_to(&mut self, need: usize) {
        let size = need
            .max(FIRST_BUFFER_BYTES)
            .checked_next_power_of_two()
            .unwrap_or(need)
            .min(self.capacity)
            .max(need);
        let mut bigger = vec![0u8; size].into_boxed_slice();
        let [a, b] = self.readable();
        let (a_len, b_len) = (a.len(), b.len());
        if let Some(dst) = bigger.get_mut(..a_len) {
            dst.copy_from_slice(a);
        }
        if let Some(dst) = bigger.get_mut(a_len..a_len + b_len) {
            dst.copy_from_slice(b);
        }
        self.buf = bigger;
        self.start = 0;
    }

    /// Bytes allocated for the buffer so far.
    #[cfg(test)]
    pub(super) fn allocated(&self) -> usize {
        self.buf.len()
    }

    /// Nothing queued.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most bytes it can hold.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes that can still be written.
    pub(super) fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// Queued bytes as up to two slices (the second is non-empty when they wrap).
    pub(super) fn readable(&self) -> [&[u8]; 2] {
        let cap = self.buf.len();
        let first_len = self.len.min(cap - self.start);
        let first = self
            .buf
            .get(self.start..self.start + first_len)
            .unwrap_or(&[]);
        let second = self.buf.get(..self.len - first_len).unwrap_or(&[]);
        [first, second]
    }

    /// Drops `n` bytes from the front (at most what is queued).
    pub(super) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.start = if self.len == 0 {
            0
        } else {
            self.wrapped(self.start + n)
        };
    }

    /// `at` (less than twice the capacity) brought back into the buffer: one compare
    /// instead of a division on the hot path.
    fn wrapped(&self, at: usize) -> usize {
        match at.checked_sub(self.buf.len()) {
            Some(beyond) => beyond,
            None => at,
        }
    }

    /// Writes exactly `len` bytes produced by `fill`, or nothing: `false` when they do not
    /// fit or `fill` wrote a different length.
    pub(super) fn write(&mut self, len: usize, fill: impl FnOnce(&mut RingSink<'_>)) -> bool {
        if len > self.free() {
            return false;
        }
        self.grow_for(len);
        let mut sink = RingSink {
            ring: self,
            limit: len,
            written: 0,
            overflow: false,
        };
        fill(&mut sink);
        let ok = sink.written == len && !sink.overflow;
        if ok {
            self.len += len;
        }
        ok
    }

    /// Writes `message` whole, or nothing (`false`) when it does not fit or emits other than
    /// its announced length. The usual case — the free space after the queued bytes is
    /// contiguous — writes into one slice, so fixed-size parts become plain moves.
    pub(super) fn write_composed<M: Composed>(&mut self, message: &M) -> bool {
        let len = message.len();
        if len > self.free() {
            return false;
        }
        self.grow_for(len);
        let tail = self.wrapped(self.start + self.len);
        let ok = match self.buf.get_mut(tail..tail + len) {
            Some(dst) => {
                let mut sink = SliceSink {
                    buf: dst,
                    at: 0,
                    overflow: false,
                };
                message.emit(&mut sink);
                sink.at == len && !sink.overflow
            }
            None => {
                let mut sink = RingSink {
                    ring: self,
                    limit: len,
                    written: 0,
                    overflow: false,
                };
                message.emit(&mut sink);
                sink.written == len && !sink.overflow
            }
        };
        if ok {
            self.len += len;
        }
        ok
    }
}

/// A message whose length is known without writing it (computed from its parts).
pub(super) trait Composed {
    /// Bytes `emit` writes.
    fn len(&self) -> usize;
    /// Writes the message.
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S);
}

/// Writes into one contiguous free region of a ring.
struct SliceSink<'b> {
    buf: &'b mut [u8],
    at: usize,
    overflow: bool,
}

impl Sink for SliceSink<'_> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.at..self.at + bytes.len()) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflow = true,
        }
        self.at += bytes.len();
    }
}

/// Writes after a ring's queued bytes; committed by [`Ring::write`].
pub(super) struct RingSink<'r> {
    ring: &'r mut Ring,
    limit: usize,
    written: usize,
    overflow: bool,
}

impl Sink for RingSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.written + bytes.len() > self.limit {
            self.overflow = true;
            return;
        }
        let cap = self.ring.buf.len();
        if cap == 0 {
            return;
        }
        // start < cap and len + written + bytes ≤ cap: at most one wrap.
        let mut at = self
            .ring
            .wrapped(self.ring.start + self.ring.len + self.written);
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = cap - at;
            let n = room.min(rest.len());
            let (now, later) = rest.split_at(n);
            if let Some(dst) = self.ring.buf.get_mut(at..at + n) {
                dst.copy_from_slice(now);
            }
            rest = later;
            at = self.ring.wrapped(at + n);
        }
        self.written += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(r: &Ring) -> Vec<u8> {
        let [a, b] = r.readable();
        [a, b].concat()
    }

    #[test]
    fn writes_are_all_or_nothing_and_wrap() {
        let mut r = Ring::new(10);
        assert!(r.write(6, |s| s.put(b"abcdef")));
        assert!(!r.write(5, |s| s.put(b"ghijk")), "does not fit");
        assert_eq!(contents(&r), b"abcdef");
        r.consume(4);
        assert!(r.write(7, |s| {
            s.put(b"ghi");
            s.put(b"jklm");
        }));
        assert_eq!(r.free(), 1);
        let [a, b] = r.readable();
        assert!(!b.is_empty(), "wrapped");
        assert_eq!([a, b].concat(), b"efghijklm");
        assert_eq!(r.free(), 1);
        r.consume(100);
        assert!(r.is_empty());
        assert_eq!(r.readable(), [&[][..], &[][..]]);
    }

    /// Slices written one after the other, announcing `extra` more bytes than they have.
    struct Parts<'a>(&'a [&'a [u8]], usize);

    impl Composed for Parts<'_> {
        fn len(&self) -> usize {
            self.0.iter().map(|p| p.len()).sum::<usize>() + self.1
        }
        fn emit<S: Sink + ?Sized>(&self, sink: &mut S) {
            for p in self.0 {
                sink.put(p);
            }
        }
    }

    #[test]
    fn composed_messages_are_written_whole_contiguous_or_wrapped() {
        let mut r = Ring::new(10);
        assert!(r.write_composed(&Parts(&[b"ab", b"c", b"d"], 0)));
        assert!(!r.write_composed(&Parts(&[b"efghijk"], 0)), "does not fit");
        assert_eq!(contents(&r), b"abcd");
        r.consume(3);
        // Tail at 4, 7 bytes: wraps after 6.
        assert!(r.write_composed(&Parts(&[b"efg", b"", b"hij", b"k"], 0)));
        let [a, b] = r.readable();
        assert!(!b.is_empty(), "wrapped");
        assert_eq!([a, b].concat(), b"defghijk");
        assert!(r.write_composed(&Parts(&[], 0)));
        assert_eq!(r.free(), 2);
        r.consume(8);
        assert!(r.is_empty());
        assert!(
            !r.write_composed(&Parts(&[b"01"], 1)),
            "shorter than announced"
        );
        assert!(r.is_empty());
        assert!(
            r.write_composed(&Parts(&[b"0123456789"], 0)),
            "exactly full"
        );
        assert_eq!(r.free(), 0);
        let mut w = Ring::new(10);
        assert!(w.write_composed(&Parts(&[b"01234567"], 0)));
        w.consume(7);
        assert!(
            !w.write_composed(&Parts(&[b"abcd"], 1)),
            "wrapping, shorter than announced"
        );
        assert_eq!(w.free(), 9);
        assert!(w.write_composed(&Parts(&[b"ab", b"cd"], 0)), "wrapping");
        assert_eq!(contents(&w), b"7abcd");
        let mut empty = Ring::new(0);
        assert!(!empty.write_composed(&Parts(&[b"x"], 0)));
        assert!(empty.write_composed(&Parts(&[], 0)));
        empty.consume(1);
        assert!(empty.is_empty());
    }

    #[test]
    fn a_fill_of_the_wrong_length_commits_nothing() {
        let mut r = Ring::new(8);
        assert!(!r.write(4, |s| s.put(b"abc")));
        assert!(!r.write(2, |s| s.put(b"abc")));
        assert!(r.is_empty());
        assert!(r.write(3, |s| s.put(b"xyz")));
        r.consume(3);
        assert!(r.is_empty());
        assert_eq!(r.free(), 8);
    }

    #[test]
    fn the_buffer_grows_with_the_fill_and_keeps_the_queued_bytes() {
        let mut r = Ring::new(10_000);
        assert_eq!(r.allocated(), 0, "nothing until the first write");
        assert_eq!(r.free(), 10_000);
        assert!(r.write(100, |s| s.put(&[b'a'; 100])));
        assert_eq!(r.allocated(), FIRST_BUFFER_BYTES);
        // Wrap inside the first buffer, then outgrow it: the bytes keep their order.
        r.consume(60);
        assert!(r.write(1990, |s| s.put(&[b'b'; 1990])));
        assert_eq!(r.allocated(), FIRST_BUFFER_BYTES, "2030 bytes still fit");
        assert!(!r.readable()[1].is_empty(), "wrapped");
        assert!(r.write(30, |s| s.put(&[b'c'; 30])));
        assert_eq!(r.allocated(), 4096);
        let mut want = vec![b'a'; 40];
        want.extend([b'b'; 1990]);
        want.extend([b'c'; 30]);
        assert_eq!(contents(&r), want);
        // Never beyond the capacity, and a full ring refuses.
        assert!(r.write(7000, |s| s.put(&[b'd'; 7000])));
        assert_eq!(r.allocated(), 10_000);
        assert_eq!(r.free(), 10_000 - 9060);
        assert!(!r.write(941, |s| s.put(&[b'e'; 941])));
        // Draining keeps the buffer: refilling allocates nothing.
        r.consume(usize::MAX);
        assert!(r.write(9000, |s| s.put(&[b'f'; 9000])));
        assert_eq!(r.allocated(), 10_000);
    }
}
