//! Test data: bytes with no period a relay bug could hide in, and arguments that are not UTF-8.

use std::ffi::{OsStr, OsString};

/// Deterministic bytes that are not text: every byte value occurs, with no period a relay bug
/// could hide in.
pub fn binary_data(len: usize) -> Vec<u8> {
    seeded_data(len, 0x9E37_79B9_7F4A_7C15)
}

/// The test data generator: `len` bytes of xorshift64 from `seed` (not 0, which xorshift never
/// leaves), each seed giving its own stream.
pub fn seeded_data(len: usize, seed: u64) -> Vec<u8> {
    assert_ne!(seed, 0, "xorshift from 0 gives only zeros");
    let mut state = seed;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    data
}

/// Arguments for the child: OS strings built from bytes.
pub fn os(bytes: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(bytes).to_os_string()
}
