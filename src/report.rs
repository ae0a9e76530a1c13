//! What agentpipe tells: the `-v` timeline and its warnings on agentpipe's own stderr, and the
//! `--report` JSON object written when it exits.

pub mod json;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use nix::sys::signal::Signal;

use crate::Scope;
use crate::exit_status::Status;
use crate::outcome::{Outcome, TakenStep, Trigger};
use crate::process::Exit;
use crate::sequence::{Action, Limit, Sequence};

pub use json::Json;

/// The version of the report's schema: it changes only when a field changes meaning or goes
/// away; new fields may appear without a change.
pub const REPORT_VERSION: i64 = 1;

/// When agentpipe started: the instant every offset counts from, and the wall-clock time the
/// report gives.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    pub instant: Instant,
    pub time: SystemTime,
}

impl Start {
    pub fn now() -> Start {
        Start {
            instant: Instant::now(),
            time: SystemTime::now(),
        }
    }
}

/// Writes `agentpipe [+1.002s]: ...` lines, measured from agentpipe's start.
#[derive(Clone, Debug)]
pub struct Timeline {
    start: Instant,
    verbose: bool,
    quiet: bool,
}

impl Timeline {
    pub fn new(start: Instant, verbose: bool) -> Timeline {
        Timeline {
            start,
            verbose,
            quiet: false,
        }
    }

    /// `-q`: warnings are not shown either.
    pub fn quiet(mut self, quiet: bool) -> Timeline {
        self.quiet = quiet;
        self
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// `+1.002s`: the time of `instant` since start, as the timeline shows it.
    pub fn offset(&self, instant: Instant) -> String {
        format!(
            "+{:.3}s",
            instant.saturating_duration_since(self.start).as_secs_f64()
        )
    }

    /// A timeline line, shown with `-v` only.
    pub fn say(&self, message: fmt::Arguments<'_>) {
        if self.verbose {
            self.write(message);
        }
    }

    /// A line shown unless `-q` was given: something the person must act on.
    pub fn warn(&self, message: fmt::Arguments<'_>) {
        if !self.quiet {
            self.write(message);
        }
    }

    fn write(&self, message: fmt::Arguments<'_>) {
        let offset = self.offset(Instant::now());
        // A full or closed stderr must not stop the supervisor: the message is dropped.
        let _ = writeln!(std::io::stderr(), "agentpipe [{offset}]: {message}");
    }
}

/// Where `--report` goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportTarget {
    /// `-`: agentpipe's own stderr.
    Stderr,
    /// A file, created or truncated.
    File(PathBuf),
}

impl fmt::Display for ReportTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportTarget::Stderr => f.write_str("stderr"),
            ReportTarget::File(path) => write!(f, "'{}'", path.display()),
        }
    }
}

/// What the report says about the run, besides how it ended.
#[derive(Clone, Copy, Debug)]
pub struct RunFacts<'a> {
    /// COMMAND and its arguments.
    pub command: &'a [OsString],
    pub start: Start,
    pub scope: Scope,
    pub sequence: &'a Sequence,
    /// `--drain`.
    pub drain: Limit,
}

/// How the run ended.
#[derive(Clone, Copy, Debug)]
pub enum Ending<'a> {
    /// The command ran, and was supervised until it and its scope were gone.
    Supervised(&'a Outcome),
    /// The command could not be started (`pid` is `None`), or supervising it failed.
    Failed { pid: Option<u32>, error: &'a str },
}

/// The report: one JSON object. The README's "Report" section and agentpipe(1)'s REPORT
/// section document each field.
pub fn report(facts: &RunFacts<'_>, ending: Ending<'_>, status: Status) -> Json {
    let command = facts
        .command
        .iter()
        .map(|arg| Json::str(arg.to_string_lossy()))
        .collect();
    let start = humantime::format_rfc3339_micros(facts.start.time).to_string();
    let elapsed = facts.start.instant.elapsed();
    let (status_code, status_signal) = match status {
        Status::Code(code) => (code, Json::Null),
        Status::Signal(signal) => (128 + signal, Json::str(signal_name(signal))),
    };
    let (pid, trigger, steps, exit, bytes, drain, leftovers) = match ending {
        Ending::Supervised(outcome) => {
            let (code, signal) = exit_fields(outcome.exit);
            let error = outcome
                .abandoned
                .then_some("gave up on a process that SIGKILL did not remove");
            // Every signal step reached the processes left, if there were any.
            let signals = if outcome.leftovers.is_empty() {
                Vec::new()
            } else {
                scope_signals(outcome)
            };
            let pids = outcome.leftovers.iter().map(|&pid| pid_json(pid)).collect();
            (
                pid_json(outcome.pid),
                Json::or_null(outcome.trigger, trigger),
                outcome.steps.iter().map(step).collect(),
                exit(code, signal, status_code, status_signal, error),
                bytes(
                    outcome.to_child.relayed,
                    outcome.to_child.discarded,
                    outcome.from_child.relayed,
                    outcome.from_child.discarded,
                ),
                drain(facts.drain, outcome.drain_cut),
                (pids, signals),
            )
        }
        Ending::Failed { pid, error } => {
            // Nothing was relayed before a failed start; after a failed supervision, what was
            // is unknown.
            let (bytes, drain) = match pid {
                None => (bytes(0, 0, 0, 0), drain(facts.drain, false)),
                Some(_) => (Json::Null, Json::Null),
            };
            (
                Json::or_null(pid, pid_json),
                Json::Null,
                Vec::new(),
                exit(
                    Json::Null,
                    Json::Null,
                    status_code,
                    status_signal,
                    Some(error),
                ),
                bytes,
                drain,
                (Vec::new(), Vec::new()),
            )
        }
    };
    Json::Object(vec![
        ("version", Json::Int(REPORT_VERSION)),
        ("command", Json::Array(command)),
        ("pid", pid),
        ("start", Json::Str(start)),
        ("elapsed", Json::Seconds(elapsed)),
        ("scope", Json::str(scope_name(facts.scope))),
        ("sequence", Json::Str(facts.sequence.to_string())),
        ("trigger", trigger),
        ("steps", Json::Array(steps)),
        ("exit", exit),
        ("bytes", bytes),
        ("drain", drain),
        (
            "leftovers",
            Json::Object(vec![
                ("pids", Json::Array(leftovers.0)),
                ("signals", Json::Array(leftovers.1)),
            ]),
        ),
    ])
}

fn pid_json(pid: u32) -> Json {
    Json::Int(pid.into())
}

/// Writes `report` in one line to `target`. A file is created, or truncated.
pub fn write_report(target: &ReportTarget, report: &Json) -> io::Result<()> {
    let mut line = report.to_string();
    line.push('\n');
    match target {
        ReportTarget::Stderr => io::stderr().lock().write_all(line.as_bytes()),
        ReportTarget::File(path) => std::fs::write(path, line),
    }
}

/// `SIGTERM`; a signal without a name is given by its number (`"34"`).
pub fn signal_name(number: i32) -> String {
    Signal::try_from(number).map_or_else(|_| number.to_string(), |signal| signal.as_str().into())
}

/// The report's spelling of a trigger.
pub fn trigger_name(trigger: Trigger) -> String {
    match trigger {
        Trigger::Eof => "eof".into(),
        Trigger::Signal(signal) => signal.full_name().into(),
        Trigger::Timeout => "timeout".into(),
        Trigger::DownstreamClosed => "downstream-closed".into(),
        Trigger::ChildExit => "child-exit".into(),
        Trigger::Close => "close".into(),
    }
}

fn trigger(trigger: Trigger) -> Json {
    Json::Str(trigger_name(trigger))
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Child => "child",
        Scope::Group => "group",
        Scope::Tree => "tree",
    }
}

fn step(step: &TakenStep) -> Json {
    let (action, signal) = match step.action {
        Action::Wait => ("wait", Json::Null),
        Action::CloseStdin => ("stdin", Json::Null),
        Action::Signal(signal) => ("signal", Json::str(signal.full_name())),
        Action::Kill => ("kill", Json::str(Signal::SIGKILL.as_str())),
    };
    Json::Object(vec![
        ("step", Json::Int(step.index as i64 + 1)),
        ("action", Json::str(action)),
        ("signal", signal),
        ("at", Json::Seconds(step.at)),
    ])
}

/// Every signal the steps taken sent to the scope, in order: a signal step sends its signal
/// and then SIGCONT (unless the signal is SIGCONT), the KILL step SIGKILL.
fn scope_signals(outcome: &Outcome) -> Vec<Json> {
    let mut signals = Vec::new();
    for step in &outcome.steps {
        match step.action {
            Action::Signal(signal) => {
                signals.push(Json::str(signal.full_name()));
                if signal != crate::Signal::CONT {
                    signals.push(Json::str(Signal::SIGCONT.as_str()));
                }
            }
            Action::Kill => signals.push(Json::str(Signal::SIGKILL.as_str())),
            Action::Wait | Action::CloseStdin => {}
        }
    }
    signals
}

fn exit_fields(exit: Exit) -> (Json, Json) {
    match exit {
        Exit::Code(code) => (Json::Int(code.into()), Json::Null),
        Exit::Signal(signal) => (Json::Null, Json::str(signal_name(signal))),
    }
}

fn exit(code: Json, signal: Json, status: i32, status_signal: Json, error: Option<&str>) -> Json {
    Json::Object(vec![
        ("code", code),
        ("signal", signal),
        ("status", Json::Int(status.into())),
        ("status_signal", status_signal),
        ("error", Json::or_null(error, Json::str)),
    ])
}

fn bytes(
    to_child: u64,
    to_child_discarded: u64,
    from_child: u64,
    from_child_discarded: u64,
) -> Json {
    let count = |bytes: u64| Json::Int(i64::try_from(bytes).unwrap_or(i64::MAX));
    let direction = |relayed, discarded| {
        Json::Object(vec![
            ("relayed", count(relayed)),
            ("discarded", count(discarded)),
        ])
    };
    Json::Object(vec![
        ("to_child", direction(to_child, to_child_discarded)),
        ("from_child", direction(from_child, from_child_discarded)),
    ])
}

fn drain(limit: Limit, cut: bool) -> Json {
    Json::Object(vec![
        ("limit", Json::or_null(limit, Json::Seconds)),
        ("cut", Json::Bool(cut)),
    ])
}
