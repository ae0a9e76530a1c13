//! The close sequence: a list of steps that ends a child gracefully first and forcefully last.
//!
//! A [`Sequence`] is pure data, with the one definition of each step's name; the state machine
//! (`machine`) walks it, and the event loop carries out what the machine orders.

use std::fmt;
use std::time::Duration;

use crate::signals::Signal;

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
            Signal::TERM,
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
        if signal != Signal::KILL {
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
                _ => match name.parse()? {
                    Signal::KILL => Action::Kill,
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

impl Action {
    /// The report's name for the kind of step: `wait`, `stdin`, `signal` or `kill`.
    pub fn kind(self) -> &'static str {
        match self {
            Action::Wait => "wait",
            Action::CloseStdin => "stdin",
            Action::Signal(_) => "signal",
            Action::Kill => "kill",
        }
    }

    /// The signals the step sends to the scope, in order: a stop signal is followed by SIGCONT
    /// so that a stopped process acts on it.
    pub fn signals(self) -> Vec<Signal> {
        match self {
            Action::Wait | Action::CloseStdin => Vec::new(),
            Action::Signal(Signal::CONT) => vec![Signal::CONT],
            Action::Signal(signal) => vec![signal, Signal::CONT],
            Action::Kill => vec![Signal::KILL],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Wait => f.write_str("wait"),
            Action::CloseStdin => f.write_str("stdin"),
            Action::Signal(signal) => f.write_str(signal.name()),
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

/// Formats a limit the way it is written on the command line, exactly: `250us`, `1s500ms`,
/// `40d1h`, `inf`. Days are the largest unit, so that the text reads back through
/// [`parse_duration`] whatever units it refuses.
pub fn format_limit(limit: Limit) -> String {
    const DAY: u64 = 86_400;
    let Some(duration) = limit else {
        return "inf".to_string();
    };
    let days = duration.as_secs() / DAY;
    let rest = duration - Duration::from_secs(days * DAY);
    let mut text = if days > 0 {
        format!("{days}d")
    } else {
        String::new()
    };
    if days == 0 || !rest.is_zero() {
        text.extend(
            humantime::format_duration(rest)
                .to_string()
                .split_whitespace(),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_show_exactly_and_read_back() {
        let cases = [
            (Some(Duration::from_micros(250)), "250us"),
            (Some(Duration::from_nanos(1_000_500_000)), "1s500us"),
            (Some(Duration::from_millis(1500)), "1s500ms"),
            (Some(Duration::ZERO), "0s"),
            (Some(Duration::from_secs(90)), "1m30s"),
            (Some(Duration::from_secs(40 * 86_400 + 3600)), "40d1h"),
            (Some(Duration::from_secs(2 * 86_400)), "2d"),
            (None, "inf"),
        ];
        for (limit, text) in cases {
            assert_eq!(format_limit(limit), text);
            assert_eq!(parse_duration(text), Ok(limit), "{text}");
        }
    }

    #[test]
    fn a_sequence_reads_back_as_itself() {
        let sequence =
            Sequence::parse("wait 250us, stdin 1.0005s, INT 2s, TERM 1m30s, KILL").expect("valid");
        let shown = sequence.to_string();
        assert_eq!(shown, "wait 250us, stdin 1s500us, INT 2s, TERM 1m30s, KILL");
        assert_eq!(Sequence::parse(&shown), Ok(sequence));
    }
}
