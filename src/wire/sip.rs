//! SIP message parsing and emitting (RFC 3261 §7, §20) — STUB
