//! What the close sequence tells the timeline, and its wording.

use std::fmt;
use std::time::Duration;

use crate::outcome::{Exit, Trigger};
use crate::process::Scope;
use crate::sequence::{Action, Limit, format_limit};
use crate::signals::Signal;

/// An event of the close sequence, as the `-v` timeline tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
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
                        write!(
                            f,
                            "sent {} to the {}",
                            names.join(" and "),
                            scope_words(*scope)
                        )?
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

/// What the sequence's signals reach, in a sentence.
pub(crate) fn scope_words(scope: Scope) -> &'static str {
    match scope {
        Scope::Child => "child",
        Scope::Group => "child's process group",
        Scope::Tree => "child and its descendants",
    }
}

/// `12, 34`.
pub(crate) fn list(pids: &[u32]) -> String {
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    pids.join(", ")
}
