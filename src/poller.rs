//! Waiting for the descriptors that matter at one turn of the event loop, or for a deadline.
//!
//! On Linux the descriptors stay registered in one epoll set from turn to turn, so that a turn
//! costs the same however many descriptors are watched (the signals, the child's exit, four
//! relay ends) and a message relayed pays only for the descriptors that moved; elsewhere each
//! turn is one poll(2). See [`WaitSet`].

use std::io;
use std::marker::PhantomData;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use crate::platform::WaitSet;
pub(crate) use crate::platform::{Interest, Readiness};

/// The event loop's wait, kept from turn to turn.
#[derive(Debug, Default)]
pub(crate) struct Poller {
    set: WaitSet,
}

/// What one descriptor is waited for, if anything.
pub(crate) type Want<'a> = Option<(BorrowedFd<'a>, Interest)>;

/// The descriptors of one wait, each in a slot of type `S` that its caller names (as mio's
/// `Token`): a slot keeps its descriptor from turn to turn, and what the wait found is asked
/// for by the same name, so two registrations cannot be mixed up by their order.
pub(crate) struct Wanted<'a, S, const N: usize> {
    wants: [Want<'a>; N],
    slot: PhantomData<S>,
}

impl<'a, S: Into<usize>, const N: usize> Wanted<'a, S, N> {
    /// No descriptor in any slot.
    pub fn new() -> Self {
        Wanted {
            wants: [None; N],
            slot: PhantomData,
        }
    }

    /// Waits for `want` in `slot`.
    pub fn set(&mut self, slot: impl Into<S>, want: Want<'a>) {
        self.wants[slot.into().into()] = want;
    }

    /// Every descriptor waited for, whatever its slot.
    #[cfg(feature = "tokio")]
    pub fn fds(&self) -> impl Iterator<Item = (BorrowedFd<'a>, Interest)> + '_ {
        self.wants.iter().flatten().copied()
    }
}

/// What a wait found, by slot.
pub(crate) struct Found<S, const N: usize> {
    found: [Readiness; N],
    slot: PhantomData<S>,
}

impl<S: Into<usize>, const N: usize> Found<S, N> {
    pub fn get(&self, slot: impl Into<S>) -> Readiness {
        self.found[slot.into().into()]
    }
}

impl Poller {
    /// Waits until one of `wanted` is ready or `deadline` passes (rounded up to the next
    /// millisecond, so that a deadline is never reported early); a signal ends the wait too.
    pub fn wait<S, const N: usize>(
        &mut self,
        wanted: Wanted<'_, S, N>,
        deadline: Option<Instant>,
    ) -> io::Result<Found<S, N>> {
        let timeout = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        let mut found = [Readiness::default(); N];
        self.set.wait(&wanted.wants, timeout, &mut found)?;
        Ok(Found {
            found,
            slot: PhantomData,
        })
    }
}
