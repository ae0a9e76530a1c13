//! Running the close sequence's event loop inside a tokio runtime: the same loop, the same
//! [`Machine`](crate::machine) and the same calls as the blocking stream, but its wait is the
//! runtime's (readiness of the loop's descriptors through [`AsyncFd`], its next deadline through
//! [`sleep_until`]), so that no runtime thread ever blocks.
//!
//! A turn only starts when the runtime says something is due: the loop then looks at its
//! descriptors without waiting ([`Wait::Look`]) and handles what it finds as it always does.
//! Registrations are made for one wait and dropped after it, since the descriptors the loop
//! watches change from turn to turn (a closed pipe, a relay that pauses).

use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::Poll;
use std::thread;
use std::time::Instant;

use ::tokio::io::Interest as TokioInterest;
use ::tokio::io::unix::AsyncFd;
use ::tokio::time::sleep_until;

use crate::event_loop::{EventLoop, Wait};
use crate::outcome::Outcome;
use crate::poller::Interest;

/// Runs `event_loop` (its sequence started) to its end and returns the outcome.
///
/// Dropped before that (a cancelled `close`), it hands the loop, where it stands, to a thread
/// that finishes the sequence: the child is ended as it would have been, only nobody learns how.
pub(super) async fn finish(event_loop: EventLoop) -> io::Result<Outcome> {
    Pending(Some(event_loop)).finish().await
}

/// Runs `event_loop` (its sequence started) to its end without anyone waiting for it: on the
/// current runtime if there is one, else on a thread of its own, as for a runtime that drops the
/// task unfinished (it shuts down).
pub(super) fn finish_in_background(event_loop: EventLoop) {
    // Owned by the task before it first runs: a task dropped unpolled hands it on too.
    let pending = Pending(Some(event_loop));
    match ::tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(async {
            let _ = pending.finish().await;
        })),
        Err(_) => drop(pending),
    }
}

/// A loop whose sequence is under way, until it is finished; dropped before, it finishes on a
/// thread.
struct Pending(Option<EventLoop>);

impl Pending {
    async fn finish(mut self) -> io::Result<Outcome> {
        while let Some(event_loop) = self.0.as_mut().filter(|event_loop| !event_loop.finished()) {
            let (wanted, deadline) = event_loop.wanted_fds();
            ready(&wanted, deadline).await;
            event_loop.turn(Wait::Look)?;
        }
        self.0.take().expect("taken only here").finish()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(event_loop) = self.0.take() {
            on_thread(event_loop);
        }
    }
}

/// Finishes `event_loop` on a thread of its own, waiting in its own poll(2) or epoll set. Where
/// no thread can be started, the loop is dropped instead, which kills the child's scope and
/// reaps the child at once (waiting only for SIGKILL to take effect).
fn on_thread(event_loop: EventLoop) {
    let _ = thread::Builder::new()
        .name("agentpipe-close".into())
        .spawn(move || {
            let _ = event_loop.run();
        });
}

/// A descriptor of the loop, watched for one wait; the loop keeps it open meanwhile.
struct Watched(RawFd);

impl AsRawFd for Watched {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// What the runtime waits for on a descriptor with this interest of the loop's. A hangup is
/// an error (EPOLLERR: a pipe's reader is gone) or the peer's end (EPOLLHUP); tokio reports
/// both under these interests.
fn interest(interest: Interest) -> TokioInterest {
    match interest {
        Interest::Read => TokioInterest::READABLE,
        Interest::Write => TokioInterest::WRITABLE,
        Interest::Hangup => TokioInterest::READABLE | TokioInterest::ERROR,
    }
}

/// Waits until one of `wanted` is ready or `deadline` passes. A descriptor the runtime cannot
/// watch (epoll refuses regular files) is always ready, as it is for the loop's own wait.
async fn ready(wanted: &[(RawFd, Interest)], deadline: Option<Instant>) {
    let mut watched = Vec::with_capacity(wanted.len());
    for &(fd, wanted) in wanted {
        let wanted = interest(wanted);
        // SAFETY: the loop keeps `fd` open, the same description, until its next turn, and
        // every registration is dropped before this function returns to let it turn.
        match unsafe { AsyncFd::register_with_interest(Watched(fd), wanted) } {
            Ok(fd) => watched.push((fd, wanted)),
            Err(_) => return,
        }
    }
    let mut waits: Vec<Pin<Box<dyn Future<Output = ()> + Send + '_>>> = watched
        .iter()
        .map(|(fd, wanted)| {
            let wait: Pin<Box<dyn Future<Output = ()> + Send + '_>> = Box::pin(async move {
                let _ = fd.ready(*wanted).await;
            });
            wait
        })
        .collect();
    if let Some(deadline) = deadline {
        waits.push(Box::pin(sleep_until(deadline.into())));
    }
    poll_fn(|context| {
        if waits
            .iter_mut()
            .any(|wait| wait.as_mut().poll(context).is_ready())
        {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}
