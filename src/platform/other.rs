//! The fallbacks for Unix systems other than Linux: no pidfds, no way to look at an exit without
//! reaping it, no process listing, no splice. The signatures match `linux.rs`.

use std::convert::Infallible;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

use nix::libc;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{ChildState, ChildStatus, wait_pid};
use crate::scope::{CgroupUsage, Scope, Unseen};

/// There is no subreaper to become: `--scope tree` is refused on the command line.
pub const HAS_SUBREAPER: bool = false;

/// The `si_code` of a signal a process sent with kill(2): the libc crate does not define it on
/// every Unix; this is its value on macOS and FreeBSD.
pub const SI_USER: i32 = 0x10001;

/// See [`HAS_SUBREAPER`].
pub fn become_subreaper() -> io::Result<()> {
    Ok(())
}

/// No spawn of agentpipe's own here: the caller starts the child with the standard library,
/// with [`super::ChildSetup::apply`] between its fork and exec.
pub fn spawn(
    _command: &std::process::Command,
    _stdio: [Option<BorrowedFd<'_>>; 3],
    _setup: &super::ChildSetup,
) -> io::Result<Option<Pid>> {
    Ok(None)
}

/// There is no parent-death signal.
pub fn arm_parent_death_signal(_parent: Pid) {}

/// There are no pidfds: the caller signals by pid and checks for the exit on SIGCHLD.
pub fn open_pidfd(_pid: Pid) -> Option<OwnedFd> {
    None
}

/// Never called, since [`open_pidfd`] opens none.
pub fn signal_pidfd(_pidfd: BorrowedFd<'_>, _signal: Signal) {}

/// There is no waitid(WNOWAIT) to look without reaping: the child is reaped as soon as it exits,
/// and its group is no longer signalled after that.
pub fn check_exit(child: Pid) -> Option<ChildStatus> {
    wait_pid(child, libc::WNOHANG).map(seen)
}

/// waitpid(WUNTRACED) may report the exit too, which is then reaped here.
pub fn check_stopped(child: Pid) -> Option<ChildStatus> {
    wait_pid(child, libc::WUNTRACED | libc::WNOHANG).map(seen)
}

fn seen(status: ChildState) -> ChildStatus {
    let reaped = !matches!(status, ChildState::Stopped(_));
    ChildStatus { status, reaped }
}

/// Nothing is adopted: there is no subreaper.
pub fn adopted(_child: Pid) -> Vec<Pid> {
    Vec::new()
}

/// Members cannot be listed without /proc: the group is signalled as a whole and only the child
/// is waited for.
pub fn leftovers(
    _scope: Scope,
    _child: Pid,
    _group: Option<Pid>,
    _exited: bool,
) -> Result<Vec<Pid>, Unseen> {
    Ok(Vec::new())
}

/// Nothing is listed, so nothing is signalled one by one.
pub fn signal_leftovers(
    _scope: Scope,
    _child: Pid,
    _group: Option<Pid>,
    _signal: Signal,
) -> Result<(), Unseen> {
    Ok(())
}

/// There is no list of children to read (and no subreaper to hand orphans to).
pub fn open_children_list() -> Option<OwnedFd> {
    None
}

/// Never called: [`open_children_list`] opens none.
pub fn kill_children(_list: BorrowedFd<'_>) {}

/// There are no listings to keep descriptors for.
pub fn reserve_descriptors() {}

/// See [`reserve_descriptors`].
pub fn reserved_stderr() -> Option<OwnedFd> {
    None
}

/// Not asked: the child is reaped at its exit already, and there is no subreaper.
pub fn own_children_left() -> Option<bool> {
    None
}

/// Not asked without waitid(WNOWAIT): no pid is signalled on this ground.
pub fn is_own_child(_pid: Pid) -> bool {
    false
}

/// Without listings, no scope reaches beyond the child's group: nothing to spare.
pub fn spare(_pid: Pid) {}

/// See [`spare`].
pub fn unspare(_pid: Pid) {}

/// Nothing is adopted without a subreaper.
pub fn reap_adopted(_child: Pid) {}

/// Where the kernel's code for terminal signals is not known, every signal counts as sent by a
/// process: a terminal's Ctrl-C triggers as a `kill` does.
pub fn sent_by_kernel(_code: i32) -> bool {
    false
}

/// Nothing beyond the child and its group can be listed.
pub fn members_named(
    _scope: Scope,
    _child: Pid,
    _group: Option<Pid>,
) -> Result<Vec<super::Member>, Unseen> {
    Ok(Vec::new())
}

pub fn named(_pids: &[Pid]) -> Vec<super::Member> {
    Vec::new()
}

/// No process table to read CPU time from: the quiet time after the end of input counts
/// output only.
pub fn work(
    _scope: Scope,
    _child: Pid,
    _group: Option<Pid>,
) -> (Option<std::time::Duration>, Option<std::time::Duration>) {
    (None, None)
}

/// Core dumps are prevented by RLIMIT_CORE alone.
pub fn set_undumpable() {}

/// No pidfds: `--end-with-parent` is refused on the command line.
pub const HAS_PARENT_WATCH: bool = false;

/// See [`HAS_PARENT_WATCH`].
pub fn watch_parent() -> io::Result<Option<OwnedFd>> {
    Err(io::ErrorKind::Unsupported.into())
}

/// There are no cgroups: `--scope cgroup` is refused on the command line.
pub const HAS_CGROUP: bool = false;

/// Never created (see [`HAS_CGROUP`]); the methods of Linux's cgroup, for the same callers.
#[derive(Debug)]
pub struct Cgroup(Infallible);

impl Cgroup {
    pub fn create() -> Result<Cgroup, String> {
        Err("--scope cgroup needs Linux (cgroup v2); use --scope group".into())
    }

    pub fn procs_fd(&self) -> RawFd {
        match self.0 {}
    }

    pub fn kill(&self) {
        match self.0 {}
    }

    pub fn signal(&self, _signal: Signal) -> Result<(), Unseen> {
        match self.0 {}
    }

    pub fn holds(&self, _pid: Pid) -> bool {
        match self.0 {}
    }

    pub fn kill_fd(&self) -> RawFd {
        match self.0 {}
    }

    pub fn dir(&self) -> &std::path::Path {
        match self.0 {}
    }

    pub fn members(&self, _child: Pid, _child_exited: bool) -> Result<Vec<Pid>, Unseen> {
        match self.0 {}
    }

    pub fn usage(&self) -> CgroupUsage {
        match self.0 {}
    }
}

/// Never called: there is no cgroup to kill.
pub fn kill_cgroup(_kill: RawFd) {}

/// Never called: there is no cgroup to remove.
pub fn remove_killed_cgroup(_dir: &std::ffi::CStr) {}

/// Never called: there is no cgroup to enter.
pub fn enter_cgroup(_procs: RawFd) -> io::Result<()> {
    Ok(())
}
