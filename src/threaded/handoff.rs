//! A one-chunk handoff between a pump and the library caller's reads or writes, which a close
//! from any thread ends at once: a pending read or write then fails with `ConnectionAborted`,
//! whatever the pipe behind the pump is doing.

use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};

use super::lock;

#[derive(Default)]
struct State {
    chunk: Vec<u8>,
    /// How much of `chunk` was taken.
    taken: usize,
    /// The producer is done: the rest is the end of the stream.
    ended: bool,
    /// The caller's side is closed.
    closed: bool,
}

/// Shared by both sides; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Handoff(Arc<(Mutex<State>, Condvar)>);

/// Capacity: one chunk, so that a writer that runs ahead of its reader waits (backpressure).
const CHUNK: usize = 64 * 1024;

impl Handoff {
    /// Closes the caller's side: pending and later reads and writes fail; the pump's writes
    /// fail too (it counts what it could not hand over as discarded).
    pub fn close(&self) {
        lock(&self.0.0).closed = true;
        self.0.1.notify_all();
    }

    /// The producer's end (the child's stdout ended, or the caller closed the child's stdin):
    /// reads return 0 once the last chunk is taken, writes fail.
    pub fn end(&self) {
        lock(&self.0.0).ended = true;
        self.0.1.notify_all();
    }

    fn aborted() -> io::Error {
        io::Error::new(io::ErrorKind::ConnectionAborted, "the stream is closed")
    }

    /// Waits until the last chunk was taken, then hands over up to a chunk of `bytes`.
    pub fn hand(&self, bytes: &[u8]) -> io::Result<usize> {
        let (state, changed) = &*self.0;
        let mut state = lock(state);
        while !state.closed && !state.ended && state.taken < state.chunk.len() {
            state = changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.closed || state.ended {
            return Err(Handoff::aborted());
        }
        let count = bytes.len().min(CHUNK);
        state.chunk.clear();
        state.chunk.extend_from_slice(&bytes[..count]);
        state.taken = 0;
        changed.notify_all();
        Ok(count)
    }

    /// Waits for bytes, and takes as many as fit in `buffer`; 0 at the end.
    pub fn receive(&self, buffer: &mut [u8]) -> io::Result<usize> {
        let (state, changed) = &*self.0;
        let mut state = lock(state);
        while !state.closed && !state.ended && state.taken == state.chunk.len() {
            state = changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.closed {
            return Err(Handoff::aborted());
        }
        let count = buffer.len().min(state.chunk.len() - state.taken);
        let start = state.taken;
        buffer[..count].copy_from_slice(&state.chunk[start..start + count]);
        state.taken += count;
        changed.notify_all();
        Ok(count)
    }
}

/// The pump's side toward the caller: what the child wrote, handed over to `read`.
impl Write for Handoff {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.hand(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The pump's side from the caller: what `write` handed over, for the child's stdin.
impl Read for Handoff {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        // The caller's close_stdin (closed) is the end of this source.
        match self.receive(buffer) {
            Err(error) if error.kind() == io::ErrorKind::ConnectionAborted => Ok(0),
            result => result,
        }
    }
}
