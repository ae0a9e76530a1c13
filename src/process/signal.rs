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
        // Whether the signal reached the child on the way, so that it gets no second one (a
        // child that counts interrupts would take two for "quit now").
        let reached_child = match (self.scope, self.group, &self.cgroup) {
            (Scope::Cgroup, _, Some(cgroup)) => {
                let sent = match signal {
                    NixSignal::SIGKILL => {
                        cgroup.kill();
                        true
                    }
                    _ => cgroup.signal(signal).is_ok(),
                };
                sent && cgroup.holds(self.pid)
            }
            (Scope::Group, Some(group), _) => {
                self.signal_own_group(group, signal) && self.in_group(self.pid, group)
            }
            (Scope::Tree, _, _) => {
                match platform::signal_leftovers(self.scope, self.pid, self.group, signal) {
                    Ok(()) => false,
                    Err(_) => self.signal_unseen_tree(signal),
                }
            }
            _ => false,
        };
        if !reached_child {
            self.send(signal);
        }
    }

    /// Sends `signal` to the child's group, unless the child was collected and the group is
    /// gone: its number may then be reused (see [`ChildProcess::unseen`]). Says whether it sent.
    fn signal_own_group(&self, group: Pid, signal: NixSignal) -> bool {
        (!self.collected.get() || group_alive(group)) && killpg(group, signal).is_ok()
    }

    /// Whether `pid` is a process of `group` that the signal to it reached (the child counts
    /// only until it is collected: its pid may be another's then).
    fn in_group(&self, pid: Pid, group: Pid) -> bool {
        (pid != self.pid || !self.collected.get()) && getpgid(Some(pid)) == Ok(group)
    }

    /// A tree no look can see gets what reaches it without a listing: the child's group (where
    /// most of a tree stays), and the processes seen in it before that are agentpipe's children
    /// now (orphans handed to it; a child's pid is never a stranger's until it is reaped), each
    /// once. Says whether the child was reached.
    fn signal_unseen_tree(&self, signal: NixSignal) -> bool {
        let group = self
            .group
            .filter(|&group| self.signal_own_group(group, signal));
        let reached = |pid: Pid| group.is_some_and(|group| self.in_group(pid, group));
        let seen = self.ended.borrow().list();
        for pid in seen.iter().map(|process| Pid::from_raw(process.pid as i32)) {
            if pid != self.pid && platform::is_own_child(pid) && !reached(pid) {
                let _ = kill(pid, signal);
            }
        }
        reached(self.pid)
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
                Some(group) => {
                    self.signal_own_group(group, signal);
                }
                None => self.send(signal),
            }
        }
    }
}
