//! Waiting for the descriptors that matter at one turn of the event loop, or for a deadline.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

/// What a descriptor is waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Read,
    Write,
    /// Only its end: a destination with nothing to write still reports POLLERR and POLLHUP,
    /// which tell that its reader went away.
    Hangup,
}

/// What the wait found for one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    /// Something was reported: the descriptor is ready, or at its end.
    pub ready: bool,
    /// POLLERR or POLLHUP: the peer went away.
    pub failed: bool,
}

/// Waits until one of `wanted` is ready or `deadline` passes (rounded up to the next
/// millisecond, so that a deadline is never reported early); a signal ends the wait too.
pub(crate) fn wait<const N: usize>(
    wanted: [Option<(BorrowedFd<'_>, Interest)>; N],
    deadline: Option<Instant>,
) -> io::Result<[Readiness; N]> {
    let mut fds: Vec<PollFd<'_>> = wanted
        .iter()
        .flatten()
        .map(|(fd, interest)| PollFd::new(fd.as_fd(), flags(*interest)))
        .collect();
    let timeout = deadline.map_or(PollTimeout::NONE, |at| {
        let millis = at
            .saturating_duration_since(Instant::now())
            .as_nanos()
            .div_ceil(1_000_000);
        PollTimeout::try_from(millis.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
    });
    match nix::poll::poll(&mut fds, timeout) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(error) => return Err(error.into()),
    }
    let mut reported = fds
        .iter()
        .map(|fd| fd.revents().unwrap_or(PollFlags::empty()));
    let mut found = [Readiness::default(); N];
    for (slot, found) in wanted.iter().zip(&mut found) {
        if slot.is_some() {
            let flags = reported.next().unwrap_or(PollFlags::empty());
            *found = Readiness {
                ready: !flags.is_empty(),
                failed: flags.intersects(PollFlags::POLLERR | PollFlags::POLLHUP),
            };
        }
    }
    Ok(found)
}

fn flags(interest: Interest) -> PollFlags {
    match interest {
        Interest::Read => PollFlags::POLLIN,
        Interest::Write => PollFlags::POLLOUT,
        Interest::Hangup => PollFlags::empty(),
    }
}
