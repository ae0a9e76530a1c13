//! The stream's public face, the same on every front end: a [`Stream`] and its [`Closer`]s share
//! the front end's `Inner` (the poll front end's in `src/stream.rs`, the threaded one's in
//! `src/threaded/stream.rs`), which carries out each call; each front end adds its own `spawn`.

use std::io::{self, Read, Write};
use std::sync::Arc;

use super::Inner;
use crate::config::Config;
use crate::outcome::Outcome;

/// A running child process with piped stdin and stdout.
///
/// Reads and writes block until the child is ready, and are unblocked (with an error of kind
/// [`io::ErrorKind::ConnectionAborted`]) when the stream is closed, from any thread. `Read` and
/// `Write` are also implemented for `&Stream`, so one thread can write while another reads.
///
/// Dropping a stream that was not closed runs the default close sequence
/// (`wait 0s, stdin 1s, TERM 1s, KILL`) before `drop` returns, so that no child is ever left
/// behind; call [`Stream::close`] to choose the sequence and learn the exit status.
///
/// The drop blocks on purpose: up to about 2 s for a child that ignores its stdin's end and
/// SIGTERM (plus the 1 s drain if a descendant holds its output), and at once for a child that
/// exits at the end of its input. A blocking program has no runtime that would carry a close on
/// after the drop: a sequence handed to a thread would be cut short when `main` returns or the
/// program exits, leaving that child running, in a process group of its own, unreaped. To bound
/// the wait, close explicitly with a shorter sequence (`"KILL".parse()` ends it at once), or
/// from another thread with a [`Closer`]. When a close is already under way (an idle
/// timeout's, a [`Closer`]'s), the drop waits for that one to end.
///
/// An async program uses `agentpipe::tokio::Stream` (feature `tokio`), whose drop returns at
/// once and leaves the sequence to the runtime.
///
/// On Windows the child runs in a Job Object of its own: TERM is a Ctrl-Break event to the
/// child's process group and INT a Ctrl-C event; KILL ends the job (exit code 137). A write
/// returns once the pump took its bytes (one chunk of at most 64 KiB waits between the caller
/// and the pipe).
///
/// ```
/// use std::io::{Read, Write};
/// use std::process::Command;
/// use agentpipe::{Config, Exit, Stream};
///
/// let mut stream = Stream::spawn(&mut Command::new("tr").arg("a-z").arg("A-Z"))?;
/// stream.write_all(b"hello\n")?;
/// stream.close_stdin();
/// let mut answer = String::new();
/// stream.read_to_string(&mut answer)?;
/// assert_eq!(answer, "HELLO\n");
/// let outcome = stream.close(&Config::default())?;
/// assert_eq!(outcome.exit, Exit::Code(0));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Stream {
    pub(super) inner: Arc<Inner>,
}

/// Closes a [`Stream`] from another thread; cheap to clone.
///
/// ```
/// use std::io::Read;
/// use std::process::Command;
/// use agentpipe::{Config, Stream};
///
/// let mut stream = Stream::spawn(&mut Command::new("sleep").arg("30"))?;
/// let closer = stream.closer();
/// let reader = std::thread::spawn(move || stream.read(&mut [0; 16]));
/// let outcome = closer.close(&Config::default())?; // stdin EOF ends nothing; SIGTERM does
/// assert!(reader.join().unwrap().is_err()); // the pending read was unblocked
/// assert!(outcome.steps.len() >= 3);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Closer {
    inner: Arc<Inner>,
}

impl Stream {
    /// The child's process id.
    pub fn id(&self) -> Option<u32> {
        self.inner.pid()
    }

    /// Closes the child's stdin, so that it reads EOF; reading its output goes on. A write
    /// pending on another thread fails with [`io::ErrorKind::ConnectionAborted`].
    pub fn close_stdin(&self) {
        self.inner.close_stdin();
    }

    /// A handle that closes this stream from another thread.
    pub fn closer(&self) -> Closer {
        Closer {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Runs the close sequence of `config` (its first step starting now) and returns what
    /// happened; on return, the child's process group (its job on Windows) is gone and every
    /// descriptor is closed.
    pub fn close(self, config: &Config) -> io::Result<Outcome> {
        self.inner.close(config)
    }
}

impl Closer {
    /// Unblocks pending reads and writes, then runs the close sequence as [`Stream::close`]
    /// does. Every call after the first returns the first one's result.
    ///
    /// An error is the first close's error, shared by every caller: of its kind, and holding the
    /// original as an `Arc<io::Error>` (`error.get_ref()`), with its source.
    pub fn close(&self, config: &Config) -> io::Result<Outcome> {
        self.inner.close(config)
    }
}

impl Drop for Stream {
    /// Dropping a stream closes it as [`Stream::close`] does with the default sequence, and
    /// returns once the child's process group is gone: also when a close is already under way
    /// elsewhere (an idle timeout's, a [`Closer`]'s), which it waits for, so that no handle
    /// held out of sight (an idle timeout's watchdog, a [`Closer`]) lets the child outlive the
    /// stream.
    fn drop(&mut self) {
        let _ = self.inner.close(&Config::default());
    }
}

impl Read for &Stream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buffer)
    }
}

impl Write for &Stream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Stream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buffer)
    }
}

impl Write for Stream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        (&*self).write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The first close's result as each caller gets it: the outcome, or an error of the same kind
/// that holds the original (an `io::Error` cannot be cloned).
pub(super) fn shared(result: &Result<Outcome, Arc<io::Error>>) -> io::Result<Outcome> {
    match result {
        Ok(outcome) => Ok(outcome.clone()),
        Err(error) => Err(io::Error::new(error.kind(), Arc::clone(error))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_caller_gets_the_first_close_error_itself() {
        let first = Err(Arc::new(io::Error::from(io::ErrorKind::OutOfMemory)));
        for _ in 0..2 {
            let error = shared(&first).expect_err("the first close failed");
            let original = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<Arc<io::Error>>())
                .expect("the original error");
            assert_eq!(original.kind(), io::ErrorKind::OutOfMemory);
            assert_eq!(error.kind(), original.kind());
            assert_eq!(error.to_string(), original.to_string());
        }
    }
}
