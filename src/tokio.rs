//! The stream core for tokio (feature `tokio`): a child process seen as an async byte stream,
//! as `tokio::process` is to `std::process`.
//!
//! [`Stream`] starts its child as the blocking [`crate::Stream`] does (its own process group,
//! an empty signal mask, SIGPIPE at its default, a pidfd), and its [`Stream::close`] runs the
//! same close sequence, driven by the same state machine and event loop: only the wait differs,
//! the runtime's readiness and timers instead of poll(2), so a runtime thread never blocks.
//!
//! - **Runtime**: needs a tokio runtime with I/O and time enabled (`#[tokio::main]`, or
//!   `Builder::enable_all`); a current-thread one is enough.
//! - **Cancelling** a [`Stream::close`] (dropping its future, e.g. under `tokio::time::timeout`)
//!   hands the sequence, where it stands, to a thread that finishes it: the child is ended as it
//!   would have been.
//! - **Dropping** a stream that was not closed returns at once and starts the default sequence
//!   ([`Config::default`]) in the background: as a task of the current runtime, or on a thread
//!   of its own outside one or once that runtime shuts down. A program that exits before that
//!   sequence ends leaves the rest of it undone: close the stream to be sure of its end.
//! - **Reaping** coexists with `tokio::process`: the child's exit is seen through its pidfd
//!   (Linux) and collected by its own pid, never with `waitpid(-1)`, so neither takes the
//!   other's children. Where there is no pidfd, the loop looks at the child every 10 ms during
//!   the close instead of taking SIGCHLD over.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::process::Command;
//! use agentpipe::{Config, Exit};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let mut stream = agentpipe::tokio::Stream::spawn(&mut Command::new("cat"))?;
//! stream.write_all(b"ping\n").await?;
//! let mut answer = [0; 5];
//! stream.read_exact(&mut answer).await?;
//! assert_eq!(&answer, b"ping\n");
//! let outcome = stream.close(&Config::default()).await?; // cat ends at stdin's EOF
//! assert_eq!(outcome.exit, Exit::Code(0));
//! # Ok(())
//! # }
//! ```

mod drive;
mod half;

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::config::Config;
use crate::outcome::{Outcome, Trigger};
use crate::process::{ChildPipes, ChildProcess};
use crate::stderr::StderrRelay;
use crate::stream::{Started, StreamOptions, closing_loop};
use crate::trace::{Direction, Recorder};

pub use half::{ReadHalf, ReuniteError, WriteHalf};

/// A running child process with piped stdin and stdout, for tokio: [`AsyncRead`] from its
/// stdout, [`AsyncWrite`] to its stdin. See the [module documentation](self).
pub struct Stream {
    read: ReadHalf,
    write: WriteHalf,
}

/// What both halves share: the child, until a close or the last drop takes it.
pub(crate) struct Core {
    pid: u32,
    trace: Option<Recorder>,
    /// With a protocol (`StreamOptions::protocol`): the messages each way.
    #[cfg(feature = "json")]
    messages: Option<Mutex<crate::stream::Messages>>,
    held: Mutex<Held>,
}

struct Held {
    child: Option<ChildProcess>,
    stderr: StderrRelay,
    /// The pipes of a whole stream that was dropped, for the background close.
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
}

impl Stream {
    /// Starts `command` in its own process group with piped stdin and stdout (its stderr is as
    /// `command` says: inherited by default). Must be called within a tokio runtime.
    ///
    /// A program that cannot be started fails as [`Command::spawn`] does
    /// ([`io::ErrorKind::NotFound`] for a missing one).
    pub fn spawn(command: &mut Command) -> io::Result<Stream> {
        Stream::spawn_with(command, StreamOptions::default())
    }

    /// Starts `command` as [`Stream::spawn`] does, with `options` as
    /// [`crate::Stream::spawn_with`] documents (the stderr receiver runs on a thread of its
    /// own), except the idle timeouts, which fail with [`io::ErrorKind::Unsupported`]: in an
    /// async program, `tokio::time::timeout` around a read says the same.
    pub fn spawn_with(command: &mut Command, options: StreamOptions) -> io::Result<Stream> {
        if options.has_idle_timeout() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the tokio stream has no idle or response timeouts: put tokio::time::timeout \
                 around its reads",
            ));
        }
        if ::tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "agentpipe::tokio::Stream::spawn must be called within a tokio runtime",
            ));
        }
        let started = Started::spawn(command, options)?;
        let core = std::sync::Arc::new(Core {
            pid: started.child.pid(),
            trace: started.trace,
            #[cfg(feature = "json")]
            messages: started.messages,
            held: Mutex::new(Held {
                child: Some(started.child),
                stderr: started.stderr,
                stdin: None,
                stdout: None,
            }),
        });
        // On failure (no runtime, no registration), dropping the core ends the child.
        let read = half::Half::new(started.stdout, Direction::FromChild, core.clone())?;
        let write = half::Half::new(started.stdin, Direction::ToChild, core)?;
        Ok(Stream {
            read: ReadHalf { pipe: read },
            write: WriteHalf { pipe: write },
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.read.pid()
    }

    /// Splits the stream into halves that two tasks can own; [`ReadHalf::reunite`] makes them
    /// a stream again, to close it.
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        let Stream {
            mut read,
            mut write,
        } = self;
        (read.pipe.whole, write.pipe.whole) = (false, false);
        (read, write)
    }

    /// Runs the close sequence of `config` (its first step starting when the future is first
    /// polled) and returns what happened; on return, the child's process group is gone and
    /// every descriptor is closed. It waits in the runtime, never blocking one of its threads.
    ///
    /// The future owns what it needs (`config` is cloned), so it can be spawned. Cancel-safe in
    /// the sense that matters here: dropped before it returns, the sequence goes on to its end
    /// on a thread of its own; dropped before it was polled, it drops the stream (see the
    /// [module documentation](self)).
    pub fn close(
        self,
        config: &Config,
    ) -> impl Future<Output = io::Result<Outcome>> + Send + use<> {
        let config = config.clone();
        async move {
            let Stream {
                mut read,
                mut write,
            } = self;
            let pipes = ChildPipes {
                stdin: write.pipe.take(),
                stdout: read.pipe.take(),
                stderr: None,
                terminal: None,
            };
            let core = std::sync::Arc::clone(&read.pipe.core);
            drop((read, write));
            let Some(mut event_loop) = core.closing(pipes, &config) else {
                return Err(io::Error::other("the stream is already closed"));
            };
            event_loop.begin_close(Trigger::Close);
            let outcome = drive::finish(event_loop).await;
            #[cfg(feature = "json")]
            let outcome =
                outcome.map(|outcome| crate::stream::with_unanswered(outcome, &core.messages));
            outcome
        }
    }
}

impl Core {
    /// The loop that closes the child, with `pipes`; `None` once it was taken.
    fn closing(&self, pipes: ChildPipes, config: &Config) -> Option<crate::event_loop::EventLoop> {
        let mut held = self.held();
        let child = held.child.take()?;
        let stderr = std::mem::replace(&mut held.stderr, StderrRelay::Untouched);
        Some(closing_loop(
            child,
            pipes,
            stderr,
            self.trace.clone(),
            config,
        ))
    }

    /// A pipe of a whole stream being dropped, for the background close.
    fn give_back(&self, direction: Direction, fd: OwnedFd) {
        let mut held = self.held();
        match direction {
            Direction::ToChild => held.stdin = Some(fd),
            Direction::FromChild => held.stdout = Some(fd),
        }
    }

    /// Bytes moved `direction`: they go into the trace (as messages, with a protocol).
    fn moved(&self, direction: Direction, bytes: &[u8]) {
        #[cfg(feature = "json")]
        let watched = crate::stream::watch_moved(&self.messages, direction, bytes).is_some();
        #[cfg(not(feature = "json"))]
        let watched = false;
        if let Some(trace) = self.trace.as_ref().filter(|_| !watched) {
            trace.data(direction, bytes);
        }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Core {
    /// The last half of a stream that was not closed: the default sequence, in the background.
    fn drop(&mut self) {
        let mut held = self.held();
        let pipes = ChildPipes {
            stdin: held.stdin.take(),
            stdout: held.stdout.take(),
            stderr: None,
            terminal: None,
        };
        drop(held);
        if let Some(mut event_loop) = self.closing(pipes, &Config::default()) {
            event_loop.begin_close(Trigger::Close);
            drive::finish_in_background(event_loop);
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(context, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write(context, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_flush(context)
    }

    /// Closes the child's stdin (it reads EOF); reading its output goes on.
    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_shutdown(context)
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream").field("pid", &self.pid()).finish()
    }
}
