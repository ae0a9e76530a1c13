//! Which processes a scope covers, and how they are signalled without ever reaching a stranger.
//!
//! On Linux the members are read from /proc. A process is identified by its pid *and* its start
//! time, so that a pid recycled between listing and signalling is recognised; signals go through a
//! pidfd opened and then checked against that identity.

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Which processes the close sequence's signals reach, and which may not outlive agentpipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The child alone.
    Child,
    /// The child's process group: the child and whatever it started that stayed in its group.
    Group,
    /// Linux: every descendant of agentpipe, including those that left the child's group
    /// (setsid, double fork), since agentpipe is their subreaper.
    Tree,
}

/// A live process found in /proc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub pid: Pid,
    /// Start time in clock ticks since boot: with the pid, names one process for good.
    start: u64,
}

/// The live (not zombie) processes of `scope`, other than the child, which the caller tracks.
///
/// Only the processes that can belong are read in full: a group's members are picked out with
/// getpgid(2), a tree is walked down from agentpipe through /proc's children lists.
#[cfg(target_os = "linux")]
pub fn leftovers(scope: Scope, child: Pid, group: Option<Pid>) -> Vec<Member> {
    let entries = match (scope, group) {
        (Scope::Group, Some(group)) => {
            let mut members = linux::table(|pid| nix::unistd::getpgid(Some(pid)) == Ok(group));
            members.retain(|entry| entry.group == group); // it may have moved since
            members
        }
        (Scope::Tree, _) => linux::descendants(nix::unistd::getpid()),
        _ => return Vec::new(),
    };
    entries
        .iter()
        .filter(|entry| entry.pid != child && !entry.zombie)
        .map(linux::Entry::member)
        .collect()
}

/// Elsewhere members cannot be listed without /proc: the group is signalled as a whole and only
/// the child is waited for.
#[cfg(not(target_os = "linux"))]
pub fn leftovers(_scope: Scope, _child: Pid, _group: Option<Pid>) -> Vec<Member> {
    Vec::new()
}

/// Sends `signal` to `member` if it is still the process that was listed.
#[cfg(target_os = "linux")]
pub fn signal(member: Member, signal: Signal) {
    linux::signal(member, signal);
}

#[cfg(not(target_os = "linux"))]
pub fn signal(member: Member, signal: Signal) {
    let _ = nix::sys::signal::kill(member.pid, signal);
}

/// Sends `signal` to the process a pidfd refers to (pidfds exist only on Linux).
#[cfg(target_os = "linux")]
pub fn signal_pidfd(pidfd: std::os::fd::BorrowedFd<'_>, signal: Signal) {
    linux::signal_pidfd(pidfd, signal);
}

#[cfg(not(target_os = "linux"))]
pub fn signal_pidfd(_pidfd: std::os::fd::BorrowedFd<'_>, _signal: Signal) {}

/// Reaps the exited processes that were handed to agentpipe as their subreaper (or as PID 1),
/// leaving `child` unreaped. Returns how many were reaped.
#[cfg(target_os = "linux")]
pub fn reap_adopted(child: Pid) -> usize {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    let me = nix::unistd::getpid();
    let zombies = linux::children(me)
        .into_iter()
        .filter(|&pid| pid != child)
        .filter_map(linux::read)
        .filter(|entry| entry.parent == me && entry.zombie);
    zombies
        .filter(|entry| waitpid(entry.pid, Some(WaitPidFlag::WNOHANG)).is_ok())
        .count()
}

#[cfg(not(target_os = "linux"))]
pub fn reap_adopted(_child: Pid) -> usize {
    0
}

/// Makes agentpipe the reaper of its descendants' orphans, so that they stay in its tree.
#[cfg(target_os = "linux")]
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    let result = unsafe { nix::libc::prctl(nix::libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

    use nix::libc;
    use nix::sys::signal::Signal;
    use nix::unistd::Pid;

    use super::Member;

    /// One line of the process table.
    #[derive(Debug)]
    pub struct Entry {
        pub pid: Pid,
        pub parent: Pid,
        pub group: Pid,
        pub zombie: bool,
        start: u64,
    }

    impl Entry {
        pub fn member(&self) -> Member {
            Member {
                pid: self.pid,
                start: self.start,
            }
        }
    }

    /// The processes in /proc whose pid passes `wanted`, as far as they could be read.
    pub fn table(wanted: impl Fn(Pid) -> bool) -> Vec<Entry> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .map(Pid::from_raw)
            .filter(|&pid| wanted(pid))
            .filter_map(read)
            .collect()
    }

    /// Parses /proc/PID/stat: "pid (comm) state ppid pgrp ... starttime ...", where comm may
    /// hold spaces and parentheses.
    pub fn read(pid: Pid) -> Option<Entry> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
        let number = |index: usize| fields.get(index)?.parse::<i64>().ok();
        Some(Entry {
            pid,
            zombie: matches!(*fields.first()?, "Z" | "X"),
            parent: Pid::from_raw(number(1)? as i32),
            group: Pid::from_raw(number(2)? as i32),
            // Field 22 of the line; the slice starts at field 3.
            start: number(19)? as u64,
        })
    }

    /// The children of `pid`, from /proc/PID/task/*/children; the whole table where the kernel
    /// has no such lists.
    pub fn children(pid: Pid) -> Vec<Pid> {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return Vec::new();
        };
        let mut children = Vec::new();
        for task in tasks.flatten() {
            let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
                return table(|_| true)
                    .into_iter()
                    .filter(|entry| entry.parent == pid)
                    .map(|entry| entry.pid)
                    .collect();
            };
            children.extend(
                list.split_whitespace()
                    .filter_map(|child| child.parse().ok())
                    .map(Pid::from_raw),
            );
        }
        children
    }

    /// Every process below `root`, zombies included.
    pub fn descendants(root: Pid) -> Vec<Entry> {
        let mut found = Vec::new();
        let mut parents = vec![root];
        while let Some(parent) = parents.pop() {
            for entry in children(parent).into_iter().filter_map(read) {
                parents.push(entry.pid);
                found.push(entry);
            }
        }
        found
    }

    pub fn signal(member: Member, signal: Signal) {
        // SAFETY: pidfd_open returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, member.pid.as_raw(), 0) };
        if fd < 0 {
            // No pidfds: the start time, read just now, is the best check there is.
            if read(member.pid).is_some_and(|entry| entry.start == member.start) {
                let _ = nix::sys::signal::kill(member.pid, signal);
            }
            return;
        }
        // SAFETY: a non-negative result is a descriptor nobody else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // The pidfd pins one process; if the pid still shows the listed start time now, that
        // process is the one listed.
        if read(member.pid).is_some_and(|entry| entry.start == member.start) {
            signal_pidfd(pidfd.as_fd(), signal);
        }
    }

    pub fn signal_pidfd(pidfd: BorrowedFd<'_>, signal: Signal) {
        // SAFETY: pidfd_send_signal with a valid pidfd, a signal number, no siginfo.
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
}
