//! Signal names, the signals agentpipe listens to, and what it does with each.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::str::FromStr;

use nix::libc;
use nix::sys::signal::Signal;
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::SignalOnly;

/// Parses `TERM`, `SIGTERM`, `term` or `15`.
pub fn parse(text: &str) -> Result<Signal, String> {
    let invalid = || {
        let text = text.escape_debug();
        format!("unknown signal '{text}': use a name like TERM or INT, or a number")
    };
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| invalid());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| invalid())
}

/// `TERM` for SIGTERM: the spelling `--signal` and `--sequence` use.
pub fn name(signal: Signal) -> &'static str {
    &signal.as_str()[3..]
}

/// `SIGTERM`: the spelling for messages.
pub fn full_name(signal: Signal) -> &'static str {
    signal.as_str()
}

/// Signals that start the close sequence, or skip to its next step while it runs.
pub const TRIGGERS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Signals passed on to the child alone, keeping their meaning (SIGQUIT: a thread dump).
pub const FORWARDED: [Signal; 4] = [
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGQUIT,
];

/// Job control: Ctrl-Z and `fg`.
pub const JOB_CONTROL: [Signal; 2] = [Signal::SIGTSTP, Signal::SIGCONT];

/// Whether `signal` was ignored when agentpipe started (nohup, `cmd &` in a script): such a
/// signal stays ignored, for agentpipe and for the child.
pub fn is_ignored(signal: Signal) -> bool {
    // SAFETY: a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal as libc::c_int, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The signals agentpipe received, delivered through a self-pipe so that the poll loop sees
/// them as readable input instead of being interrupted at an arbitrary point.
pub struct SignalSource {
    delivery: SignalDelivery<UnixStream, SignalOnly>,
    /// SIGCHLD's disposition at start-up, restored in the child (it is always caught here, since
    /// the supervisor must see its child stop).
    pub chld_was_ignored: bool,
}

impl SignalSource {
    /// Catches the triggers, forwarded and job-control signals that were not ignored at start,
    /// and SIGCHLD.
    pub fn install() -> io::Result<SignalSource> {
        let chld_was_ignored = is_ignored(Signal::SIGCHLD);
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let wanted = TRIGGERS.iter().chain(&FORWARDED).chain(&JOB_CONTROL);
        let caught: Vec<libc::c_int> = wanted
            .filter(|&&signal| !is_ignored(signal))
            .chain(&[Signal::SIGCHLD])
            .map(|&signal| signal as libc::c_int)
            .collect();
        let delivery = SignalDelivery::with_pipe(read, write, SignalOnly, caught.iter())?;
        unblock(&caught);
        Ok(SignalSource {
            delivery,
            chld_was_ignored,
        })
    }

    /// The descriptor that becomes readable when a signal arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.delivery.get_read().as_fd()
    }

    /// The signals received since the last call, each at most once, in signal-number order.
    pub fn pending(&mut self) -> Vec<Signal> {
        self.delivery
            .pending()
            .filter_map(|number| Signal::try_from(number).ok())
            .collect()
    }
}

/// A parent may start agentpipe with signals blocked; the ones it catches must arrive.
fn unblock(signals: &[libc::c_int]) {
    // SAFETY: a signal set built with sigemptyset/sigaddset, passed to sigprocmask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        for text in ["TERM", "SIGTERM", "term", "SigTerm", "15"] {
            assert_eq!(parse(text), Ok(Signal::SIGTERM), "{text}");
        }
        assert_eq!(parse("kill"), Ok(Signal::SIGKILL));
        assert!(parse("TERMINATE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn names_without_and_with_prefix() {
        assert_eq!(name(Signal::SIGINT), "INT");
        assert_eq!(full_name(Signal::SIGINT), "SIGINT");
    }
}
