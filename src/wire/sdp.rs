//! SDP subset for MSRP (RFC 4566, RFC 4975 §8, RFC 7701 §8) — STUB
