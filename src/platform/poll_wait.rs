//! One poll(2) over a turn's descriptors: the wait of every Unix without epoll, and Linux's when
//! no descriptor is left for an epoll set (EMFILE), since poll(2) needs none.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::{Interest, Readiness};

/// Waits until one of `wanted` is ready or `timeout` passes (`None`: no timeout), and writes
/// what it found in `found`, slot by slot.
pub(super) fn poll_wait(
    wanted: &[Option<(BorrowedFd<'_>, Interest)>],
    timeout: Option<Duration>,
    found: &mut [Readiness],
) -> io::Result<()> {
    let mut fds: Vec<PollFd<'_>> = wanted
        .iter()
        .flatten()
        .map(|(fd, interest)| PollFd::new(*fd, flags(*interest)))
        .collect();
    let timeout = timeout.map_or(PollTimeout::NONE, |timeout| {
        let millis = timeout.as_nanos().div_ceil(1_000_000);
        PollTimeout::try_from(millis.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
    });
    match nix::poll::poll(&mut fds, timeout) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(error) => return Err(error.into()),
    }
    let mut reported = fds
        .iter()
        .map(|fd| fd.revents().unwrap_or(PollFlags::empty()));
    for (slot, found) in wanted.iter().zip(found.iter_mut()) {
        *found = Readiness::default();
        if slot.is_some() {
            let flags = reported.next().unwrap_or(PollFlags::empty());
            *found = Readiness {
                ready: !flags.is_empty(),
                failed: flags.intersects(PollFlags::POLLERR | PollFlags::POLLHUP),
            };
        }
    }
    Ok(())
}

fn flags(interest: Interest) -> PollFlags {
    match interest {
        Interest::Read => PollFlags::POLLIN,
        Interest::Write => PollFlags::POLLOUT,
        Interest::Hangup => PollFlags::empty(),
    }
}
