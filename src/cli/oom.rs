//! Out of memory, failing closed: the program's allocator is the system's, except that an
//! allocation the system refuses ends the command's scope with SIGKILL, says so in one line and
//! exits 125, instead of the standard library's abort (SIGABRT, a core dump, the scope left to
//! itself). The program (src/main.rs) installs it; a library user keeps their own allocator.
//!
//! What it reaches was recorded when the command started, as plain numbers and descriptors
//! held open: the command (through its pidfd), its process group, its cgroup (`cgroup.kill`),
//! and under `--scope tree` agentpipe's children (a list held open, see
//! `platform::kill_children`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::libc;

use crate::platform;
use crate::process::ChildProcess;
use crate::scope::Scope;

/// The command's pid, once it started (0 before), whether it leads a group of its own, its
/// pidfd and its cgroup's `cgroup.kill` (-1 where there is none).
static CHILD: AtomicI32 = AtomicI32::new(0);
static GROUP: AtomicI32 = AtomicI32::new(0);
static PIDFD: AtomicI32 = AtomicI32::new(-1);
static CGROUP_KILL: AtomicI32 = AtomicI32::new(-1);
/// `--scope tree`: agentpipe's list of children, held open for the whole run.
static CHILDREN: OnceLock<OwnedFd> = OnceLock::new();
/// `--scope cgroup`: the cgroup's directory, removed once killed.
static CGROUP_DIR: OnceLock<CString> = OnceLock::new();

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

/// Records what the out-of-memory path must end: the command, its process group if it is its
/// own (`group`), its cgroup, and under `--scope tree` agentpipe's children.
pub fn watch(child: &ChildProcess, group: bool) {
    let pid = child.pid() as i32;
    // The command and its group first: what follows allocates.
    CHILD.store(pid, Ordering::SeqCst);
    GROUP.store(if group { pid } else { 0 }, Ordering::SeqCst);
    let (pidfd, cgroup) = child.last_resort();
    PIDFD.store(pidfd.unwrap_or(-1), Ordering::SeqCst);
    if let Some((kill, dir)) = cgroup {
        if let Ok(dir) = CString::new(dir.as_os_str().as_bytes()) {
            let _ = CGROUP_DIR.set(dir);
        }
        CGROUP_KILL.store(kill, Ordering::SeqCst);
    }
    if child.scope() == Scope::Tree
        && let Some(list) = platform::open_children_list()
    {
        let _ = CHILDREN.set(list);
    }
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
    end_scope(child, group);
    // SAFETY: write and _exit take plain values and a buffer on the stack.
    unsafe {
        let mut line = [0u8; 160];
        let mut length = 0;
        for part in [
            &b"agentpipe: out of memory (an allocation of "[..],
            digits(size, &mut [0; 20]),
            b" bytes failed): ",
            match child {
                0 => &b"nothing was started"[..],
                _ => b"sent SIGKILL to the command and its scope",
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

/// SIGKILL to everything recorded of the scope, without allocating.
fn end_scope(child: i32, group: i32) {
    let cgroup_kill = CGROUP_KILL.load(Ordering::SeqCst);
    if cgroup_kill >= 0 {
        platform::kill_cgroup(cgroup_kill);
    }
    if let Some(dir) = CGROUP_DIR.get() {
        platform::remove_killed_cgroup(dir);
    }
    // SAFETY: kill takes plain values.
    unsafe {
        if group > 0 {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    match PIDFD.load(Ordering::SeqCst) {
        // SAFETY: as above.
        -1 if child > 0 => unsafe {
            libc::kill(child, libc::SIGKILL);
        },
        -1 => {}
        // SAFETY: the pidfd stays open as long as the child is agentpipe's, which is longer
        // than this call.
        pidfd => unsafe {
            let pidfd = std::os::fd::BorrowedFd::borrow_raw(pidfd);
            platform::signal_pidfd(pidfd, nix::sys::signal::Signal::SIGKILL);
        },
    }
    if let Some(list) = CHILDREN.get() {
        platform::kill_children(list.as_fd());
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
