//! The writer that never blocks, on the threaded front end (Windows), with the same methods as
//! the descriptor outlet of `outlet.rs`: agentpipe's own stderr (the `-v` timeline, warnings,
//! a trace to `-`, the report to `-`) and a trace's file.
//!
//! Windows has no write that returns at once on a pipe or a console nobody reads, so a thread
//! of the outlet's own does the blocking writes: records wait in a bounded queue that the thread
//! empties, each time writing whatever queued meanwhile in one go; a record that does not fit is
//! dropped and counted, never waited for. The caller (the relay, the driver) never waits for the
//! destination, except at exit, and then within a bound (see [`Outlet::drain`]).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Bytes agentpipe's stderr holds back while its reader is slow: a few thousand lines.
const STDERR_QUEUE: usize = 256 * 1024;

/// At exit, how long a destination that takes nothing is waited for, and how long one that still
/// takes bytes (as on Unix).
const EXIT_STALL: Duration = Duration::from_millis(100);
const EXIT_LIMIT: Duration = Duration::from_secs(1);

/// See the module documentation.
pub(crate) struct Outlet {
    shared: Arc<Shared>,
    /// The destination, until the writing thread takes it at the first record.
    writer: Option<Box<dyn Write + Send>>,
    capacity: usize,
    /// Records refused for want of room, or after the destination failed.
    dropped: u64,
    /// The last byte relayed to the same console left a line open: the next record starts on a
    /// line of its own.
    line_open: bool,
}

impl std::fmt::Debug for Outlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outlet")
            .field("capacity", &self.capacity)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Told when records are queued, when a write returns, when the outlet is dropped.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    queue: Vec<u8>,
    /// Bytes the thread is writing now.
    writing: usize,
    /// How the destination failed (its OS error code, 0 when it had none): nothing more is
    /// written.
    failed: Option<i32>,
    /// The outlet was dropped: the thread writes what waits, then ends.
    closed: bool,
}

impl State {
    fn pending(&self) -> usize {
        self.queue.len() + self.writing
    }
}

impl Outlet {
    /// An outlet over `destination`, holding back at most about `capacity` bytes. `_private`
    /// (agentpipe opened the file itself) changes nothing here: every destination is written by
    /// the thread.
    pub fn new(
        destination: impl Write + Send + 'static,
        capacity: usize,
        _private: bool,
    ) -> Outlet {
        Outlet {
            shared: Arc::default(),
            writer: Some(Box::new(destination)),
            capacity,
            dropped: 0,
            line_open: false,
        }
    }

    /// Written behind, as a trace's file is on Unix: here every outlet is, since the thread
    /// writes in one go whatever queued while it wrote.
    pub fn behind(self) -> Outlet {
        self
    }

    /// Whether the relay's last byte to this same console left a line open.
    pub fn line_open(&mut self, open: bool) {
        self.line_open = open;
    }

    /// Whether a record of `length` bytes would be taken now.
    pub fn has_room(&self, length: usize) -> bool {
        let state = self.state();
        room(&state, self.capacity, length)
    }

    /// Takes `record` whole, or drops it whole (counted) when the queue has no room for it.
    /// Returns whether it was taken.
    pub fn push(&mut self, record: &[u8]) -> bool {
        let open = std::mem::take(&mut self.line_open);
        let length = record.len() + usize::from(open);
        let taken = {
            let mut state = self.state();
            let taken = room(&state, self.capacity, length);
            if taken {
                if open {
                    state.queue.push(b'\n');
                }
                state.queue.extend_from_slice(record);
            }
            taken
        };
        if !taken {
            self.dropped += 1;
            return false;
        }
        self.shared.changed.notify_all();
        if let Some(writer) = self.writer.take() {
            self.start(writer);
        }
        true
    }

    /// How many records were dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// At exit: waits for what waits to be written, while the destination takes bytes, but
    /// never long (see [`EXIT_STALL`]); what is left then is lost.
    pub fn drain(&mut self) {
        let started = Instant::now();
        let mut progress = Instant::now();
        let mut state = self.state();
        let mut before = state.pending();
        while state.pending() > 0 && state.failed.is_none() {
            let now = Instant::now();
            let until = (progress + EXIT_STALL).min(started + EXIT_LIMIT);
            if now >= until {
                return;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if state.pending() < before {
                before = state.pending();
                progress = Instant::now();
            }
        }
    }

    /// At exit: writes `record` whole and drains (see [`Outlet::drain`]); fails when the
    /// destination failed, or did not take all of it within the bound.
    pub fn write_at_exit(&mut self, record: &[u8]) -> std::io::Result<()> {
        let taken = self.push(record);
        self.drain();
        let state = self.state();
        match state.failed {
            Some(0) => Err(std::io::Error::other("the destination failed")),
            Some(code) => Err(std::io::Error::from_raw_os_error(code)),
            None if taken && state.pending() == 0 => Ok(()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "nothing read it within a second",
            )),
        }
    }

    /// The OS error code of the destination's failure, once it failed (0 when it had none).
    pub fn os_error(&self) -> Option<i32> {
        self.state().failed
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the thread that writes to `writer`. Without a thread (none could be made), the
    /// destination counts as failed: records are dropped, never written by the caller.
    fn start(&self, mut writer: Box<dyn Write + Send>) {
        let shared = Arc::clone(&self.shared);
        let started = thread::Builder::new()
            .name("agentpipe outlet".into())
            .spawn(move || shared.write_all(&mut *writer));
        if started.is_err() {
            let mut state = self.state();
            state.failed = Some(0);
            state.queue = Vec::new();
        }
    }
}

impl Shared {
    /// The thread's loop: what waits, written in one go, until the outlet is dropped and
    /// nothing waits, or the destination fails.
    fn write_all(&self, writer: &mut dyn Write) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            while state.queue.is_empty() && !state.closed {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.queue.is_empty() {
                return;
            }
            let batch = std::mem::take(&mut state.queue);
            state.writing = batch.len();
            drop(state);
            let written = writer.write_all(&batch).and_then(|()| writer.flush());
            state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.writing = 0;
            if let Err(error) = written {
                state.failed = Some(error.raw_os_error().unwrap_or(0));
                state.queue = Vec::new();
                self.changed.notify_all();
                return;
            }
            self.changed.notify_all();
        }
    }
}

impl Drop for Outlet {
    /// The thread writes what waits, then ends (and closes the destination).
    fn drop(&mut self) {
        self.state().closed = true;
        self.shared.changed.notify_all();
    }
}

/// Whether a record of `length` bytes fits: an empty queue takes a record of any size, so that
/// none is ever cut; memory stays bounded by the largest record.
fn room(state: &State, capacity: usize, length: usize) -> bool {
    state.failed.is_none() && (state.pending() == 0 || state.pending() + length <= capacity)
}

/// agentpipe's own stderr (not the child's), for the whole process: one outlet that the
/// timeline, the warnings, a trace and a report to `-` share, so that their lines keep their
/// order.
pub(crate) fn own_stderr() -> MutexGuard<'static, Outlet> {
    static STDERR: OnceLock<Mutex<Outlet>> = OnceLock::new();
    let outlet =
        STDERR.get_or_init(|| Mutex::new(Outlet::new(std::io::stderr(), STDERR_QUEUE, false)));
    outlet.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
