//! One direction of the relay as a thread: reads its source and writes its sink, blocking on
//! both, which is the backpressure (a sink that does not take more stops the reading), and tells
//! the driver what it saw.

use std::io::{self, Read, Write};
use std::os::windows::io::RawHandle;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread;

use super::{Event, lock};
use crate::direction::Direction;
use crate::outcome::Bytes;
use crate::platform;
use crate::trace::Recorder;

/// Which way a pump moves bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Way {
    /// To the child's stdin.
    ToChild,
    /// From the child's stdout.
    FromChild,
    /// From the child's stderr.
    Stderr,
}

impl Way {
    /// The direction a trace records this way's bytes as (the child's stderr is not traced, as
    /// on Unix).
    fn traced(self) -> Option<Direction> {
        match self {
            Way::ToChild => Some(Direction::ToChild),
            Way::FromChild => Some(Direction::FromChild),
            Way::Stderr => None,
        }
    }
}

/// A sink whose pending write can be cancelled from another thread.
pub(crate) struct Sink {
    pub writer: Box<dyn Write + Send>,
    /// The handle its writes block on, for `CancelIoEx`; `None` for a sink that never blocks
    /// for long (an in-process handoff).
    pub handle: Option<RawHandle>,
    /// The trace this way's bytes are recorded in (`--trace`).
    pub trace: Option<Recorder>,
}

// SAFETY: the raw handle is only passed to CancelIoEx while the writer that owns it is alive.
unsafe impl Send for Sink {}

struct Shared {
    sink: Mutex<Option<Box<dyn Write + Send>>>,
    /// The trace, with the direction it records this way as.
    trace: Option<(Recorder, Direction)>,
    /// Set when the sink is to be closed: the thread drops it instead of writing to it.
    closing: AtomicBool,
    relayed: AtomicU64,
    discarded: AtomicU64,
    /// A `Moved` was sent that the driver has not taken yet: the next ones would say nothing
    /// more (and would pile up in the library stream, whose driver starts only at its close).
    told: AtomicBool,
}

/// A running direction.
pub(crate) struct Pump {
    shared: Arc<Shared>,
    handle: Option<RawHandle>,
}

// SAFETY: as for `Sink`.
unsafe impl Send for Pump {}

impl Pump {
    /// Starts copying `source` to `sink` on a thread of its own, telling `events` of each chunk
    /// moved, of the sink failing and of the source's end.
    pub fn start(
        way: Way,
        mut source: Box<dyn Read + Send>,
        sink: Sink,
        events: Sender<Event>,
    ) -> io::Result<Pump> {
        let shared = Arc::new(Shared {
            sink: Mutex::new(Some(sink.writer)),
            trace: sink.trace.zip(way.traced()),
            closing: AtomicBool::new(false),
            relayed: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            told: AtomicBool::new(false),
        });
        let theirs = Arc::clone(&shared);
        thread::Builder::new()
            .name(format!("agentpipe {way:?}"))
            .spawn(move || {
                let mut buffer = vec![0; 64 * 1024];
                loop {
                    let count = match source.read(&mut buffer) {
                        Ok(0) => break,
                        Ok(count) => count,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    if theirs.deliver(&buffer[..count]) {
                        if !theirs.told.swap(true, Ordering::SeqCst) {
                            let _ = events.send(Event::Moved(way));
                        }
                    } else if theirs.sink_lost() {
                        let _ = events.send(Event::SinkGone(way));
                    }
                }
                // Told before it is passed on (the child's stdin closed, the caller's reads
                // ended), so that the driver learns of it before the child's exit it causes.
                let _ = events.send(Event::SourceEnded(way));
                drop(lock(&theirs.sink).take());
            })?;
        Ok(Pump {
            shared,
            handle: sink.handle,
        })
    }

    /// Closes the sink (the child's stdin): at once when no write is pending, else as soon as
    /// the pending one returns, which it is made to do. What the source gives later is counted
    /// as discarded.
    pub fn close_sink(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        match self.shared.sink.try_lock() {
            Ok(mut sink) => drop(sink.take()),
            Err(_) => {
                if let Some(handle) = self.handle {
                    platform::cancel_io(handle);
                }
            }
        }
    }

    /// Whether the sink is closed (or was lost).
    pub fn sink_closed(&self) -> bool {
        match self.shared.sink.try_lock() {
            Ok(mut sink) => {
                if self.shared.closing.load(Ordering::SeqCst) {
                    drop(sink.take());
                }
                sink.is_none()
            }
            Err(_) => false,
        }
    }

    /// Asks again for the pending write to return, for a close that raced with its start.
    pub fn retry_close(&self) {
        if !self.sink_closed() {
            self.close_sink();
        }
    }

    /// The driver took this way's `Moved`: the next chunk moved is told again.
    pub fn moved_seen(&self) {
        self.shared.told.store(false, Ordering::SeqCst);
    }

    pub fn bytes(&self) -> Bytes {
        Bytes {
            relayed: self.shared.relayed.load(Ordering::SeqCst),
            discarded: self.shared.discarded.load(Ordering::SeqCst),
        }
    }
}

impl Shared {
    /// Writes `bytes` to the sink; `false` when they were discarded (the sink is closed, or the
    /// write failed).
    fn deliver(&self, bytes: &[u8]) -> bool {
        let mut sink = lock(&self.sink);
        let written = match sink.as_mut() {
            Some(_) if self.closing.load(Ordering::SeqCst) => {
                *sink = None;
                false
            }
            Some(writer) => {
                // Recorded as handed to the destination, before the write returns: a request is
                // then traced before the answer it causes (decision (cg)).
                if let Some((recorder, direction)) = &self.trace {
                    recorder.data(*direction, bytes);
                }
                let ok = writer
                    .write_all(bytes)
                    .and_then(|()| writer.flush())
                    .is_ok();
                if !ok {
                    *sink = None;
                }
                ok
            }
            None => false,
        };
        let counter = if written {
            &self.relayed
        } else {
            &self.discarded
        };
        counter.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        written
    }

    /// Whether the sink was lost by a failed write, rather than closed on purpose; told once.
    fn sink_lost(&self) -> bool {
        !self.closing.swap(true, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A source of `left` chunks of 10 bytes, one per read.
    struct Chunks {
        left: usize,
    }

    impl Read for Chunks {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Ok(0);
            }
            self.left -= 1;
            buffer[..10].fill(b'x');
            Ok(10)
        }
    }

    #[test]
    fn moves_nobody_took_do_not_pile_up_and_one_taken_is_told_again() {
        let (events, received) = mpsc::channel();
        let sink = Sink {
            writer: Box::new(io::sink()),
            handle: None,
            trace: None,
        };
        let source = Box::new(Chunks { left: 10_000 });
        let pump = Pump::start(Way::FromChild, source, sink, events.clone()).unwrap();
        let mut moved = 0;
        loop {
            match received
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap()
            {
                Event::Moved(_) => moved += 1,
                Event::SourceEnded(_) => break,
                other => panic!("{other:?}"),
            }
        }
        // Nobody took the first: the 9 999 after it said nothing more.
        assert_eq!(moved, 1);
        assert_eq!(pump.bytes().relayed, 100_000);

        // Once taken, the next move is told again: a source that gives a chunk when let.
        struct Gated(mpsc::Receiver<()>);
        impl Read for Gated {
            fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
                Ok(self.0.recv().map_or(0, |()| {
                    buffer[0] = b'x';
                    1
                }))
            }
        }
        let sink = Sink {
            writer: Box::new(io::sink()),
            handle: None,
            trace: None,
        };
        let (events, received) = mpsc::channel();
        let (let_one, gate) = mpsc::channel();
        let pump = Pump::start(Way::ToChild, Box::new(Gated(gate)), sink, events).unwrap();
        let next = || {
            received
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap()
        };
        let_one.send(()).unwrap();
        assert!(matches!(next(), Event::Moved(Way::ToChild)));
        pump.moved_seen();
        let_one.send(()).unwrap();
        assert!(matches!(next(), Event::Moved(Way::ToChild)));
        drop(let_one);
        assert!(matches!(next(), Event::SourceEnded(Way::ToChild)));
    }
}
