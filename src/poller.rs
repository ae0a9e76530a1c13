//! Waiting for the descriptors that matter at one turn of the event loop, or for a deadline.
//!
//! On Linux the descriptors stay registered in one epoll set from turn to turn, so that a turn
//! costs the same however many descriptors are watched (the signals, the child's exit, four
//! relay ends) and a message relayed pays only for the descriptors that moved; elsewhere each
//! turn is one poll(2). See [`WaitSet`].

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use crate::platform::WaitSet;
pub(crate) use crate::platform::{Interest, Readiness};

/// The event loop's wait, kept from turn to turn.
#[derive(Debug, Default)]
pub(crate) struct Poller {
    set: WaitSet,
}

impl Poller {
    /// Waits until one of `wanted` is ready or `deadline` passes (rounded up to the next
    /// millisecond, so that a deadline is never reported early); a signal ends the wait too.
    /// Each slot of `wanted` holds the same descriptor from turn to turn until it is `None`.
    pub fn wait<const N: usize>(
        &mut self,
        wanted: [Option<(BorrowedFd<'_>, Interest)>; N],
        deadline: Option<Instant>,
    ) -> io::Result<[Readiness; N]> {
        let timeout = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        let mut found = [Readiness::default(); N];
        self.set.wait(&wanted, timeout, &mut found)?;
        Ok(found)
    }
}
