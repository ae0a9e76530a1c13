//! Where a direction of the relay hands its bytes to the trace.
//!
//! Bytes copied through the relay's buffer are handed over as they are written
//! ([`Tap::copied`]). Bytes spliced from pipe to pipe never enter agentpipe: before each splice,
//! tee(2) duplicates them into the tap's own pipe ([`Tap::before_splice`]), and once the splice
//! moved them, the tap reads back as many as were moved, for the trace ([`Tap::after_splice`]).
//! The relay stays zero-copy; only the trace's copy is made. When the trace is behind (its
//! queue full), nothing is duplicated and the bytes moved are only counted as skipped; once it
//! stopped at its limit, the tap costs nothing.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::{Accepts, Direction, Recorder};
use crate::platform;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Tap {
    recorder: Recorder,
    direction: Direction,
    /// The tap's pipe (read end, write end), made at the first tee.
    pipe: Option<(OwnedFd, OwnedFd)>,
    /// What the trace takes of the splice in progress.
    accepts: Accepts,
    /// Bytes the last tee duplicated into the pipe.
    teed: usize,
    buffer: Vec<u8>,
}

/// tee(2) is refused (not Linux, or not two pipes): the relay copies through its buffer, and
/// hands the bytes to [`Tap::copied`].
#[derive(Debug)]
pub(crate) struct Refused;

impl Tap {
    pub fn new(recorder: Recorder, direction: Direction) -> Tap {
        Tap {
            recorder,
            direction,
            pipe: None,
            accepts: Accepts::Nothing,
            teed: 0,
            buffer: Vec::new(),
        }
    }

    /// Before a splice of up to `length` bytes from the pipe `source`: duplicates them for the
    /// trace. Returns how many bytes to splice, which may be fewer (as many as were duplicated).
    pub fn before_splice(
        &mut self,
        source: BorrowedFd<'_>,
        length: usize,
    ) -> Result<usize, Refused> {
        self.teed = 0;
        self.accepts = self.recorder.accepts(length);
        if self.accepts != Accepts::Data {
            return Ok(length);
        }
        let Some((_, write)) = self.pipe().ok() else {
            self.accepts = Accepts::Untapped;
            return Ok(length);
        };
        match platform::tee(source, write.as_fd(), length) {
            Ok(0) => Ok(length), // the source's end: the splice finds it too
            Ok(count) => {
                self.teed = count;
                Ok(count)
            }
            // The source is empty (the tap's pipe is emptied after every splice), or a signal
            // came: what the splice still moves is counted.
            Err(Errno::EAGAIN | Errno::EINTR) => {
                self.accepts = Accepts::Count;
                Ok(length)
            }
            Err(_) => Err(Refused),
        }
    }

    /// After the splice moved `count` bytes (0 when it moved none): records them, and empties
    /// the tap's pipe.
    pub fn after_splice(&mut self, count: usize) {
        match self.accepts {
            _ if count == 0 && self.teed == 0 => {}
            Accepts::Nothing => {}
            Accepts::Count => self.recorder.skip(self.direction, count, false),
            Accepts::Untapped => self.recorder.skip(self.direction, count, true),
            Accepts::Data => {
                let got = self.take_teed();
                let recorded = count.min(got);
                self.recorder.data(self.direction, &self.buffer[..recorded]);
                self.recorder.skip(self.direction, count - recorded, false);
            }
        }
        self.accepts = Accepts::Nothing;
    }

    /// Bytes written by a copying relay.
    pub fn copied(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.recorder.data(self.direction, bytes);
        }
    }

    /// Reads what the last tee duplicated into the buffer; returns how many bytes.
    fn take_teed(&mut self) -> usize {
        let teed = std::mem::take(&mut self.teed);
        let Some((read, _)) = &self.pipe else {
            return 0;
        };
        if self.buffer.len() < teed {
            self.buffer.resize(teed, 0);
        }
        read_teed(read.as_fd(), &mut self.buffer[..teed])
    }

    fn pipe(&mut self) -> io::Result<&(OwnedFd, OwnedFd)> {
        if self.pipe.is_none() {
            let pipe = side_pipe()?;
            platform::grow_pipe(pipe.1.as_fd()); // a splice may move up to a megabyte
            self.pipe = Some(pipe);
        }
        Ok(self.pipe.as_ref().expect("made above"))
    }
}

/// A pipe of agentpipe's own that tee(2) duplicates a source's bytes into, to be read without
/// consuming them from the source: its read end and its write end, both non-blocking.
pub(crate) fn side_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = io::pipe()?;
    let (read, write) = (OwnedFd::from(read), OwnedFd::from(write));
    for end in [&read, &write] {
        crate::platform::set_nonblocking(end.as_fd(), true)?;
    }
    Ok((read, write))
}

/// Reads from a pipe bytes a tee showed it holds (a side pipe it duplicated them into, or the
/// source it duplicated them from), as many as `buffer` holds; returns how many there were.
pub(crate) fn read_teed(pipe: BorrowedFd<'_>, buffer: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buffer.len() {
        match nix::unistd::read(pipe, &mut buffer[got..]) {
            Ok(0) => break,
            Ok(count) => got += count,
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    got
}
