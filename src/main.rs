//! `parlor` command line: `parlor serve [...]` runs the chat server (see README).
//! STUB.
fn main() {}
