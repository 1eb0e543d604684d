//! Randomness the core asks for but does not produce: session-ids (RFC 4975 §14.1, ≥ 80
//! bits), transaction ids and Message-IDs (RFC 4975 §7.1, ≥ 64 bits), SIP tags and branches
//! (RFC 3261 §19.3). The shell feeds it from the OS RNG; tests feed a deterministic stream.

/// A source of random bytes.
pub trait Entropy {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// Alphabet for generated identifiers: RFC 4975 `ident` characters that are also legal in
/// SIP tokens and URIs (ALPHA / DIGIT), 62 symbols ≈ 5.95 bits each.
const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Writes `out.len()` random alphanumeric characters into `out` (rejection sampling, no
/// modulo bias). 14 characters carry > 83 bits, 11 carry > 65 bits. Draws one byte per
/// character plus one per rejected byte (1 in 32), nothing more.
pub fn fill_ident(entropy: &mut dyn Entropy, out: &mut [u8]) {
    entropy.fill(out);
    for slot in out.iter_mut() {
        let mut byte = *slot;
        loop {
            if let Some(c) = ALPHABET.get(usize::from(byte & 0x3f)) {
                *slot = *c;
                break;
            }
            let mut again = [0u8; 1];
            entropy.fill(&mut again);
            let [b] = again;
            byte = b;
        }
    }
}

/// A deterministic generator for tests and fuzzing (SplitMix64). Not for production ids.
#[derive(Clone, Debug)]
pub struct TestEntropy(u64);

impl TestEntropy {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        TestEntropy(seed)
    }
}

impl Entropy for TestEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let bytes = z.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_are_alphanumeric_and_differ() {
        let mut e = TestEntropy::new(7);
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        fill_ident(&mut e, &mut a);
        fill_ident(&mut e, &mut b);
        assert!(a.iter().all(u8::is_ascii_alphanumeric));
        assert_ne!(a, b);
    }

    /// Counts the bytes drawn; every byte is 0x3f (a rejected value) while `rejects` lasts.
    struct Counting {
        drawn: usize,
        rejects: usize,
    }

    impl Entropy for Counting {
        fn fill(&mut self, buf: &mut [u8]) {
            for b in buf.iter_mut() {
                self.drawn += 1;
                *b = if self.rejects > 0 {
                    self.rejects -= 1;
                    0x3f
                } else {
                    (self.drawn % 62) as u8
                };
            }
        }
    }

    #[test]
    fn idents_draw_only_the_bytes_they_need() {
        let mut e = Counting {
            drawn: 0,
            rejects: 0,
        };
        let mut id = [0u8; 12];
        fill_ident(&mut e, &mut id);
        assert_eq!(e.drawn, 12);
        assert!(id.iter().all(u8::is_ascii_alphanumeric));
        // Three rejected bytes at the start: three more drawn, all characters valid.
        let mut e = Counting {
            drawn: 0,
            rejects: 3,
        };
        fill_ident(&mut e, &mut id);
        assert_eq!(e.drawn, 15);
        assert!(id.iter().all(u8::is_ascii_alphanumeric));
    }

    #[test]
    fn every_alphabet_character_is_reachable_and_none_else() {
        let mut e = TestEntropy::new(1);
        let mut seen = [false; 256];
        let mut id = [0u8; 64];
        for _ in 0..200 {
            fill_ident(&mut e, &mut id);
            for &c in &id {
                seen[usize::from(c)] = true;
            }
        }
        let reached: Vec<u8> = (0u8..=255).filter(|&c| seen[usize::from(c)]).collect();
        let mut expected = ALPHABET.to_vec();
        expected.sort_unstable();
        assert_eq!(reached, expected);
    }
}
