//! The two halves of a tokio [`Stream`](super::Stream): the child's stdout to read, its stdin to
//! write, each a non-blocking pipe registered with the runtime.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Core;
use crate::trace::Direction;

/// The child's stdout, readable with [`AsyncRead`]; from [`Stream::into_split`].
///
/// Dropped on its own, it closes the child's stdout, as dropping a `ChildStdout` does: the
/// child's next write fails (EPIPE, or SIGPIPE). Put back with [`ReadHalf::reunite`], it goes
/// to the close sequence like the whole stream's.
///
/// [`Stream::into_split`]: super::Stream::into_split
pub struct ReadHalf {
    pub(super) pipe: Half,
}

/// The child's stdin, writable with [`AsyncWrite`]; from [`Stream::into_split`].
///
/// `AsyncWriteExt::shutdown` (its [`AsyncWrite::poll_shutdown`]) closes the child's stdin
/// (it reads EOF), as it closes a socket's write side; so does dropping this half on its own.
///
/// [`Stream::into_split`]: super::Stream::into_split
pub struct WriteHalf {
    pub(super) pipe: Half,
}

/// [`ReadHalf::reunite`] was given halves of two different streams: here they are back.
pub struct ReuniteError(pub ReadHalf, pub WriteHalf);

/// One of the child's pipes and the stream it belongs to.
pub(super) struct Half {
    /// `None` once closed.
    fd: Option<AsyncFd<OwnedFd>>,
    pub core: Arc<Core>,
    /// Which pipe: the child's stdin (to it) or stdout (from it).
    direction: Direction,
    /// Part of a whole stream: dropped, the pipe goes back to `core` for the background close
    /// (the child then gets the same sequence as from `close`, its output discarded).
    pub whole: bool,
}

impl Half {
    /// `fd` (non-blocking) registered with the current runtime.
    pub fn new(fd: Option<OwnedFd>, direction: Direction, core: Arc<Core>) -> io::Result<Half> {
        Ok(Half {
            // SAFETY: the `OwnedFd` inside stays open, unchanged, as long as the registration.
            fd: fd.map(|fd| unsafe { AsyncFd::register(fd) }).transpose()?,
            core,
            direction,
            whole: true,
        })
    }

    /// The pipe, no longer registered with the runtime, for the close sequence.
    pub fn take(&mut self) -> Option<OwnedFd> {
        self.fd.take().map(AsyncFd::into_inner)
    }

    /// Reads or writes with `operation` once the pipe is ready for it.
    fn poll_io(
        &self,
        context: &mut Context<'_>,
        mut operation: impl FnMut(&OwnedFd) -> nix::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let Some(fd) = &self.fd else {
            let message = match self.direction {
                Direction::ToChild => "the child's stdin is closed (shutdown)",
                Direction::FromChild => "the child's stdout is closed",
            };
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, message)));
        };
        loop {
            let mut guard = match self.direction {
                Direction::ToChild => ready!(fd.poll_write_ready(context))?,
                Direction::FromChild => ready!(fd.poll_read_ready(context))?,
            };
            let result = guard.try_io(|fd| {
                loop {
                    match operation(fd.get_ref()) {
                        Err(nix::errno::Errno::EINTR) => continue,
                        result => break result.map_err(io::Error::from),
                    }
                }
            });
            match result {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Drop for Half {
    fn drop(&mut self) {
        if self.whole
            && let Some(fd) = self.take()
        {
            self.core.give_back(self.direction, fd);
        }
    }
}

impl ReadHalf {
    /// The whole stream again, to [`close`](super::Stream::close) it; fails if the halves are
    /// not of the same stream.
    pub fn reunite(self, write: WriteHalf) -> Result<super::Stream, ReuniteError> {
        if !Arc::ptr_eq(&self.pipe.core, &write.pipe.core) {
            return Err(ReuniteError(self, write));
        }
        let (mut read, mut write) = (self, write);
        (read.pipe.whole, write.pipe.whole) = (true, true);
        Ok(super::Stream { read, write })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pipe.core.pid
    }
}

impl WriteHalf {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pipe.core.pid
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let pipe = &self.pipe;
        let unfilled = buf.initialize_unfilled();
        let count =
            ready!(pipe.poll_io(context, |fd| { nix::unistd::read(fd.as_fd(), unfilled) }))?;
        pipe.core.moved(Direction::FromChild, &unfilled[..count]);
        buf.advance(count);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let pipe = &self.pipe;
        let count = ready!(pipe.poll_io(context, |fd| { nix::unistd::write(fd, data) }))?;
        pipe.core.moved(Direction::ToChild, &data[..count]);
        Poll::Ready(Ok(count))
    }

    /// Bytes are never held: each write reaches the pipe.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the child's stdin.
    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        drop(self.pipe.take());
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf")
            .field("pid", &self.pid())
            .finish()
    }
}

impl fmt::Debug for WriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf")
            .field("pid", &self.pid())
            .finish()
    }
}

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the halves are of two different streams")
    }
}

impl std::error::Error for ReuniteError {}
