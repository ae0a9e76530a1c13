//! How the child is set up: its stdin, stdout and stderr (pipes, or a pseudo-terminal of its
//! own), and what it does between fork and exec.

use std::io;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::process::{Command, Stdio};

use nix::sys::signal::{SigHandler, SigSet, Signal as NixSignal};
use nix::unistd::Pid;

use super::SpawnOptions;
use crate::platform::{self, WindowSize};

/// The pseudo-terminal a child runs on: the terminal is its stdin, stdout and controlling
/// terminal, in a session of its own of which it is the leader (so that job control, a shell's
/// included, works as on a real terminal).
#[derive(Debug, Default)]
pub struct PtyOptions {
    /// Its window size at the start (agentpipe's own terminal's).
    pub size: Option<WindowSize>,
    /// Its stderr is the terminal too, as a terminal program expects, unless the stderr is piped
    /// or `command` says otherwise.
    pub stderr: bool,
}

/// Sets up the child's stdin, stdout and stderr as `options` say; returns its terminal's master
/// if it has one (see [`on_terminal`]).
pub(super) fn set_stdio(
    command: &mut Command,
    options: &SpawnOptions,
) -> io::Result<Option<[OwnedFd; 3]>> {
    let terminal = match &options.pty {
        Some(pty) => Some(on_terminal(command, pty)?),
        None => {
            match &options.stdin {
                Some(stdin) => command.stdin(Stdio::from(stdin.try_clone()?)),
                None => command.stdin(Stdio::piped()),
            };
            command.stdout(Stdio::piped());
            None
        }
    };
    if options.pipe_stderr {
        command.stderr(Stdio::piped());
    }
    Ok(terminal)
}

/// Once the child is spawned: `command` holds the terminal's slave, of which agentpipe may keep
/// no copy, or the master would never see the terminal's end.
pub(super) fn release_terminal(command: &mut Command, options: &SpawnOptions) {
    command.stdin(Stdio::null()).stdout(Stdio::null());
    if options.pty.as_ref().is_some_and(|pty| pty.stderr) && !options.pipe_stderr {
        command.stderr(Stdio::null());
    }
}

/// Sets `command` up to run on a new pseudo-terminal as `pty` says, and returns three
/// descriptors of its master: the relay's ends toward the child's input and from its output,
/// and the master itself (see [`super::ChildPipes::terminal`]).
fn on_terminal(command: &mut Command, pty: &PtyOptions) -> io::Result<[OwnedFd; 3]> {
    let (master, slave) = platform::open_pty()?;
    if let Some(size) = pty.size {
        platform::set_window_size(master.as_fd(), size)?;
    }
    command
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?));
    if pty.stderr {
        command.stderr(Stdio::from(slave));
    }
    Ok([master.try_clone()?, master.try_clone()?, master])
}

/// What the child does between fork and exec besides restoring defaults.
#[derive(Clone, Copy)]
pub(super) struct Prepare {
    /// Arm the parent-death signal, against `parent`.
    pub(super) death_signal: bool,
    pub(super) parent: Pid,
    /// The cgroup to move into (its `cgroup.procs`).
    pub(super) procs: Option<RawFd>,
    /// Start a session whose controlling terminal is stdin (`--pty`).
    pub(super) session: bool,
}

/// Runs in the child between fork and exec, so makes only async-signal-safe calls and does not
/// allocate. With `procs`, the child first moves itself into its cgroup, and with a terminal it
/// takes it as its controlling terminal: it fails to start if it cannot; other failures are
/// ignored, since each call only restores a default.
pub(super) fn prepare_child(keep_ignored: &[NixSignal], prepare: &Prepare) -> io::Result<()> {
    if let Some(procs) = prepare.procs {
        platform::enter_cgroup(procs)?;
    }
    if prepare.session {
        platform::take_controlling_terminal()?;
    }
    let _ = SigSet::empty().thread_set_mask();
    // SAFETY: installs no handler, only the default action or ignoring, which runs no code of ours.
    unsafe {
        let _ = nix::sys::signal::signal(NixSignal::SIGPIPE, SigHandler::SigDfl);
        for &signal in keep_ignored {
            let _ = nix::sys::signal::signal(signal, SigHandler::SigIgn);
        }
    }
    if prepare.death_signal {
        platform::arm_parent_death_signal(prepare.parent);
    }
    Ok(())
}
