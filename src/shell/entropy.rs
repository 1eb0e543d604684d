//! The OS-seeded random source for the core (RFC 4975 §14.1 session-ids, §7.1 transaction
//! ids, RFC 3261 §19.3 tags/branches): a ChaCha12 keystream (the RFC 8439 §2.3 block
//! function with [`DOUBLE_ROUNDS`] double rounds) keyed from `/dev/urandom` and re-keyed from
//! it every [`RESEED_BLOCKS`] blocks. Every fanned-out copy needs a fresh transaction id, so
//! reading the kernel for each would cost a system call every few copies; the keystream
//! costs a block function per 64 bytes.

use std::fs::File;
use std::io::{self, Read};

use crate::rand::Entropy;

/// Keystream blocks (64 bytes each) produced under one key: 4 MiB, then a fresh key and
/// nonce from the kernel. Far below the 2^32 blocks one RFC 8439 key/nonce pair allows.
const RESEED_BLOCKS: u32 = 1 << 16;
/// RFC 8439 §2.3: "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];
/// Bytes of one block.
const BLOCK_BYTES: usize = 64;
/// Double rounds per block: 6, i.e. ChaCha12, the generator `rand`'s `StdRng` uses. The
/// best published attacks reach 7 rounds; 12 keep a wide margin for ids that must only be
/// unguessable, at 60% of ChaCha20's cost (the block function was 5% of server time on the
/// fan-out hot path, one block per five copies). The block function itself is checked with
/// 10 double rounds against RFC 8439's ChaCha20 vector.
const DOUBLE_ROUNDS: usize = 6;

/// `/dev/urandom` stretched by ChaCha12.
pub struct Urandom {
    source: File,
    key: [u32; 8],
    nonce: [u32; 3],
    counter: u32,
    block: [u8; BLOCK_BYTES],
    /// Bytes of `block` already handed out.
    used: usize,
}

impl Urandom {
    /// Opens `/dev/urandom` and takes the first key from it, so a broken source fails at
    /// startup.
    pub fn open() -> io::Result<Self> {
        let source = File::open("/dev/urandom")
            .map_err(|e| io::Error::new(e.kind(), format!("/dev/urandom: {e}")))?;
        let mut rng = Urandom {
            source,
            key: [0; 8],
            nonce: [0; 3],
            counter: 0,
            block: [0; BLOCK_BYTES],
            used: BLOCK_BYTES,
        };
        rng.reseed()
            .map_err(|e| io::Error::new(e.kind(), format!("/dev/urandom: {e}")))?;
        Ok(rng)
    }

    /// A fresh key and nonce from the kernel; the block counter starts again.
    fn reseed(&mut self) -> io::Result<()> {
        let mut seed = [0u8; 44];
        self.source.read_exact(&mut seed)?;
        let mut words = seed
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        for k in self.key.iter_mut().chain(self.nonce.iter_mut()) {
            *k = words.next().unwrap_or(0);
        }
        self.counter = 0;
        Ok(())
    }

    fn refill(&mut self) {
        if self.counter >= RESEED_BLOCKS {
            if let Err(e) = self.reseed() {
                // Predictable ids would let peers hijack sessions: stop rather than go on.
                log::error!("/dev/urandom read failed: {e}; exiting");
                std::process::exit(1);
            }
        }
        self.block = chacha_block(&self.key, self.counter, &self.nonce, DOUBLE_ROUNDS);
        self.counter += 1;
        self.used = 0;
    }
}

impl Entropy for Urandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // The usual draw (an id's few bytes) fits what is left of the current block.
        if let Some(src) = self.block.get(self.used..self.used + buf.len()) {
            buf.copy_from_slice(src);
            self.used += buf.len();
            return;
        }
        let mut at = 0;
        while at < buf.len() {
            if self.used == BLOCK_BYTES {
                self.refill();
            }
            let n = (BLOCK_BYTES - self.used).min(buf.len() - at);
            if let (Some(dst), Some(src)) = (
                buf.get_mut(at..at + n),
                self.block.get(self.used..self.used + n),
            ) {
                dst.copy_from_slice(src);
            }
            self.used += n;
            at += n;
        }
    }
}

/// RFC 8439 §2.1 quarter round.
#[inline(always)]
fn quarter(mut a: u32, mut b: u32, mut c: u32, mut d: u32) -> (u32, u32, u32, u32) {
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(16);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(12);
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(8);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(7);
    (a, b, c, d)
}

/// RFC 8439 §2.3 block function with `double_rounds` double rounds (10 = ChaCha20) over the
/// state, added to the input state, serialized little-endian.
fn chacha_block(
    key: &[u32; 8],
    counter: u32,
    nonce: &[u32; 3],
    double_rounds: usize,
) -> [u8; BLOCK_BYTES] {
    let [k0, k1, k2, k3, k4, k5, k6, k7] = *key;
    let [n0, n1, n2] = *nonce;
    let [c0, c1, c2, c3] = SIGMA;
    let input = [
        c0, c1, c2, c3, k0, k1, k2, k3, k4, k5, k6, k7, counter, n0, n1, n2,
    ];
    let [mut x0, mut x1, mut x2, mut x3, mut x4, mut x5, mut x6, mut x7, mut x8, mut x9, mut x10, mut x11, mut x12, mut x13, mut x14, mut x15] =
        input;
    for _ in 0..double_rounds {
        (x0, x4, x8, x12) = quarter(x0, x4, x8, x12);
        (x1, x5, x9, x13) = quarter(x1, x5, x9, x13);
        (x2, x6, x10, x14) = quarter(x2, x6, x10, x14);
        (x3, x7, x11, x15) = quarter(x3, x7, x11, x15);
        (x0, x5, x10, x15) = quarter(x0, x5, x10, x15);
        (x1, x6, x11, x12) = quarter(x1, x6, x11, x12);
        (x2, x7, x8, x13) = quarter(x2, x7, x8, x13);
        (x3, x4, x9, x14) = quarter(x3, x4, x9, x14);
    }
    let mixed = [
        x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15,
    ];
    let mut out = [0u8; BLOCK_BYTES];
    for ((dst, m), i) in out.chunks_exact_mut(4).zip(mixed).zip(input) {
        dst.copy_from_slice(&m.wrapping_add(i).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 §2.3.2 test vector for the block function.
    #[test]
    fn block_function_matches_rfc8439() {
        let key_bytes: Vec<u8> = (0u8..32).collect();
        let mut key = [0u32; 8];
        for (k, w) in key.iter_mut().zip(key_bytes.chunks_exact(4)) {
            *k = u32::from_le_bytes(w.try_into().unwrap());
        }
        let nonce = [0x0900_0000, 0x4a00_0000, 0];
        let expected: [u8; 64] = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
            0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a,
            0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2,
            0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
            0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
        ];
        assert_eq!(chacha_block(&key, 1, &nonce, 10), expected);
        // The generator's round count gives other output from the same state, and every
        // block differs from its neighbour.
        let short = chacha_block(&key, 1, &nonce, DOUBLE_ROUNDS);
        assert_ne!(short, expected);
        assert_ne!(short, chacha_block(&key, 2, &nonce, DOUBLE_ROUNDS));
    }

    #[test]
    fn fills_with_varying_bytes() {
        let mut e = Urandom::open().unwrap();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        e.fill(&mut a);
        e.fill(&mut b);
        assert_ne!(a, b);
        // Longer than a block, and odd splits: still filled completely.
        let mut big = [0u8; BLOCK_BYTES * 3 + 5];
        e.fill(&mut big);
        assert!(big.chunks(16).all(|c| c.iter().any(|&x| x != 0)));
        let mut one = [0u8; 1];
        let ones: Vec<u8> = (0..200)
            .map(|_| {
                e.fill(&mut one);
                one[0]
            })
            .collect();
        assert!(ones.iter().any(|&x| x != ones[0]));
    }

    #[test]
    fn keys_change_after_the_reseed_interval() {
        let mut e = Urandom::open().unwrap();
        let before = (e.key, e.nonce);
        e.counter = RESEED_BLOCKS;
        let mut buf = [0u8; 8];
        e.used = BLOCK_BYTES;
        e.fill(&mut buf);
        assert_ne!((e.key, e.nonce), before, "re-keyed from the kernel");
        assert_eq!(e.counter, 1);
    }
}
