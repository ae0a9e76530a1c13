//! The out-of-memory path's reach beyond the command's group (`--scope tree`): agentpipe's own
//! children, read from a list held open since the start, and killed without allocating. Its
//! children's pids are never a stranger's (they are not reaped), and each dead one hands its
//! own children to agentpipe (its subreaper), so a few passes reach down the tree.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::libc;
use nix::unistd::getpid;

/// How many passes over the list, how many pids they take, and how long each killed child is
/// waited for (in milliseconds) to exit and hand its own children over.
const PASSES: usize = 16;
const PIDS: usize = 256;
const EXIT_WAIT_MS: usize = 100;

/// agentpipe's list of children (`/proc/PID/task/PID/children`, its main thread's, which
/// orphans are handed to), opened now for [`kill_children`] to read when nothing can be opened
/// or allocated any more.
pub fn open_children_list() -> Option<OwnedFd> {
    let me = getpid();
    std::fs::File::open(format!("/proc/{me}/task/{me}/children"))
        .ok()
        .map(OwnedFd::from)
}

/// SIGKILL to every child of agentpipe on `list` (from [`open_children_list`]) and to its
/// process group when that is not agentpipe's own, again while a pass finds one not killed.
/// Only async-signal-safe calls, no allocation.
pub fn kill_children(list: BorrowedFd<'_>) {
    let mut killed = [0 as libc::pid_t; PIDS];
    let mut count = 0;
    // SAFETY: getpgrp takes nothing and cannot fail.
    let own_group = unsafe { libc::getpgrp() };
    for _ in 0..PASSES {
        let mut buffer = [0u8; 4096];
        // SAFETY: pread into a buffer on the stack, of the length given, from a descriptor held.
        let read = unsafe {
            libc::pread(
                list.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                0,
            )
        };
        let Ok(read) = usize::try_from(read) else {
            return;
        };
        let mut new = false;
        for pid in buffer[..read]
            .split(|&byte| byte == b' ')
            .filter_map(number)
        {
            if killed[..count].contains(&pid) || count == PIDS {
                continue;
            }
            // SAFETY: kill and getpgid take plain values.
            unsafe {
                let group = libc::getpgid(pid);
                if group > 0 && group != own_group {
                    libc::kill(-group, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
            }
            killed[count] = pid;
            count += 1;
            new = true;
        }
        for &pid in &killed[..count] {
            wait_exited(pid);
        }
        if !new {
            return;
        }
    }
}

/// Waits, a millisecond at a time and a bounded number of times, until the child `pid` exited
/// (left unreaped, WNOWAIT): its children are then agentpipe's.
fn wait_exited(pid: libc::pid_t) {
    for _ in 0..EXIT_WAIT_MS {
        // SAFETY: a zeroed siginfo_t is valid, and waitid only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        // SAFETY: P_PID with a pid, and a pointer to the local siginfo_t.
        let result = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        // SAFETY: waitid filled in a report, or left it zeroed (si_pid 0: not exited yet).
        if result == -1 || unsafe { info.si_pid() } != 0 {
            return;
        }
        pause_a_millisecond();
    }
}

/// Sleeps a millisecond. Async-signal-safe, no allocation: the out-of-memory path's waits.
pub fn pause_a_millisecond() {
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    // SAFETY: nanosleep reads a timespec on the stack; the remainder is not wanted.
    unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
}

/// A pid written in decimal.
fn number(digits: &[u8]) -> Option<libc::pid_t> {
    let digits = digits.strip_suffix(b"\n").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0 as libc::pid_t, |pid, digit| {
        pid.checked_mul(10)?
            .checked_add(libc::pid_t::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_read_without_allocating_and_anything_else_is_skipped() {
        assert_eq!(number(b"4242"), Some(4242));
        assert_eq!(number(b"17\n"), Some(17));
        assert_eq!(number(b""), None);
        assert_eq!(number(b"12a"), None);
        assert_eq!(number(b"99999999999999"), None);
    }
}
