//! What agentpipe tells: every event of the `-v` timeline and every warning, with its wording,
//! whether the state machine or the event loop saw it.

use std::fmt;
use std::time::Duration;

use crate::machine::UNKILLABLE_AFTER;
use crate::outcome::{Bytes, Exit, Trigger};
use crate::process::Scope;
use crate::sequence::{Action, Limit, format_limit};
use crate::signals::Signal;

/// An event, as the timeline tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    Started {
        name: String,
        pid: u32,
    },
    EndOfInput,
    /// The stdin step closed the child's stdin, dropping what was read for it.
    ClosedChildStdin {
        discarded: usize,
    },
    /// The input ended and everything read was written: its end was passed on.
    ForwardedEof,
    /// The child closed its stdin: agentpipe stopped reading its own.
    ChildClosedStdin {
        discarded: usize,
    },
    ChildOutputEnded,
    /// The child's output ended and everything read was written: its end was passed on.
    ClosedOutput,
    OutputReaderGone {
        discarded: usize,
    },
    /// The drain ran out while a descendant still held the child's stdout.
    DrainOver,
    /// The drain ran out while a descendant still held the child's stderr (`--stderr-tail`).
    StderrDrainOver,
    /// What passed through the child's stderr (`--stderr-tail`), and how much of it was kept.
    StderrRelayed {
        bytes: Bytes,
        kept: usize,
    },
    /// Input read for the child and never written, dropped when it exited.
    InputDiscarded(usize),
    Forwarding(Signal),
    Suspending,
    /// The child was stopped for using the terminal from its own process group.
    StoppedByTerminal {
        pid: u32,
        signal: Signal,
    },
    /// Processes still there [`UNKILLABLE_AFTER`] after SIGKILL.
    Unkillable(Vec<u32>),
    Done {
        exit: Exit,
        to_child: Bytes,
        from_child: Bytes,
    },
    SequenceStarted {
        sequence: String,
        trigger: Trigger,
    },
    /// Step `number` (from 1) was taken; `next` is what follows it, if anything does.
    StepTaken {
        number: usize,
        action: Action,
        scope: Scope,
        next: Option<Next>,
    },
    Received(Signal, Received),
    TimeoutElapsed,
    /// `--eof-grace inf`: the input's end started nothing.
    EofGraceInf,
    ChildExited {
        pid: u32,
        exit: Exit,
        /// The step taken last before, from 0, if any was.
        after: Option<(usize, Action)>,
    },
    /// Processes other than the child alive in the scope after it exited.
    StillInScope(Vec<u32>),
    ScopeEmpty,
}

/// What an interrupt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    Starts,
    Skips,
    EndsDrain,
    AlreadyKilled,
    GivesUp,
}

/// The step that follows one just taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Next {
    pub action: Action,
    /// The wait of the step just taken.
    pub wait: Limit,
    /// When the next step is due, since start (never, if `None`).
    pub at: Option<Duration>,
    /// How many interrupts reach SIGKILL from here.
    pub interrupts_to_kill: usize,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::SequenceStarted { sequence, trigger } => {
                write!(f, "close sequence: {sequence} (started by {trigger})")
            }
            Note::StepTaken {
                number,
                action,
                scope,
                next,
            } => {
                write!(f, "step {number} ({action}): ")?;
                match action {
                    Action::Wait => f.write_str("waiting for the child to exit")?,
                    Action::CloseStdin => f.write_str("closing the child's stdin")?,
                    Action::Signal(_) | Action::Kill => {
                        let names: Vec<&str> =
                            action.signals().iter().map(|s| s.full_name()).collect();
                        write!(f, "sent {} to the {}", names.join(" and "), scope.words())?
                    }
                }
                match next {
                    Some(next) => write!(f, "; {next}"),
                    None => f.write_str("; waiting until the processes are gone"),
                }
            }
            Note::Received(signal, received) => {
                write!(f, "received {signal}")?;
                f.write_str(match received {
                    Received::Starts => "",
                    Received::Skips => ": skipping to the next step",
                    Received::EndsDrain => ": no longer waiting for the output to drain",
                    Received::AlreadyKilled => {
                        ": SIGKILL already sent, waiting for the processes to go"
                    }
                    Received::GivesUp => ": exiting without the unkillable process",
                })
            }
            Note::TimeoutElapsed => f.write_str("--timeout elapsed"),
            Note::EofGraceInf => {
                f.write_str("--eof-grace is inf: the child runs on until it exits")
            }
            Note::ChildExited { pid, exit, after } => {
                write!(f, "the child (pid {pid}) {exit}")?;
                match after {
                    Some((index, action)) => write!(f, " after step {} ({action})", index + 1),
                    None => Ok(()),
                }
            }
            Note::StillInScope(pids) => write!(f, "still in the scope: pid {}", list(pids)),
            Note::ScopeEmpty => f.write_str("no process is left in the scope"),
            Note::Started { name, pid } => write!(f, "started '{name}' as pid {pid}"),
            Note::EndOfInput => f.write_str("end of input"),
            Note::ClosedChildStdin { discarded } => write!(
                f,
                "closed the child's stdin ({discarded} bytes of input discarded)"
            ),
            Note::ForwardedEof => f.write_str("closed the child's stdin"),
            Note::ChildClosedStdin { discarded } => write!(
                f,
                "the child closed its stdin; stopped reading input ({discarded} bytes discarded)"
            ),
            Note::ChildOutputEnded => f.write_str("the child's output ended"),
            Note::ClosedOutput => f.write_str("closed agentpipe's output"),
            Note::OutputReaderGone { discarded } => write!(
                f,
                "the output's reader went away; closed the child's stdout ({discarded} bytes discarded)"
            ),
            Note::DrainOver => f.write_str(
                "drain over: closing the child's stdout, which a descendant still holds",
            ),
            Note::StderrDrainOver => f.write_str(
                "drain over: closing the child's stderr, which a descendant still holds",
            ),
            Note::StderrRelayed { bytes, kept } => write!(
                f,
                "the child's stderr: {} bytes relayed, {} discarded; the last {kept} kept for the report",
                bytes.relayed, bytes.discarded
            ),
            Note::InputDiscarded(bytes) => {
                write!(f, "discarded {bytes} bytes of input the child did not read")
            }
            Note::Forwarding(signal) => write!(f, "forwarding {signal} to the child"),
            Note::Suspending => f.write_str("suspending the child's group and agentpipe"),
            Note::StoppedByTerminal { pid, signal } => write!(
                f,
                "the child (pid {pid}) was stopped by {signal} because it tried to use the terminal \
                 from its own process group; run it with --foreground, or keep it off the terminal \
                 (ssh: -o BatchMode=yes)"
            ),
            Note::Unkillable(pids) => write!(
                f,
                "pid {} still not gone {}s after SIGKILL (uninterruptible sleep?); interrupt once \
                 more to exit without it",
                list(pids),
                UNKILLABLE_AFTER.as_secs()
            ),
            Note::Done {
                exit,
                to_child,
                from_child,
            } => write!(
                f,
                "done: the child {exit}; {} bytes in, {} out, {} + {} discarded",
                to_child.relayed, from_child.relayed, to_child.discarded, from_child.discarded
            ),
        }
    }
}

impl fmt::Display for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.action {
            Action::Wait => f.write_str("waiting")?,
            Action::CloseStdin => f.write_str("closing stdin")?,
            Action::Signal(signal) => write!(f, "{signal}")?,
            Action::Kill => write!(f, "{}", Signal::KILL)?,
        }
        let skip = match self.interrupts_to_kill {
            1 => "interrupt to skip ahead".to_string(),
            n => format!("interrupt to skip ahead ({n} interrupts reach SIGKILL)"),
        };
        match (self.at, self.wait) {
            (_, Some(Duration::ZERO)) => f.write_str(" next"),
            (Some(at), wait) => write!(
                f,
                " in {} (at {}) unless it exits; {skip}",
                format_limit(wait),
                offset(at)
            ),
            (None, _) => write!(f, " only when interrupted; {skip}"),
        }
    }
}

/// `+1.002s`: a time since start, as the timeline shows it.
pub(crate) fn offset(since_start: Duration) -> String {
    format!("+{:.3}s", since_start.as_secs_f64())
}

/// `12, 34`.
fn list(pids: &[u32]) -> String {
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    pids.join(", ")
}
