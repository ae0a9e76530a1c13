//! What a supervised run came to: what started the close sequence, the steps taken, how the
//! child ended, and what was relayed. The exit status, the `-v` timeline and the report all read
//! it; it depends on none of them.

pub(crate) mod ended;

use std::fmt;
use std::time::Duration;

use crate::duration::Limit;
use crate::sequence::Action;
use crate::signals::Signal;

use crate::scope::{CgroupUsage, Unseen};

/// How the child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(Signal),
    /// Not known: agentpipe gave up on a child that SIGKILL did not remove, or another part of
    /// the program collected the child's exit (a SIGCHLD handler calling `waitpid(-1)`).
    Unknown,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(code) => write!(f, "exited with code {code}"),
            Exit::Signal(signal) => match Signal::from_number(signal.number()) {
                Some(signal) => write!(f, "was killed by {signal}"),
                None => write!(f, "was killed by signal {}", signal.number()),
            },
            Exit::Unknown => f.write_str(
                "has an unknown exit status (given up on, or collected by another part of the program)",
            ),
        }
    }
}

/// What started the close sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// agentpipe's own stdin ended.
    Eof,
    /// agentpipe received this signal.
    Signal(Signal),
    /// `--timeout` elapsed.
    Timeout,
    /// No byte moved either way for `--idle-timeout`.
    IdleTimeout,
    /// The child wrote nothing for `--output-idle-timeout`.
    OutputIdleTimeout,
    /// agentpipe's parent exited (`--end-with-parent`).
    ParentExit,
    /// agentpipe's stdout reader went away.
    DownstreamClosed,
    /// A library caller asked for the stream to be closed.
    Close,
    /// The child exited and left other processes in its scope.
    ChildExit,
    /// A request had no response for `--response-timeout`.
    ResponseTimeout,
}

impl Trigger {
    /// Whether it is one of the timeouts, which end agentpipe with 124 or 137.
    pub fn is_timeout(self) -> bool {
        matches!(
            self,
            Trigger::Timeout
                | Trigger::IdleTimeout
                | Trigger::OutputIdleTimeout
                | Trigger::ResponseTimeout
        )
    }

    /// The report's spelling: `eof`, `SIGINT`, `timeout`, `downstream-closed`, `close`,
    /// `child-exit`.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Eof => "eof",
            Trigger::Signal(signal) => signal.full_name(),
            Trigger::Timeout => "timeout",
            Trigger::IdleTimeout => "idle-timeout",
            Trigger::OutputIdleTimeout => "output-idle-timeout",
            Trigger::ParentExit => "parent-exit",
            Trigger::DownstreamClosed => "downstream-closed",
            Trigger::Close => "close",
            Trigger::ChildExit => "child-exit",
            Trigger::ResponseTimeout => "response-timeout",
        }
    }
}

impl fmt::Display for Trigger {
    /// The timeline's wording.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Eof => f.write_str("end of input"),
            Trigger::Signal(signal) => write!(f, "{signal}"),
            Trigger::Timeout => f.write_str("timeout"),
            Trigger::IdleTimeout => f.write_str("idle timeout: no byte moved either way"),
            Trigger::OutputIdleTimeout => f.write_str("output idle timeout: no output"),
            Trigger::ParentExit => f.write_str("agentpipe's parent exited"),
            Trigger::DownstreamClosed => f.write_str("output closed by its reader"),
            Trigger::Close => f.write_str("close requested"),
            Trigger::ChildExit => f.write_str("child exit with processes left in its scope"),
            Trigger::ResponseTimeout => f.write_str("response timeout: a request had no answer"),
        }
    }
}

/// A step of the sequence that was taken, and when (since start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TakenStep {
    /// Its place in the sequence, from 0.
    pub index: usize,
    /// What it did.
    pub action: Action,
    /// When it was taken, since the child started.
    pub at: Duration,
    /// How long it waited at most (for a stdin step, `--eof-grace` when the input's end
    /// started the sequence).
    pub wait: Limit,
}

/// Bytes moved in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bytes {
    /// Written to the destination.
    pub relayed: u64,
    /// Read and then dropped, because the destination was gone or closed.
    pub discarded: u64,
}

/// The command of a `run` step, and how it went.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandRun {
    /// The step's place in the sequence, from 0.
    pub index: usize,
    /// `None` when it could not be started.
    pub pid: Option<u32>,
    /// How it ended; `None` when it was killed because its step ended, or never started.
    pub exit: Option<Exit>,
    /// Why it could not be started.
    pub error: Option<String>,
    /// It still ran when its step ended, and was killed.
    pub ended: bool,
}

/// A JSON-RPC request still without a response when the run ended (with a protocol: see
/// `StreamOptions::protocol`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unanswered {
    /// Its id as JSON text, as it appeared: `3`, `"a"`.
    pub id: String,
    /// Its method: `tools/call`.
    pub method: String,
    /// Sent to the child (`true`), or by the child to agentpipe's side.
    pub to_child: bool,
    /// When it was sent, since start.
    pub since: Duration,
}

/// Everything that happened: what [`Stream::close`](crate::Stream::close) returns, and what
/// the command line's exit status and report are made of.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The child's process id.
    pub pid: u32,
    /// How the child ended.
    pub exit: Exit,
    /// What started the sequence, if anything did.
    pub trigger: Option<Trigger>,
    /// The steps of the sequence that were taken, in order (none when the child exited first).
    pub steps: Vec<TakenStep>,
    /// The commands the `run` steps started.
    pub commands: Vec<CommandRun>,
    /// SIGINT arrived before the child exited.
    pub interrupted: bool,
    /// The sequence reached SIGKILL.
    pub killed: bool,
    /// agentpipe gave up on a process that SIGKILL did not remove; it is left unreaped.
    pub abandoned: bool,
    /// The scope could not be seen after the child exited (no /proc, no descriptor left), and
    /// the kernel did not say it was empty by the end of the sequence, whose every signal went
    /// where it could: processes may remain. Why it could not be seen.
    pub scope_unchecked: Option<Unseen>,
    /// agentpipe's input to the child's stdin.
    pub to_child: Bytes,
    /// The child's stdout to agentpipe's output.
    pub from_child: Bytes,
    /// The child's stderr to its receiver (agentpipe's stderr, the `--stderr` file, or the
    /// library caller's receiver); `None` when it did not pass through agentpipe (no receiver
    /// or tail was asked for: the child wrote where its command said).
    pub stderr: Option<Bytes>,
    /// The last bytes of the child's stderr, at most the tail size asked for (empty when none
    /// was): often the reason an agent failed.
    pub stderr_tail: Vec<u8>,
    /// Descendants' output (stdout or stderr) was still flowing when `--drain` ran out.
    pub drain_cut: bool,
    /// Processes found in the scope after the child exited (each once, in the order found).
    pub leftovers: Vec<u32>,
    /// Every process of the scope other than the child that agentpipe saw (when the scope was
    /// signalled or looked at), in the order first seen, with the last signal the sequence
    /// sent it.
    pub ended: Vec<EndedProcess>,
    /// When the child exited, since start.
    pub exited_at: Option<Duration>,
    /// With an idle trigger: when bytes last moved in the direction that went quiet, since
    /// start.
    pub quiet_since: Option<Duration>,
    /// `--scope cgroup`: what the cgroup accounted for.
    pub cgroup: Option<CgroupUsage>,
    /// With a protocol: the requests still without a response, in the order sent.
    pub unanswered: Vec<Unanswered>,
}

/// A process of the scope other than the child, as the report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndedProcess {
    pub pid: u32,
    /// Its command name (`comm`), as the kernel gives it.
    pub name: String,
    /// The last signal the sequence sent it; `None` when it was gone before any.
    pub signal: Option<Signal>,
}
