//! What agentpipe tells: every event of the `-v` timeline and every warning, with its wording,
//! whether the state machine or the event loop saw it.

mod closing;
mod next;
mod said;
mod sent;
mod words;

pub(crate) use next::Next;
pub(crate) use said::Said;
use sent::{sent_to_left, sent_why, target_words, unseen};
pub(crate) use words::offset;
use words::{list, seconds};

use std::fmt;
use std::time::Duration;

use super::{Cause, Target};
use crate::duration::format_limit;
use crate::machine::Busy;
use crate::outcome::{Bytes, Exit, TakenStep, Trigger};
use crate::scope::{Scope, Unseen};
use crate::sequence::Action;
use crate::signals::Signal;

/// An event, as the timeline tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    Started {
        name: String,
        pid: u32,
    },
    /// What is armed at start: the sequence, and the timeouts with their limits.
    Armed {
        sequence: String,
        timeout: Option<Duration>,
        idle_timeout: Option<Duration>,
        output_idle_timeout: Option<Duration>,
    },
    EndOfInput,
    /// The stdin step closed the child's stdin, dropping what was read for it.
    ClosedChildStdin {
        discarded: usize,
    },
    /// The input ended and everything read was written: its end was passed on.
    ForwardedEof,
    /// The end of the child's input on its pseudo-terminal: the terminal's EOF character was
    /// written, after what was read for it (or instead, dropping `discarded` bytes).
    SentTerminalEof {
        discarded: usize,
    },
    /// The stdin step ended with the child still there: agentpipe closed its terminal's master
    /// (the kernel sends SIGHUP to its session), dropping `discarded` bytes of input and
    /// `unread` bytes of output that were still in the terminal.
    HungUp {
        discarded: usize,
        unread: u64,
    },
    /// agentpipe's terminal changed size: so did the child's.
    Resized {
        rows: u16,
        columns: u16,
    },
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
    /// The drain ran out: what the child's stdout still yields is not read.
    DrainOver,
    /// An interrupt dropped the output queued for a reader that did not take it.
    OutputDropped {
        discarded: usize,
    },
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
    /// `--foreground`: the terminal sent this signal to the whole foreground group, the
    /// command included; it is the command's.
    CommandsSignal(Signal),
    Suspending,
    Resumed,
    /// The child was stopped for using the terminal from its own process group.
    StoppedByTerminal {
        pid: u32,
        signal: Signal,
    },
    /// A `run` step's command started, as `pid`.
    RunStarted {
        command: String,
        pid: u32,
    },
    /// A `run` step's command could not be started.
    RunFailed {
        command: String,
        error: String,
    },
    RunExited {
        pid: u32,
        exit: Exit,
    },
    /// A `run` step's command still ran when its step ended: it was killed.
    RunEnded {
        pid: u32,
    },
    /// A signal could not be sent (on Windows: a console event the system refused); the
    /// sequence goes on to its next step when this one's wait ends. (Unix's sends only fail for
    /// a process already gone, which is no news.)
    #[cfg_attr(agentpipe_poll, allow(dead_code))] // told by the threaded front end only
    SignalFailed {
        signal: Signal,
        error: String,
    },
    /// Processes still there this long after SIGKILL.
    Unkillable {
        pids: Vec<u32>,
        after: Duration,
    },
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
        /// Whether the child's stdin is agentpipe's to close (see [`Target::stdin_owned`]).
        stdin_owned: bool,
        next: Option<Next>,
    },
    Received(Signal, Received),
    /// A step sent `signal` (and SIGCONT after a stop signal): said even without `-v`.
    Sent {
        signal: Signal,
        target: Target,
        trigger: Trigger,
        cause: Cause,
        /// The step taken before it, if any.
        previous: Option<TakenStep>,
        /// The sequence was stated with `--sequence`: its steps are named, not the step flags.
        listed: bool,
        /// With [`Cause::Left`]: the processes the child left in its scope.
        left: Vec<u32>,
    },
    TimeoutElapsed,
    /// After the end of input the command still used the CPU or wrote output: its grace
    /// starts again (said once).
    StillWorking(Busy),
    /// `--eof-grace inf`: the input's end started nothing.
    EofGraceInf,
    /// The input was a file, whose end means only that the data ended.
    DataEnded,
    ChildExited {
        pid: u32,
        exit: Exit,
        /// The step taken last before, from 0, if any was.
        after: Option<(usize, Action)>,
    },
    /// Processes other than the child alive in the scope after it exited.
    StillInScope(Vec<u32>),
    ScopeEmpty,
    /// The scope could not be seen: it is taken as not empty (said even without `-v`); or,
    /// `after_kill`, it still could not be a while after SIGKILL: processes may remain.
    ScopeUnseen {
        target: Target,
        why: Unseen,
        after_kill: bool,
    },
    /// agentpipe's own lines that its stderr did not take in time, dropped so as not to block.
    LinesDropped(u64),
    /// The trace's destination failed (a full disk): the trace stopped there, perhaps in the
    /// middle of a record. By the system's error number, since the machine is every front
    /// end's.
    TraceFailed(i32),
    /// About the messages of a protocol.
    Protocol(Said),
}

/// What an interrupt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    Starts,
    Skips,
    EndsDrain,
    DropsOutput,
    AlreadyKilled,
    GivesUp,
    /// It came as the previous step's wait ended, and counts for the step that took.
    CountsForStep,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Protocol(said) => write!(f, "{said}"),
            Note::SequenceStarted { sequence, trigger } => {
                write!(f, "close sequence: {sequence} (started by {trigger})")
            }
            Note::StepTaken {
                number,
                action,
                scope,
                stdin_owned,
                next,
            } => {
                write!(f, "step {number} ({action}): ")?;
                match action {
                    Action::Wait => f.write_str("waiting for the child to exit")?,
                    Action::CloseStdin if !stdin_owned => f.write_str(
                        "nothing to close: the child's stdin is the terminal, which agentpipe \
                         leaves open",
                    )?,
                    Action::CloseStdin => f.write_str("closing the child's stdin")?,
                    Action::Run(_) => f.write_str("running its command outside the scope")?,
                    Action::Shutdown => f.write_str("asking the server to shut down")?,
                    Action::Send(_) => f.write_str("sending its message to the child")?,
                    Action::Signal(_) | Action::Kill => {
                        let sent = action.signals();
                        let sent = sent
                            .iter()
                            .filter(|&&s| crate::platform::SENDS_SIGCONT || s != Signal::CONT);
                        let names: Vec<&str> = sent.map(|s| s.full_name()).collect();
                        write!(
                            f,
                            "sent {} to the {}",
                            names.join(" and "),
                            sent::scope_words(*scope)
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
                    Received::EndsDrain => {
                        ": reading no more output; interrupt again to drop what is queued"
                    }
                    Received::DropsOutput => ": dropping the output still queued",
                    Received::AlreadyKilled => {
                        ": SIGKILL already sent, waiting for the processes to go"
                    }
                    Received::GivesUp => ": exiting without the unkillable process",
                    Received::CountsForStep => {
                        ": it came as the last step was taken, and counts for that step"
                    }
                })
            }
            Note::Sent {
                signal,
                target,
                trigger,
                cause,
                previous,
                listed,
                left,
            } => {
                if *cause == Cause::Left {
                    return sent_to_left(f, *signal, target, left);
                }
                write!(f, "sent {signal} to {}", target_words(target))?;
                sent_why(f, *trigger, *cause, *previous, target.stdin_owned, *listed)
            }
            Note::TimeoutElapsed => f.write_str("--timeout elapsed"),
            Note::StillWorking(busy) => {
                f.write_str("still working: ")?;
                match busy.cpu {
                    Some(cpu) => write!(f, "{} s of CPU", seconds(cpu))?,
                    None => f.write_str("no CPU figure")?,
                }
                let waited = busy.waited.filter(|w| *w >= Duration::from_millis(10));
                if let Some(waited) = waited {
                    write!(f, " ({} s more waiting for one)", seconds(waited))?;
                }
                if busy.output {
                    f.write_str(" and output")?;
                }
                write!(
                    f,
                    " in the last {} s; waiting until it is quiet for its grace (--eof-grace)",
                    seconds(busy.over)
                )
            }
            Note::DataEnded => f.write_str(
                "the input is a file: its end is passed on and starts nothing (--eof-grace \
                 changes that); the child runs on until it exits",
            ),
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
            Note::ScopeUnseen {
                target,
                why,
                after_kill,
            } => unseen(f, target, *why, *after_kill),
            Note::LinesDropped(count) => write!(
                f,
                "{count} of agentpipe's own lines were dropped: its stderr was not read in time"
            ),
            Note::TraceFailed(code) => write!(
                f,
                "the trace stopped early, perhaps mid-record: its destination failed: {}",
                std::io::Error::from_raw_os_error(*code)
            ),
            Note::Started { name, pid } => write!(f, "started '{name}' as pid {pid}"),
            Note::Armed {
                sequence,
                timeout,
                idle_timeout,
                output_idle_timeout,
            } => {
                write!(f, "armed: on a trigger, the steps {sequence}")?;
                if let Some(timeout) = timeout {
                    write!(f, "; --timeout at {}", offset(*timeout))?;
                }
                for (flag, limit) in [
                    ("--idle-timeout", idle_timeout),
                    ("--output-idle-timeout", output_idle_timeout),
                ] {
                    if let Some(limit) = limit {
                        write!(f, "; {flag} after {} quiet", format_limit(Some(*limit)))?;
                    }
                }
                Ok(())
            }
            Note::EndOfInput => f.write_str("end of input"),
            Note::ClosedChildStdin { discarded } => write!(
                f,
                "closed the child's stdin ({discarded} bytes of input discarded)"
            ),
            Note::ForwardedEof => f.write_str("closed the child's stdin"),
            Note::SentTerminalEof { discarded: 0 } => {
                f.write_str("sent the terminal's EOF character to the child")
            }
            Note::SentTerminalEof { discarded } => write!(
                f,
                "sent the terminal's EOF character to the child ({discarded} bytes of input discarded)"
            ),
            Note::HungUp { discarded, unread } => write!(
                f,
                "hung up the child's terminal: its session gets SIGHUP ({discarded} bytes of \
                 input and {unread} of output discarded)"
            ),
            Note::Resized { rows, columns } => {
                write!(
                    f,
                    "the child's terminal is now {rows} rows by {columns} columns"
                )
            }
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
            Note::OutputDropped { discarded } => {
                write!(f, "dropped {discarded} bytes of output nobody read")
            }
            Note::DrainOver => f.write_str("drain over: stopped reading the child's stdout"),
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
            Note::RunStarted { command, pid } => {
                write!(f, "started the step's command as pid {pid}: {command}")
            }
            Note::RunFailed { command, error } => {
                write!(f, "cannot run the step's command '{command}': {error}")
            }
            Note::RunExited { pid, exit } => write!(f, "the step's command (pid {pid}) {exit}"),
            Note::RunEnded { pid } => write!(
                f,
                "the step's command (pid {pid}) still ran when its step ended: killed it"
            ),
            Note::Forwarding(signal) => write!(f, "forwarding {signal} to the child"),
            Note::CommandsSignal(signal) => write!(
                f,
                "the terminal sent {signal} to the child as well (--foreground): it is the \
                 child's; waiting for it to exit (a kill aimed at agentpipe's pid still stops it)"
            ),
            Note::Suspending => f.write_str("suspending the child's group and agentpipe"),
            Note::Resumed => f.write_str("resumed: continuing the child's group"),
            Note::StoppedByTerminal { pid, signal } => write!(
                f,
                "the child (pid {pid}) was stopped by {signal} because it tried to use the terminal \
                 from its own process group; run it with --foreground, or keep it off the terminal \
                 (ssh: -o BatchMode=yes)"
            ),
            Note::SignalFailed { signal, error } => write!(
                f,
                "could not send {signal} to the command: {error}; the next step follows when \
                 this one's wait ends"
            ),
            Note::Unkillable { pids, after } => write!(
                f,
                "pid {} still not gone {}s after SIGKILL (uninterruptible sleep?); interrupt once \
                 more to exit without it",
                list(pids),
                after.as_secs()
            ),
            Note::Done {
                exit,
                to_child,
                from_child,
            } => write!(
                f,
                "done: the child {exit}; relayed {} bytes in and {} out; discarded {} of input \
                 and {} of output",
                to_child.relayed, from_child.relayed, to_child.discarded, from_child.discarded
            ),
        }
    }
}
