//! The process table as /proc shows it: one entry per process, read whole so that its pid and
//! start time together name it when it is signalled later.

use std::os::fd::AsFd;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{open_pidfd, signal_pidfd};

/// One line of the process table.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) pid: Pid,
    pub(super) parent: Pid,
    pub(super) group: Pid,
    pub(super) zombie: bool,
    /// Start time in clock ticks since boot: with the pid, names one process for good.
    pub(super) start: u64,
    /// Its command name (`comm`).
    pub(super) name: String,
    /// CPU time used, in clock ticks: its own and its waited-for children's, user and system.
    pub(super) cpu: u64,
}

impl Entry {
    pub(super) fn member(&self) -> super::super::Member {
        super::super::Member {
            pid: self.pid.as_raw() as u32,
            start: self.start,
            name: self.name.clone(),
        }
    }

    /// Sends `signal` if the pid still names the process that was listed.
    pub(super) fn signal(&self, signal: Signal) {
        // Opened before the check: a pidfd pins one process, so if the pid shows the listed
        // start time after it was opened, the pidfd refers to the process listed. Without
        // pidfds, the start time read just now is the best check there is.
        let pidfd = open_pidfd(self.pid);
        let listed = read(self.pid).is_some_and(|now| now.start == self.start);
        match pidfd {
            Some(pidfd) if listed => signal_pidfd(pidfd.as_fd(), signal),
            None if listed => {
                let _ = kill(self.pid, signal);
            }
            _ => {}
        }
    }
}

/// The processes in /proc whose pid passes `wanted`, as far as they could be read.
pub(super) fn table(wanted: impl Fn(Pid) -> bool) -> Vec<Entry> {
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

/// Parses /proc/PID/stat: "pid (comm) state ppid pgrp ... starttime ...", where comm may hold
/// spaces and parentheses.
pub(super) fn read(pid: Pid) -> Option<Entry> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let number = |index: usize| fields.get(index)?.parse::<i64>().ok();
    Some(Entry {
        pid,
        zombie: matches!(*fields.first()?, "Z" | "X") && !threads_live(pid),
        name: stat[stat.find('(')? + 1..stat.rfind(')')?].to_string(),
        parent: Pid::from_raw(number(1)? as i32),
        group: Pid::from_raw(number(2)? as i32),
        // Field 22 of the line; the slice starts at field 3.
        start: number(19)? as u64,
        cpu: (11..15).filter_map(number).map(|ticks| ticks as u64).sum(),
    })
}

/// Whether a thread of `pid` other than its exited main thread still runs: a process whose main
/// thread exited shows Z in /proc/PID/stat, and is alive while any thread is.
fn threads_live(pid: Pid) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            let state = stat
                .rfind(')')
                .and_then(|end| stat[end + 1..].split_whitespace().next());
            !matches!(state, Some("Z" | "X") | None)
        })
    })
}

/// The children of `pid`, from /proc/PID/task/*/children; the whole table where the kernel has
/// no such lists.
pub(super) fn children(pid: Pid) -> Vec<Pid> {
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
