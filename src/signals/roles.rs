//! What agentpipe does with each signal it receives (the poll front end's): the one table of
//! roles, as `--forward` and `--foreground` change it.

use nix::libc;

use super::Signal;

impl Signal {
    /// The same signal as nix names it, for the calls that take nix's type.
    pub(crate) fn to_nix(self) -> Option<nix::sys::signal::Signal> {
        nix::sys::signal::Signal::try_from(self.0).ok()
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
    use crate::signals::forwardable;

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
