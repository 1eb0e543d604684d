//! Message/CPIM header parsing (RFC 3862 §2-§3) — STUB
