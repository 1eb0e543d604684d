//! Stateless codecs: SIP (RFC 3261 §7, §20), the SDP subset for MSRP (RFC 4566, RFC 4975 §8,
//! RFC 7701 §8), the streaming MSRP framer (RFC 4975 §7) and Message/CPIM (RFC 3862).
//! No state beyond a parser's own buffer, no time, no IO.

pub mod cpim;
pub mod msrp;
pub mod nickname;
pub mod sdp;
pub mod sip;
