//! Everything agentpipe does differently on Linux, behind one set of functions.
//!
//! `linux` uses what only Linux has: pidfds, waitid(WNOWAIT), a child subreaper, the parent-death
//! signal, pipe sizing, splice(2), /proc, and cgroup v2 (in `cgroup`). `other` gives every
//! other Unix the same functions with the fallbacks the design describes: the child is reaped as soon as it exits, signals go
//! by pid, nothing beyond the child and its group can be listed, there are no cgroups, and bytes
//! are copied.
//!
//! Terminals (`terminal`: the pseudo-terminal of `--pty`, window sizes, raw mode) are POSIX on
//! every Unix.
//!
//! The relay's own calls (the wait, splice, pipe sizing, non-blocking access to inherited
//! descriptors) are in the `io_linux` / `io_other` pair, with the same rule.
//!
//! Windows (`windows`, `windows_signals`) has no readiness wait over pipes, no signals and no
//! process groups to signal: the modules above the platform that are built on those (the event
//! loop, the relay, the poller, the child's spawn) exist only with the `agentpipe_poll` front
//! end, and Windows has its own (`agentpipe_threads`: `src/threaded.rs`) on the calls of
//! `windows`: a Job Object for the scope, console control events for the stop signals. Both
//! front ends drive the same `machine::Machine`. The build script (`build.rs`, here) sets one of
//! the two from the target: the layers above say which front end an item belongs to, never
//! which operating system.

#[cfg(target_os = "linux")]
mod io_linux;
#[cfg(all(unix, not(target_os = "linux")))]
mod io_other;

#[cfg(unix)]
mod poll_wait;
#[cfg(unix)]
mod terminal;

#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(all(unix, not(target_os = "linux")))]
mod other;
#[cfg(unix)]
mod pages;
#[cfg(unix)]
mod spawn;
#[cfg(target_os = "linux")]
mod spawn_linux;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
mod windows_signals;

#[cfg(target_os = "linux")]
pub use cgroup::*;
#[cfg(target_os = "linux")]
pub use io_linux::*;
#[cfg(all(unix, not(target_os = "linux")))]
pub use io_other::*;
#[cfg(target_os = "linux")]
pub use linux::*;
#[cfg(all(unix, not(target_os = "linux")))]
pub use other::*;
#[cfg(unix)]
pub use pages::*;
#[cfg(unix)]
pub use spawn::*;
#[cfg(target_os = "linux")]
pub use spawn_linux::*;
#[cfg(unix)]
pub use terminal::*;
#[cfg(windows)]
pub use windows::*;
#[cfg(windows)]
pub use windows_signals::*;

/// Whether a stop signal is followed by SIGCONT, for a process a terminal stopped.
#[cfg(unix)]
pub const SENDS_SIGCONT: bool = true;

/// What messages call the `group` scope: the child's process group.
#[cfg(unix)]
pub const GROUP_NOUN: &str = "process group";
/// Whether `tree` is carried out as `group` is (and so named as it is): not on Unix, where it
/// is the child's descendants.
#[cfg(unix)]
pub const TREE_IS_GROUP: bool = false;

#[cfg(unix)]
mod unix_signals;
#[cfg(unix)]
pub use unix_signals::*;

#[cfg(unix)]
/// Sets or clears O_NONBLOCK, on a description agentpipe opened itself: an inherited one is
/// shared, and never changed.
pub fn set_nonblocking(fd: std::os::fd::BorrowedFd<'_>, nonblocking: bool) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let mut flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    flags.set(OFlag::O_NONBLOCK, nonblocking);
    fcntl(fd, FcntlArg::F_SETFL(flags))?;
    Ok(())
}

/// What a look at a child's state found.
#[cfg(unix)]
#[derive(Clone, Copy, Debug)]
pub struct ChildStatus {
    pub status: ChildState,
    /// Whether looking reaped the child: where the system cannot report an exit without
    /// collecting it, the child's pid (and group id) may be reused from then on.
    pub reaped: bool,
}

/// A child's state as the kernel reports it, by raw numbers: every signal a process can be
/// killed or stopped by (real-time ones included) is carried, named or not.
#[cfg(unix)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildState {
    Exited(i32),
    Killed(i32),
    Stopped(i32),
    /// The child is no longer there to be waited for (ECHILD): another part of the program
    /// collected its exit, so it is gone and its status is unknown.
    Gone,
}

/// Waits for `child` as waitpid(2) does with `flags`, retrying when interrupted; `None` when
/// WNOHANG finds nothing to report.
#[cfg(unix)]
pub fn wait_pid(child: nix::unistd::Pid, flags: nix::libc::c_int) -> Option<ChildState> {
    use nix::libc;
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into a local integer.
        let pid = unsafe { libc::waitpid(child.as_raw(), &mut status, flags) };
        if pid > 0 {
            break;
        }
        if pid == 0 {
            return None;
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return Some(ChildState::Gone);
        }
    }
    Some(if libc::WIFEXITED(status) {
        ChildState::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        ChildState::Killed(libc::WTERMSIG(status))
    } else {
        ChildState::Stopped(libc::WSTOPSIG(status))
    })
}

/// A process of a scope, as the report names it: its pid, its start time (which with the pid
/// names one process for good) and its command name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub pid: u32,
    pub start: u64,
    pub name: String,
}

impl Member {
    /// Whether both name the same process (a pid reused since is another).
    pub fn is(&self, other: &Member) -> bool {
        (self.pid, self.start) == (other.pid, other.start)
    }
}

/// What a descriptor is waited for.
#[cfg(unix)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
    /// Only its end: a destination with nothing to write still reports an error or a hangup,
    /// which tell that its reader went away.
    Hangup,
}

/// What a wait found for one descriptor.
#[cfg(unix)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Something was reported: the descriptor is ready, or at its end.
    pub ready: bool,
    /// An error or a hangup: the peer went away.
    pub failed: bool,
}
