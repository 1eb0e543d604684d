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

/// [`ALPHABET`] padded to 64 entries, so a digit indexes it without a bounds check; the
/// padding is never reached (digits are below 62).
const DIGITS: [u8; 64] = {
    let mut t = [b'A'; 64];
    let mut i = 0;
    while i < ALPHABET.len() {
        t[i] = ALPHABET[i];
        i += 1;
    }
    t
};
/// Characters made from one draw of [`GROUP_BYTES`] random bytes.
const GROUP_CHARS: usize = 4;
/// Random bytes per group of characters: 24 bits for 4 base-62 digits (62^4 < 2^24).
const GROUP_BYTES: usize = 3;

/// Writes `out.len()` random alphanumeric characters into `out`, drawing from `entropy`
/// once per 32 characters. Each group of up to four characters is the base-62 expansion of a fresh
/// 24-bit number, read off by multiplying its fraction by 62: every 4-character value has
/// one or two of the 2^24 numbers behind it, so a group carries at least 23 bits
/// (min-entropy; 23.8 on average), 12 characters at least 69 bits, 16 at least 92. Three
/// bytes per four characters is a quarter less keystream than a byte per character, and
/// nothing is rejected and drawn again.
pub fn fill_ident(entropy: &mut dyn Entropy, out: &mut [u8]) {
    let mut pool = [0u8; 8 * GROUP_BYTES];
    for part in out.chunks_mut(8 * GROUP_CHARS) {
        let groups = part.len().div_ceil(GROUP_CHARS);
        let Some(bytes) = pool.get_mut(..groups * GROUP_BYTES) else {
            return;
        };
        entropy.fill(bytes);
        for (chars, b) in part
            .chunks_mut(GROUP_CHARS)
            .zip(bytes.chunks_exact(GROUP_BYTES))
        {
            let mut fraction = match b {
                [x, y, z] => u32::from_le_bytes([*x, *y, *z, 0]),
                _ => 0,
            };
            for c in chars.iter_mut() {
                fraction *= ALPHABET.len() as u32;
                // fraction < 2^24 before the multiply, so the digit is below 62.
                *c = DIGITS[(fraction >> 24) as usize & 63];
                fraction &= 0x00ff_ffff;
            }
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

    /// Counts the bytes drawn; hands out `byte` each time.
    struct Counting {
        drawn: usize,
        calls: usize,
        byte: u8,
    }

    impl Entropy for Counting {
        fn fill(&mut self, buf: &mut [u8]) {
            self.calls += 1;
            for b in buf.iter_mut() {
                self.drawn += 1;
                *b = self.byte;
            }
        }
    }

    #[test]
    fn idents_draw_three_bytes_per_four_characters_in_one_call() {
        for (chars, bytes) in [(12, 9), (14, 12), (16, 12), (1, 3), (32, 24), (40, 30)] {
            let mut e = Counting {
                drawn: 0,
                calls: 0,
                byte: 0x5a,
            };
            let mut id = vec![0u8; chars];
            fill_ident(&mut e, &mut id);
            assert_eq!(e.drawn, bytes, "{chars} characters");
            assert_eq!(e.calls, chars.div_ceil(32), "{chars} characters");
            assert!(id.iter().all(u8::is_ascii_alphanumeric));
        }
    }

    #[test]
    fn the_extremes_of_a_group_map_to_the_ends_of_the_alphabet() {
        let mut id = [0u8; 6];
        let mut zeros = Counting {
            drawn: 0,
            calls: 0,
            byte: 0,
        };
        fill_ident(&mut zeros, &mut id);
        assert_eq!(&id, b"AAAAAA");
        let mut ones = Counting {
            drawn: 0,
            calls: 0,
            byte: 0xff,
        };
        fill_ident(&mut ones, &mut id);
        assert_eq!(&id, b"999999");
    }

    #[test]
    fn characters_are_close_to_uniform() {
        let mut e = TestEntropy::new(3);
        let mut counts = [0u32; 256];
        let mut id = [0u8; 12];
        for _ in 0..10_000 {
            fill_ident(&mut e, &mut id);
            for &c in &id {
                counts[usize::from(c)] += 1;
            }
        }
        // 120,000 characters over 62 symbols: about 1,935 each, with a standard deviation
        // near 44; a biased mapping (e.g. `byte % 62`) would be off by about 25%.
        for &c in ALPHABET {
            let n = counts[usize::from(c)];
            assert!((1_700..2_170).contains(&n), "{} drawn {n} times", c as char);
        }
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
