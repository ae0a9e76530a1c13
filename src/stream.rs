//! The stream core: a child process seen as a byte stream, `Read` from its stdout and `Write` to
//! its stdin, whose [`Stream::close`] always leaves the child terminated and reaped.

use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

mod handle;
mod idle;
#[cfg(feature = "json")]
mod messages;
mod options;
mod start;

use crate::config::Config;
use crate::outcome::{Outcome, Trigger};
use crate::process::{ChildPipes, ChildProcess};
use crate::stderr::StderrRelay;
use crate::trace::{Direction, Recorder};

use handle::shared;
pub use handle::{Closer, Stream};
use idle::{Activity, Watchdog};
#[cfg(all(feature = "json", feature = "tokio"))]
pub(crate) use messages::{Messages, moved as watch_moved, with_unanswered};
pub use options::StreamOptions;
pub(crate) use start::{Started, closing_loop};

struct Inner {
    child: Mutex<Option<ChildProcess>>,
    /// The child's stderr, copied by a thread of its own until `close` hands it to the loop.
    stderr: Mutex<StderrRelay>,
    stdin: Slot,
    stdout: Slot,
    /// The first close's result, handed to every later caller: an error is shared, since an
    /// `io::Error` cannot be cloned.
    outcome: Mutex<Option<Result<Outcome, Arc<io::Error>>>>,
    /// Set by [`StreamOptions::trace`].
    trace: Option<Recorder>,
    /// With a protocol ([`StreamOptions::protocol`]): the messages each way.
    #[cfg(feature = "json")]
    messages: Option<Mutex<messages::Messages>>,
    /// When bytes last moved, with an idle timeout ([`StreamOptions::idle_timeout`]).
    activity: Option<Arc<Activity>>,
}

/// One of the child's pipes, used by at most one read or write at a time, and closed from any
/// thread without waiting for that operation to find the pipe ready.
struct Slot {
    /// Held by the pending operation, also while it waits in poll(2).
    fd: Mutex<Option<OwnedFd>>,
    closed: AtomicBool,
    /// Readable once the slot is closed: wakes the pending operation, which then lets go of `fd`.
    wake_read: UnixStream,
    wake_write: UnixStream,
}

impl Stream {
    /// Starts `command` in its own process group with piped stdin and stdout (its stderr is as
    /// `command` says: inherited by default).
    pub fn spawn(command: &mut Command) -> io::Result<Stream> {
        Stream::spawn_with(command, StreamOptions::default())
    }

    /// Starts `command` as [`Stream::spawn`] does, with `options`.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] when the program ignores SIGCHLD: the kernel
    /// would then reap the child by itself, and its pid and group could be reused while the
    /// stream still signals them.
    pub fn spawn_with(command: &mut Command, options: StreamOptions) -> io::Result<Stream> {
        let watchdog = Watchdog {
            idle: options.idle_timeout,
            output_idle: options.output_idle_timeout,
            response: options.response_limit(),
        };
        #[cfg(feature = "json")]
        if watchdog.response.is_some() && options.protocol.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a response timeout needs a protocol (StreamOptions::protocol) to see requests",
            ));
        }
        let started = Started::spawn(command, options)?;
        let activity = watchdog.armed().then(|| Arc::new(Activity::new()));
        let stream = Stream::from_started(started, activity.clone())?;
        if let Some(activity) = activity {
            // On failure (no thread), dropping the stream ends the child.
            watchdog.start(activity, Arc::downgrade(&stream.inner))?;
        }
        Ok(stream)
    }

    fn from_started(started: Started, activity: Option<Arc<Activity>>) -> io::Result<Stream> {
        let Started {
            child,
            stdin,
            stdout,
            stderr,
            trace,
            #[cfg(feature = "json")]
            messages,
        } = started;
        let inner = Inner {
            child: Mutex::new(Some(child)),
            stderr: Mutex::new(stderr),
            stdin: Slot::new(stdin)?,
            stdout: Slot::new(stdout)?,
            outcome: Mutex::new(None),
            trace,
            #[cfg(feature = "json")]
            messages,
            activity,
        };
        Ok(Stream {
            inner: Arc::new(inner),
        })
    }
}

impl Inner {
    fn pid(&self) -> Option<u32> {
        lock(&self.child).as_ref().map(ChildProcess::pid)
    }

    fn close_stdin(&self) {
        self.stdin.take();
    }

    fn read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self
            .stdout
            .io(PollFlags::POLLIN, |fd| nix::unistd::read(fd, buffer))?;
        self.moved(Direction::FromChild, &buffer[..count]);
        Ok(count)
    }

    fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        let count = self
            .stdin
            .io(PollFlags::POLLOUT, |fd| nix::unistd::write(fd, bytes))?;
        self.moved(Direction::ToChild, &bytes[..count]);
        Ok(count)
    }

    fn close(&self, config: &Config) -> io::Result<Outcome> {
        self.close_for(config, Trigger::Close)
    }

    /// Closes the stream, `trigger` starting its sequence (a caller's close, an idle timeout).
    fn close_for(&self, config: &Config, trigger: Trigger) -> io::Result<Outcome> {
        if let Some(activity) = &self.activity {
            activity.end();
        }
        // Whoever takes this lock first runs the sequence: a pending read or write, unblocked
        // only below, cannot let a caller's close overtake the close that unblocked it.
        let mut outcome = lock(&self.outcome);
        if outcome.is_none() {
            // This unblocks pending reads and writes.
            let pipes = ChildPipes {
                stdin: self.stdin.take(),
                stdout: self.stdout.take(),
                stderr: None,
                terminal: None,
            };
            let result = self.supervise(pipes, config, trigger).map_err(Arc::new);
            *outcome = Some(result);
        }
        shared(outcome.as_ref().expect("set above"))
    }

    fn supervise(
        &self,
        pipes: ChildPipes,
        config: &Config,
        trigger: Trigger,
    ) -> io::Result<Outcome> {
        let child = lock(&self.child)
            .take()
            .ok_or_else(|| io::Error::other("the stream is already closed"))?;
        let stderr = std::mem::replace(&mut *lock(&self.stderr), StderrRelay::Untouched);
        let outcome = closing_loop(child, pipes, stderr, self.trace.clone(), config).close(trigger);
        #[cfg(feature = "json")]
        let outcome = outcome.map(|outcome| messages::with_unanswered(outcome, &self.messages));
        outcome
    }

    /// Bytes moved `direction`: they go into the trace, and are activity for the idle timeouts.
    fn moved(&self, direction: Direction, bytes: &[u8]) {
        #[cfg(feature = "json")]
        let awaiting = messages::moved(&self.messages, direction, bytes);
        #[cfg(not(feature = "json"))]
        let awaiting: Option<Option<std::time::Instant>> = None;
        let watched = awaiting.is_some();
        // With a protocol, the trace records messages instead of chunks.
        if let Some(trace) = self.trace.as_ref().filter(|_| !watched) {
            trace.data(direction, bytes);
        }
        if let Some(activity) = self.activity.as_ref().filter(|_| !bytes.is_empty()) {
            activity.moved(direction == Direction::FromChild);
            if let Some(since) = awaiting {
                activity.awaiting(since);
            }
        }
    }
}

impl Slot {
    fn new(fd: Option<OwnedFd>) -> io::Result<Slot> {
        let (wake_read, wake_write) = UnixStream::pair()?;
        wake_write.set_nonblocking(true)?;
        Ok(Slot {
            fd: Mutex::new(fd),
            closed: AtomicBool::new(false),
            wake_read,
            wake_write,
        })
    }

    /// Closes the slot and returns its descriptor, once the pending operation has let go of it.
    fn take(&self) -> Option<OwnedFd> {
        self.closed.store(true, Ordering::SeqCst);
        // The byte is never read: the wake socket stays readable, as the slot stays closed.
        let _ = (&self.wake_write).write(&[1]);
        lock(&self.fd).take()
    }

    /// Runs `operation` on the descriptor until it does not need to wait, waiting in poll(2) for
    /// the descriptor or for the slot to close.
    fn io<T>(
        &self,
        events: PollFlags,
        mut operation: impl FnMut(BorrowedFd<'_>) -> nix::Result<T>,
    ) -> io::Result<T> {
        let fd = lock(&self.fd);
        loop {
            let fd = match &*fd {
                Some(fd) if !self.closed.load(Ordering::SeqCst) => fd,
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the stream is closed",
                    ));
                }
            };
            match operation(fd.as_fd()) {
                Err(Errno::EAGAIN) => self.wait(fd.as_fd(), events)?,
                Err(Errno::EINTR) => continue,
                result => return result.map_err(io::Error::from),
            }
        }
    }

    fn wait(&self, fd: BorrowedFd<'_>, events: PollFlags) -> io::Result<()> {
        let mut fds = [
            PollFd::new(fd, events),
            PollFd::new(self.wake_read.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if lock(&self.child).is_some() {
            let _ = self.close(&Config::default());
        }
    }
}

/// Locks a mutex, going on after a panic elsewhere: the data are descriptors, always consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
