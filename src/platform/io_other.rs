//! The relay's system calls on Unix systems other than Linux: poll(2) each turn, no splice, no
//! pipe sizing, no RWF_NOWAIT, no reopening through /proc. The signatures match `io_linux.rs`.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::MsgFlags;

use super::{Interest, Readiness};

/// Without MSG_NOSIGNAL agentpipe relies on SIGPIPE being ignored (as Rust programs start).
pub const NO_SIGPIPE: MsgFlags = MsgFlags::empty();

/// Pipes keep the system's size.
pub fn grow_pipe(_pipe: BorrowedFd<'_>) {}

/// splice(2) is Linux's: the relay copies through its buffer after this refusal.
pub fn splice(
    _source: BorrowedFd<'_>,
    _destination: BorrowedFd<'_>,
    _length: usize,
) -> nix::Result<usize> {
    Err(Errno::ENOSYS)
}

/// tee(2) is Linux's: a traced relay copies through its buffer after this refusal.
pub fn tee(
    _source: BorrowedFd<'_>,
    _destination: BorrowedFd<'_>,
    _length: usize,
) -> nix::Result<usize> {
    Err(Errno::ENOSYS)
}

/// There is no /proc/self/fd to open a private description through (/dev/fd/N duplicates the
/// descriptor, sharing its description).
pub fn reopen_nonblocking(_fd: BorrowedFd<'_>, _write: bool) -> Option<OwnedFd> {
    None
}

/// There is no RWF_NOWAIT.
pub fn read_nowait(_fd: BorrowedFd<'_>, _buffer: &mut [u8]) -> io::Result<usize> {
    Err(Errno::EOPNOTSUPP.into())
}

/// There is no RWF_NOWAIT.
pub fn write_nowait(_fd: BorrowedFd<'_>, _buffer: &[u8]) -> io::Result<usize> {
    Err(Errno::EOPNOTSUPP.into())
}

/// One poll(2) over the descriptors of each turn.
#[derive(Debug, Default)]
pub struct WaitSet;

impl WaitSet {
    /// Waits until one of `wanted` is ready or `timeout` passes (`None`: no timeout), and writes
    /// what it found in `found`, slot by slot.
    pub fn wait(
        &mut self,
        wanted: &[Option<(BorrowedFd<'_>, Interest)>],
        timeout: Option<Duration>,
        found: &mut [Readiness],
    ) -> io::Result<()> {
        super::poll_wait::poll_wait(wanted, timeout, found)
    }
}
