//! Descriptors: pipes and pseudo-terminals of the test's own, and descriptors a command starts with or without.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;

use nix::libc;

use super::before_exec;

/// Starts the command with `fd` also open at descriptor `target` (inherited across exec).
pub fn pass_fd(command: &mut Command, fd: OwnedFd, target: RawFd) {
    before_exec(command, move || {
        // SAFETY: dup2 and fcntl are async-signal-safe. A copy made by dup2 is not
        // close-on-exec; when `fd` already is `target`, its flag is cleared instead.
        let result = unsafe {
            if fd.as_raw_fd() == target {
                libc::fcntl(target, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd.as_raw_fd(), target)
            }
        };
        if result < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    });
}

/// Starts the command with these descriptors closed.
pub fn close_fds(command: &mut Command, fds: &[RawFd]) {
    let fds = fds.to_vec();
    before_exec(command, move || {
        for &fd in &fds {
            // SAFETY: close is async-signal-safe.
            unsafe { libc::close(fd) };
        }
        Ok(())
    });
}

/// Starts the command as the leader of a new session whose controlling terminal is `tty`.
pub fn controlling_tty(command: &mut Command, tty: &File) {
    let fd = tty.as_raw_fd();
    before_exec(command, move || {
        // SAFETY: setsid and ioctl are async-signal-safe; `fd` stays open until exec.
        unsafe {
            if libc::setsid() < 0 || libc::ioctl(fd, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    });
}

/// A pseudo-terminal: its master, and its slave opened without becoming anybody's controlling
/// terminal. Both are close-on-exec, so that no concurrent test's child inherits them.
pub fn open_pty() -> (File, File) {
    use nix::fcntl::OFlag;
    use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).expect("ptmx");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname_r(&master).expect("ptsname");
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(name)
        .expect("open the pty slave");
    let master = File::from(OwnedFd::from(master));
    (master, slave)
}

/// A pty whose terminal side is in raw mode: every byte value passes unchanged, and is
/// readable at once, without waiting for a newline.
pub fn open_raw_pty() -> (File, File) {
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    let (master, slave) = open_pty();
    let mut termios = tcgetattr(&slave).unwrap();
    cfmakeraw(&mut termios);
    tcsetattr(&slave, SetArg::TCSANOW, &termios).unwrap();
    (master, slave)
}

/// The descriptors of this test process that a child inherits (not close-on-exec): those it
/// inherited itself, since everything the tests open is close-on-exec.
pub fn inherited_fds() -> Vec<RawFd> {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&fd| {
            // SAFETY: F_GETFD only reads a descriptor flag; a closed descriptor gives -1.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect()
}

/// Whether `fd`'s open file description has O_NONBLOCK.
pub fn is_nonblocking(fd: &impl AsRawFd) -> bool {
    // SAFETY: F_GETFL only reads the flags of a descriptor the caller holds.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0, "F_GETFL failed");
    flags & libc::O_NONBLOCK != 0
}

/// A pipe whose both ends are close-on-exec.
pub fn pipe() -> (File, File) {
    let (reader, writer) = io::pipe().expect("pipe");
    (
        File::from(OwnedFd::from(reader)),
        File::from(OwnedFd::from(writer)),
    )
}

/// Lowers the descriptor limit of the running `pid` to `limit` (prlimit(1)): it can open nothing
/// numbered `limit` or more from then on.
pub fn limit_descriptors(pid: i32, limit: u64) {
    let status = Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={limit}:{limit}"),
        ])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit failed");
}
