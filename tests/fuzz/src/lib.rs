//! The fuzz targets of parlor (issue 5, "Bad input"): one module per target, each with a
//! `run(&[u8])` that never panics on a correct parser. `fuzz_targets/*.rs` are the
//! cargo-fuzz entry points; `tests/fuzz_corpus.rs` in the main crate includes this file and
//! replays the committed corpus and every regression input through the same `run`s, so
//! they run under plain `cargo test` too. Only `parlor` and std are used here.

use parlor::limits::Limits;

pub mod config;
pub mod cpim;
pub mod engine;
pub mod msrp_framer;
pub mod nickname;
pub mod sdp;
pub mod sip;

/// A target's entry point.
pub type Target = fn(&[u8]);

/// Every target by name, as the corpus and regression directories are named.
pub const TARGETS: [(&str, Target); 7] = [
    ("sip", sip::run),
    ("sdp", sdp::run),
    ("msrp_framer", msrp_framer::run),
    ("cpim", cpim::run),
    ("nickname", nickname::run),
    ("config", config::run),
    ("engine", engine::run),
];

/// The limits every target uses: the `router` profile (`Limits::default()`).
pub fn limits() -> Limits {
    Limits::default()
}

/// Reads the fuzzer's bytes front to back; running out yields zeros / empty slices, so
/// every input is a valid program.
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Input { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((b, rest)) => {
                self.rest = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.rest.len())
    }
}

/// Splits `data` into pieces: the first byte says how many split points (0–15) follow as
/// 16-bit offsets; the rest of the input is the payload, cut at those offsets (modulo its
/// length, sorted). Used by the stream-framer targets.
pub fn split_points(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let mut input = Input::new(data);
    let count = usize::from(input.byte() & 0x0f);
    let raw: Vec<u16> = (0..count).map(|_| input.u16()).collect();
    let payload = input.rest();
    let mut cuts: Vec<usize> = raw
        .into_iter()
        .map(|r| usize::from(r) % (payload.len() + 1))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    (cuts, payload)
}

/// The pieces of `payload` between consecutive `cuts`.
pub fn pieces<'a>(payload: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for &c in cuts {
        out.push(payload.get(at..c).unwrap_or_default());
        at = c;
    }
    out.push(payload.get(at..).unwrap_or_default());
    out
}
