//! The process table as /proc shows it: one entry per process, read whole so that its pid and
//! start time together name it when it is signalled later.
//!
//! Every read tells a process that is gone (an answer) from a read that failed (no descriptor
//! left, a refusal): the latter makes the whole look incomplete, never a process fewer.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::reserve::{gone_or_unseen, unseen};
use super::{pidfd_open, signal_pidfd};
use crate::scope::Unseen;

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
    pub(super) fn signal(&self, signal: Signal) -> Result<(), Unseen> {
        // Opened before the check: a pidfd pins one process, so if the pid shows the listed
        // start time after it was opened, the pidfd refers to the process listed. Without
        // pidfds, the start time read just now is the best check there is.
        let pidfd = match pidfd_open(self.pid) {
            Err(Errno::ESRCH) => return Ok(()),
            Err(errno @ (Errno::EMFILE | Errno::ENFILE)) => return Err(unseen(errno)),
            opened => opened.ok(),
        };
        let listed = read(self.pid)?.is_some_and(|now| now.start == self.start);
        match pidfd {
            Some(pidfd) if listed => signal_pidfd(pidfd.as_fd(), signal),
            None if listed => {
                let _ = kill(self.pid, signal);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The processes in /proc whose pid passes `wanted`, as far as they are still there.
pub(super) fn table(wanted: impl Fn(Pid) -> bool) -> Result<Vec<Entry>, Unseen> {
    let entries = std::fs::read_dir("/proc")
        .map_err(|error| gone_or_unseen(&error).err().unwrap_or(Unseen::NoProc))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|error| gone_or_unseen(&error).err().unwrap_or(Unseen::NoProc))?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        let pid = Pid::from_raw(pid);
        if wanted(pid)
            && let Some(entry) = read(pid)?
        {
            found.push(entry);
        }
    }
    Ok(found)
}

/// Parses /proc/PID/stat: "pid (comm) state ppid pgrp ... starttime ...", where comm may hold
/// spaces and parentheses. `None`: the process is gone.
pub(super) fn read(pid: Pid) -> Result<Option<Entry>, Unseen> {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        Err(error) => return gone_or_unseen(&error).map(|()| None),
    };
    let Some((state, entry)) = parse(pid, &stat) else {
        return Ok(None);
    };
    let zombie = matches!(state, "Z" | "X") && !threads_live(pid)?;
    Ok(Some(Entry { zombie, ..entry }))
}

/// The fields of a stat line, and its state letter.
fn parse(pid: Pid, stat: &str) -> Option<(&str, Entry)> {
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let number = |index: usize| fields.get(index)?.parse::<i64>().ok();
    let entry = Entry {
        pid,
        zombie: false,
        name: stat[stat.find('(')? + 1..stat.rfind(')')?].to_string(),
        parent: Pid::from_raw(number(1)? as i32),
        group: Pid::from_raw(number(2)? as i32),
        // Field 22 of the line; the slice starts at field 3.
        start: number(19)? as u64,
        cpu: (11..15).filter_map(number).map(|ticks| ticks as u64).sum(),
    };
    Some((fields.first()?, entry))
}

/// Whether a thread of `pid` other than its exited main thread still runs: a process whose main
/// thread exited shows Z in /proc/PID/stat, and is alive while any thread is.
fn threads_live(pid: Pid) -> Result<bool, Unseen> {
    let tasks = match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(tasks) => tasks,
        Err(error) => return gone_or_unseen(&error).map(|()| false),
    };
    for task in tasks.flatten() {
        let stat = match std::fs::read_to_string(task.path().join("stat")) {
            Ok(stat) => stat,
            Err(error) => {
                gone_or_unseen(&error)?;
                continue;
            }
        };
        let state = stat
            .rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next());
        if !matches!(state, Some("Z" | "X") | None) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The children of `pid`, from /proc/PID/task/*/children; the whole table where the kernel has
/// no such lists.
pub(super) fn children(pid: Pid) -> Result<Vec<Pid>, Unseen> {
    let tasks = match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(tasks) => tasks,
        Err(error) => return gone_or_unseen(&error).map(|()| Vec::new()),
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let list = match std::fs::read_to_string(task.path().join("children")) {
            Ok(list) => list,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && task_exists(&task) => {
                let table = table(|_| true)?.into_iter();
                return Ok(table.filter(|e| e.parent == pid).map(|e| e.pid).collect());
            }
            Err(error) => {
                gone_or_unseen(&error)?;
                continue;
            }
        };
        children.extend(
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .map(Pid::from_raw),
        );
    }
    Ok(children)
}

/// Whether a task directory is still there (its `children` file missing then means the kernel
/// keeps no such lists).
fn task_exists(task: &std::fs::DirEntry) -> bool {
    task.path().join("stat").exists()
}
