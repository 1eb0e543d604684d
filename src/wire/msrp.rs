//! MSRP streaming framer and emitter (RFC 4975 §7) — STUB
