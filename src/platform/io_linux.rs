//! Linux: the relay's system calls. A persistent epoll set, splice(2), pipe sizing, private
//! non-blocking descriptions reopened through /proc, and RWF_NOWAIT reads and writes.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl};
use nix::libc;
use nix::sys::socket::MsgFlags;

use super::{Interest, Readiness};

/// A send to a socket whose peer is gone fails with EPIPE instead of raising SIGPIPE.
pub const NO_SIGPIPE: MsgFlags = MsgFlags::MSG_NOSIGNAL;

/// How large a pipe is grown once a stream flows through it.
///
/// Measured with `cargo bench --bench relay`: see the README's Performance section. A pipe is
/// grown only when a transfer fills a good part of it, so that the many agentpipes of an
/// interactive or idle use keep the kernel's default size and the user's pipe budget
/// (fs.pipe-user-pages-soft, 64 MiB by default) goes to the few that stream.
const STREAM_PIPE_SIZE: i32 = 1024 * 1024;

/// Grows a pipe to [`STREAM_PIPE_SIZE`], never shrinking it; EPERM (over the user's pipe budget)
/// leaves it as it is.
pub fn grow_pipe(pipe: BorrowedFd<'_>) {
    if fcntl(pipe, FcntlArg::F_GETPIPE_SZ).is_ok_and(|size| size < STREAM_PIPE_SIZE) {
        let _ = fcntl(pipe, FcntlArg::F_SETPIPE_SZ(STREAM_PIPE_SIZE));
    }
}

/// Moves up to `length` bytes from one pipe to another inside the kernel; SPLICE_F_NONBLOCK
/// keeps both pipes from blocking, even inherited ones.
pub fn splice(
    source: BorrowedFd<'_>,
    destination: BorrowedFd<'_>,
    length: usize,
) -> nix::Result<usize> {
    let flags = SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE;
    nix::fcntl::splice(source, None, destination, None, length, flags)
}

/// Duplicates up to `length` bytes at the head of one pipe into another without consuming them
/// (tee(2)): the trace's copy of what [`splice`] moves next.
pub fn tee(
    source: BorrowedFd<'_>,
    destination: BorrowedFd<'_>,
    length: usize,
) -> nix::Result<usize> {
    nix::fcntl::tee(source, destination, length, SpliceFFlags::SPLICE_F_NONBLOCK)
}

/// A new, private open file description of the file `fd` refers to, with O_NONBLOCK: reads and
/// writes through it never block, and the description agentpipe shares with others (a terminal
/// with its whole session) keeps its flags. `write` chooses the access: write-only or read-only,
/// so that agentpipe is never counted as a reader of its own output pipe.
///
/// Returns `None` where that is impossible or would open something else: sockets (ENXIO), a
/// pseudo-terminal master (opening /dev/ptmx again creates a new terminal), a pipe or FIFO
/// whose other side is gone, a file of another user, a system without /proc.
pub fn reopen_nonblocking(fd: BorrowedFd<'_>, write: bool) -> Option<OwnedFd> {
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int; it succeeds only on a pseudo-terminal master.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGPTN as _, &mut number) } == 0 {
        return None;
    }
    let access = if write {
        OFlag::O_WRONLY
    } else {
        OFlag::O_RDONLY
    };
    let flags = access | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let reopened = nix::fcntl::open(path.as_str(), flags, nix::sys::stat::Mode::empty()).ok()?;
    // The same file, not another one that the name now leads to.
    let (before, after) = (
        nix::sys::stat::fstat(fd).ok()?,
        nix::sys::stat::fstat(&reopened).ok()?,
    );
    let same = (before.st_dev, before.st_ino, before.st_rdev)
        == (after.st_dev, after.st_ino, after.st_rdev);
    same.then_some(reopened)
}

/// Reads without waiting (RWF_NOWAIT): EAGAIN instead of blocking, on a description that may
/// be blocking and shared. EOPNOTSUPP where the file does not support it.
pub fn read_nowait(fd: BorrowedFd<'_>, buffer: &mut [u8]) -> io::Result<usize> {
    let iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: one iovec over `buffer`, which outlives the call; offset -1 is the file position.
    let count = unsafe { libc::preadv2(fd.as_raw_fd(), &iov, 1, -1, libc::RWF_NOWAIT) };
    if count < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(count as usize)
    }
}

/// Writes without waiting (RWF_NOWAIT); see [`read_nowait`].
pub fn write_nowait(fd: BorrowedFd<'_>, buffer: &[u8]) -> io::Result<usize> {
    let iov = libc::iovec {
        iov_base: buffer.as_ptr().cast_mut().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: one iovec over `buffer`, only read by the kernel; offset -1 is the file position.
    let count = unsafe { libc::pwritev2(fd.as_raw_fd(), &iov, 1, -1, libc::RWF_NOWAIT) };
    if count < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(count as usize)
    }
}

/// The descriptors of the event loop's turns, kept registered in one epoll set between turns,
/// so that a turn costs one epoll_wait(2) however many descriptors are watched; a registration
/// changes only when what a slot waits for changes. A slot that pauses (a full buffer) is
/// removed through its descriptor and added back when it resumes.
#[derive(Debug, Default)]
pub struct WaitSet {
    /// Created on the first wait; dropped (with every registration) when a slot's descriptor
    /// was closed, since a registration can only be removed through its descriptor, and the
    /// file may live on elsewhere (a shared socket) with the registration still in the set.
    epoll: Option<OwnedFd>,
    slots: Vec<Option<Registration>>,
}

#[derive(Clone, Copy, Debug)]
struct Registration {
    fd: RawFd,
    interest: Interest,
    /// epoll refused it (EPERM: a regular file, /dev/null): it is always ready.
    always_ready: bool,
}

impl WaitSet {
    /// Waits until one of `wanted` is ready or `timeout` passes (`None`: no timeout), and writes
    /// what it found in `found`, slot by slot. Each slot holds the same descriptor from turn to
    /// turn until it becomes `None`.
    pub fn wait(
        &mut self,
        wanted: &[Option<(BorrowedFd<'_>, Interest)>],
        timeout: Option<Duration>,
        found: &mut [Readiness],
    ) -> io::Result<()> {
        match self.update(wanted) {
            // No descriptor is left for a new set: poll(2) needs none (the set is made again
            // next turn).
            Err(error) if matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                return super::poll_wait::poll_wait(wanted, timeout, found);
            }
            updated => updated?,
        }
        let mut immediate = false;
        for (slot, found) in self.slots.iter().zip(found.iter_mut()) {
            *found = Readiness::default();
            if let Some(slot) = slot.filter(|slot| slot.always_ready) {
                found.ready = slot.interest != Interest::Hangup;
                immediate |= found.ready;
            }
        }
        let millis = match timeout {
            _ if immediate => 0,
            None => -1,
            Some(timeout) => timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
        };
        let epoll = self.epoll.as_ref().expect("created by update");
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 16];
        // SAFETY: `events` is writable for its whole length, which is what the kernel is told.
        let count = unsafe {
            libc::epoll_wait(
                epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                millis,
            )
        };
        if count < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::Interrupted => Ok(()),
                _ => Err(error),
            };
        }
        for event in &events[..count as usize] {
            let bits = event.events as libc::c_int;
            if let Some(found) = found.get_mut(event.u64 as usize) {
                found.ready = true;
                found.failed = bits & (libc::EPOLLERR | libc::EPOLLHUP) != 0;
            }
        }
        Ok(())
    }

    /// Brings the registrations in line with `wanted`.
    fn update(&mut self, wanted: &[Option<(BorrowedFd<'_>, Interest)>]) -> io::Result<()> {
        if self.slots.len() != wanted.len() || !self.remove_left(wanted) {
            self.epoll = None;
        }
        if self.epoll.is_none() {
            // SAFETY: epoll_create1 returns a new descriptor or -1.
            let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a new descriptor nobody else owns.
            self.epoll = Some(unsafe { OwnedFd::from_raw_fd(fd) });
            self.slots = vec![None; wanted.len()];
        }
        let epoll = self.epoll.as_ref().expect("just created").as_fd();
        for (index, (slot, want)) in self.slots.iter_mut().zip(wanted).enumerate() {
            let Some((fd, interest)) = *want else {
                continue;
            };
            let operation = match slot {
                Some(slot) if slot.interest == interest => continue,
                Some(slot) if slot.always_ready => {
                    slot.interest = interest;
                    continue;
                }
                Some(_) => libc::EPOLL_CTL_MOD,
                None => libc::EPOLL_CTL_ADD,
            };
            let mut event = libc::epoll_event {
                events: events(interest),
                u64: index as u64,
            };
            // SAFETY: both descriptors are open for the call; `event` is read by the kernel.
            let result = unsafe {
                libc::epoll_ctl(epoll.as_raw_fd(), operation, fd.as_raw_fd(), &mut event)
            };
            let always_ready = if result == 0 {
                false
            } else {
                let error = io::Error::last_os_error();
                if error.raw_os_error() != Some(libc::EPERM) {
                    return Err(error);
                }
                true
            };
            *slot = Some(Registration {
                fd: fd.as_raw_fd(),
                interest,
                always_ready,
            });
        }
        Ok(())
    }
}

impl WaitSet {
    /// Removes the registrations of the slots that no longer want their descriptor; `false`
    /// when one cannot be removed because its descriptor number no longer holds the registered
    /// file (closed, or reused): then only a new set is sure to be rid of it.
    fn remove_left(&mut self, wanted: &[Option<(BorrowedFd<'_>, Interest)>]) -> bool {
        let Some(epoll) = &self.epoll else {
            return true;
        };
        for (slot, want) in self.slots.iter_mut().zip(wanted) {
            let Some(old) = *slot else { continue };
            if want.is_some_and(|(fd, _)| fd.as_raw_fd() == old.fd) {
                continue;
            }
            if !old.always_ready {
                // SAFETY: EPOLL_CTL_DEL reads no event; a closed or foreign descriptor number
                // only makes the call fail, which is checked.
                let removed = unsafe {
                    libc::epoll_ctl(
                        epoll.as_raw_fd(),
                        libc::EPOLL_CTL_DEL,
                        old.fd,
                        std::ptr::null_mut(),
                    )
                };
                if removed != 0 {
                    return false;
                }
            }
            *slot = None;
        }
        true
    }
}

fn events(interest: Interest) -> u32 {
    (match interest {
        Interest::Read => libc::EPOLLIN,
        Interest::Write => libc::EPOLLOUT,
        // EPOLLERR and EPOLLHUP are always reported.
        Interest::Hangup => 0,
    }) as u32
}
