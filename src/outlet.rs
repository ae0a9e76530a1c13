//! A writer that never blocks: agentpipe's own stderr (the `-v` timeline, warnings, a trace to
//! `-`) and a trace's file. What the descriptor does not take at once waits in a bounded queue,
//! written when the event loop finds the descriptor writable; a record that does not fit there is
//! dropped and counted, never waited for.
//!
//! agentpipe never sets O_NONBLOCK on a description it shares (its stderr is shared with the
//! shell, a terminal with the whole session). Each kind of file is written its own way:
//!
//! - a regular file or a device such as /dev/null or /dev/full: plain writes, which never wait
//!   for a reader;
//! - a socket: send(2) with MSG_DONTWAIT;
//! - a pipe, FIFO or terminal: through a private non-blocking description of the same file,
//!   reopened through /proc; where that fails, only after poll(2) reports room, at most PIPE_BUF
//!   bytes a time (a pipe or terminal reporting room takes that much without blocking).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, send};
use nix::sys::stat::{SFlag, fstat};

use crate::platform;

/// Bytes agentpipe's stderr holds back while its reader is slow: a few thousand lines.
const STDERR_QUEUE: usize = 256 * 1024;

/// A trace file is written behind: its records wait until this many bytes are queued, or the
/// oldest has waited [`LAG`], so that a chatty protocol costs one write(2) per batch rather than
/// one per chunk.
const BATCH: usize = 64 * 1024;
pub(crate) const LAG: Duration = Duration::from_millis(50);

/// At exit, how long a destination that takes nothing is waited for, and how long one that still
/// takes bytes.
const EXIT_STALL: Duration = Duration::from_millis(100);
const EXIT_LIMIT: Duration = Duration::from_secs(1);

/// How a write reaches the descriptor without blocking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    /// A regular file or a device that never makes a writer wait.
    Plain,
    Socket,
    /// A description agentpipe opened itself, non-blocking.
    Private,
    /// A shared pipe or terminal: written after poll(2) reports room, PIPE_BUF bytes at most.
    Gated,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Outlet {
    fd: Arc<OwnedFd>,
    way: Way,
    /// Bytes waiting, from `sent` on.
    queue: Vec<u8>,
    sent: usize,
    capacity: usize,
    /// Records refused for want of room, or after the destination failed.
    dropped: u64,
    /// The destination failed (EPIPE, ENOSPC...): nothing more is written.
    broken: bool,
    /// Why it failed, for the line that says so.
    error: Option<Errno>,
    /// Written behind (see [`BATCH`]): a trace's file, not agentpipe's stderr.
    behind: bool,
    /// When the oldest byte waiting was queued.
    oldest: Option<Instant>,
    /// The last write left bytes the destination did not take: they wait for POLLOUT.
    stalled: bool,
    /// Each newline goes out as CR LF: the destination is a terminal in raw mode (`--pty`),
    /// which no longer returns the carriage at a newline.
    crlf: bool,
    /// The last byte relayed to the same terminal left a line open (a prompt): the next record
    /// starts on a line of its own.
    line_open: bool,
}

impl Outlet {
    /// An outlet over `fd`, holding back at most about `capacity` bytes. `private` says that
    /// agentpipe opened `fd` itself with O_NONBLOCK.
    pub fn new(fd: impl Into<OwnedFd>, capacity: usize, private: bool) -> Outlet {
        let fd = fd.into();
        let (fd, way) = match kind(&fd) {
            Way::Gated if private => (fd, Way::Private),
            Way::Gated => match platform::reopen_nonblocking(fd.as_fd(), true) {
                Some(reopened) => (reopened, Way::Private),
                None => (fd, Way::Gated),
            },
            way => (fd, way),
        };
        Outlet {
            fd: Arc::new(fd),
            way,
            queue: Vec::new(),
            sent: 0,
            capacity,
            dropped: 0,
            broken: false,
            error: None,
            behind: false,
            oldest: None,
            stalled: false,
            crlf: false,
            line_open: false,
        }
    }

    /// From now on, each newline goes out as CR LF: the destination is a terminal put in raw
    /// mode.
    pub fn end_lines_with_crlf(&mut self) {
        self.crlf = true;
    }

    /// Whether the relay's last byte to this same terminal left a line open (see
    /// [`Outlet::push`]).
    pub fn line_open(&mut self, open: bool) {
        self.line_open = open;
    }

    /// Writes records behind, in batches (see [`BATCH`]).
    pub fn behind(mut self) -> Outlet {
        self.behind = true;
        self
    }

    /// Whether a record of `length` bytes would be taken now.
    pub fn has_room(&self, length: usize) -> bool {
        !self.broken && (self.queued() == 0 || self.queued() + length <= self.capacity)
    }

    fn queued(&self) -> usize {
        self.queue.len() - self.sent
    }

    /// Takes `record` whole, or drops it whole (counted) when the queue has no room for it;
    /// writes what the destination takes without waiting. Returns whether it was taken.
    pub fn push(&mut self, record: &[u8]) -> bool {
        let mut after_open = Vec::new();
        let record = if std::mem::take(&mut self.line_open) {
            after_open.push(b'\n');
            after_open.extend_from_slice(record);
            &after_open[..]
        } else {
            record
        };
        let mut crlf = Vec::new();
        let record = if self.crlf && record.contains(&b'\n') {
            for &byte in record {
                if byte == b'\n' {
                    crlf.push(b'\r');
                }
                crlf.push(byte);
            }
            &crlf[..]
        } else {
            record
        };
        if !self.behind || self.queued() + record.len() > BATCH || self.due_now() {
            self.flush();
        }
        if !self.has_room(record.len()) {
            self.dropped += 1;
            return false;
        }
        // An empty queue takes a record of any size: what the destination does not take at once
        // waits, so that no record is ever cut. Memory stays bounded by the largest record.
        let written = if self.queued() == 0 && !self.behind {
            self.write(record)
        } else {
            0
        };
        if written < record.len() {
            self.stalled |= !self.behind;
            self.oldest.get_or_insert_with(Instant::now);
            self.queue.extend_from_slice(&record[written..]);
        }
        true
    }

    /// When what waits is due to be written behind, if it waits for that.
    pub fn due(&self) -> Option<Instant> {
        let waits = self.queued() > 0 && !self.broken && !self.stalled;
        self.oldest.filter(|_| waits).map(|oldest| oldest + LAG)
    }

    fn due_now(&self) -> bool {
        self.due().is_some_and(|due| due <= Instant::now())
    }

    /// Writes what waits, as far as the destination takes it without waiting.
    pub fn flush(&mut self) {
        if self.queued() == 0 || self.broken {
            return;
        }
        let (written, failed) = write(&self.fd, self.way, &self.queue[self.sent..]);
        self.sent += written;
        self.stalled = self.queued() > 0;
        if let Some(errno) = failed {
            self.fail(errno);
        } else if self.queued() == 0 {
            self.queue.clear();
            self.sent = 0;
            self.oldest = None;
        } else if self.sent > self.capacity {
            self.queue.drain(..self.sent); // keeps the queue's memory within twice its capacity
            self.sent = 0;
        }
    }

    /// The descriptor to wait for (POLLOUT) while bytes wait for it.
    pub fn waiting(&self) -> Option<Arc<OwnedFd>> {
        (self.stalled && !self.broken).then(|| Arc::clone(&self.fd))
    }

    /// How many records were dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// At exit: writes what waits, waiting for room while the destination takes bytes, but never
    /// long (see [`EXIT_STALL`]); what is left then is lost.
    pub fn drain(&mut self) {
        let started = Instant::now();
        let mut progress = Instant::now();
        loop {
            let before = self.queued();
            self.flush();
            if self.queued() < before {
                progress = Instant::now();
            }
            if self.waiting().is_none() {
                return;
            }
            let now = Instant::now();
            let until = (progress + EXIT_STALL).min(started + EXIT_LIMIT);
            if now >= until {
                return;
            }
            let millis = (until - now).as_millis().clamp(1, 1000) as u16;
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLOUT)];
            let _ = poll(&mut fds, PollTimeout::from(millis));
        }
    }

    /// At exit: writes `record` whole and drains (see [`Outlet::drain`]); fails when the
    /// destination failed, or did not take all of it within the bound.
    pub fn write_at_exit(&mut self, record: &[u8]) -> std::io::Result<()> {
        let taken = self.push(record);
        self.drain();
        match self.error {
            Some(errno) => Err(errno.into()),
            None if taken && self.queued() == 0 => Ok(()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "nothing read it within a second",
            )),
        }
    }

    /// The OS error code of the destination's failure, once it failed (a full disk, a reader
    /// gone).
    pub fn os_error(&self) -> Option<i32> {
        self.error.map(|errno| errno as i32)
    }

    /// Writes from `bytes` what the destination takes now.
    fn write(&mut self, bytes: &[u8]) -> usize {
        let (written, failed) = write(&self.fd, self.way, bytes);
        if let Some(errno) = failed {
            self.fail(errno);
        }
        written
    }

    /// The destination failed: what waits is lost, and nothing more is written.
    fn fail(&mut self, errno: Errno) {
        self.error.get_or_insert(errno);
        self.broken = true;
        self.queue = Vec::new();
        self.sent = 0;
        self.stalled = false;
    }
}

/// Writes from `bytes` what `fd` takes without waiting; returns how much, and how `fd` failed.
fn write(fd: &OwnedFd, way: Way, bytes: &[u8]) -> (usize, Option<Errno>) {
    let mut written = 0;
    while written < bytes.len() {
        let rest = &bytes[written..];
        let result = match way {
            Way::Plain | Way::Private => nix::unistd::write(fd, rest),
            Way::Socket => send(
                fd.as_raw_fd(),
                rest,
                MsgFlags::MSG_DONTWAIT | platform::NO_SIGPIPE,
            ),
            Way::Gated if writable(fd) => {
                nix::unistd::write(fd, &rest[..rest.len().min(libc::PIPE_BUF)])
            }
            Way::Gated => Err(Errno::EAGAIN),
        };
        match result {
            Ok(count) => written += count,
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => break,
            Err(errno) => return (written, Some(errno)),
        }
    }
    (written, None)
}

/// How a descriptor of this kind is written; [`Way::Gated`] for the kinds that can block.
fn kind(fd: &OwnedFd) -> Way {
    let Ok(stat) = fstat(fd) else {
        return Way::Gated;
    };
    match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFREG | SFlag::S_IFBLK => Way::Plain,
        SFlag::S_IFSOCK => Way::Socket,
        SFlag::S_IFCHR if !nix::unistd::isatty(fd).unwrap_or(false) => Way::Plain,
        _ => Way::Gated,
    }
}

/// Whether poll(2) reports room in `fd` now.
fn writable(fd: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(1))
        && fds[0]
            .revents()
            .is_some_and(|events| events.contains(PollFlags::POLLOUT))
}

/// agentpipe's own stderr (not the child's: that is [`crate::stderr`]), for the whole process:
/// one outlet that the timeline, the warnings and a trace to `-` share, so that their lines keep
/// their order. fd 2 itself is left as it is.
pub(crate) fn own_stderr() -> MutexGuard<'static, Outlet> {
    static STDERR: OnceLock<Mutex<Outlet>> = OnceLock::new();
    let outlet = STDERR.get_or_init(|| {
        // Out of descriptors (EMFILE), one of the reserve's copies of stderr is taken.
        let fd = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .or_else(crate::platform::reserved_stderr)
            .or_else(|| std::fs::File::open("/dev/null").ok().map(OwnedFd::from));
        // SAFETY: without any descriptor to spare, the outlet writes to fd 2 itself; it lives
        // as long as the process (a static), so it never closes fd 2.
        let fd = fd.unwrap_or_else(|| unsafe { std::os::fd::FromRawFd::from_raw_fd(2) });
        Mutex::new(Outlet::new(fd, STDERR_QUEUE, false))
    });
    outlet.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
