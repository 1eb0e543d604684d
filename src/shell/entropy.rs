//! The OS-seeded random source for the core (RFC 4975 §14.1 session-ids, §7.1 transaction
//! ids, RFC 3261 §19.3 tags/branches): `rand_chacha`'s ChaCha12 keystream keyed from the
//! kernel through the `getrandom` crate and re-keyed from it every [`RESEED_WORDS`] words.
//! Every fanned-out copy needs a fresh transaction id, so asking the kernel for each would
//! cost a system call every few copies; the keystream costs a block function per 64 bytes.
//!
//! The crate's Linux backends, as the boards build it (static glibc): on mipsel it calls
//! `getrandom(2)`; on arm, aarch64 and x86_64 it looks the libc function up with `dlsym`,
//! which finds nothing in a static binary, so it waits once for `/dev/random` to be ready
//! and reads `/dev/urandom` (also what it does on kernels before 3.17). Either way the
//! first key waits until the kernel's generator is seeded, never a predictable key.

use std::io;

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

use crate::rand::Entropy;

/// Keystream words (4 bytes each) produced under one key: 4 MiB, then a fresh key from the
/// kernel. Far below the 2^64 blocks one ChaCha key allows.
const RESEED_WORDS: u128 = 1 << 20;

/// The kernel's randomness stretched by ChaCha12: 6 double rounds, the generator `rand`'s
/// `StdRng` has used. The best published attacks reach 7 rounds; 12 keep a wide margin for
/// ids that must only be unguessable, at 60% of ChaCha20's cost (the block function was a
/// few per cent of server time on the fan-out hot path, one block per five copies). The
/// name is the kernel pool it draws from.
pub struct Urandom {
    stream: ChaCha12Rng,
}

impl Urandom {
    /// Takes the first key from the kernel, so a broken source fails at startup.
    pub fn open() -> io::Result<Self> {
        Ok(Urandom {
            stream: ChaCha12Rng::from_seed(kernel_key()?),
        })
    }
}

/// A 256-bit key from the kernel.
fn kernel_key() -> io::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| match e.raw_os_error() {
        Some(code) => {
            let os = io::Error::from_raw_os_error(code);
            io::Error::new(os.kind(), format!("getrandom: {os}"))
        }
        None => io::Error::other(format!("getrandom: {e}")),
    })?;
    Ok(key)
}

impl Entropy for Urandom {
    fn fill(&mut self, buf: &mut [u8]) {
        if self.stream.get_word_pos() >= RESEED_WORDS {
            match kernel_key() {
                Ok(key) => self.stream = ChaCha12Rng::from_seed(key),
                Err(e) => {
                    // Predictable ids would let peers hijack sessions: stop rather than go on.
                    log::error!("{e}; exiting");
                    std::process::exit(1);
                }
            }
        }
        self.stream.fill_bytes(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;

    /// The generator as `Urandom` builds it, on a known key: the first block of ChaCha12
    /// under the all-zero key and stream (draft-strombergson-chacha-test-vectors TC1,
    /// 256-bit key, 12 rounds), drawn in three pieces through `Entropy::fill`.
    #[test]
    fn chacha12_matches_the_published_keystream() {
        let expected: [u8; 64] = [
            0x9b, 0xf4, 0x9a, 0x6a, 0x07, 0x55, 0xf9, 0x53, 0x81, 0x1f, 0xce, 0x12, 0x5f, 0x26,
            0x83, 0xd5, 0x04, 0x29, 0xc3, 0xbb, 0x49, 0xe0, 0x74, 0x14, 0x7e, 0x00, 0x89, 0xa5,
            0x2e, 0xae, 0x15, 0x5f, 0x05, 0x64, 0xf8, 0x79, 0xd2, 0x7a, 0xe3, 0xc0, 0x2c, 0xe8,
            0x28, 0x34, 0xac, 0xfa, 0x8c, 0x79, 0x3a, 0x62, 0x9f, 0x2c, 0xa0, 0xde, 0x69, 0x19,
            0x61, 0x0b, 0xe8, 0x2f, 0x41, 0x13, 0x26, 0xbe,
        ];
        let mut e = Urandom {
            stream: ChaCha12Rng::from_seed([0; 32]),
        };
        let mut block = [0u8; 64];
        let (a, rest) = block.split_at_mut(12);
        let (b, c) = rest.split_at_mut(20);
        e.fill(a);
        e.fill(b);
        e.fill(c);
        assert_eq!(block, expected);
    }

    /// RFC 8439 §2.3.2 test vector for the block function (ChaCha20: same crate, same
    /// code, 10 double rounds). RFC 8439's 32-bit counter and 96-bit nonce map onto the
    /// crate's 64-bit counter (low word = counter, high word = first nonce word) and 64-bit
    /// stream (the other two nonce words).
    #[test]
    fn block_function_matches_rfc8439() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let mut rng = ChaCha20Rng::from_seed(key);
        rng.set_stream(0x4a00_0000);
        let counter: u128 = (0x0900_0000 << 32) | 1;
        rng.set_word_pos(counter * 16);
        let expected: [u8; 64] = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
            0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a,
            0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2,
            0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
            0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
        ];
        let mut block = [0u8; 64];
        rng.fill_bytes(&mut block);
        assert_eq!(block, expected);
    }

    #[test]
    fn fills_with_varying_bytes() {
        let mut e = Urandom::open().unwrap();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        e.fill(&mut a);
        e.fill(&mut b);
        assert_ne!(a, b);
        // Longer than the generator's buffer, and odd splits: still filled completely.
        let mut big = [0u8; 64 * 5 + 5];
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
        let before = e.stream.get_seed();
        let mut buf = [0u8; 8];
        e.fill(&mut buf);
        assert_eq!(
            e.stream.get_seed(),
            before,
            "no new key before the interval"
        );
        e.stream.set_word_pos(RESEED_WORDS);
        e.fill(&mut buf);
        assert_ne!(e.stream.get_seed(), before, "re-keyed from the kernel");
        assert_eq!(
            e.stream.get_word_pos(),
            2,
            "the new key's stream starts again"
        );
    }
}
