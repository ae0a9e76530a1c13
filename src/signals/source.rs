//! The delivery of the signals agentpipe catches: a handler that writes each one, with whether
//! the kernel sent it, to a self-pipe that the event loop polls.
//!
//! The kernel's word matters for `--foreground`: the terminal driver sends SIGINT to the whole
//! foreground group (`si_code` SI_KERNEL), a `kill` sends it to agentpipe alone (SI_USER), and
//! only the handler's `siginfo_t` tells them apart.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, sigaction};

use super::{Handling, Role, Signal, is_ignored};
use crate::platform;

/// The write end of the self-pipe, for the handler: -1 until [`SignalSource::install`].
static PIPE: AtomicI32 = AtomicI32::new(-1);

/// Writes the signal's number and whether the kernel sent it, as one datagram: two bytes, so
/// that a full pipe drops whole signals (which coalesce anyway), never half of one.
extern "C" fn on_signal(number: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let errno = Errno::last_raw();
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t, or none.
    let code = unsafe { info.as_ref() }.map_or(platform::SI_USER, |info| info.si_code);
    let datagram = [number as u8, u8::from(platform::sent_by_kernel(code))];
    let fd = PIPE.load(Ordering::Relaxed);
    // SAFETY: write(2) is async-signal-safe; a bad or full descriptor only fails.
    unsafe { libc::write(fd, datagram.as_ptr().cast(), datagram.len()) };
    Errno::set_raw(errno);
}

/// A signal that arrived, with what agentpipe does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Arrived {
    pub signal: Signal,
    pub role: Role,
    /// The terminal sent it to the whole foreground group, the command included
    /// (`--foreground`): it is the command's, agentpipe only takes note.
    pub commands: bool,
}

/// The signals agentpipe received, delivered through a self-pipe so that the poll loop sees
/// them as readable input instead of being interrupted at an arbitrary point.
pub(crate) struct SignalSource {
    read: UnixDatagram,
    /// Keeps the handler's descriptor open.
    _write: UnixDatagram,
    handling: Handling,
    /// The signals whose handler is agentpipe's.
    caught: Vec<Signal>,
    /// SIGCHLD's disposition at start-up, restored in the child (it is always caught here, since
    /// the event loop must see its child stop).
    pub chld_was_ignored: bool,
}

impl SignalSource {
    /// Catches every signal that has a role (see [`Handling::caught`]) and was not ignored at
    /// start; SIGCHLD always.
    pub fn install(handling: Handling) -> io::Result<SignalSource> {
        let chld_was_ignored = is_ignored(Signal::CHLD);
        let (read, write) = UnixDatagram::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        PIPE.store(write.as_raw_fd(), Ordering::Relaxed);
        let caught: Vec<Signal> = handling
            .caught()
            .into_iter()
            .filter(|&signal| signal == Signal::CHLD || !is_ignored(signal))
            .collect();
        let action = SigAction::new(
            SigHandler::SigAction(on_signal),
            SaFlags::SA_SIGINFO | SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        let mut set = SigSet::empty();
        for signal in caught.iter().filter_map(|signal| signal.to_nix()) {
            // SAFETY: the handler makes only async-signal-safe calls.
            unsafe { sigaction(signal, &action) }?;
            set.add(signal);
        }
        // A parent may start agentpipe with signals blocked; the ones it catches must arrive.
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None)?;
        Ok(SignalSource {
            read,
            _write: write,
            handling,
            caught,
            chld_was_ignored,
        })
    }

    /// The signals whose handler is agentpipe's, which a child must not keep.
    pub fn caught(&self) -> &[Signal] {
        &self.caught
    }

    /// The descriptor that becomes readable when a signal arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// The signals received since the last call with their roles, each at most once, in
    /// signal-number order.
    pub fn pending(&mut self) -> Vec<Arrived> {
        let mut arrived = Vec::new();
        let mut datagram = [0u8; 2];
        while let Ok(2) = self.read.recv(&mut datagram) {
            let Some(signal) = Signal::from_number(i32::from(datagram[0])) else {
                continue;
            };
            if let Some(role) = self.handling.role(signal) {
                let commands = self.handling.commands(signal, datagram[1] == 1);
                arrived.push(Arrived {
                    signal,
                    role,
                    commands,
                });
            }
        }
        arrived.sort();
        arrived.dedup();
        arrived
    }
}
