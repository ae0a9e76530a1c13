//! Helpers of the robustness tests (transport, load, faults, bad_input, stream_core).
//!
//! - [`Watchdog`]: bounds a test's run time whatever it is blocked on (a write to a full pipe, a
//!   read that never ends): past its limit it SIGKILLs, by pid, every process that carries the
//!   test's tags, which ends every pipe and socket the test waits on; the test then fails,
//!   saying so.
//! - [`Deadline`] reads and writes on a descriptor of the test's own (a terminal's master), so
//!   that a test never blocks on one without a limit.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::TAG_VAR;

/// See the module documentation.
pub struct Watchdog {
    what: String,
    limit: Duration,
    disarm: Option<Sender<()>>,
    fired: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Arms a watchdog over the processes tagged with any of `tags`, for `limit`.
    pub fn arm(what: &str, tags: &[&str], limit: Duration) -> Watchdog {
        let (disarm, disarmed) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let tags: Vec<String> = tags.iter().map(|tag| tag.to_string()).collect();
        let thread = thread::spawn({
            let fired = Arc::clone(&fired);
            let what = what.to_string();
            move || {
                if disarmed.recv_timeout(limit) != Err(RecvTimeoutError::Timeout) {
                    return;
                }
                fired.store(true, Ordering::SeqCst);
                let killed = kill_tagged(&tags);
                eprintln!(
                    "watchdog: {what} still running after {limit:?}; SIGKILLed its processes {killed:?}"
                );
            }
        });
        Watchdog {
            what: what.to_string(),
            limit,
            disarm: Some(disarm),
            fired,
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if self.fired.load(Ordering::SeqCst) && !thread::panicking() {
            panic!(
                "{}: the watchdog fired after {:?} (see its line above)",
                self.what, self.limit
            );
        }
    }
}

/// Live processes that carry one of `tags`.
fn tagged(tags: &[String]) -> Vec<i32> {
    let wanted: Vec<Vec<u8>> = tags
        .iter()
        .map(|tag| format!("{TAG_VAR}={tag}").into_bytes())
        .collect();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&byte| byte == 0)
                    .any(|entry| wanted.iter().any(|tag| entry == tag.as_slice()))
            })
        })
        .collect()
}

/// SIGKILLs every process tagged with one of `tags` until none is left (5 s at most); returns
/// the pids it signalled.
fn kill_tagged(tags: &[String]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut killed = Vec::new();
    loop {
        let pids = tagged(tags);
        if pids.is_empty() || Instant::now() >= deadline {
            return killed;
        }
        for pid in pids {
            if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() && !killed.contains(&pid) {
                killed.push(pid);
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads and writes with a deadline on a non-blocking descriptor of the test's own.
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    pub fn after(limit: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + limit,
        }
    }

    /// Waits until `fd` reports one of `events`; an error once the deadline passed.
    fn wait(&self, fd: BorrowedFd<'_>, events: libc::c_short) -> io::Result<()> {
        loop {
            let left = self.at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
            }
            let mut pollfd = libc::pollfd {
                fd: fd.as_raw_fd(),
                events,
                revents: 0,
            };
            let millis = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd.
            let result = unsafe { libc::poll(&mut pollfd, 1, millis) };
            if result > 0 {
                return Ok(());
            }
            if result < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return Err(io::Error::last_os_error());
            }
        }
    }

    /// Writes all of `bytes`.
    pub fn write_all(&self, fd: BorrowedFd<'_>, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.wait(fd, libc::POLLOUT)?;
            match nix::unistd::write(fd, bytes) {
                Ok(count) => bytes = &bytes[count..],
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Reads exactly `buffer.len()` bytes.
    pub fn read_exact(&self, fd: BorrowedFd<'_>, buffer: &mut [u8]) -> io::Result<()> {
        let mut at = 0;
        while at < buffer.len() {
            self.wait(fd, libc::POLLIN)?;
            match nix::unistd::read(fd, &mut buffer[at..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(count) => at += count,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

/// Sets O_NONBLOCK on a descriptor of the test's own (never on one shared with agentpipe).
pub fn set_nonblocking(fd: BorrowedFd<'_>) {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).expect("F_GETFL"));
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).expect("F_SETFL");
}
