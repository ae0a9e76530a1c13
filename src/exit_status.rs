//! Every exit status agentpipe can end with, and how it ends with it.

use std::io;

use nix::libc;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigHandler, SigSet, Signal, raise};

use crate::platform;
use crate::process::Exit;
use crate::sequence::Trigger;
use crate::supervisor::Outcome;

/// A setup or usage failure (including every error clap reports).
pub const USAGE: i32 = 125;
/// COMMAND was found but cannot be executed.
pub const NOT_EXECUTABLE: i32 = 126;
/// COMMAND was not found.
pub const NOT_FOUND: i32 = 127;
/// `--timeout` started the sequence and the child ended before SIGKILL.
pub const TIMED_OUT: i32 = 124;
/// `--timeout` started the sequence and it took SIGKILL.
pub const TIMED_OUT_KILLED: i32 = 128 + 9;

/// How agentpipe ends: with a code, or by dying of a signal so that `$?` is 128+S and a
/// calling shell script notices an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Code(i32),
    Signal(i32),
}

impl Status {
    /// The design's table, first match wins.
    pub fn of(outcome: &Outcome, preserve_status: bool) -> Status {
        if outcome.abandoned {
            return Status::Code(USAGE);
        }
        if outcome.interrupted {
            return Status::Signal(Signal::SIGINT as i32);
        }
        if outcome.trigger == Some(Trigger::Timeout) && !preserve_status {
            return Status::Code(if outcome.killed {
                TIMED_OUT_KILLED
            } else {
                TIMED_OUT
            });
        }
        match outcome.exit {
            Exit::Code(code) => Status::Code(code),
            Exit::Signal(signal) => Status::Signal(signal),
        }
    }

    /// The status for a command that could not be started.
    pub fn of_spawn_error(error: &io::Error) -> Status {
        Status::Code(match error.kind() {
            io::ErrorKind::NotFound => NOT_FOUND,
            io::ErrorKind::PermissionDenied => NOT_EXECUTABLE,
            _ if matches!(error.raw_os_error(), Some(libc::ENOEXEC | libc::EISDIR)) => {
                NOT_EXECUTABLE
            }
            _ => USAGE,
        })
    }

    /// Ends the process with this status.
    pub fn exit(self) -> ! {
        match self {
            Status::Code(code) => std::process::exit(code),
            Status::Signal(signal) => die_by_signal(signal),
        }
    }
}

/// Dies of `signal`: default action restored and unblocked, no core dump; where the signal does
/// not kill (PID 1, SIGSTOP), exits 128+S instead.
fn die_by_signal(signal: i32) -> ! {
    platform::set_undumpable();
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    // Every status comes from nix's wait, whose Signal names every signal a child can die of.
    if let Ok(signal) = Signal::try_from(signal) {
        // SAFETY: restores the default action, which runs no code of ours.
        let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
        let _ = SigSet::from(signal).thread_unblock();
        let _ = raise(signal);
    }
    std::process::exit(128 + signal)
}
