//! One direction of the relay: bytes from a source descriptor to a destination descriptor
//! through a bounded buffer, without ever blocking.
//!
//! The pump only moves bytes and reports what it saw; the state machine decides what an EOF or a
//! closed reader means for the child.

use std::io;

use nix::errno::Errno;

use crate::platform::{self, ZeroedBuffer};
use crate::poller::{Interest, Want};
#[cfg(feature = "json")]
use crate::protocol::RESERVE;
use crate::trace::{Refused, Tap};

mod ending;
mod endpoint;
#[cfg(feature = "json")]
mod watched;
use endpoint::Kind;
pub use endpoint::{Endpoint, fill_closed_std_fds, take_std_fds};
#[cfg(feature = "json")]
use watched::Watched;

/// Bytes held between a read and its write: the relay's whole memory, per direction.
pub const BUFFER_SIZE: usize = 64 * 1024;

/// The most one splice(2) call moves: more than any pipe holds, so one call empties the source.
const SPLICE_MAX: usize = 1 << 20;

/// How many splices one readiness report may lead to while bytes keep coming.
const SPLICE_ROUNDS: usize = 8;

/// A transfer at least this large suggests a stream, worth another splice before polling; a
/// smaller one is a message, whose next splice would only find the pipe empty.
///
/// It is also where splice starts to pay. For a message, one splice(2) costs the kernel more than
/// the read(2) and write(2) that copy it through the buffer: measured as CPU time per hop between
/// two pipes (one process, best of 5 × 200,000, so the machine's load does not count), splice
/// takes about 900 ns for 64 B to 4 KiB against 470–570 ns for read plus write, 2.6 µs against
/// 1.5 µs at 8 KiB, the same at 12 KiB, and 1.5 µs against 2.7 µs at 16 KiB (64 KiB: 0.8 µs
/// against 12.6 µs). So a pipe-to-pipe direction copies after a message and splices after a
/// stream: see `Pump::splicing`.
///
/// A round trip says the same, by more than the CPU time: a 64-byte ping-pong through `cat`, all
/// on one CPU, takes 14.4–15 µs spliced against 12.3–12.5 µs copied, with the same calls as the
/// minimal relay, whose splice takes 11.4–12.6 µs. The minimal relay loses the same when it works
/// as long as a relay does between two waits: 100–300 ns of work per move makes its splice
/// 13.7–14.6 µs, its copy 12.3 µs. Not the wake-up (vmsplice(2) wakes the reader as splice does
/// and stays at 12.9 µs), nor the descriptors agentpipe holds (destinations out of the epoll
/// set, the standard descriptors not reopened: the same 14.8–15.2 µs).
const STREAMING: usize = 16 * 1024;

/// What a pump saw while moving bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing worth a decision.
    Progress,
    /// The source reached its end (or failed, which ends it the same way).
    SourceEnded,
    /// The destination's reader went away (EPIPE, or an error that ends it).
    DestinationClosed,
}

/// One direction of the relay.
#[derive(Debug)]
pub struct Pump {
    source: Option<Endpoint>,
    destination: Option<Endpoint>,
    /// Reserved at start, but its pages cost nothing until a read fills them (see
    /// `platform::ZeroedBuffer`).
    buffer: ZeroedBuffer,
    start: usize,
    end: usize,
    /// Bytes that were queued in the source when its writer exited and are not yet read.
    owed: Option<u64>,
    /// Bytes the source may still yield, once it is limited (`Some`): a drained child's pipe.
    budget: Option<u64>,
    /// Pipe to pipe, until the system refuses: bytes may move with splice(2) and never enter the
    /// buffer (while not copying, see `copy`).
    splice: bool,
    /// In a pipe-to-pipe direction, whether the last transfer was a message (under
    /// [`STREAMING`]): the next one is copied through the buffer, cheaper than a splice for
    /// small ones. A read of a stream's size switches back to splice once the buffer is empty.
    copy: bool,
    /// The size of the last read into the buffer: what decides `copy` once it is written.
    last_read: usize,
    /// In splice mode, whether the destination reported room since the last EAGAIN.
    room: bool,
    /// Whether a stream has flowed, and the pipes at both ends were grown for it.
    grown: bool,
    /// The trace's copy of what this direction relays, if there is a trace.
    tap: Option<Tap>,
    /// With a protocol: its frames, watched as they pass through the buffer.
    #[cfg(feature = "json")]
    watched: Option<Box<Watched>>,
    /// Bytes written to the destination.
    pub relayed: u64,
    /// Bytes read from the source and then dropped because the destination was gone or closed.
    pub discarded: u64,
}

impl Pump {
    pub fn new(source: Option<Endpoint>, destination: Option<Endpoint>) -> Pump {
        let pipe = |end: &Option<Endpoint>| end.as_ref().is_some_and(|end| end.kind == Kind::Pipe);
        let splice = pipe(&source) && pipe(&destination);
        Pump {
            splice,
            // A conversation starts with messages; a stream shows in its first read.
            copy: true,
            last_read: 0,
            room: true,
            grown: false,
            tap: None,
            #[cfg(feature = "json")]
            watched: None,
            source,
            destination,
            buffer: ZeroedBuffer::new(BUFFER_SIZE as u32),
            start: 0,
            end: 0,
            owed: None,
            budget: None,
            relayed: 0,
            discarded: 0,
        }
    }

    /// Hands every byte this direction relays to the trace as well.
    pub fn set_tap(&mut self, tap: Tap) {
        self.tap = Some(tap);
    }

    /// A pump that never splices, so that every byte passes through its buffer and can be seen
    /// (see [`Pump::fill_seen`]).
    pub fn copying(source: Option<Endpoint>, destination: Option<Endpoint>) -> Pump {
        let mut pump = Pump::new(source, destination);
        pump.splice = false;
        pump
    }

    /// Whether bytes move pipe to pipe with splice(2) now, rather than through the buffer (a
    /// watched pump splices only what its watch saw, see `watched.rs`).
    fn splicing(&self) -> bool {
        #[cfg(feature = "json")]
        if self.watched.is_some() {
            return false;
        }
        self.splice && !self.copy
    }

    /// Moves the buffered bytes to the buffer's start.
    fn compact(&mut self) {
        self.buffer.copy_within(self.start..self.end, 0);
        (self.start, self.end) = (0, self.end - self.start);
    }

    /// Room the buffer keeps free before a read: what a watch may release beyond it.
    fn reserve(&self) -> usize {
        #[cfg(feature = "json")]
        if self.watched.is_some() {
            return RESERVE;
        }
        0
    }

    pub fn source(&self) -> Option<&Endpoint> {
        self.source.as_ref()
    }

    pub fn destination(&self) -> Option<&Endpoint> {
        self.destination.as_ref()
    }

    /// Bytes read and not yet written.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Whether the pump wants to read now: a source that is open, room in the buffer, and budget.
    pub fn wants_read(&self) -> bool {
        let room = if self.splicing() {
            self.room
        } else {
            self.buffered() + self.reserve() < self.buffer.len()
        };
        self.source.is_some() && room && self.budget != Some(0)
    }

    /// Whether the pump has bytes for an open destination (in splice mode: waits for room).
    pub fn wants_write(&self) -> bool {
        if self.splicing() {
            return self.destination.is_some() && self.source.is_some() && !self.room;
        }
        self.destination.is_some() && self.buffered() > 0
    }

    /// What to wait for on the source: readable, when the pump wants to read.
    pub fn source_want(&self) -> Want<'_> {
        let source = self.source().filter(|_| self.wants_read());
        source.map(|end| (end.fd(), Interest::Read))
    }

    /// What to wait for on the destination: room, when the pump has bytes for it; else its end.
    pub fn destination_want(&self) -> Want<'_> {
        let interest = if self.wants_write() {
            Interest::Write
        } else {
            Interest::Hangup
        };
        self.destination().map(|end| (end.fd(), interest))
    }

    /// Whether the pump has bytes to write and may write them without a readiness report.
    pub fn can_write_now(&self) -> bool {
        !self.splicing()
            && self.wants_write()
            && self
                .destination
                .as_ref()
                .is_some_and(|d| !d.needs_readiness())
    }

    /// Whether a stream flows now (the last read was a stream's, see [`STREAMING`]) between two
    /// open ends, with no limit on what the source may still yield (the child is running): what
    /// another thread may relay for a while (see `duplex/helper.rs`).
    #[cfg(feature = "json")]
    pub fn streams(&self) -> bool {
        let open = self.source.is_some() && self.destination.is_some();
        open && self.last_read >= STREAMING && self.owed.is_none() && self.budget.is_none()
    }

    /// Reads what the source has into the buffer, or splices it on in splice mode.
    pub fn fill(&mut self) -> Event {
        if self.splicing() {
            return self.splice_once();
        }
        match self.room() {
            0 => Event::Progress,
            room => {
                let read = self.read_into(room);
                self.took(read)
            }
        }
    }

    /// How many bytes the next read may take: room in the buffer (its bytes moved to its start
    /// when the end is near), within the budget; 0 without a source. A spent budget is no end:
    /// a read of nothing would say 0.
    fn room(&mut self) -> usize {
        if self.buffer.len() - self.end <= self.reserve() {
            self.compact();
        }
        if self.source.is_none() {
            return 0;
        }
        let room = (self.buffer.len() - self.end).saturating_sub(self.reserve());
        self.budget
            .map_or(room, |budget| budget.min(room as u64) as usize)
    }

    /// What a read that took `read` bytes from the source means.
    fn took(&mut self, read: io::Result<usize>) -> Event {
        match read {
            Ok(0) => Event::SourceEnded,
            Ok(count) => {
                self.last_read = count;
                self.consume(count);
                self.note_transfer(count);
                Event::Progress
            }
            Err(error) if retry(&error) => Event::Progress,
            Err(_) => Event::SourceEnded,
        }
    }

    /// Reads at most `room` bytes from the source into the buffer.
    fn read_into(&mut self, room: usize) -> io::Result<usize> {
        let Some(source) = &self.source else {
            return Ok(0);
        };
        let count = source.read(&mut self.buffer[self.end..self.end + room])?;
        self.end += count;
        Ok(count)
    }

    /// A transfer of at least [`STREAMING`] bytes says a stream flows: see [`Pump::grow`].
    fn note_transfer(&mut self, count: usize) {
        if count >= STREAMING {
            self.grow();
        }
    }

    /// Grows the pipes at both ends, once, when a stream flows (a large transfer, or a full
    /// destination): it then flows with fewer wake-ups, and a writer that is ahead of its reader
    /// can leave more behind. A few small messages grow nothing.
    fn grow(&mut self) {
        if !self.grown {
            self.grown = true;
            for end in [&self.source, &self.destination].into_iter().flatten() {
                end.grow();
            }
        }
    }

    /// Reads as [`Pump::fill`] does, and shows `seen` the bytes just read (none in splice mode:
    /// those never enter the buffer).
    pub fn fill_seen(&mut self, seen: impl FnOnce(&[u8])) -> Event {
        let before = self.buffered();
        let event = self.fill();
        // A fill may move the buffered bytes to its start, but only appends to them.
        let read = self.buffered() - before;
        seen(&self.buffer[self.end - read..self.end]);
        event
    }

    fn consume(&mut self, count: usize) {
        for limit in [&mut self.owed, &mut self.budget].into_iter().flatten() {
            *limit = limit.saturating_sub(count as u64);
        }
    }

    /// Moves what the source pipe holds into the destination pipe without copying it through
    /// agentpipe, and without blocking. While bytes keep streaming it splices again (a few
    /// times, to stay responsive) instead of polling first.
    fn splice_once(&mut self) -> Event {
        for round in 0..SPLICE_ROUNDS {
            let (Some(source), Some(destination)) = (&self.source, &self.destination) else {
                break;
            };
            let length = self
                .budget
                .map_or(SPLICE_MAX, |budget| budget.min(SPLICE_MAX as u64) as usize);
            if length == 0 {
                break;
            }
            let length = match self
                .tap
                .as_mut()
                .map(|tap| tap.before_splice(source.fd(), length))
            {
                Some(Ok(length)) => length,
                None => length,
                Some(Err(Refused)) => {
                    self.splice = false; // the trace needs the bytes: they go through the buffer
                    break;
                }
            };
            let result = platform::splice(source.fd(), destination.fd(), length);
            if let Some(tap) = &mut self.tap {
                tap.after_splice(*result.as_ref().unwrap_or(&0));
            }
            match result {
                Ok(0) => return Event::SourceEnded,
                Ok(count) => {
                    self.relayed += count as u64;
                    self.consume(count);
                    self.note_transfer(count);
                    if count < STREAMING {
                        // A message, not a stream: poll rather than try again, and copy the next.
                        self.copy = true;
                        break;
                    }
                }
                // Either side may be the one not ready: if the source holds bytes (as poll said
                // before the first round), the destination is full and must report room first.
                Err(Errno::EAGAIN) => {
                    self.room = round > 0 && source.queued() == 0;
                    if !self.room {
                        self.grow();
                    }
                    break;
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EPIPE) => return Event::DestinationClosed,
                // Refused (a tty, an O_APPEND file, a system without splice): this direction
                // copies through the buffer from now on.
                Err(_) => {
                    self.splice = false;
                    break;
                }
            }
        }
        Event::Progress
    }

    /// Writes what the buffer holds to the destination, as much as it takes without blocking;
    /// in splice mode, notes that the destination has room.
    pub fn flush(&mut self) -> Event {
        if self.splicing() {
            self.room = true;
            return Event::Progress;
        }
        while let Some(destination) = &self.destination {
            if self.start == self.end {
                break;
            }
            match destination.write(&self.buffer[self.start..self.end]) {
                Ok(count) => {
                    if let Some(tap) = &mut self.tap {
                        tap.copied(&self.buffer[self.start..self.start + count]);
                    }
                    self.start += count;
                    self.relayed += count as u64;
                    if self.start == self.end {
                        (self.start, self.end) = (0, 0);
                    }
                    if destination.needs_readiness() {
                        break; // a guarded descriptor is written once per readiness report
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.grow();
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Event::DestinationClosed,
            }
        }
        if self.start == self.end {
            self.after_copy();
        }
        Event::Progress
    }

    /// With the buffer empty, a pipe-to-pipe direction splices again if the last read was a
    /// stream's (the buffer is the only place bytes wait, so the order of bytes is kept).
    fn after_copy(&mut self) {
        if self.splice && self.last_read >= STREAMING {
            self.copy = false;
            self.room = true;
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.close_destination();
    }
}

/// Nothing to read now (EAGAIN, which is WouldBlock), or a signal came first.
fn retry(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
