//! Linux: pidfds, waitid(WNOWAIT), the child subreaper and parent-death signal, and the process
//! table in /proc (the relay's calls are in `io_linux.rs`).
//!
//! A process found in /proc is identified by its pid *and* its start time, so that a pid recycled
//! between listing and signalling is recognised; signals go through a pidfd opened and then
//! checked against that identity.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::libc;
use nix::sys::prctl;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{Pid, getpid, getppid};

use super::{ChildState, ChildStatus};
use crate::scope::{Scope, Unseen};
pub(super) use last_resort::pause_a_millisecond;
pub use last_resort::{kill_children, open_children_list};
pub use members::{spare, unspare};
use proc_table::{Entry, read};
use reserve::{proc_shows_self, with_reserve};
pub use reserve::{reserve_descriptors, reserved_stderr};

mod last_resort;
mod members;
mod proc_table;
pub(super) mod reserve;

/// `--scope tree` is possible: see [`become_subreaper`].
pub const HAS_SUBREAPER: bool = true;

/// The `si_code` of a signal a process sent with kill(2).
pub const SI_USER: i32 = libc::SI_USER;

/// SIGPIPE ignored, as the standard library's runtime start does (the program may start without
/// it, see src/main.rs): a write to a closed pipe fails with EPIPE instead of killing agentpipe.
#[cfg(agentpipe_own_start)]
pub fn ignore_sigpipe() {
    // SAFETY: installs no handler, only ignoring, which runs no code of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Makes agentpipe the reaper of its descendants' orphans, so that they stay in its tree.
pub fn become_subreaper() -> io::Result<()> {
    prctl::set_child_subreaper(true)?;
    Ok(())
}

/// Runs in the child before exec: the kernel SIGKILLs it when the thread that forked it dies.
/// Only calls that are async-signal-safe.
pub fn arm_parent_death_signal(parent: Pid) {
    let _ = prctl::set_pdeathsig(Signal::SIGKILL);
    // The parent may have died before the death signal was armed. kill(getpid()), not raise(3),
    // which signals the thread its thread block names: the parent's, in a child started in the
    // parent's memory (see `spawn_linux`).
    if getppid() != parent {
        let _ = kill(getpid(), Signal::SIGKILL);
    }
}

/// A descriptor that pins `pid` and becomes readable when it exits; `None` on kernels before 5.3.
pub fn open_pidfd(pid: Pid) -> Option<OwnedFd> {
    pidfd_open(pid).ok()
}

/// [`open_pidfd`], with the reason it failed: ENOSYS (no pidfds), ESRCH (gone), EMFILE.
pub(super) fn pidfd_open(pid: Pid) -> Result<OwnedFd, nix::errno::Errno> {
    // SAFETY: pidfd_open (which nix does not wrap) takes a pid and flags and returns a new
    // close-on-exec descriptor or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: a non-negative result is a descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Sends `signal` to the process a pidfd refers to.
pub fn signal_pidfd(pidfd: BorrowedFd<'_>, signal: Signal) {
    // SAFETY: pidfd_send_signal (which nix does not wrap) with a descriptor that stays open for
    // the call, a valid signal number and no siginfo (a null pointer is allowed).
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

/// Looks, without waiting and without reaping (WNOWAIT), whether the child has exited.
pub fn check_exit(child: Pid) -> Option<ChildStatus> {
    wait_id(child, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT)
}

/// Looks whether the child stopped (consuming the report); waitid without WEXITED leaves an exit
/// for [`check_exit`], unreaped.
pub fn check_stopped(child: Pid) -> Option<ChildStatus> {
    wait_id(child, libc::WSTOPPED | libc::WNOHANG)
        .filter(|seen| matches!(seen.status, ChildState::Stopped(_)))
}

/// waitid(2) on `child`, its report read by number: nix's own waitid fails on a signal its
/// `Signal` does not name (every real-time one), which would read as "still running" while the
/// child's pidfd stays readable. A failure other than EINTR (ECHILD: someone else reaped it)
/// means the child is gone.
fn wait_id(child: Pid, flags: libc::c_int) -> Option<ChildStatus> {
    loop {
        // SAFETY: a zeroed siginfo_t is valid, and waitid only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: P_PID with a pid, and a pointer to the local siginfo_t.
        let result =
            unsafe { libc::waitid(libc::P_PID, child.as_raw() as libc::id_t, &mut info, flags) };
        if result == -1 {
            if nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            let status = ChildState::Gone;
            return Some(ChildStatus {
                status,
                reaped: true,
            });
        }
        // SAFETY: waitid filled in a SIGCHLD report, or left it zeroed (si_pid 0: nothing).
        let (pid, number) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return None;
        }
        let status = match info.si_code {
            libc::CLD_EXITED => ChildState::Exited(number),
            libc::CLD_KILLED | libc::CLD_DUMPED => ChildState::Killed(number),
            _ => ChildState::Stopped(number),
        };
        let reaped = flags & libc::WNOWAIT == 0 && flags & libc::WEXITED != 0;
        return Some(ChildStatus { status, reaped });
    }
}

/// The live (not zombie) processes of `scope` other than the child, which the caller tracks;
/// `Err` when they could not be seen (see [`reserve`]), which is never an empty scope.
///
/// Once the child has `exited`, the list is empty only when the scope is: one listing of /proc
/// misses a process forked after the list was read by one that exited before it was looked at,
/// so an empty listing is checked against what the kernel knows (see `members.rs`).
pub fn leftovers(
    scope: Scope,
    child: Pid,
    group: Option<Pid>,
    exited: bool,
) -> Result<Vec<Pid>, Unseen> {
    if !listed(scope, group) {
        return Ok(Vec::new());
    }
    let entries = with_reserve(|| {
        proc_shows_self()?;
        match (scope, group) {
            (Scope::Group, Some(group)) => members::group_members(child, group, exited),
            _ => members::tree_members(child, exited),
        }
    })?;
    Ok(entries.iter().map(|entry| entry.pid).collect())
}

/// Whether `scope` has members to list beside the child: a group of the child's own, a tree.
/// (The child alone, or a child in agentpipe's own group, has none: no look, so none fails.)
fn listed(scope: Scope, group: Option<Pid>) -> bool {
    matches!((scope, group), (Scope::Group, Some(_)) | (Scope::Tree, _))
}

/// Sends `signal` to each of [`leftovers`] that is still the process that was listed; SIGKILL
/// to a tree freezes it first (see `members::kill_tree`). `Err`: the scope could not be seen,
/// and only what the caller reaches without a listing got the signal.
pub fn signal_leftovers(
    scope: Scope,
    child: Pid,
    group: Option<Pid>,
    signal: Signal,
) -> Result<(), Unseen> {
    if !listed(scope, group) {
        return Ok(());
    }
    with_reserve(|| {
        proc_shows_self()?;
        if (scope, signal) == (Scope::Tree, Signal::SIGKILL) {
            return members::kill_tree();
        }
        for entry in members::members(scope, child, group)? {
            entry.signal(signal)?;
        }
        Ok(())
    })
}

/// The CPU time the child and the rest of its scope have used (user and system, their waited-for
/// children's included, so that a helper's time stays counted once it is reaped), and the time
/// they waited on a run queue for a CPU (/proc/PID/schedstat: the main thread's); `None` when
/// the child's /proc entry cannot be read. A process that exited unwaited-for takes its time
/// with it: a figure may drop, which counts as no work.
pub fn work(
    scope: Scope,
    child: Pid,
    group: Option<Pid>,
) -> (Option<std::time::Duration>, Option<std::time::Duration>) {
    let Ok(Some(child)) = read(child) else {
        return (None, None);
    };
    let Ok(mut entries) = members::members(scope, child.pid, group) else {
        return (None, None);
    };
    entries.push(child);
    let ticks: u64 = entries.iter().map(|entry| entry.cpu).sum();
    // SAFETY: sysconf only reads a system constant. (nix's takes a feature of its own.)
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let cpu = u64::try_from(per_second)
        .ok()
        .filter(|&n| n > 0)
        .map(|per_second| {
            std::time::Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second)
        });
    let waited = entries
        .iter()
        .map(|entry| run_delay(entry.pid))
        .sum::<Option<u64>>();
    (cpu, waited.map(std::time::Duration::from_nanos))
}

/// How long `pid` (its main thread) waited on a run queue, in nanoseconds: the second field of
/// /proc/PID/schedstat.
fn run_delay(pid: Pid) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The live processes of `scope` other than the child, named: those a signal to the scope
/// reaches now.
pub fn members_named(
    scope: Scope,
    child: Pid,
    group: Option<Pid>,
) -> Result<Vec<super::Member>, Unseen> {
    if !listed(scope, group) {
        return Ok(Vec::new());
    }
    let entries = with_reserve(|| {
        proc_shows_self()?;
        members::members(scope, child, group)
    })?;
    Ok(entries.iter().map(Entry::member).collect())
}

/// The processes `pids` names, as far as they can still be read.
pub fn named(pids: &[Pid]) -> Vec<super::Member> {
    let entries = pids.iter().filter_map(|&pid| read(pid).ok().flatten());
    entries
        .filter(|entry| !entry.zombie)
        .map(|e| e.member())
        .collect()
}

/// Reaps the exited processes that were handed to agentpipe as their subreaper (or as PID 1),
/// leaving `child` and the spared (whose exits their owners collect) unreaped; where /proc
/// cannot be read, [`own_children_left`] reaps them as it looks.
pub fn reap_adopted(child: Pid) {
    let _ = with_reserve(|| {
        proc_shows_self()?;
        members::reap_adopted(child)
    });
}

/// The live processes handed to agentpipe as their subreaper: its children but `child` and the
/// spared (the commands of `run` steps); those that can be seen.
pub fn adopted(child: Pid) -> Vec<Pid> {
    with_reserve(|| {
        proc_shows_self()?;
        members::adopted(child)
    })
    .unwrap_or_default()
}

/// Whether agentpipe has a child left, asked of the kernel without /proc (waitid, P_ALL): the
/// children that exited are reaped on the way (the spared excepted), so `Some(false)` says that
/// no child is left at all and `Some(true)` that a live one is; `None`: a spared one's exit
/// waits for its owner, and hides the rest. Only for a program that owns all its children (the
/// command line); the command itself must be reaped already.
pub fn own_children_left() -> Option<bool> {
    for _ in 0..1000 {
        // SAFETY: a zeroed siginfo_t is valid, and waitid only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        // SAFETY: P_ALL with no id, and a pointer to the local siginfo_t.
        if unsafe { libc::waitid(libc::P_ALL, 0, &mut info, flags) } == -1 {
            return match nix::errno::Errno::last() {
                nix::errno::Errno::EINTR => continue,
                nix::errno::Errno::ECHILD => Some(false),
                _ => None,
            };
        }
        // SAFETY: waitid filled in a SIGCHLD report, or left it zeroed (si_pid 0: nothing).
        let pid = Pid::from_raw(unsafe { info.si_pid() });
        if pid.as_raw() == 0 {
            return Some(true);
        }
        if members::spared().contains(&pid) {
            return None;
        }
        let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
    }
    None
}

/// Whether `pid` is a child of agentpipe not yet reaped (so that its pid is safe to signal),
/// asked of the kernel without /proc.
pub fn is_own_child(pid: Pid) -> bool {
    // SAFETY: a zeroed siginfo_t is valid, and waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: P_PID with a pid, and a pointer to the local siginfo_t.
    unsafe { libc::waitid(libc::P_PID, pid.as_raw() as libc::id_t, &mut info, flags) == 0 }
}

/// Keeps the kernel from dumping core even where core_pattern pipes to a program, which
/// RLIMIT_CORE alone does not stop.
pub fn set_undumpable() {
    let _ = prctl::set_dumpable(false);
}

/// Whether a signal's `si_code` says the kernel sent it (the terminal driver's SIGINT to the
/// foreground group) rather than a process (kill(2): SI_USER). Async-signal-safe.
pub fn sent_by_kernel(code: i32) -> bool {
    code == libc::SI_KERNEL
}

/// `--end-with-parent` is possible: see [`watch_parent`].
pub const HAS_PARENT_WATCH: bool = true;

/// A pidfd on agentpipe's parent process, readable once it exits; `None` when the parent is
/// already gone (it changed between reading it and opening the pidfd). A pidfd follows the
/// process, not the thread that started agentpipe, unlike the parent-death signal.
///
/// Refused where there is no parent to watch: as PID 1 (a container's init, whose "parent" is
/// outside its namespace), and when the parent is init already, which is what a process whose
/// starter exited is handed to: watching init would never fire.
pub fn watch_parent() -> io::Result<Option<OwnedFd>> {
    if getpid().as_raw() == 1 {
        return Err(io::Error::other(
            "agentpipe is PID 1 here (a container's init): it has no parent to end with, and \
             the namespace ends when it does; leave --end-with-parent out",
        ));
    }
    let parent = getppid();
    if parent.as_raw() == 1 {
        return Err(io::Error::other(
            "its parent is already init (pid 1): the process that started agentpipe has exited, \
             or init started it, and init never exits; start agentpipe from the process it \
             should end with, or leave --end-with-parent out",
        ));
    }
    let pidfd = open_pidfd(parent).ok_or_else(io::Error::last_os_error)?;
    Ok((getppid() == parent).then_some(pidfd))
}
