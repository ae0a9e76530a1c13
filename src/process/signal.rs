//! Signalling the child, its group and its scope: each way of reaching them kept beside the
//! others, since which one a signal takes is the whole difference between them.

use std::os::fd::AsFd;

use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::{Pid, getpgid};

use super::ChildProcess;
use super::unseen::group_alive;
use crate::platform;
use crate::scope::Scope;
use crate::signals::Signal;

impl ChildProcess {
    /// Sends `signal` to every process of the scope. The child gets it whatever group or cgroup
    /// it moved to since it started (but not through a group it moved to, which may be
    /// agentpipe's own).
    pub fn signal_scope(&self, signal: Signal) {
        let Some(nix_signal) = signal.to_nix().filter(|_| !self.reaped) else {
            return;
        };
        // SIGCONT follows a stop signal to wake a stopped process: it ends nothing.
        let ending = (signal != Signal::CONT).then_some(signal);
        let members = self.members();
        self.ended.borrow_mut().saw(members, ending);
        let signal = nix_signal;
        if signal == NixSignal::SIGKILL && self.adopts {
            self.kill_casualties();
        }
        let reached_child = match (self.scope, self.group, &self.cgroup) {
            (Scope::Cgroup, _, Some(cgroup)) => {
                if signal == NixSignal::SIGKILL {
                    cgroup.kill();
                } else {
                    let _ = cgroup.signal(signal);
                }
                cgroup.holds(self.pid)
            }
            (Scope::Group, Some(group), _) => {
                self.signal_own_group(group, signal);
                !self.collected.get() && getpgid(Some(self.pid)) == Ok(group)
            }
            _ => false,
        };
        if !reached_child {
            self.send(signal);
        }
        if self.scope == Scope::Tree
            && platform::signal_leftovers(self.scope, self.pid, self.group, signal).is_err()
        {
            self.signal_unseen_tree(signal);
        }
    }

    /// Sends `signal` to the child's group, unless the child was collected and the group is
    /// gone: its number may then be reused (see [`ChildProcess::unseen`]).
    fn signal_own_group(&self, group: Pid, signal: NixSignal) {
        if !self.collected.get() || group_alive(group) {
            let _ = killpg(group, signal);
        }
    }

    /// A tree no look can see gets what reaches it without a listing: the child's group (where
    /// most of a tree stays), and the processes seen in it before that are agentpipe's children
    /// now (orphans handed to it; a child's pid is never a stranger's until it is reaped).
    fn signal_unseen_tree(&self, signal: NixSignal) {
        if let Some(group) = self.group {
            self.signal_own_group(group, signal);
        }
        let seen = self.ended.borrow().list();
        for pid in seen.iter().map(|process| Pid::from_raw(process.pid as i32)) {
            if platform::is_own_child(pid) {
                let _ = kill(pid, signal);
            }
        }
    }

    /// Sends `signal` to the child alone (forwarded signals).
    pub fn signal_child(&self, signal: Signal) {
        if let Some(signal) = signal
            .to_nix()
            .filter(|_| !self.reaped && self.exit.is_none())
        {
            self.send(signal);
        }
    }

    /// Signals the child through its pidfd where there is one. Its pid is safe either way, as
    /// long as it is not reaped, but a pidfd says so by construction.
    fn send(&self, signal: NixSignal) {
        match &self.pidfd {
            Some(pidfd) => platform::signal_pidfd(pidfd.as_fd(), signal),
            // A collected child's pid may be another's already.
            None if self.collected.get() => {}
            None => {
                let _ = kill(self.pid, signal);
            }
        }
    }

    /// Sends `signal` to the child's process group, whatever the scope (job control).
    pub fn signal_group(&self, signal: Signal) {
        if let Some(signal) = signal.to_nix().filter(|_| !self.reaped) {
            match self.group {
                Some(group) => self.signal_own_group(group, signal),
                None => self.send(signal),
            }
        }
    }
}
