//! What agentpipe does with each signal it receives (Unix): the one table of roles, and the
//! self-pipe source that delivers them to the event loop.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow};
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::SignalOnly;

use super::Signal;

impl Signal {
    /// The same signal as nix names it, for the calls that take nix's type.
    pub(crate) fn to_nix(self) -> Option<nix::sys::signal::Signal> {
        nix::sys::signal::Signal::try_from(self.number()).ok()
    }
}

/// What agentpipe does with a signal it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Whether `signal` was ignored when agentpipe started (nohup, `cmd &` in a script): such a
/// signal stays ignored, for agentpipe and for the child.
pub(crate) fn is_ignored(signal: Signal) -> bool {
    // nix has no way to read a disposition without installing one.
    // SAFETY: a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal.number(), std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The signals agentpipe received, delivered through a self-pipe so that the poll loop sees
/// them as readable input instead of being interrupted at an arbitrary point.
pub(crate) struct SignalSource {
    delivery: SignalDelivery<UnixStream, SignalOnly>,
    /// SIGCHLD's disposition at start-up, restored in the child (it is always caught here, since
    /// the event loop must see its child stop).
    pub chld_was_ignored: bool,
}

impl SignalSource {
    /// Catches every signal of [`ROLES`] that was not ignored at start; SIGCHLD always.
    pub fn install() -> io::Result<SignalSource> {
        let chld_was_ignored = is_ignored(Signal::CHLD);
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let caught: Vec<Signal> = ROLES
            .iter()
            .map(|&(signal, _)| signal)
            .filter(|&signal| signal == Signal::CHLD || !is_ignored(signal))
            .collect();
        let numbers: Vec<i32> = caught.iter().map(|signal| signal.number()).collect();
        let delivery = SignalDelivery::with_pipe(read, write, SignalOnly, numbers.iter())?;
        // A parent may start agentpipe with signals blocked; the ones it catches must arrive.
        let mut set = SigSet::empty();
        caught
            .iter()
            .filter_map(|s| s.to_nix())
            .for_each(|s| set.add(s));
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None)?;
        Ok(SignalSource {
            delivery,
            chld_was_ignored,
        })
    }

    /// The descriptor that becomes readable when a signal arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.delivery.get_read().as_fd()
    }

    /// The signals received since the last call with their roles, each at most once, in
    /// signal-number order.
    pub fn pending(&mut self) -> Vec<(Signal, Role)> {
        self.delivery
            .pending()
            .filter_map(|number| ROLES.iter().find(|(signal, _)| signal.number() == number))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_listed_once() {
        for (index, (signal, _)) in ROLES.iter().enumerate() {
            assert!(!ROLES[..index].iter().any(|(other, _)| other == signal));
        }
    }
}
