//! The `--report` JSON object written when agentpipe exits: plain structs that mirror its schema,
//! serialized by serde_json in one line. The README's "Report" section and agentpipe(1)'s REPORT
//! section document each field; every field is always written, `None` as `null`.

use std::ffi::OsString;
use std::io;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::exit_status::Status;
use crate::outcome::Exit;
use crate::outcome::{CommandRun, Outcome, TakenStep, Unanswered};
use crate::scope::Scope;
use crate::sequence::{Action, Limit, Sequence};
use crate::signals::Signal;

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

/// The version of the report's schema: it changes only when a field changes meaning or goes
/// away; new fields may appear without a change.
pub const REPORT_VERSION: u32 = 1;

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

/// The report. Fields are written in the order declared here, which is the schema's order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub version: u32,
    /// Converted lossily: every sequence that is not UTF-8 becomes U+FFFD.
    pub command: Vec<String>,
    pub pid: Option<u32>,
    /// RFC 3339, UTC, with microseconds.
    pub start: String,
    /// Seconds: see [`seconds`].
    pub elapsed: f64,
    pub scope: &'static str,
    pub sequence: String,
    pub trigger: Option<String>,
    pub steps: Vec<StepReport>,
    pub exit: ExitReport,
    /// `None` when supervising failed: what was relayed is unknown.
    pub bytes: Option<BytesReport>,
    /// `None` when supervising failed.
    pub drain: Option<DrainReport>,
    pub leftovers: Leftovers,
    /// Every process of the scope other than the command that agentpipe saw, in the order
    /// first seen.
    pub ended: Vec<EndedReport>,
    /// `--scope cgroup`: what the cgroup accounted for; `None` for other scopes, or when the
    /// command did not start.
    pub cgroup: Option<CgroupReport>,
    /// With an idle trigger: when bytes last moved in the direction that went quiet.
    pub quiet_since: Option<f64>,
    /// The commands of `run` steps.
    pub commands: Vec<CommandReport>,
    /// With `--protocol`: the requests still without a response at exit.
    pub unanswered: Vec<UnansweredReport>,
    /// `--stderr-tail`: the last bytes of the command's stderr as text (see [`tail_text`]);
    /// `None` without the flag, or when the command did not start.
    pub stderr_tail: Option<String>,
}

/// The command's cgroup (`--scope cgroup`), from its `cpu.stat` and `memory.peak`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CgroupReport {
    /// CPU time of all its processes, in seconds: in all, in user mode, in the kernel.
    pub cpu: f64,
    pub cpu_user: f64,
    pub cpu_system: f64,
    /// Bytes; `None` where the memory controller is not enabled for the cgroup.
    pub memory_peak: Option<u64>,
}

/// A step the close sequence took.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    /// Its place in the sequence, from 1.
    pub step: usize,
    /// `wait`, `stdin`, `run`, `signal` or `kill`.
    pub action: &'static str,
    /// What it sent; `None` for `wait` and `stdin`.
    pub signal: Option<&'static str>,
    pub at: f64,
}

/// A request still without a response at exit (`--protocol`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnansweredReport {
    /// As it appeared: a number or a string.
    pub id: serde_json::Value,
    pub method: String,
    /// `to_child` (the client's request) or `from_child` (the command's own).
    pub dir: &'static str,
    /// When it was sent, since start.
    pub since: f64,
}

/// The command a `run` step started.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommandReport {
    /// Its step's place in the sequence, from 1.
    pub step: usize,
    pub command: String,
    pub pid: Option<u32>,
    /// Its exit code or signal; both `None` when it was killed at the end of its step or never
    /// started.
    pub code: Option<i32>,
    pub signal: Option<String>,
    /// It still ran when its step ended, and was killed.
    pub ended: bool,
    /// Why it could not be started.
    pub error: Option<String>,
}

/// How the command ended, and how agentpipe ends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExitReport {
    pub code: Option<i32>,
    pub signal: Option<String>,
    /// As `$?` shows it: 128+S when agentpipe dies by signal S.
    pub status: i32,
    pub status_signal: Option<String>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BytesReport {
    pub to_child: FlowReport,
    pub from_child: FlowReport,
    /// The command's stderr to its destination, with `--stderr-tail` (`None` without).
    pub stderr: Option<FlowReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowReport {
    pub relayed: u64,
    /// Read but dropped: input the command never took, output after its reader went away.
    pub discarded: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrainReport {
    /// `None` for `inf`.
    pub limit: Option<f64>,
    pub cut: bool,
}

/// A process of the scope other than the command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndedReport {
    pub pid: u32,
    /// Its command name, as the kernel gives it (at most 15 bytes on Linux).
    pub name: String,
    /// The last signal the close sequence sent it; `None` when it was gone before any.
    pub signal: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Leftovers {
    pub pids: Vec<u32>,
    pub signals: Vec<&'static str>,
}

fn unanswered(request: &Unanswered) -> UnansweredReport {
    UnansweredReport {
        id: serde_json::from_str(&request.id).unwrap_or(serde_json::Value::Null),
        method: request.method.clone(),
        dir: if request.to_child {
            "to_child"
        } else {
            "from_child"
        },
        since: seconds(request.since),
    }
}

/// The report on a run that ended as `ending`, agentpipe ending with `status`.
pub fn report(facts: &RunFacts<'_>, ending: Ending<'_>, status: Status) -> Report {
    let (status, status_signal) = match status {
        Status::Code(code) => (code, None),
        Status::Signal(signal) => (128 + signal, Some(signal_name(signal))),
    };
    let mut report = Report {
        version: REPORT_VERSION,
        command: facts
            .command
            .iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect(),
        pid: None,
        start: crate::rfc3339::rfc3339_micros(facts.start.time),
        elapsed: seconds(facts.start.instant.elapsed()),
        scope: facts.scope.name(),
        sequence: facts.sequence.to_string(),
        trigger: None,
        quiet_since: None,
        steps: Vec::new(),
        commands: Vec::new(),
        unanswered: Vec::new(),
        exit: ExitReport {
            code: None,
            signal: None,
            status,
            status_signal,
            error: None,
        },
        bytes: None,
        drain: None,
        leftovers: Leftovers {
            pids: Vec::new(),
            signals: Vec::new(),
        },
        ended: Vec::new(),
        cgroup: None,
        stderr_tail: None,
    };
    match ending {
        Ending::Supervised(outcome) => supervised(&mut report, facts, outcome),
        Ending::Failed { pid, error } => {
            report.pid = pid;
            report.exit.error = Some(error.into());
            // Nothing was relayed before a failed start; after a failed supervision, what was
            // is unknown.
            if pid.is_none() {
                let nothing = direction(Default::default());
                report.bytes = Some(BytesReport {
                    to_child: nothing.clone(),
                    from_child: nothing,
                    stderr: None,
                });
                report.drain = Some(drain(facts.drain, false));
            }
        }
    }
    report
}

/// What the report says of a run supervised to its end.
fn supervised(report: &mut Report, facts: &RunFacts<'_>, outcome: &Outcome) {
    report.pid = Some(outcome.pid);
    report.trigger = outcome.trigger.map(|trigger| trigger.name().to_string());
    report.quiet_since = outcome.quiet_since.map(seconds);
    report.steps = outcome.steps.iter().map(step).collect();
    report.commands = outcome
        .commands
        .iter()
        .map(|run| command(run, facts.sequence))
        .collect();
    match outcome.exit {
        Exit::Code(code) => report.exit.code = Some(code),
        Exit::Signal(signal) => report.exit.signal = Some(signal_name(signal.number())),
        Exit::Unknown => {}
    }
    report.exit.error = match (outcome.abandoned, outcome.scope_unchecked) {
        (true, _) => Some("gave up on a process that SIGKILL did not remove".into()),
        (false, Some(why)) => Some(format!(
            "could not check that the scope is empty ({}): processes may remain",
            why.reason()
        )),
        (false, None) => None,
    };
    report.bytes = Some(BytesReport {
        to_child: direction(outcome.to_child),
        from_child: direction(outcome.from_child),
        stderr: outcome.stderr.map(direction),
    });
    report.stderr_tail = outcome.stderr.map(|_| tail_text(&outcome.stderr_tail));
    report.unanswered = outcome.unanswered.iter().map(unanswered).collect();
    report.drain = Some(drain(facts.drain, outcome.drain_cut));
    report.cgroup = outcome.cgroup.map(|usage| CgroupReport {
        cpu: micros(usage.cpu_usec),
        cpu_user: micros(usage.user_usec),
        cpu_system: micros(usage.system_usec),
        memory_peak: usage.memory_peak,
    });
    let ended = outcome.ended.iter().map(|process| EndedReport {
        pid: process.pid,
        name: process.name.clone(),
        signal: process.signal.map(Signal::full_name),
    });
    report.ended = ended.collect();
    // Every signal step reached the processes left, if there were any.
    if !outcome.leftovers.is_empty() {
        report.leftovers = Leftovers {
            pids: outcome.leftovers.clone(),
            signals: scope_signals(outcome),
        };
    }
}

/// `report` as the one line `--report` writes.
pub fn line(report: &Report) -> io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(report)?;
    line.push(b'\n');
    Ok(line)
}

/// Microseconds, in seconds.
fn micros(count: u64) -> f64 {
    seconds(Duration::from_micros(count))
}

/// A duration in seconds, to the microsecond: `2.104311`, as serde_json writes the nearest
/// `f64` (`1.0` for one second, `0.00102` for 1020µs).
fn seconds(duration: Duration) -> f64 {
    // Below 2^53 microseconds (285 years) every count is exact in an f64.
    duration.as_micros() as f64 / 1e6
}

/// `SIGTERM`; a signal without a name is given by its number (`"34"`).
fn signal_name(number: i32) -> String {
    Signal::from_number(number).map_or_else(|| number.to_string(), |s| s.full_name().into())
}

fn command(run: &CommandRun, sequence: &Sequence) -> CommandReport {
    let text = match sequence.steps()[run.index].action {
        Action::Run(command) => sequence.commands()[command].clone(),
        _ => String::new(),
    };
    let (code, signal) = match run.exit {
        Some(Exit::Code(code)) => (Some(code), None),
        Some(Exit::Signal(signal)) => (None, Some(signal_name(signal.number()))),
        Some(Exit::Unknown) | None => (None, None),
    };
    CommandReport {
        step: run.index + 1,
        command: text,
        pid: run.pid,
        code,
        signal,
        ended: run.ended,
        error: run.error.clone(),
    }
}

fn step(step: &TakenStep) -> StepReport {
    let signal = match step.action {
        Action::Wait | Action::CloseStdin | Action::Run(_) | Action::Shutdown | Action::Send(_) => {
            None
        }
        Action::Signal(signal) => Some(signal.full_name()),
        Action::Kill => Some(Signal::KILL.full_name()),
    };
    StepReport {
        step: step.index + 1,
        action: step.action.kind(),
        signal,
        at: seconds(step.at),
    }
}

/// Every signal the steps taken sent to the scope, in order.
fn scope_signals(outcome: &Outcome) -> Vec<&'static str> {
    let sent = outcome.steps.iter().flat_map(|step| step.action.signals());
    sent.map(Signal::full_name).collect()
}

fn direction(bytes: crate::outcome::Bytes) -> FlowReport {
    FlowReport {
        relayed: bytes.relayed,
        discarded: bytes.discarded,
    }
}

/// The stderr tail as text: from its first whole character (the size limit may cut one in
/// two), each sequence that is not UTF-8 then replaced by U+FFFD, as `command` is. The bytes
/// themselves are in the library's `Outcome::stderr_tail`.
fn tail_text(tail: &[u8]) -> String {
    let continuation = |byte: &u8| byte & 0b1100_0000 == 0b1000_0000;
    let cut = tail.iter().take(3).take_while(|b| continuation(b)).count();
    String::from_utf8_lossy(&tail[cut..]).into_owned()
}

fn drain(limit: Limit, cut: bool) -> DrainReport {
    DrainReport {
        limit: limit.map(seconds),
        cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_microseconds_and_drop_the_rest() {
        let text = |duration| serde_json::to_string(&seconds(duration)).unwrap();
        assert_eq!(text(Duration::new(2, 104_311_999)), "2.104311");
        assert_eq!(text(Duration::from_micros(1020)), "0.00102");
        assert_eq!(text(Duration::from_secs(1)), "1.0");
        assert_eq!(text(Duration::ZERO), "0.0");
    }

    #[test]
    fn the_stderr_tail_starts_at_a_whole_character_and_is_lossy_after() {
        let line = "é: no such model\n".as_bytes();
        assert_eq!(tail_text(line), "é: no such model\n");
        assert_eq!(tail_text(&line[1..]), ": no such model\n");
        assert_eq!(tail_text(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(tail_text(b""), "");
    }
}
