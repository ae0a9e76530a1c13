//! One poll(2) over a turn's descriptors: the wait of every Unix without epoll, and Linux's when
//! no descriptor is left for an epoll set (EMFILE), since poll(2) needs none.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::resource::{Resource, getrlimit};

/// How often [`poll_in_batches`] looks again.
const BATCH_PAUSE: Duration = Duration::from_millis(10);

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
    let millis = timeout.map_or(PollTimeout::NONE, |timeout| {
        let millis = timeout.as_nanos().div_ceil(1_000_000);
        PollTimeout::try_from(millis.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
    });
    match nix::poll::poll(&mut fds, millis) {
        Ok(_) | Err(Errno::EINTR) => {}
        // More descriptors than their limit (lowered below what agentpipe holds) lets one call
        // take: no single wait can watch them all.
        Err(Errno::EINVAL) if fds.len() > 1 => poll_in_batches(&mut fds, timeout)?,
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

/// Looks at `fds` as many at a time as the descriptor limit lets one poll(2) take, without
/// waiting, every 10 ms until one is ready or `timeout` passes. It wakes where a wait would
/// sleep, but agentpipe goes on relaying and supervising instead of failing with its scope
/// unended; only a limit lowered below what agentpipe holds brings it on.
fn poll_in_batches(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> io::Result<()> {
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1, |(soft, _)| soft);
    let batch = limit.clamp(1, fds.len() as u64) as usize;
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    loop {
        let mut ready = false;
        for some in fds.chunks_mut(batch) {
            match nix::poll::poll(some, PollTimeout::ZERO) {
                Ok(count) => ready |= count > 0,
                Err(Errno::EINTR) => return Ok(()),
                Err(error) => return Err(error.into()),
            }
        }
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if ready || left == Some(Duration::ZERO) {
            return Ok(());
        }
        std::thread::sleep(left.map_or(BATCH_PAUSE, |left| left.min(BATCH_PAUSE)));
    }
}

fn flags(interest: Interest) -> PollFlags {
    match interest {
        Interest::Read => PollFlags::POLLIN,
        Interest::Write => PollFlags::POLLOUT,
        Interest::Hangup => PollFlags::empty(),
    }
}
