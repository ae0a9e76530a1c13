//! Signals: the crate's own signal type and its names, the one table of what agentpipe does
//! with each signal it receives, and the source that delivers them to the event loop.

mod source;

use std::fmt;
use std::str::FromStr;

use nix::libc;

pub(crate) use source::{Arrived, SignalSource};

use crate::parse_error::ParseError;

/// A signal, by number.
///
/// The crate's own type rather than a dependency's, so that a signal the platform numbers but no
/// crate names can still be carried, and so that the public API does not change with a
/// dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

impl Signal {
    /// SIGHUP: Hangup: the terminal or the controller went away.
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// SIGINT: Interrupt: Ctrl-C.
    pub const INT: Signal = Signal(libc::SIGINT);
    /// SIGQUIT: quit (`Ctrl-\` at a terminal), often a thread dump.
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    /// SIGKILL: Kill: cannot be caught or ignored.
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// SIGUSR1: User-defined signal 1.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// SIGUSR2: User-defined signal 2.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// SIGPIPE: Broken pipe: a write to a pipe nobody reads.
    pub const PIPE: Signal = Signal(libc::SIGPIPE);
    /// SIGTERM: Terminate: the polite stop request.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// SIGCHLD: A child stopped or exited.
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    /// SIGCONT: Continue a stopped process.
    pub const CONT: Signal = Signal(libc::SIGCONT);
    /// SIGSTOP: Stop: cannot be caught or ignored.
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    /// SIGTSTP: Terminal stop: Ctrl-Z.
    pub const TSTP: Signal = Signal(libc::SIGTSTP);
    /// SIGTTIN: A background process read from its terminal.
    pub const TTIN: Signal = Signal(libc::SIGTTIN);
    /// SIGTTOU: A background process wrote to its terminal.
    pub const TTOU: Signal = Signal(libc::SIGTTOU);
    /// SIGWINCH: The terminal window changed size.
    pub const WINCH: Signal = Signal(libc::SIGWINCH);

    /// The signal numbered `number`, whatever it is: for a number the kernel reported.
    pub(crate) const fn raw(number: i32) -> Signal {
        Signal(number)
    }

    /// The signal numbered `number`, if this platform has one.
    pub fn from_number(number: i32) -> Option<Signal> {
        nix::sys::signal::Signal::try_from(number)
            .is_ok()
            .then_some(Signal(number))
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
        self.to_nix()
            .map_or("SIG?", nix::sys::signal::Signal::as_str)
    }

    /// The same signal as nix names it, for the calls that take nix's type.
    pub(crate) fn to_nix(self) -> Option<nix::sys::signal::Signal> {
        nix::sys::signal::Signal::try_from(self.0).ok()
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
        if let Ok(number) = text.parse::<i32>() {
            return Signal::from_number(number).ok_or_else(invalid);
        }
        let upper = text.to_ascii_uppercase();
        let name = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        nix::sys::signal::Signal::from_str(&name)
            .map(|signal| Signal(signal as i32))
            .map_err(|_| invalid())
    }
}

/// What agentpipe does with a signal it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    /// Starts the close sequence, or skips to its next step while it runs.
    Trigger,
    /// Passed on to the child alone, keeping its meaning (SIGQUIT: a thread dump).
    Forward,
    /// Ctrl-Z: stops the child's group, then agentpipe.
    Suspend,
    /// `fg`: continues the child's group.
    Resume,
    /// A child changed state: the command stopped, or an adopted orphan exited.
    ChildChanged,
}

/// Every signal agentpipe catches, and what it does with it: the one table that both installs
/// the handlers and dispatches what arrives.
pub(crate) const ROLES: [(Signal, Role); 10] = [
    (Signal::INT, Role::Trigger),
    (Signal::TERM, Role::Trigger),
    (Signal::HUP, Role::Trigger),
    (Signal::USR1, Role::Forward),
    (Signal::USR2, Role::Forward),
    (Signal::WINCH, Role::Forward),
    (Signal::QUIT, Role::Forward),
    (Signal::TSTP, Role::Suspend),
    (Signal::CONT, Role::Resume),
    (Signal::CHLD, Role::ChildChanged),
];

/// The signals a terminal sends to its whole foreground group: from the keyboard (Ctrl-C,
/// Ctrl-\\) and on a resize. With `--foreground` the command got them too, so they are its
/// own. Not SIGHUP: a hangup ends the session, and agentpipe ends the command as a shell
/// would (a command that ignores it would otherwise outlive its terminal).
const FROM_TERMINAL: [Signal; 3] = [Signal::INT, Signal::QUIT, Signal::WINCH];

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
        Signal(libc::SIGSEGV),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(libc::SIGBUS),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(libc::SIGFPE),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(libc::SIGILL),
        "it reports a fault in agentpipe itself",
    ),
    (
        Signal(libc::SIGABRT),
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

/// How agentpipe handles the signals it receives: [`ROLES`], as `--forward` and
/// `--foreground` change it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Handling {
    /// `--forward`: passed on to the command instead of what [`ROLES`] says.
    pub forward: Vec<Signal>,
    /// `--foreground`: the command shares agentpipe's group, so it gets the terminal's signals
    /// itself.
    pub foreground: bool,
}

impl Handling {
    /// What agentpipe does with `signal`; `None` for a signal it does not catch.
    pub fn role(&self, signal: Signal) -> Option<Role> {
        if self.forward.contains(&signal) {
            return Some(Role::Forward);
        }
        ROLES
            .iter()
            .find(|(listed, _)| *listed == signal)
            .map(|&(_, role)| role)
    }

    /// Every signal with a role.
    pub fn caught(&self) -> Vec<Signal> {
        let listed = ROLES.iter().map(|&(signal, _)| signal);
        let mut caught: Vec<Signal> = listed.chain(self.forward.iter().copied()).collect();
        caught.sort();
        caught.dedup();
        caught
    }

    /// Whether `signal`, sent by the kernel if `by_kernel`, was the terminal's to the whole
    /// foreground group, the command included: then it is the command's, neither a trigger nor
    /// forwarded a second time.
    pub fn commands(&self, signal: Signal, by_kernel: bool) -> bool {
        self.foreground && by_kernel && FROM_TERMINAL.contains(&signal)
    }
}

/// Whether `signal` was ignored when agentpipe started (nohup, `cmd &` in a script): such a
/// signal stays ignored, for agentpipe and for the child.
pub(crate) fn is_ignored(signal: Signal) -> bool {
    // nix has no way to read a disposition without installing one.
    // SAFETY: a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal.0, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
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

    #[test]
    fn forward_takes_a_signal_from_its_role_and_catches_new_ones() {
        let handling = Handling {
            forward: vec![Signal::INT, Signal(libc::SIGALRM)],
            foreground: false,
        };
        assert_eq!(handling.role(Signal::INT), Some(Role::Forward));
        assert_eq!(handling.role(Signal::TERM), Some(Role::Trigger));
        assert_eq!(handling.role(Signal(libc::SIGALRM)), Some(Role::Forward));
        assert_eq!(Handling::default().role(Signal(libc::SIGALRM)), None);
        assert!(handling.caught().contains(&Signal(libc::SIGALRM)));
        assert_eq!(handling.caught().len(), ROLES.len() + 1);
        for refused in [Signal::KILL, Signal::CHLD, Signal::TSTP, Signal::PIPE] {
            assert!(forwardable(refused).is_err(), "{refused}");
        }
        assert_eq!(forwardable(Signal::HUP), Ok(Signal::HUP));
    }

    #[test]
    fn only_a_terminal_signal_to_a_shared_group_is_the_commands() {
        let foreground = Handling {
            foreground: true,
            ..Handling::default()
        };
        assert!(foreground.commands(Signal::INT, true));
        assert!(
            !foreground.commands(Signal::INT, false),
            "a kill aimed at agentpipe"
        );
        assert!(
            !foreground.commands(Signal::HUP, true),
            "a hangup ends the session"
        );
        assert!(!foreground.commands(Signal::TERM, true));
        assert!(!Handling::default().commands(Signal::INT, true));
    }

    #[test]
    fn every_role_is_listed_once() {
        for (index, (signal, _)) in ROLES.iter().enumerate() {
            assert!(!ROLES[..index].iter().any(|(other, _)| other == signal));
        }
    }
}
