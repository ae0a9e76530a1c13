//! Out of memory, failing closed: the program's allocator is the system's, except that an
//! allocation the system refuses ends the command's scope with SIGKILL, says so in one line and
//! exits 125, instead of the standard library's abort (SIGABRT, a core dump, the scope left to
//! itself). The program (src/main.rs) installs it; a library user keeps their own allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::libc;

/// The command's pid, once it started (0 before), and whether it leads a group of its own.
static CHILD: AtomicI32 = AtomicI32::new(0);
static GROUP: AtomicI32 = AtomicI32::new(0);

/// The system's allocator, failing closed (see the module documentation).
pub struct FailClosed;

// SAFETY: every call is the system allocator's own; a refusal never returns.
unsafe impl GlobalAlloc for FailClosed {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as it is.
        checked(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc.
        checked(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for alloc.
        checked(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for alloc.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Records the command the out-of-memory path must end: its pid, and whether its process group
/// is its own (`group`).
pub fn watch(pid: u32, group: bool) {
    CHILD.store(pid as i32, Ordering::SeqCst);
    GROUP.store(if group { pid as i32 } else { 0 }, Ordering::SeqCst);
}

fn checked(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        out_of_memory(size);
    }
    ptr
}

/// Ends the scope and the program without allocating: only async-signal-safe calls, and the
/// message assembled on the stack.
fn out_of_memory(size: usize) -> ! {
    let (child, group) = (CHILD.load(Ordering::SeqCst), GROUP.load(Ordering::SeqCst));
    // SAFETY: kill, write and _exit take plain values and a buffer on the stack.
    unsafe {
        if group > 0 {
            libc::kill(-group, libc::SIGKILL);
        }
        if child > 0 {
            libc::kill(child, libc::SIGKILL);
        }
        let mut line = [0u8; 160];
        let mut length = 0;
        for part in [
            &b"agentpipe: out of memory (an allocation of "[..],
            digits(size, &mut [0; 20]),
            b" bytes failed): ",
            match child {
                0 => &b"nothing was started"[..],
                _ => b"sent SIGKILL to the command and its process group",
            },
            b"; exiting with 125\n",
        ] {
            line[length..length + part.len()].copy_from_slice(part);
            length += part.len();
        }
        libc::write(2, line.as_ptr().cast(), length);
        libc::_exit(125)
    }
}

/// `number` in decimal, in `buffer`.
fn digits(mut number: usize, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            return &buffer[start..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_in_decimal_without_allocating() {
        assert_eq!(digits(0, &mut [0; 20]), b"0");
        assert_eq!(digits(1_048_576, &mut [0; 20]), b"1048576");
        assert_eq!(
            digits(usize::MAX, &mut [0; 20]),
            usize::MAX.to_string().as_bytes()
        );
    }
}
