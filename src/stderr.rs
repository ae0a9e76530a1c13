//! The child's stderr passing through agentpipe, when it is asked to (`--stderr-tail`, or a
//! library caller's receiver or tail): relayed as it comes, its last bytes kept for the report
//! and the [`Outcome`](crate::Outcome), and drained after the child exits within the same bound
//! as its stdout, never waiting for a descendant that holds the pipe.
//!
//! The command line relays it in its event loop, as one more pump to agentpipe's stderr (or the
//! `--stderr` file). The library runs no loop before `close`, so a thread of its own copies it to
//! the caller's receiver; during `close`, the event loop tells that thread when the child exited
//! and when the drain ran out, and the run ends when the thread is done.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::thread::{self, JoinHandle};

use nix::sys::socket::{MsgFlags, send};

use crate::outcome::Bytes;
use crate::platform::NO_SIGPIPE;
use crate::poller::{Interest, Poller, Readiness, Want, Wanted};
use crate::relay::{Endpoint, Event, Pump};

/// The last bytes of a stream, at most a size chosen by the caller.
#[derive(Debug)]
pub(crate) struct Tail {
    bytes: VecDeque<u8>,
    size: usize,
}

impl Tail {
    /// Reserved whole at start, so that it never allocates once the command runs (decision
    /// (bz)): address space only, its pages are touched as stderr fills them.
    fn new(size: usize) -> Tail {
        Tail {
            bytes: VecDeque::with_capacity(size),
            size,
        }
    }

    fn push(&mut self, new: &[u8]) {
        let new = &new[new.len().saturating_sub(self.size)..];
        let excess = (self.bytes.len() + new.len()).saturating_sub(self.size);
        self.bytes.drain(..excess);
        self.bytes.extend(new);
    }
}

/// What passed through the child's stderr.
#[derive(Debug)]
pub(crate) struct Relayed {
    /// Bytes written to the destination or receiver, and bytes dropped after it failed.
    pub bytes: Bytes,
    /// The last bytes read, at most the tail size asked for.
    pub tail: Vec<u8>,
    /// The drain ran out while a descendant still held the pipe.
    pub cut: bool,
}

/// Messages from the event loop to the copying thread, one byte each.
const EXITED: u8 = b'e';
const CUT: u8 = b'c';

/// The relay's descriptors, as the event loop's wait names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StderrEnd {
    /// The child's stderr (the command line's pump).
    Source,
    /// Where the pump writes it.
    Destination,
    /// The library's copying thread's control socket.
    Control,
}

/// The slot of each, in the copying thread's own wait.
impl From<StderrEnd> for usize {
    fn from(end: StderrEnd) -> usize {
        match end {
            StderrEnd::Source => 0,
            StderrEnd::Destination => 1,
            StderrEnd::Control => 2,
        }
    }
}

/// The child's stderr, as the event loop sees it. See the module documentation.
#[derive(Debug)]
pub(crate) enum StderrRelay {
    /// The child's stderr is not a pipe of agentpipe's: nothing to relay or wait for.
    Untouched,
    /// Relayed by the event loop itself (the command line).
    Pump {
        pump: Pump,
        tail: Tail,
        /// The drain ran out while the source was still open.
        cut: bool,
    },
    /// Copied by a thread (the library).
    Thread {
        /// The loop's end of a socket pair: messages go to the thread through it, and it reads
        /// end-of-file once the thread is done. `None` once the relay is finished.
        control: Option<UnixStream>,
        thread: Option<JoinHandle<Relayed>>,
        done: bool,
    },
}

impl StderrRelay {
    /// Relays `source` (the child's stderr) to `destination` in the event loop, keeping the last
    /// `tail` bytes. Bytes pass through a buffer, never spliced, so that the tail sees them.
    pub fn to_endpoint(source: OwnedFd, destination: Endpoint, tail: usize) -> StderrRelay {
        StderrRelay::Pump {
            pump: Pump::copying(Some(Endpoint::own(source)), Some(destination)),
            tail: Tail::new(tail),
            cut: false,
        }
    }

    /// Copies `source` (the child's stderr) to `receiver` (dropped when none) from a thread of
    /// its own, keeping the last `tail` bytes. The receiver is called from that thread only,
    /// and dropped there when the copy ends.
    pub fn to_receiver(
        source: OwnedFd,
        receiver: Option<Box<dyn Write + Send>>,
        tail: usize,
    ) -> io::Result<StderrRelay> {
        let (control, theirs) = UnixStream::pair()?;
        let pump = Pump::copying(Some(Endpoint::own(source)), None);
        let thread = thread::Builder::new()
            .name("agentpipe-stderr".into())
            .spawn(move || copy(pump, &theirs, receiver, Tail::new(tail)))?;
        Ok(StderrRelay::Thread {
            control: Some(control),
            thread: Some(thread),
            done: false,
        })
    }

    /// What each descriptor waits for now: the command line's pump's two ends, or the library's
    /// thread's control socket, readable once the thread is done.
    pub fn wants(&self) -> [(StderrEnd, Want<'_>); 3] {
        let (source, destination) = match self {
            StderrRelay::Pump { pump, .. } => (pump.source_want(), pump.destination_want()),
            _ => (None, None),
        };
        let control = self.control().map(|fd| (fd, Interest::Read));
        [
            (StderrEnd::Source, source),
            (StderrEnd::Destination, destination),
            (StderrEnd::Control, control),
        ]
    }

    /// The library's thread's control socket, while the thread runs.
    fn control(&self) -> Option<BorrowedFd<'_>> {
        match self {
            StderrRelay::Thread {
                control: Some(control),
                done: false,
                ..
            } => Some(control.as_fd()),
            _ => None,
        }
    }

    /// Moves what the wait found ready (`ready` of each [`StderrEnd`]).
    pub fn turn(&mut self, ready: impl Fn(StderrEnd) -> Readiness) {
        match self {
            StderrRelay::Untouched => {}
            StderrRelay::Pump { pump, tail, .. } => {
                if ready(StderrEnd::Source).ready {
                    let event = pump.fill_seen(|seen| tail.push(seen));
                    if pump.destination().is_none() {
                        pump.discard_buffer();
                    }
                    if event == Event::SourceEnded {
                        pump.close_source();
                    }
                }
                // A destination that fails (agentpipe's stderr closed by its reader) is dropped;
                // the child's stderr is still read, counted and kept, never a trigger.
                let destination = ready(StderrEnd::Destination);
                if (destination.ready || pump.can_write_now())
                    && pump.write_ready(destination.failed)
                {
                    pump.close_destination();
                }
            }
            StderrRelay::Thread { done, .. } => *done |= ready(StderrEnd::Control).ready,
        }
    }

    /// The child exited: what its stderr holds now is owed to the destination.
    pub fn mark_owed(&mut self) {
        match self {
            StderrRelay::Untouched => {}
            StderrRelay::Pump { pump, .. } => pump.mark_owed(),
            StderrRelay::Thread { .. } => self.tell(EXITED),
        }
    }

    /// The drain ran out: only what was owed is still relayed.
    pub fn limit_to_owed(&mut self) {
        match self {
            StderrRelay::Untouched => {}
            StderrRelay::Pump { pump, .. } => pump.limit_to_owed(),
            StderrRelay::Thread { .. } => self.tell(CUT),
        }
    }

    fn tell(&self, message: u8) {
        if let Some(control) = self.control() {
            // A thread that is done no longer reads: the message does not matter then.
            let _ = send(
                control.as_raw_fd(),
                &[message],
                MsgFlags::MSG_DONTWAIT | NO_SIGPIPE,
            );
        }
    }

    /// Passes the end of the child's stderr on, once everything read is written, and stops
    /// reading a source whose drain ran out; returns whether it did that.
    pub fn forward_ends(&mut self) -> bool {
        let StderrRelay::Pump { pump, cut, .. } = self else {
            return false;
        };
        pump.forward_end();
        let over = pump.stop_if_spent();
        *cut |= over;
        over
    }

    /// Whether nothing is left to relay: the run may end.
    pub fn drained(&self) -> bool {
        match self {
            StderrRelay::Untouched => true,
            StderrRelay::Pump { pump, .. } => pump.drained(),
            StderrRelay::Thread { done, .. } => *done,
        }
    }

    /// What passed through, once the run is over; `None` if stderr was untouched. A thread
    /// still copying (agentpipe gave up on an unkillable process) is stopped first.
    pub fn finish(&mut self) -> Option<Relayed> {
        match self {
            StderrRelay::Untouched => None,
            StderrRelay::Pump { pump, tail, cut } => Some(Relayed {
                bytes: Bytes {
                    relayed: pump.relayed,
                    discarded: pump.discarded + pump.buffered() as u64,
                },
                tail: std::mem::take(&mut tail.bytes).into(),
                cut: *cut,
            }),
            StderrRelay::Thread {
                control, thread, ..
            } => {
                // Its end of the socket then reads end-of-file, which stops it.
                control.take();
                thread.take()?.join().ok()
            }
        }
    }
}

impl Drop for StderrRelay {
    /// A thread whose stream was dropped without a close stops; its receiver is dropped.
    fn drop(&mut self) {
        if let StderrRelay::Thread { control, .. } = self {
            control.take();
        }
    }
}

/// The library's copying thread: reads the child's stderr as it comes, hands it to `receiver`,
/// and keeps its tail, until the pipe ends, the drain runs out or the loop goes away.
fn copy(
    mut pump: Pump,
    control: &UnixStream,
    mut receiver: Option<Box<dyn Write + Send>>,
    mut tail: Tail,
) -> Relayed {
    let mut bytes = Bytes::default();
    let mut poller = Poller::default();
    while pump.source().is_some() && !pump.budget_spent() {
        let mut wanted: Wanted<'_, StderrEnd, 3> = Wanted::new();
        wanted.set(StderrEnd::Control, Some((control.as_fd(), Interest::Read)));
        wanted.set(StderrEnd::Source, pump.source_want());
        let Ok(found) = poller.wait(wanted, None) else {
            break;
        };
        if found.get(StderrEnd::Control).ready {
            let mut messages = [0; 16];
            match (&*control).read(&mut messages) {
                Ok(0) | Err(_) => break, // the loop is gone: the stream was dropped
                Ok(count) => {
                    for message in &messages[..count] {
                        match *message {
                            EXITED => pump.mark_owed(),
                            CUT => pump.limit_to_owed(),
                            _ => {}
                        }
                    }
                }
            }
        }
        if found.get(StderrEnd::Source).ready {
            let event = pump.fill_seen(|seen| {
                tail.push(seen);
                let delivered = receiver
                    .as_mut()
                    .is_some_and(|receiver| receiver.write_all(seen).is_ok());
                if delivered {
                    bytes.relayed += seen.len() as u64;
                } else {
                    // A receiver that failed is dropped; what comes is still read and kept.
                    receiver = None;
                    bytes.discarded += seen.len() as u64;
                }
            });
            pump.discard_buffer(); // handed over already
            if event == Event::SourceEnded {
                pump.close_source();
            }
        }
    }
    if let Some(receiver) = receiver.as_mut() {
        let _ = receiver.flush();
    }
    Relayed {
        bytes,
        tail: tail.bytes.into(),
        cut: pump.budget_spent() && pump.source().is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_across_pushes() {
        let mut tail = Tail::new(5);
        tail.push(b"abc");
        tail.push(b"");
        assert_eq!(Vec::from(tail.bytes.clone()), b"abc");
        tail.push(b"defg");
        assert_eq!(Vec::from(tail.bytes.clone()), b"cdefg");
        tail.push(b"0123456789");
        assert_eq!(Vec::from(tail.bytes.clone()), b"56789");
        let mut none = Tail::new(0);
        none.push(b"abc");
        assert!(none.bytes.is_empty());
    }
}
