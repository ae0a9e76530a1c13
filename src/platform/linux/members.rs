//! Who is in a scope, from /proc: a group's members, a tree's descendants, and the SIGKILL of a
//! tree that no fork escapes. A read that fails makes the whole answer `Err`, never a shorter
//! list (see `reserve.rs`).

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{Pid, getpgid, getpid};

use super::proc_table::{Entry, children, read, table};
use crate::scope::{Scope, Unseen};

/// How many listings a freeze (see [`kill_tree`]) or a check of an empty tree takes at most;
/// the state machine looks again soon after if something is left.
const PASSES: usize = 100;

/// The last pid the kernel handed out in agentpipe's pid namespace (the one that reads it): it
/// moves with every process or thread created there or in a namespace below. `None` where
/// /proc/sys cannot be read.
fn last_pid() -> Option<Pid> {
    let text = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid").ok()?;
    text.trim().parse().ok().map(Pid::from_raw)
}

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
pub(super) fn group_members(child: Pid, group: Pid, exited: bool) -> Result<Vec<Entry>, Unseen> {
    if exited && last_pid() == Some(child) {
        return Ok(Vec::new());
    }
    let found = members(Scope::Group, child, Some(group))?;
    if !found.is_empty() || !exited || kill(Pid::from_raw(-group.as_raw()), None).is_err() {
        return Ok(found);
    }
    let _ = killpg(group, Signal::SIGSTOP);
    let found = members(Scope::Group, child, Some(group));
    let _ = killpg(group, Signal::SIGCONT);
    found
}

/// The tree's live processes other than the child. Once the child has exited, whatever is left
/// of the tree hangs below agentpipe (orphans come to their subreaper): an empty listing is
/// believed only when agentpipe, its adopted zombies reaped, has no child but the command.
pub(super) fn tree_members(child: Pid, exited: bool) -> Result<Vec<Entry>, Unseen> {
    for _ in 0..PASSES {
        let found = members(Scope::Tree, child, None)?;
        if !found.is_empty() || !exited {
            return Ok(found);
        }
        reap_adopted(child)?;
        if own_children()?.iter().all(|&pid| pid == child) {
            return Ok(Vec::new());
        }
    }
    let mut left = Vec::new();
    for pid in own_children()?.into_iter().filter(|&pid| pid != child) {
        left.extend(read(pid)?);
    }
    Ok(left)
}

/// SIGKILL to a tree, so that a fork racing the signal is not missed: every descendant found
/// is stopped, and the tree listed again until a pass finds none that was not (a process with
/// SIGSTOP pending cannot fork); then the stopped are killed. Repeated while a pass finds a live
/// process not yet killed.
pub(super) fn kill_tree() -> Result<(), Unseen> {
    let same = |a: &Entry, b: &Entry| a.pid == b.pid && a.start == b.start;
    let mut killed: Vec<Entry> = Vec::new();
    for _ in 0..PASSES {
        let mut stopped: Vec<Entry> = Vec::new();
        for _ in 0..PASSES {
            let mut new = descendants(getpid())?;
            new.retain(|entry| !entry.zombie);
            new.retain(|entry| !stopped.iter().chain(&killed).any(|seen| same(seen, entry)));
            if new.is_empty() {
                break;
            }
            for entry in &new {
                entry.signal(Signal::SIGSTOP)?;
            }
            stopped.extend(new);
        }
        if stopped.is_empty() {
            return Ok(());
        }
        for entry in &stopped {
            entry.signal(Signal::SIGKILL)?;
        }
        killed.extend(stopped);
    }
    Ok(())
}

/// Reaps the exited processes that were handed to agentpipe as their subreaper (or as PID 1),
/// leaving `child` and the spared (whose exits their owners collect) unreaped.
pub(super) fn reap_adopted(child: Pid) -> Result<(), Unseen> {
    let me = getpid();
    for pid in own_children()?.into_iter().filter(|&pid| pid != child) {
        if read(pid)?.is_some_and(|entry| entry.parent == me && entry.zombie) {
            let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
        }
    }
    Ok(())
}

/// The live processes handed to agentpipe as their subreaper: its children but `child` and the
/// spared (the commands of `run` steps).
pub(super) fn adopted(child: Pid) -> Result<Vec<Pid>, Unseen> {
    let mut adopted = Vec::new();
    for pid in own_children()?.into_iter().filter(|&pid| pid != child) {
        if read(pid)?.is_some_and(|entry| !entry.zombie) {
            adopted.push(pid);
        }
    }
    Ok(adopted)
}

/// Only the processes that can belong are read in full: a group's members are picked out with
/// getpgid(2), a tree is walked down from agentpipe through /proc's children lists.
pub(super) fn members(scope: Scope, child: Pid, group: Option<Pid>) -> Result<Vec<Entry>, Unseen> {
    let mut entries = match (scope, group) {
        (Scope::Group, Some(group)) => {
            let mut members = table(|pid| getpgid(Some(pid)) == Ok(group))?;
            members.retain(|entry| entry.group == group); // it may have moved since
            members
        }
        (Scope::Tree, _) => descendants(getpid())?,
        _ => return Ok(Vec::new()),
    };
    entries.retain(|entry| entry.pid != child && !entry.zombie);
    Ok(entries)
}

/// Every process below `root`, zombies included, but for the spared and theirs.
fn descendants(root: Pid) -> Result<Vec<Entry>, Unseen> {
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        let below = if parent == getpid() {
            own_children()?
        } else {
            children(parent)?
        };
        for pid in below {
            if let Some(entry) = read(pid)? {
                parents.push(entry.pid);
                found.push(entry);
            }
        }
    }
    Ok(found)
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

pub(super) fn spared() -> std::sync::MutexGuard<'static, Vec<Pid>> {
    SPARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// agentpipe's children but the spared.
fn own_children() -> Result<Vec<Pid>, Unseen> {
    let spared = spared().clone();
    let mut children = children(getpid())?;
    children.retain(|pid| !spared.contains(pid));
    Ok(children)
}
