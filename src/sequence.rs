//! The close sequence: a list of steps that ends a child gracefully first and forcefully last.
//!
//! A [`Sequence`] is pure data; [`Progress`] walks it. Running the steps (closing a descriptor,
//! signalling a process group) belongs to the supervisor, so that the library's `close` and the
//! command line share one definition of what each trigger and interrupt means.

use std::fmt;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::signals;

/// How long a step may wait: `None` means without limit.
pub type Limit = Option<Duration>;

/// What a step does before it waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing: the child may exit on its own while its stdin stays open.
    Wait,
    /// Close the child's stdin once the bytes already read for it are written.
    CloseStdin,
    /// Send this signal, then SIGCONT so that a stopped process can act on it.
    Signal(Signal),
    /// Send SIGKILL and wait until the scope is gone.
    Kill,
}

/// One step: an action, then a wait that ends early when no process of the scope is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    pub wait: Limit,
}

/// A validated close sequence: it always ends with exactly one `KILL` step, and it always has a
/// `stdin` step (one is inserted before the first signal when the list names none), so that an EOF
/// trigger has a step to start at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    steps: Vec<Step>,
}

impl Default for Sequence {
    /// The design's default: `wait 0s, stdin 1s, TERM 1s, KILL`.
    fn default() -> Self {
        Sequence::standard(
            Some(Duration::ZERO),
            Some(Duration::from_secs(1)),
            Signal::SIGTERM,
            Some(Duration::from_secs(1)),
        )
    }
}

impl Sequence {
    /// The four-step sequence that the step flags (`--wait`, `--grace`, `--signal`,
    /// `--term-grace`) describe.
    pub fn standard(wait: Limit, grace: Limit, signal: Signal, term_grace: Limit) -> Sequence {
        let step = |action, wait| Step { action, wait };
        let mut steps = vec![step(Action::Wait, wait), step(Action::CloseStdin, grace)];
        // `--signal KILL` makes the stop signal the last step itself.
        if signal != Signal::SIGKILL {
            steps.push(step(Action::Signal(signal), term_grace));
        }
        steps.push(step(Action::Kill, None));
        Sequence { steps }
    }

    /// Parses a list such as `stdin 5s, INT 2s, TERM 5s, KILL`.
    ///
    /// Each step is `wait D`, `stdin D` or `SIGNAL D`, separated by commas; the last is `KILL`
    /// (which takes no duration). Durations are as in [`parse_duration`].
    pub fn parse(text: &str) -> Result<Sequence, String> {
        let items: Vec<&str> = text.split(',').map(str::trim).collect();
        let mut steps = Vec::with_capacity(items.len() + 1);
        for (index, item) in items.iter().enumerate() {
            let last = index + 1 == items.len();
            let mut words = item.split_whitespace();
            let name = words.next().ok_or_else(|| {
                format!(
                    "step {} is empty; write steps like 'stdin 5s, TERM 5s, KILL'",
                    index + 1
                )
            })?;
            let duration = words.next();
            if let Some(extra) = words.next() {
                return Err(format!(
                    "unexpected '{}' in step '{}'",
                    extra.escape_debug(),
                    item.escape_debug()
                ));
            }
            let action = match name.to_ascii_lowercase().as_str() {
                "wait" => Action::Wait,
                "stdin" => Action::CloseStdin,
                _ => match signals::parse(name)? {
                    Signal::SIGKILL => Action::Kill,
                    signal => Action::Signal(signal),
                },
            };
            if action == Action::Kill {
                if !last {
                    return Err("KILL must be the last step".to_string());
                }
                if duration.is_some() {
                    return Err("KILL takes no duration: it waits until the process is gone".into());
                }
                steps.push(Step { action, wait: None });
                break;
            }
            if last {
                let item = item.escape_debug();
                return Err(format!(
                    "the sequence must end with KILL (add ', KILL' after '{item}')"
                ));
            }
            let duration = duration.ok_or_else(|| {
                let (item, name) = (item.escape_debug(), name.escape_debug());
                format!("step '{item}' needs a duration, e.g. '{name} 5s'")
            })?;
            steps.push(Step {
                action,
                wait: parse_duration(duration)?,
            });
        }
        if !steps.iter().any(|step| step.action == Action::CloseStdin) {
            let at = steps
                .iter()
                .position(|step| matches!(step.action, Action::Signal(_) | Action::Kill))
                .unwrap_or(steps.len());
            let step = Step {
                action: Action::CloseStdin,
                wait: Some(Duration::ZERO),
            };
            steps.insert(at, step);
        }
        Ok(Sequence { steps })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Where an EOF trigger starts: the `stdin` step.
    pub fn stdin_step(&self) -> usize {
        self.steps
            .iter()
            .position(|step| step.action == Action::CloseStdin)
            .unwrap_or(0)
    }

    /// The first signal step at or after `from` (the `KILL` step when no other is left).
    pub fn signal_step(&self, from: usize) -> usize {
        (from..self.steps.len())
            .find(|&index| matches!(self.steps[index].action, Action::Signal(_) | Action::Kill))
            .unwrap_or(self.steps.len() - 1)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Wait => f.write_str("wait"),
            Action::CloseStdin => f.write_str("stdin"),
            Action::Signal(signal) => f.write_str(signals::name(*signal)),
            Action::Kill => f.write_str("KILL"),
        }
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, step) in self.steps.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", step.action)?;
            if step.action != Action::Kill {
                write!(f, " {}", format_limit(step.wait))?;
            }
        }
        Ok(())
    }
}

/// Parses `250ms`, `1.5s`, `1m30s`, a bare number of seconds (`2`, `0.5`) or `inf`.
pub fn parse_duration(text: &str) -> Result<Limit, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("inf") || text.eq_ignore_ascii_case("infinity") {
        return Ok(None);
    }
    let invalid = || {
        let text = text.escape_debug();
        format!("invalid duration '{text}': use e.g. 250ms, 1.5s, 1m30s, 2 or inf")
    };
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map(Some)
            .map_err(|_| invalid());
    }
    humantime::parse_duration(text)
        .map(Some)
        .map_err(|_| invalid())
}

/// Formats a limit the way it is written on the command line.
pub fn format_limit(limit: Limit) -> String {
    match limit {
        None => "inf".to_string(),
        Some(duration) if duration.subsec_millis() == 0 && duration.subsec_nanos() == 0 => {
            format!("{}s", duration.as_secs())
        }
        Some(duration) if duration.subsec_nanos() % 1_000_000 == 0 && duration.as_secs() == 0 => {
            format!("{}ms", duration.as_millis())
        }
        Some(duration) => format!("{:.3}s", duration.as_secs_f64()),
    }
}

/// What started the close sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// agentpipe's own stdin ended.
    Eof,
    /// agentpipe received this signal.
    Signal(Signal),
    /// `--timeout` elapsed.
    Timeout,
    /// agentpipe's stdout reader went away.
    DownstreamClosed,
    /// A library caller asked for the stream to be closed.
    Close,
    /// The child exited and left other processes in its scope.
    ChildExit,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Eof => f.write_str("end of input"),
            Trigger::Signal(signal) => write!(f, "{}", signals::full_name(*signal)),
            Trigger::Timeout => f.write_str("timeout"),
            Trigger::DownstreamClosed => f.write_str("output closed by its reader"),
            Trigger::Close => f.write_str("close requested"),
            Trigger::ChildExit => f.write_str("child exit with processes left in its scope"),
        }
    }
}

/// Where a running sequence stands: the step taken last and when its wait ends.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Index of the step whose action was taken last.
    pub step: usize,
    /// When that step's wait ends (`None`: it waits without limit).
    pub deadline: Option<Instant>,
    /// When the `KILL` step was taken, if it was.
    pub killed_at: Option<Instant>,
}

impl Progress {
    /// Positions the sequence at `step`, whose wait (possibly overridden) starts at `now`.
    pub fn at(step: usize, wait: Limit, now: Instant) -> Progress {
        Progress {
            step,
            deadline: wait.and_then(|wait| now.checked_add(wait)),
            killed_at: None,
        }
    }
}
