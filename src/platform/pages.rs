//! A zeroed buffer from the kernel's zero pages: reserved at once, but neither cleared nor
//! touched until used.
//!
//! Why: the relay's two 64 KiB buffers are allocated at start (so that a run never fails for
//! want of them later), and from the heap the C library clears each with a memset, touching
//! its 16 pages, although most runs never fill them (`agentpipe -- true` reads nothing; pipe to
//! pipe, a stream splices). Mapped from the kernel, a page costs nothing until a read writes
//! into it. Measured on `agentpipe -- true` against the heap's zeroed buffers, paired medians
//! of 400 alternating runs (see benches/README.md's History): 25 page faults fewer and about
//! 0.03 ms less.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::{self, NonNull};

use nix::libc;

/// `len` zeroed bytes, mapped privately (or from the heap where the mapping fails).
pub struct ZeroedBuffer(Memory);

enum Memory {
    Mapped(NonNull<u8>, usize),
    Heap(Box<[u8]>),
}

// SAFETY: the mapping is owned by this value alone, as a Box's memory is.
unsafe impl Send for ZeroedBuffer {}
// SAFETY: as for Send; shared access only reads.
unsafe impl Sync for ZeroedBuffer {}

impl ZeroedBuffer {
    pub fn new(len: usize) -> ZeroedBuffer {
        // SAFETY: a fresh private anonymous mapping, which touches no memory of ours.
        let mapped = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        match NonNull::new(mapped.cast::<u8>()) {
            Some(start) if mapped != libc::MAP_FAILED && len > 0 => {
                ZeroedBuffer(Memory::Mapped(start, len))
            }
            _ => ZeroedBuffer(Memory::Heap(vec![0; len].into_boxed_slice())),
        }
    }
}

impl Deref for ZeroedBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            // SAFETY: `len` bytes mapped readable and writable, zero until written: initialised.
            Memory::Mapped(start, len) => unsafe { std::slice::from_raw_parts(start.as_ptr(), *len) },
            Memory::Heap(bytes) => bytes,
        }
    }
}

impl DerefMut for ZeroedBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            // SAFETY: as for deref, and `&mut self` makes the access exclusive.
            Memory::Mapped(start, len) => unsafe {
                std::slice::from_raw_parts_mut(start.as_ptr(), *len)
            },
            Memory::Heap(bytes) => bytes,
        }
    }
}

impl Drop for ZeroedBuffer {
    fn drop(&mut self) {
        if let Memory::Mapped(start, len) = self.0 {
            // SAFETY: the mapping made in `new`, no longer borrowed.
            unsafe { libc::munmap(start.as_ptr().cast(), len) };
        }
    }
}

impl fmt::Debug for ZeroedBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZeroedBuffer({} bytes)", self.len())
    }
}
