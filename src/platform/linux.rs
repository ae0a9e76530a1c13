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
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{Pid, getpgid, getpid, getppid};

use super::{ChildState, ChildStatus};
use crate::scope::Scope;
use proc_table::{Entry, children, read, table};

mod proc_table;

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
    // SAFETY: pidfd_open (which nix does not wrap) takes a pid and flags and returns a new
    // close-on-exec descriptor or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    // SAFETY: a non-negative result is a descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
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

/// The live (not zombie) processes of `scope` other than the child, which the caller tracks.
///
/// Once the child has `exited`, the list is empty only when the scope is: one listing of /proc
/// misses a process forked after the list was read by one that exited before it was looked at,
/// so an empty listing is checked against what the kernel knows (see [`group_members`] and
/// [`tree_members`]).
pub fn leftovers(scope: Scope, child: Pid, group: Option<Pid>, exited: bool) -> Vec<Pid> {
    let entries = match (scope, group) {
        (Scope::Group, Some(group)) => group_members(child, group, exited),
        (Scope::Tree, _) => tree_members(child, exited),
        _ => Vec::new(),
    };
    entries.iter().map(|entry| entry.pid).collect()
}

/// Sends `signal` to each of [`leftovers`] that is still the process that was listed; SIGKILL
/// to a tree freezes it first (see [`kill_tree`]).
pub fn signal_leftovers(scope: Scope, child: Pid, group: Option<Pid>, signal: Signal) {
    if (scope, signal) == (Scope::Tree, Signal::SIGKILL) {
        return kill_tree();
    }
    for entry in members(scope, child, group) {
        entry.signal(signal);
    }
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
    let Some(child) = read(child) else {
        return (None, None);
    };
    let mut entries = members(scope, child.pid, group);
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
pub fn members_named(scope: Scope, child: Pid, group: Option<Pid>) -> Vec<super::Member> {
    members(scope, child, group)
        .iter()
        .map(Entry::member)
        .collect()
}

/// The processes `pids` names, as far as they can still be read.
pub fn named(pids: &[Pid]) -> Vec<super::Member> {
    let entries = pids.iter().filter_map(|&pid| read(pid));
    entries
        .filter(|entry| !entry.zombie)
        .map(|e| e.member())
        .collect()
}

/// The last pid the kernel handed out in agentpipe's pid namespace (the one that reads it): it
/// moves with every process or thread created there or in a namespace below. `None` where
/// /proc/sys cannot be read.
fn last_pid() -> Option<Pid> {
    let text = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid").ok()?;
    text.trim().parse().ok().map(Pid::from_raw)
}

/// How many listings a freeze (see [`kill_tree`]) or a check of an empty tree takes at most;
/// the state machine looks again soon after if something is left.
const PASSES: usize = 100;

/// A group's live members other than the child.
///
/// Once the child has exited, the group is empty without a listing when the last pid the kernel
/// handed out in agentpipe's pid namespace is still the child's: nothing forked since the child
/// was created, so only an older process of the session joining the group by setpgid(2) could be
/// in it. Otherwise one listing is not believed alone: the kernel says whether anyone is in the
/// group at all (kill(-pgid, 0) fails with ESRCH exactly when nobody is, zombies included).
/// While the child's zombie is a member that cannot tell a missed fork from the zombie, so the
/// group is stopped for one more listing: a process with a stop signal pending cannot fork, so
/// that listing is complete; SIGCONT then takes the stop back.
fn group_members(child: Pid, group: Pid, exited: bool) -> Vec<Entry> {
    if exited && last_pid() == Some(child) {
        return Vec::new();
    }
    let found = members(Scope::Group, child, Some(group));
    if !found.is_empty() || !exited || kill(Pid::from_raw(-group.as_raw()), None).is_err() {
        return found;
    }
    let _ = killpg(group, Signal::SIGSTOP);
    let found = members(Scope::Group, child, Some(group));
    let _ = killpg(group, Signal::SIGCONT);
    found
}

/// The tree's live processes other than the child. Once the child has exited, whatever is left
/// of the tree hangs below agentpipe (orphans come to their subreaper): an empty listing is
/// believed only when agentpipe, its adopted zombies reaped, has no child but the command.
fn tree_members(child: Pid, exited: bool) -> Vec<Entry> {
    for _ in 0..PASSES {
        let found = members(Scope::Tree, child, None);
        if !found.is_empty() || !exited {
            return found;
        }
        reap_adopted(child);
        if own_children().iter().all(|&pid| pid == child) {
            return Vec::new();
        }
    }
    let others = own_children().into_iter().filter(|&pid| pid != child);
    others.filter_map(read).collect()
}

/// SIGKILL to a tree, so that a fork racing the signal is not missed: every descendant found
/// is stopped, and the tree listed again until a pass finds none that was not (a process with
/// SIGSTOP pending cannot fork); then the stopped are killed. Repeated while a pass finds a live
/// process not yet killed.
fn kill_tree() {
    let same = |a: &Entry, b: &Entry| a.pid == b.pid && a.start == b.start;
    let mut killed: Vec<Entry> = Vec::new();
    for _ in 0..PASSES {
        let mut stopped: Vec<Entry> = Vec::new();
        for _ in 0..PASSES {
            let mut new = descendants(getpid());
            new.retain(|entry| !entry.zombie);
            new.retain(|entry| !stopped.iter().chain(&killed).any(|seen| same(seen, entry)));
            if new.is_empty() {
                break;
            }
            for entry in &new {
                entry.signal(Signal::SIGSTOP);
            }
            stopped.extend(new);
        }
        if stopped.is_empty() {
            return;
        }
        for entry in &stopped {
            entry.signal(Signal::SIGKILL);
        }
        killed.extend(stopped);
    }
}

/// Reaps the exited processes that were handed to agentpipe as their subreaper (or as PID 1),
/// leaving `child` and the spared (whose exits their owners collect) unreaped.
pub fn reap_adopted(child: Pid) {
    let me = getpid();
    let zombies = own_children()
        .into_iter()
        .filter(|&pid| pid != child)
        .filter_map(read)
        .filter(|entry| entry.parent == me && entry.zombie);
    for entry in zombies {
        let _ = waitpid(entry.pid, Some(WaitPidFlag::WNOHANG));
    }
}

/// The live processes handed to agentpipe as their subreaper: its children but `child` and the
/// spared (the commands of `run` steps).
pub fn adopted(child: Pid) -> Vec<Pid> {
    let mut adopted = own_children();
    adopted.retain(|&pid| pid != child && read(pid).is_some_and(|entry| !entry.zombie));
    adopted
}

/// Keeps the kernel from dumping core even where core_pattern pipes to a program, which
/// RLIMIT_CORE alone does not stop.
pub fn set_undumpable() {
    let _ = prctl::set_dumpable(false);
}

/// Only the processes that can belong are read in full: a group's members are picked out with
/// getpgid(2), a tree is walked down from agentpipe through /proc's children lists.
fn members(scope: Scope, child: Pid, group: Option<Pid>) -> Vec<Entry> {
    let mut entries = match (scope, group) {
        (Scope::Group, Some(group)) => {
            let mut members = table(|pid| getpgid(Some(pid)) == Ok(group));
            members.retain(|entry| entry.group == group); // it may have moved since
            members
        }
        (Scope::Tree, _) => descendants(getpid()),
        _ => return Vec::new(),
    };
    entries.retain(|entry| entry.pid != child && !entry.zombie);
    entries
}

/// Every process below `root`, zombies included, but for the spared and theirs.
fn descendants(root: Pid) -> Vec<Entry> {
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        let below = if parent == getpid() {
            own_children()
        } else {
            children(parent)
        };
        for entry in below.into_iter().filter_map(read) {
            parents.push(entry.pid);
            found.push(entry);
        }
    }
    found
}

/// agentpipe's children that no scope reaches, with all they start: the commands of `run`
/// steps. A registry for the whole process, since they are children of the whole process.
static SPARED: std::sync::Mutex<Vec<Pid>> = std::sync::Mutex::new(Vec::new());

/// Keeps `pid` (a child of agentpipe) and its descendants out of every scope until
/// [`unspare`].
pub fn spare(pid: Pid) {
    spared().push(pid);
}

pub fn unspare(pid: Pid) {
    spared().retain(|&spared| spared != pid);
}

fn spared() -> std::sync::MutexGuard<'static, Vec<Pid>> {
    SPARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// agentpipe's children but the spared.
fn own_children() -> Vec<Pid> {
    let spared = spared().clone();
    let mut children = children(getpid());
    children.retain(|pid| !spared.contains(pid));
    children
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
