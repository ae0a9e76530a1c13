//! The trace: every chunk relayed each way, with the time since start, its direction and its
//! length, interleaved with every event the `-v` timeline tells ([`Note`]), written to a file,
//! to stderr or to a descriptor a program gives ([`Trace`]).
//!
//! The trace never slows the relay down nor stops it: its records go through an [`Outlet`],
//! which never blocks; when the destination falls behind, the bytes relayed meanwhile are
//! counted as skipped, per direction, and said in one record once the destination catches up.
//! On the relay's zero-copy path the bytes reach the trace by tee(2) (see [`Tap`]).

mod format;
#[cfg(feature = "json")]
mod message;
#[cfg(agentpipe_poll)]
mod tap;

use std::fs::File;
use std::io;
#[cfg(agentpipe_poll)]
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::machine::note::Note;
use crate::outlet::{Outlet, own_stderr};
use format::Record;
pub(crate) use format::line;
#[cfg(feature = "json")]
pub(crate) use message::Spoken;
#[cfg(agentpipe_poll)]
pub(crate) use tap::{Refused, Tap, read_teed, side_pipe};

/// The trace's size limit unless one is given: 64 MiB.
pub const DEFAULT_LIMIT: u64 = 64 << 20;

/// Bytes of records a trace holds back while its destination is slow.
const QUEUE: usize = 4 << 20;

/// Room kept below the limit for the record that says the trace stopped.
const STOP_RESERVE: u64 = 256;

/// How a trace is written: see "Seeing what an agent said" in the README.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceFormat {
    /// One header line per event, as the `-v` timeline writes it; below a chunk's header, its
    /// bytes as text, indented, with control characters and invalid UTF-8 escaped.
    #[default]
    Text,
    /// As `Text`, with each chunk's bytes as a hex dump.
    Hex,
    /// One JSON object per event, on one line (feature `json`, part of the default `cli`).
    #[cfg(feature = "json")]
    JsonLines,
}

/// Where and how a [`Stream`](crate::Stream) records what passes to and from its child, and what
/// happens to it: see [`StreamOptions::trace`](crate::StreamOptions::trace).
///
/// ```
/// use agentpipe::{Trace, TraceFormat};
///
/// let dir = std::env::temp_dir().join(format!("agentpipe-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let trace = Trace::create(dir.join("agent.trace"))?
///     .format(TraceFormat::Hex)
///     .limit(1 << 20);
/// # drop(trace);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Trace {
    sink: Sink,
    format: TraceFormat,
    limit: u64,
}

/// Where a trace's records go, before they are recorded.
#[derive(Debug)]
enum Sink {
    /// agentpipe's own stderr, shared with the timeline.
    OwnStderr,
    /// A file, a pipe, a socket...; `private` when agentpipe opened it itself (non-blocking, on
    /// Unix).
    File { file: File, private: bool },
}

impl Trace {
    /// A trace written to the file at `path`, created with mode 0600 (it holds whatever the
    /// protocol carries) or truncated, its mode then narrowed to 0600.
    ///
    /// A FIFO is opened without waiting: it fails if no process reads it. In a directory other
    /// users can write to with its sticky bit set (/tmp), a symbolic link or a file another user
    /// owns is refused ([`io::ErrorKind::PermissionDenied`]): it may have been planted there.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Trace> {
        let file = crate::private::open(path.as_ref())?;
        Ok(Trace::with(Sink::File {
            file,
            private: true,
        }))
    }

    /// A trace written to `fd`: a file, a pipe, a socket, a terminal. It is written without
    /// blocking and without changing its flags.
    #[cfg(agentpipe_poll)]
    pub fn to_fd(fd: impl Into<OwnedFd>) -> Trace {
        Trace::with(Sink::File {
            file: File::from(fd.into()),
            private: false,
        })
    }

    /// A trace written to agentpipe's own stderr, in order with its messages.
    pub(crate) fn own_stderr() -> Trace {
        Trace::with(Sink::OwnStderr)
    }

    fn with(sink: Sink) -> Trace {
        Trace {
            sink,
            format: TraceFormat::default(),
            limit: DEFAULT_LIMIT,
        }
    }

    /// How the trace is written (default: text).
    pub fn format(mut self, format: TraceFormat) -> Trace {
        self.format = format;
        self
    }

    /// The most bytes the trace may take (default: 64 MiB); the last record then says it
    /// stopped.
    pub fn limit(mut self, bytes: u64) -> Trace {
        self.limit = bytes;
        self
    }
}

pub(crate) use crate::direction::Direction;

/// A trace being recorded: cheap to clone, shared by both directions of the relay and the
/// timeline, and (in the library) by the threads that read and write.
#[derive(Clone, Debug)]
pub(crate) struct Recorder(Arc<Mutex<Book>>);

#[derive(Debug)]
struct Book {
    start: Instant,
    format: TraceFormat,
    outlet: Writer,
    limit: u64,
    /// Bytes of records taken so far.
    written: u64,
    stopped: bool,
    /// Bytes relayed and not recorded, per direction, and events not recorded, since the last
    /// record taken.
    skipped: [u64; 2],
    /// Some of those were skipped because no pipe could be made to copy them (EMFILE), not
    /// because the destination was slow.
    untapped: [bool; 2],
    lost: u64,
    /// The record being rendered (kept for its memory).
    record: Vec<u8>,
}

/// The outlet a recorder writes its records to.
#[derive(Debug)]
enum Writer {
    /// agentpipe's own stderr outlet, shared with the timeline.
    OwnStderr,
    /// One of its own.
    Own(Outlet),
}

impl Recorder {
    /// Starts recording `trace`, with times counted from `start` (agentpipe's, the timeline's).
    pub fn new(trace: Trace, start: Instant, wall: SystemTime) -> Recorder {
        let outlet = match trace.sink {
            Sink::OwnStderr => Writer::OwnStderr,
            Sink::File { file, private } => Writer::Own(Outlet::new(file, QUEUE, private).behind()),
        };
        let recorder = Recorder(Arc::new(Mutex::new(Book {
            start,
            format: trace.format,
            outlet,
            limit: trace.limit,
            written: 0,
            stopped: false,
            skipped: [0; 2],
            untapped: [false; 2],
            lost: 0,
            record: Vec::new(),
        })));
        recorder.book().record(start, &Record::Begin(wall));
        recorder
    }

    /// Whether the text records of the trace are the timeline's own lines on the timeline's
    /// own stderr: each note is then written once, by the trace.
    pub fn replaces_timeline(&self) -> bool {
        let book = self.book();
        matches!(book.outlet, Writer::OwnStderr)
            && matches!(book.format, TraceFormat::Text | TraceFormat::Hex)
    }

    /// Records `note`; returns whether it was recorded.
    pub fn note(&self, at: Instant, note: &Note) -> bool {
        self.book().record(at, &Record::Note(note))
    }

    /// Records bytes relayed toward `direction`, or counts them as skipped.
    pub fn data(&self, direction: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut book = self.book();
        let recorded = book.outlet().has_room(bytes.len())
            && book.record(Instant::now(), &Record::Data(direction, bytes));
        if !recorded && !book.stopped {
            book.skipped[direction.index()] += bytes.len() as u64;
        }
    }

    #[cfg(feature = "json")]
    /// Records a message of a protocol that went toward `direction`, or counts its bytes as
    /// skipped.
    pub fn message(&self, direction: Direction, message: &Spoken<'_>) {
        let mut book = self.book();
        let recorded = book.outlet().has_room(message.body.len())
            && book.record(Instant::now(), &Record::Message(direction, *message));
        if !recorded && !book.stopped {
            book.skipped[direction.index()] += message.len;
        }
    }

    /// Counts bytes relayed toward `direction` as skipped without looking at them; `untapped`
    /// when that is because no pipe could be made to copy them.
    #[cfg(agentpipe_poll)]
    pub fn skip(&self, direction: Direction, count: usize, untapped: bool) {
        let mut book = self.book();
        if !book.stopped {
            book.skipped[direction.index()] += count as u64;
            book.untapped[direction.index()] |= untapped && count > 0;
        }
    }

    /// Whether a chunk of `length` bytes would be recorded now: a tap that gets `false` need
    /// not copy the bytes, only [`Recorder::skip`] them (or nothing, once the trace stopped).
    #[cfg(agentpipe_poll)]
    pub fn accepts(&self, length: usize) -> Accepts {
        let mut book = self.book();
        match () {
            _ if book.stopped => Accepts::Nothing,
            _ if book.outlet().has_room(length) => Accepts::Data,
            _ => Accepts::Count,
        }
    }

    /// Writes what waits, as far as the destination takes it without waiting.
    #[cfg(agentpipe_poll)]
    pub fn flush(&self) {
        self.book().outlet().flush();
    }

    /// The descriptor to wait for while records wait for it (not agentpipe's stderr, which the
    /// timeline waits for).
    #[cfg(agentpipe_poll)]
    pub fn waiting(&self) -> Option<Arc<OwnedFd>> {
        match &self.book().outlet {
            Writer::Own(outlet) => outlet.waiting(),
            Writer::OwnStderr => None,
        }
    }

    /// When records written behind are due (see [`Recorder::flush`]).
    #[cfg(agentpipe_poll)]
    pub fn due(&self) -> Option<Instant> {
        match &self.book().outlet {
            Writer::Own(outlet) => outlet.due(),
            Writer::OwnStderr => None,
        }
    }

    /// At the end: records what was skipped since the last record, then writes what waits,
    /// waiting a little for a destination that still takes bytes. Returns how the destination
    /// failed (its OS error code), if it did: the trace stopped there.
    pub fn finish(&self) -> Option<i32> {
        let mut book = self.book();
        book.record_skipped(Instant::now());
        let mut outlet = book.outlet();
        outlet.drain();
        outlet.os_error()
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a trace takes now: see [`Recorder::accepts`].
#[cfg(agentpipe_poll)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accepts {
    Data,
    Count,
    /// Counted, since the tap could not make its pipe (set by the tap, never by the trace).
    Untapped,
    Nothing,
}

impl Book {
    fn outlet(&mut self) -> OutletGuard<'_> {
        match &mut self.outlet {
            Writer::OwnStderr => OutletGuard::Stderr(own_stderr()),
            Writer::Own(outlet) => OutletGuard::Own(outlet),
        }
    }

    /// Records `event`, after saying what was skipped if anything was; returns whether it was
    /// recorded. At the limit, the trace stops with a record that says so.
    fn record(&mut self, at: Instant, event: &Record<'_>) -> bool {
        if self.stopped || !self.record_skipped(at) {
            self.lost += u64::from(matches!(event, Record::Note(_)));
            return false;
        }
        self.take(at, event)
    }

    /// Records what was skipped since the last record; returns whether the trace is caught up.
    fn record_skipped(&mut self, at: Instant) -> bool {
        for direction in [Direction::ToChild, Direction::FromChild] {
            let count = self.skipped[direction.index()];
            let untapped = self.untapped[direction.index()];
            if count > 0 {
                if !self.take(at, &Record::Skipped(direction, count, untapped)) {
                    return false;
                }
                self.skipped[direction.index()] = 0;
                self.untapped[direction.index()] = false;
            }
        }
        if self.lost > 0 {
            if !self.take(at, &Record::Lost(self.lost)) {
                return false;
            }
            self.lost = 0;
        }
        true
    }

    /// Renders `event` and hands it to the outlet; stops the trace instead when it would pass
    /// the limit.
    fn take(&mut self, at: Instant, event: &Record<'_>) -> bool {
        if self.stopped {
            return false;
        }
        let since = at.saturating_duration_since(self.start);
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        format::render(self.format, since, event, &mut record);
        let length = record.len() as u64;
        let taken = if self.written + length + STOP_RESERVE > self.limit {
            self.stop(since);
            false
        } else if self.outlet().push(&record) {
            self.written += length;
            true
        } else {
            false
        };
        self.record = record;
        taken
    }

    fn stop(&mut self, since: Duration) {
        self.stopped = true;
        let mut record = Vec::new();
        format::render(
            self.format,
            since,
            &Record::Stopped(self.limit),
            &mut record,
        );
        if self.outlet().push(&record) {
            self.written += record.len() as u64;
        }
    }
}

/// The outlet a book writes to: its own, or agentpipe's stderr, locked.
enum OutletGuard<'a> {
    Stderr(MutexGuard<'static, Outlet>),
    Own(&'a mut Outlet),
}

impl std::ops::Deref for OutletGuard<'_> {
    type Target = Outlet;
    fn deref(&self) -> &Outlet {
        match self {
            OutletGuard::Stderr(outlet) => outlet,
            OutletGuard::Own(outlet) => outlet,
        }
    }
}

impl std::ops::DerefMut for OutletGuard<'_> {
    fn deref_mut(&mut self) -> &mut Outlet {
        match self {
            OutletGuard::Stderr(outlet) => outlet,
            OutletGuard::Own(outlet) => outlet,
        }
    }
}
