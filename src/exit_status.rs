//! Every exit status agentpipe can end with, and how it ends with it.

use std::io;

use crate::outcome::Exit;
use crate::outcome::{Outcome, Trigger};
use crate::platform;

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
        // agentpipe could not do its job: processes may remain (decision (by)).
        if outcome.abandoned || outcome.scope_unchecked.is_some() {
            return Status::Code(USAGE);
        }
        if outcome.interrupted {
            return Status::Signal(platform::SIGINT);
        }
        if outcome.trigger.is_some_and(Trigger::is_timeout) && !preserve_status {
            return Status::Code(if outcome.killed {
                TIMED_OUT_KILLED
            } else {
                TIMED_OUT
            });
        }
        match outcome.exit {
            Exit::Code(code) => Status::Code(code),
            Exit::Signal(signal) => Status::Signal(signal.number()),
            Exit::Unknown => Status::Code(USAGE),
        }
    }

    /// The status for a command that could not be started.
    pub fn of_spawn_error(error: &io::Error) -> Status {
        Status::Code(match error.kind() {
            io::ErrorKind::NotFound => NOT_FOUND,
            io::ErrorKind::PermissionDenied => NOT_EXECUTABLE,
            _ if error
                .raw_os_error()
                .is_some_and(|code| platform::NOT_EXECUTABLE_ERRORS.contains(&code)) =>
            {
                NOT_EXECUTABLE
            }
            _ => USAGE,
        })
    }

    /// Ends the process with this status.
    pub fn exit(self) -> ! {
        match self {
            Status::Code(code) => std::process::exit(code),
            Status::Signal(signal) => platform::die_by_signal(signal),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The EXIT STATUS table of agentpipe(1), first match wins.

    use std::time::Duration;

    use super::*;
    use crate::outcome::Bytes;
    use crate::signals::Signal;

    fn outcome(trigger: Option<Trigger>, exit: Exit) -> Outcome {
        Outcome {
            pid: 42,
            exit,
            trigger,
            steps: Vec::new(),
            interrupted: false,
            killed: false,
            abandoned: false,
            scope_unchecked: None,
            to_child: Bytes::default(),
            from_child: Bytes::default(),
            stderr: None,
            stderr_tail: Vec::new(),
            drain_cut: false,
            leftovers: Vec::new(),
            ended: Vec::new(),
            exited_at: Some(Duration::ZERO),
            quiet_since: None,
            commands: Vec::new(),
            cgroup: None,
            unanswered: Vec::new(),
        }
    }

    #[test]
    fn the_table_first_match_wins() {
        let kill = Exit::Signal(Signal::KILL);
        let (timeout, idle) = (Some(Trigger::Timeout), Some(Trigger::OutputIdleTimeout));
        let sigint = Some(Trigger::Signal(Signal::INT));
        let eof = Some(Trigger::Eof);
        // (trigger, exit, interrupted, killed, abandoned, --preserve-status) -> status
        #[rustfmt::skip]
        let cases = [
            (None,    Exit::Code(3),    false, false, false, false, Status::Code(3)),
            (None,    Exit::Signal(Signal::TERM), false, false, false, false, Status::Signal(15)),
            (sigint,  Exit::Code(0),    true,  false, false, false, Status::Signal(platform::SIGINT)),
            (sigint,  Exit::Unknown,    true,  true,  true,  false, Status::Code(USAGE)),
            (timeout, Exit::Code(0),    false, false, false, false, Status::Code(TIMED_OUT)),
            (timeout, kill,             false, true,  false, false, Status::Code(TIMED_OUT_KILLED)),
            (idle,    kill,             false, true,  false, false, Status::Code(TIMED_OUT_KILLED)),
            (timeout, kill,             false, true,  false, true,  Status::Signal(platform::SIGKILL)),
            (timeout, Exit::Code(5),    false, false, false, true,  Status::Code(5)),
            (timeout, Exit::Code(0),    true,  false, false, false, Status::Signal(platform::SIGINT)),
            (eof,     Exit::Code(0),    false, false, false, false, Status::Code(0)),
        ];
        for (trigger, exit, interrupted, killed, abandoned, preserve, expected) in cases {
            let mut outcome = outcome(trigger, exit);
            (outcome.interrupted, outcome.killed, outcome.abandoned) =
                (interrupted, killed, abandoned);
            assert_eq!(Status::of(&outcome, preserve), expected, "{outcome:?}");
        }
    }

    #[test]
    fn a_command_that_cannot_start_is_127_126_or_125() {
        let cases = [
            (io::Error::from(io::ErrorKind::NotFound), NOT_FOUND),
            (
                io::Error::from(io::ErrorKind::PermissionDenied),
                NOT_EXECUTABLE,
            ),
            // E2BIG on Linux, ERROR_ARENA_TRASHED on Windows: not about the program itself.
            (io::Error::from_raw_os_error(7), USAGE),
        ];
        let cases = cases.into_iter().chain(
            platform::NOT_EXECUTABLE_ERRORS
                .map(|code| (io::Error::from_raw_os_error(code), NOT_EXECUTABLE)),
        );
        for (error, code) in cases {
            assert_eq!(
                Status::of_spawn_error(&error),
                Status::Code(code),
                "{error}"
            );
        }
    }
}
