//! A scope no look can see (no /proc, no descriptor left, a refusal): never taken for empty,
//! only for what the kernel still says without a listing.

use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::ChildProcess;
use crate::platform;
use crate::scope::{Look, Scope, Unseen};

impl ChildProcess {
    /// What the kernel still says of a scope no look could see, once the child exited: the
    /// child's group is empty when kill(-pgid, 0) finds nobody, the command line's tree when
    /// agentpipe has no child left (waitid). The child's zombie is a member of both, so it is
    /// collected first (its pidfd keeps signals to it safe; a group with members left keeps its
    /// number, so it is never a stranger's). A cgroup's `populated` was read already.
    pub(super) fn unseen(&self, why: Unseen) -> Look {
        let empty = match (self.scope, self.group) {
            _ if self.exit.is_none() => false,
            (Scope::Group, Some(group)) => {
                self.collect();
                if self.owns_children {
                    platform::own_children_left(); // reaps adopted zombies, members too
                }
                !group_alive(group)
            }
            (Scope::Tree, _) if self.owns_children => {
                self.collect();
                platform::own_children_left() == Some(false)
            }
            _ => false,
        };
        match empty {
            true => Look::Seen(Vec::new()),
            false => Look::Unseen(why),
        }
    }

    /// Collects the exited child's zombie (its exit was read already), once.
    pub(super) fn collect(&self) {
        if !self.collected.replace(true) {
            platform::wait_pid(self.pid, nix::libc::WNOHANG);
        }
    }
}

/// Whether anyone is in process group `group`, zombies included (kill(-pgid, 0) fails with
/// ESRCH exactly when nobody is).
pub(super) fn group_alive(group: Pid) -> bool {
    kill(Pid::from_raw(-group.as_raw()), None) != Err(nix::errno::Errno::ESRCH)
}
