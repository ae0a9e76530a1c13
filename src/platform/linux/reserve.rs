//! Looks that fail closed: a few descriptors held in reserve for the looks agentpipe must make
//! when every other one is taken (EMFILE), and the errors that make a look incomplete.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::unistd::getpid;

use crate::scope::Unseen;

/// How many descriptors are kept: a look holds at most three at once (the /proc directory, a
/// process's task directory, one of its files), a signal two (a pidfd and the check of it).
const RESERVE: usize = 4;

/// The descriptors kept in reserve: copies of stderr, numbered low since they are made before
/// the child's pipes, so that a limit lowered to what agentpipe holds still admits them again.
static HELD: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

/// Takes the reserve, as far as it is not held already.
pub fn reserve_descriptors() {
    let mut held = HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    while held.len() < RESERVE {
        match io::stderr().as_fd().try_clone_to_owned() {
            Ok(fd) => held.push(fd),
            Err(_) => break,
        }
    }
}

/// A descriptor of the reserve, given up for good: a copy of stderr, for agentpipe's own
/// messages when no other descriptor can be had.
pub fn reserved_stderr() -> Option<OwnedFd> {
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop()
}

/// Runs `look`, and once more with the reserve released when it ran out of descriptors; the
/// reserve is taken again after.
pub fn with_reserve<T>(mut look: impl FnMut() -> Result<T, Unseen>) -> Result<T, Unseen> {
    match look() {
        Err(Unseen::NoDescriptor) => {
            HELD.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
            let again = look();
            reserve_descriptors();
            again
        }
        seen => seen,
    }
}

/// What an error of a read in /proc or a cgroup means: the process being gone (ENOENT, ESRCH)
/// is an answer, `Ok(())`; anything else leaves the look incomplete.
pub fn gone_or_unseen(error: &io::Error) -> Result<(), Unseen> {
    match error.raw_os_error().map(Errno::from_raw) {
        Some(Errno::ENOENT | Errno::ESRCH) => Ok(()),
        Some(errno) => Err(unseen(errno)),
        None => Err(Unseen::Error(0)),
    }
}

/// The reason an error gives.
pub fn unseen(errno: Errno) -> Unseen {
    match errno {
        Errno::EMFILE | Errno::ENFILE => Unseen::NoDescriptor,
        Errno::EACCES | Errno::EPERM => Unseen::Denied,
        errno => Unseen::Error(errno as i32),
    }
}

/// A look at /proc counts only where /proc shows agentpipe itself: an empty file system
/// mounted over it, or another PID namespace's /proc, would list nothing of the scope.
/// (readlink takes no descriptor.)
pub fn proc_shows_self() -> Result<(), Unseen> {
    let shown = std::fs::read_link("/proc/self").map_err(|_| Unseen::NoProc)?;
    match shown.to_str() == Some(getpid().to_string().as_str()) {
        true => Ok(()),
        false => Err(Unseen::NoProc),
    }
}
