//! What a child does between its start and exec, on every Unix: the same set-up whether the
//! standard library forks it (a `pre_exec` closure) or Linux's own spawn starts it in the
//! parent's memory (`spawn_linux.rs`).

use std::io;
use std::os::fd::RawFd;
use std::ptr;

use nix::libc;
use nix::unistd::Pid;

use super::{arm_parent_death_signal, enter_cgroup, take_controlling_terminal};

/// The child's set-up before exec, as plain data read by [`ChildSetup::apply`].
#[derive(Clone, Debug, Default)]
pub struct ChildSetup {
    /// The cgroup to move into first (its `cgroup.procs`, opened by the parent): the child fails
    /// to start if it cannot.
    pub cgroup_procs: Option<RawFd>,
    /// A session of its own whose controlling terminal is its stdin (`--pty`): it fails to start
    /// if it cannot take it.
    pub session: bool,
    /// A process group of its own (not with `session`, which makes one).
    pub process_group: bool,
    /// Signals set back to their default: the ones agentpipe catches (its handler must never run
    /// in the child) and SIGPIPE (which the standard library ignores).
    pub default: Vec<i32>,
    /// Signals set back to ignored: agentpipe catches them, but its parent had ignored them.
    pub ignored: Vec<i32>,
    /// Arm the parent-death signal (Linux), against this parent.
    pub death_signal: Option<Pid>,
}

impl ChildSetup {
    /// Runs in the child before exec, so makes only async-signal-safe system calls, allocates
    /// nothing, and reads nothing of the thread's own identity (a child started in the parent's
    /// memory shares the parent's thread block: raise(3) would signal the parent). Every
    /// disposition is restored before the mask is emptied, so that no handler of agentpipe's
    /// runs in the child. Failures other than the cgroup's and the terminal's are ignored: each
    /// of those calls only restores a default.
    pub fn apply(&self) -> io::Result<()> {
        if let Some(procs) = self.cgroup_procs {
            enter_cgroup(procs)?;
        }
        if self.session {
            take_controlling_terminal()?;
        } else if self.process_group {
            // SAFETY: setpgid(2) on the calling process, an async-signal-safe system call.
            if unsafe { libc::setpgid(0, 0) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        for &signal in &self.default {
            set_disposition(signal, libc::SIG_DFL);
        }
        for &signal in &self.ignored {
            set_disposition(signal, libc::SIG_IGN);
        }
        if let Some(parent) = self.death_signal {
            arm_parent_death_signal(parent);
        }
        // SAFETY: an empty set, initialised by sigemptyset before sigprocmask reads it.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, ptr::null_mut());
        }
        Ok(())
    }
}

/// Sets `signal`'s disposition to the default action or to ignored: no code of ours to run.
fn set_disposition(signal: i32, handler: libc::sighandler_t) {
    // SAFETY: a zeroed sigaction is valid (empty mask, no flags); sigaction(2) only reads it.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}
