//! The machine's whole interface with the event loop: the inputs it takes and the orders it
//! gives.

use std::time::{Duration, Instant};

use super::note::Note;
use crate::outcome::{Exit, Trigger};
use crate::scope::{Look, Scope};
use crate::signals::Signal;

/// What the event loop saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// agentpipe's own input ended (the command line only); `hangup` when it is a pipe, a
    /// socket or a terminal, whose end means the controller is done.
    Eof { hangup: bool },
    /// agentpipe's parent exited (`--end-with-parent`).
    ParentExited,
    /// agentpipe received SIGINT, SIGTERM or SIGHUP.
    Interrupt(Signal),
    /// agentpipe's stdout reader went away.
    OutputClosed,
    /// The library closes the stream: its caller asked (`Trigger::Close`), or an idle timeout
    /// of its own passed.
    Close(Trigger),
    /// The child exited; `left` are the other processes still alive in its scope, or why they
    /// could not be seen.
    ChildExited { exit: Exit, left: Look },
    /// The kernel says the child ended (its exit descriptor is readable), but no exit could be
    /// read: it ended with an unknown status. Never "still running", so that no turn of the loop
    /// can repeat without progress.
    ExitUnread { left: Look },
    /// The answer to [`Order::LookAtScope`]: the processes still alive in the scope, or why
    /// they could not be seen (which is never an empty scope).
    ScopeLooked(Look),
    /// The answer to [`Order::LookAtWork`]: the CPU time the scope's processes have used so
    /// far, and how long they have waited on a run queue for one (wanting the CPU counts as
    /// working: on a loaded machine a stage may get little of it); `None`: it cannot be read.
    WorkLooked {
        cpu: Option<Duration>,
        waited: Option<Duration>,
    },
    /// With a protocol: the request that has waited longest for its response, or none.
    Awaiting(Option<Awaiting>),
    /// The client sent the LSP `shutdown` request or `exit` notification itself.
    ClientShutdown,
    /// The response to agentpipe's own `shutdown` request came.
    ShutdownAnswered,
}

/// A request waiting for its response: since when (its last sign of life: sent, or a progress
/// notification about it), and how the timeline names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Awaiting {
    pub since: Instant,
    pub request: String,
}

/// What the machine asks the event loop to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// Stop reading agentpipe's input and close the child's stdin: once what was read is
    /// written (`flush`, when the input's end started the sequence), or at once, dropping it.
    CloseStdin { flush: bool },
    /// The `stdin` step's wait ended with the child still there, and another step follows: a
    /// child on a pseudo-terminal has it hung up (a pipe was closed at the step already).
    HangUp,
    /// Start `command` through `sh -c`, outside the scope, for step number `step` (from 1).
    Run {
        command: String,
        step: usize,
        trigger: Trigger,
    },
    /// End the command of the `run` step being left, if it still runs, and reap it.
    EndRun,
    /// Send this signal to every process of the scope.
    Signal(Signal),
    /// Relay no more of the child's output than what was queued when it exited.
    CutDrain,
    /// Drop the output still queued for agentpipe's stdout, counted as discarded.
    DropOutput,
    /// List the processes alive in the scope, and answer with [`Input::ScopeLooked`].
    LookAtScope,
    /// Read the CPU time the scope's processes have used, and answer with
    /// [`Input::WorkLooked`].
    LookAtWork,
    /// Name the processes SIGKILL did not remove, and say one more interrupt gives up on them.
    NameSurvivors,
    /// Send the LSP `shutdown` request to the child, as agentpipe (see [`Input::ShutdownAnswered`]).
    SendShutdown,
    /// Send the LSP `exit` notification to the child.
    SendExit,
    /// Write a `send` step's message to the child, as a frame of agentpipe's own.
    Send { message: String },
    /// Tell the `-v` timeline.
    Tell(Note),
    /// Tell even without `-v` (not with `-q`): something the person must know.
    Warn(Note),
}

/// The child the sequence is about, as messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub pid: u32,
    /// Its program's file name.
    pub name: String,
    pub scope: Scope,
    /// Whether its stdin is agentpipe's to close (a pipe or a pty of agentpipe's); not with
    /// `--foreground` on a terminal, where it is the terminal itself.
    pub stdin_owned: bool,
}

/// Why a step is taken, for the line that says a signal was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The trigger started the sequence at it.
    Trigger,
    /// The previous step's wait ran out.
    Waited,
    /// An interrupt skipped to it.
    Interrupt(Signal),
    /// `--timeout` jumped to it.
    Timeout,
    /// The child exited and left processes in its scope.
    Left,
    /// After the end of input, the command worked past its grace and then was quiet for it;
    /// the step is taken this long after start.
    Quiet(Duration),
}
