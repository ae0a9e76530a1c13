//! Signals: the crate's own signal type and its names, the one table of what agentpipe does
//! with each signal it receives, and the source that delivers them to the event loop.

use std::fmt;
use std::str::FromStr;

use crate::parse_error::ParseError;
use crate::platform;

// What agentpipe does with the signals it receives, and their delivery: the poll front end's.
#[cfg(agentpipe_poll)]
mod roles;
#[cfg(agentpipe_poll)]
mod source;
#[cfg(agentpipe_poll)]
pub(crate) use roles::*;
#[cfg(agentpipe_poll)]
pub(crate) use source::{Arrived, SignalSource};

/// A signal, by number.
///
/// The crate's own type rather than a dependency's, so that a signal the platform numbers but no
/// crate names can still be carried, and so that the public API does not change with a
/// dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

impl Signal {
    /// SIGHUP: Hangup: the terminal or the controller went away.
    pub const HUP: Signal = Signal(platform::SIGHUP);
    /// SIGINT: Interrupt: Ctrl-C.
    pub const INT: Signal = Signal(platform::SIGINT);
    /// SIGQUIT: quit (`Ctrl-\` at a terminal), often a thread dump.
    pub const QUIT: Signal = Signal(platform::SIGQUIT);
    /// SIGKILL: Kill: cannot be caught or ignored.
    pub const KILL: Signal = Signal(platform::SIGKILL);
    /// SIGUSR1: User-defined signal 1.
    pub const USR1: Signal = Signal(platform::SIGUSR1);
    /// SIGUSR2: User-defined signal 2.
    pub const USR2: Signal = Signal(platform::SIGUSR2);
    /// SIGPIPE: Broken pipe: a write to a pipe nobody reads.
    pub const PIPE: Signal = Signal(platform::SIGPIPE);
    /// SIGTERM: Terminate: the polite stop request.
    pub const TERM: Signal = Signal(platform::SIGTERM);
    /// SIGCHLD: A child stopped or exited.
    pub const CHLD: Signal = Signal(platform::SIGCHLD);
    /// SIGCONT: Continue a stopped process.
    pub const CONT: Signal = Signal(platform::SIGCONT);
    /// SIGSTOP: Stop: cannot be caught or ignored.
    pub const STOP: Signal = Signal(platform::SIGSTOP);
    /// SIGTSTP: Terminal stop: Ctrl-Z.
    pub const TSTP: Signal = Signal(platform::SIGTSTP);
    /// SIGTTIN: A background process read from its terminal.
    pub const TTIN: Signal = Signal(platform::SIGTTIN);
    /// SIGTTOU: A background process wrote to its terminal.
    pub const TTOU: Signal = Signal(platform::SIGTTOU);
    /// SIGWINCH: The terminal window changed size.
    pub const WINCH: Signal = Signal(platform::SIGWINCH);

    /// The signal numbered `number`, whatever it is: for a number the kernel reported.
    pub(crate) const fn raw(number: i32) -> Signal {
        Signal(number)
    }

    /// The signal numbered `number`, if this platform has one.
    pub fn from_number(number: i32) -> Option<Signal> {
        platform::signal_name(number).map(|_| Signal(number))
    }

    /// Its number, as kill(2) takes it.
    pub fn number(self) -> i32 {
        self.0
    }

    /// `TERM` for SIGTERM: the spelling `--signal` and `--sequence` use.
    pub fn name(self) -> &'static str {
        &self.full_name()[3..]
    }

    /// `SIGTERM`: the spelling of messages and the report.
    pub fn full_name(self) -> &'static str {
        platform::signal_name(self.0).unwrap_or("SIG?")
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.full_name())
    }
}

impl FromStr for Signal {
    type Err = ParseError;

    /// Parses `TERM`, `SIGTERM`, `term` or `15`.
    fn from_str(text: &str) -> Result<Signal, ParseError> {
        let invalid = || {
            let text = text.escape_debug();
            ParseError::signal(format!(
                "unknown signal '{text}': use a name like TERM or INT, or the number of one \
                 (real-time signals are not supported)"
            ))
        };
        let signal = if let Ok(number) = text.parse::<i32>() {
            Signal::from_number(number).ok_or_else(invalid)?
        } else {
            let upper = text.to_ascii_uppercase();
            let name = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            platform::signal_number(&name)
                .map(Signal)
                .ok_or_else(invalid)?
        };
        match platform::undeliverable(signal.0) {
            Some(reason) => Err(ParseError::signal(format!("{signal} {reason}"))),
            None => Ok(signal),
        }
    }
}

/// Signals `--forward` refuses, with why: agentpipe needs them itself (job control, its
/// child's state, its own EPIPE), they report a fault in agentpipe, or nobody can catch them.
const NOT_FORWARDED: [(Signal, &str); 13] = [
    (Signal::KILL, "it cannot be caught"),
    (Signal::STOP, "it cannot be caught"),
    (Signal::CHLD, "agentpipe watches its child with it"),
    (
        Signal::TSTP,
        "Ctrl-Z already stops the command and agentpipe",
    ),
    (Signal::CONT, "fg already continues the command"),
    (Signal::TTIN, "it is job control"),
    (Signal::TTOU, "it is job control"),
    (Signal::PIPE, "agentpipe sees a closed output as EPIPE"),
    (
        Signal(platform::SIGSEGV),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(platform::SIGBUS),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(platform::SIGFPE),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(platform::SIGILL),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(platform::SIGABRT),
        "it reports a fault in agentpipe itself",
    ),
];

/// `--forward SIG`: a signal agentpipe may pass on to the command instead of acting on it.
pub(crate) fn forwardable(signal: Signal) -> Result<Signal, String> {
    match NOT_FORWARDED.iter().find(|(refused, _)| *refused == signal) {
        Some((_, why)) => Err(format!("{signal} cannot be forwarded: {why}")),
        None => Ok(signal),
    }
}

/// A signal for a step of the sequence (`--signal`, `--sequence`): not a stop signal, which
/// only stops a process (and the SIGCONT that follows a step's signal would take even that
/// back). SIGCONT itself stays allowed: a step of its own wakes a stopped scope.
pub(crate) fn step_signal(signal: Signal) -> Result<Signal, String> {
    match signal {
        Signal::STOP | Signal::TSTP | Signal::TTIN | Signal::TTOU => Err(format!(
            "{signal} stops a process instead of ending it (and SIGCONT follows a step's \
             signal): give a signal that ends it, such as TERM, INT or HUP"
        )),
        signal => Ok(signal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        for text in ["TERM", "SIGTERM", "term", "SigTerm", "15"] {
            assert_eq!(text.parse(), Ok(Signal::TERM), "{text}");
        }
        assert_eq!("kill".parse(), Ok(Signal::KILL));
        for bad in ["TERMINATE", "0", "", "-1"] {
            assert!(bad.parse::<Signal>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_without_and_with_prefix() {
        assert_eq!(Signal::INT.name(), "INT");
        assert_eq!(Signal::INT.full_name(), "SIGINT");
        assert_eq!(Signal::INT.to_string(), "SIGINT");
    }
}
