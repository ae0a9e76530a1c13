//! A pump that watches the frames of a protocol (`--protocol`). Between two pipes it reads
//! nothing out of the source: tee(2) duplicates what the source holds into a pipe of its own,
//! the watch reads that copy, and when every byte of it is to be relayed as it is (the common
//! case: frames, nothing held back), splice(2) moves those bytes on. Only when the watch changes
//! the stream (a stray line set aside, a header or an answer held) are they read and copied
//! through the buffer, as they always are elsewhere (a file, a terminal, a system without tee).

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;

use super::{BUFFER_SIZE, Endpoint, Event, Pump, SPLICE_ROUNDS, STREAMING};
use crate::platform;
use crate::protocol::{Frame, RESERVE, Watch};
use crate::trace::{read_teed, side_pipe};

/// A watch and the buffer it reads from before it hands on the bytes to relay.
#[derive(Debug)]
pub(super) struct Watched {
    watch: Watch,
    scratch: Box<[u8]>,
    /// The pipe tee(2) duplicates the source into (read end, write end), made at the first tee.
    side: Option<(OwnedFd, OwnedFd)>,
}

impl Pump {
    /// Watches the frames of a protocol as they pass; the frames replace the trace's chunks.
    pub fn set_watch(&mut self, watch: Watch) {
        self.tap = None;
        self.watched = Some(Box::new(Watched {
            watch,
            scratch: vec![0; BUFFER_SIZE - RESERVE].into_boxed_slice(),
            side: None,
        }));
    }

    pub fn watch(&mut self) -> Option<&mut Watch> {
        self.watched.as_mut().map(|watched| &mut watched.watch)
    }

    /// Queues `bytes` of agentpipe's own after what is buffered; says whether they fit.
    pub fn inject(&mut self, bytes: &[u8]) -> bool {
        self.compact();
        let fits = self.destination.is_some() && self.buffer.len() - self.end >= bytes.len();
        if fits {
            self.buffer[self.end..self.end + bytes.len()].copy_from_slice(bytes);
            self.end += bytes.len();
        }
        fits
    }

    /// Reads as [`Pump::fill`] does, through the watch, which hands `frame` each frame that
    /// ended. A message is read (two calls cost less than three, see STREAMING); a stream is
    /// teed, a few times while it keeps coming, as [`Pump::fill`] splices it. Bytes in the buffer
    /// go first: the source is teed only when it is empty.
    pub fn fill_watched(&mut self, mut frame: impl FnMut(&Frame<'_>)) -> Event {
        for round in 1..=SPLICE_ROUNDS {
            let room = self.room().min(BUFFER_SIZE - RESERVE);
            if room == 0 || !self.splice || self.buffered() > 0 || self.last_read < STREAMING {
                break;
            }
            match self.tee_watched(room, &mut frame) {
                Ok(Some(count)) => {
                    let event = self.took(Ok(count));
                    if round == SPLICE_ROUNDS || count < STREAMING || self.buffered() > 0 {
                        return event;
                    }
                }
                Ok(None) => break,
                Err(_) if round > 1 => return Event::Progress,
                Err(error) => return self.took(Err(error)),
            }
        }
        match self.room().min(BUFFER_SIZE - RESERVE) {
            0 => Event::Progress,
            room => {
                let read = self.read_watched(room, frame);
                self.took(read)
            }
        }
    }

    /// Reads at most `room` bytes into the watch, which puts in the buffer those to relay; at
    /// the source's end, what it held back.
    fn read_watched(&mut self, room: usize, frame: impl FnMut(&Frame<'_>)) -> io::Result<usize> {
        let (Some(source), Some(watched)) = (&self.source, &mut self.watched) else {
            return Ok(0);
        };
        let count = source.read(&mut watched.scratch[..room])?;
        let mut out = append_to(&mut self.buffer, &mut self.end);
        let bytes = &watched.scratch[..count];
        if count == 0 {
            watched.watch.finish(out);
        } else if watched.watch.feed(bytes, &mut out, frame) {
            out(bytes);
        }
        Ok(count)
    }

    /// Shows the watch up to `room` bytes the source holds, duplicated by tee(2), and splices
    /// them on if they are to be relayed as they are; else takes them out of the source, the
    /// watch having put in the buffer what to relay. Returns how many bytes the source gave;
    /// `None` where a read must do it (the source's end, a refused tee).
    fn tee_watched(
        &mut self,
        room: usize,
        frame: impl FnMut(&Frame<'_>),
    ) -> io::Result<Option<usize>> {
        let (Some(source), Some(watched)) = (&self.source, &mut self.watched) else {
            return Ok(None);
        };
        if watched.side.is_none() {
            watched.side = side_pipe().ok();
        }
        let Some((side_read, side_write)) = &watched.side else {
            self.splice = false;
            return Ok(None);
        };
        let teed = match platform::tee(source.fd(), side_write.as_fd(), room) {
            Ok(0) => return Ok(None),
            Ok(count) => count,
            Err(Errno::EAGAIN) => return Err(io::ErrorKind::WouldBlock.into()),
            Err(Errno::EINTR) => return Err(io::ErrorKind::Interrupted.into()),
            Err(_) => {
                self.splice = false;
                return Ok(None);
            }
        };
        if read_teed(side_read.as_fd(), &mut watched.scratch[..teed]) != teed {
            // The copy cannot be read back: drop the pipe with it, and read from now on.
            (watched.side, self.splice) = (None, false);
            return Ok(None);
        }
        let out = append_to(&mut self.buffer, &mut self.end);
        if watched.watch.feed(&watched.scratch[..teed], out, frame) {
            let moved = self.splice_seen(teed);
            self.relayed += moved as u64;
            // What the destination had no room for waits in the buffer, as if copied.
            let rest = &mut self.buffer[self.end..self.end + teed - moved];
            self.end += take(self.source.as_ref(), rest);
        } else {
            take(self.source.as_ref(), &mut watched.scratch[..teed]);
        }
        Ok(Some(teed))
    }

    /// Splices up to `length` bytes the watch saw from the source to the destination, as many
    /// as the destination takes now; returns how many.
    fn splice_seen(&mut self, length: usize) -> usize {
        let mut moved = 0;
        while let (Some(source), Some(destination)) = (&self.source, &self.destination) {
            if moved == length {
                break;
            }
            match platform::splice(source.fd(), destination.fd(), length - moved) {
                Ok(0) => break,
                Ok(count) => moved += count,
                Err(Errno::EINTR) => {}
                // Full, or gone (the write of what is left says so): the rest is copied.
                Err(Errno::EAGAIN | Errno::EPIPE) => break,
                Err(_) => {
                    self.splice = false;
                    break;
                }
            }
        }
        moved
    }
}

/// Reads from `source` exactly what `buffer` holds, bytes a tee showed are there; returns how
/// many it read.
fn take(source: Option<&Endpoint>, buffer: &mut [u8]) -> usize {
    source.map_or(0, |source| read_teed(source.fd(), buffer))
}

/// What the watch hands on, put after the bytes `buffer` holds up to `end`.
fn append_to<'b>(buffer: &'b mut [u8], end: &'b mut usize) -> impl FnMut(&[u8]) + 'b {
    |bytes: &[u8]| {
        buffer[*end..*end + bytes.len()].copy_from_slice(bytes);
        *end += bytes.len();
    }
}
