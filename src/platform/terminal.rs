//! Terminals: the pseudo-terminal `--pty` runs the command on, the window size it follows, and
//! the raw mode agentpipe's own terminal is in meanwhile.
//!
//! These are POSIX calls on every Unix; only opening the pair differs: Linux opens both ends
//! close-on-exec at once, elsewhere openpty(3) opens them and the flag follows.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::libc;
use nix::sys::termios::{
    SetArg, SpecialCharacterIndices, Termios, cfmakeraw, tcgetattr, tcsetattr,
};

/// The EOF character when a terminal has none set (VEOF disabled): Ctrl-D.
const CTRL_D: u8 = 4;

/// A terminal's window size, in characters and pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub columns: u16,
    pixels: (u16, u16),
}

/// A new pseudo-terminal: its master, and its slave (not anybody's controlling terminal yet),
/// both close-on-exec so that no other child inherits them.
#[cfg(target_os = "linux")]
pub fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
    use nix::fcntl::{OFlag, open};
    use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
    use nix::sys::stat::Mode;
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname_r(&master)?;
    let slave = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    Ok((master.into(), slave))
}

/// A new pseudo-terminal: its master, and its slave (not anybody's controlling terminal yet),
/// both close-on-exec so that no other child inherits them.
#[cfg(not(target_os = "linux"))]
pub fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    use std::os::fd::AsFd;
    let pair = nix::pty::openpty(None, None)?;
    for fd in [&pair.master, &pair.slave] {
        fcntl(fd.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((pair.master, pair.slave))
}

/// The window size of the terminal `fd` refers to, if it is one.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<WindowSize> {
    // SAFETY: an all-zero winsize is valid; TIOCGWINSZ writes one winsize.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    let result = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ as _, &mut size) };
    (result == 0).then_some(WindowSize {
        rows: size.ws_row,
        columns: size.ws_col,
        pixels: (size.ws_xpixel, size.ws_ypixel),
    })
}

/// Sets the window size of a pseudo-terminal through its master: the kernel then sends
/// SIGWINCH to the terminal's foreground process group, as a terminal emulator's resize does.
pub fn set_window_size(fd: BorrowedFd<'_>, size: WindowSize) -> io::Result<()> {
    let size = libc::winsize {
        ws_row: size.rows,
        ws_col: size.columns,
        ws_xpixel: size.pixels.0,
        ws_ypixel: size.pixels.1,
    };
    // SAFETY: TIOCSWINSZ reads one winsize.
    let result = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ as _, &size) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The terminal's EOF character (VEOF), as the program on it set it; Ctrl-D where it is
/// disabled. Through a master, the kernel answers with its slave's settings.
pub fn eof_character(fd: BorrowedFd<'_>) -> u8 {
    match tcgetattr(fd) {
        Ok(termios) => match termios.control_chars[SpecialCharacterIndices::VEOF as usize] {
            0 => CTRL_D,
            character => character,
        },
        Err(_) => CTRL_D,
    }
}

/// In the child between fork and exec (async-signal-safe, no allocation): starts a session of
/// its own, whose controlling terminal is the one on its stdin; the command is then the session
/// leader, in a process group of its own, and the terminal's foreground group.
pub fn take_controlling_terminal() -> io::Result<()> {
    // SAFETY: setsid and ioctl are async-signal-safe system calls; fd 0 is the terminal.
    unsafe {
        if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A terminal in raw mode, restored to its settings as they were when dropped: every key
/// reaches the command's terminal as typed (Ctrl-C, Ctrl-D and Ctrl-Z included), and what it
/// writes reaches the screen unchanged.
///
/// The settings are kept as plain data, so that the guard can be shared with the event loop
/// (which suspends and resumes it around a stop) from any thread.
#[derive(Debug)]
pub struct RawMode {
    fd: OwnedFd,
    saved: libc::termios,
    raw: libc::termios,
}

impl RawMode {
    /// Puts the terminal `fd` refers to in raw mode. Set and restored at once (TCSANOW): a
    /// terminal whose output is suspended (Ctrl-S) never makes agentpipe wait.
    pub fn set(fd: BorrowedFd<'_>) -> io::Result<RawMode> {
        let fd = fd.try_clone_to_owned()?;
        let saved = tcgetattr(&fd)?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        let mode = RawMode {
            fd,
            saved: saved.into(),
            raw: raw.into(),
        };
        mode.resume()?;
        Ok(mode)
    }

    /// Gives the terminal its own settings back while agentpipe is stopped (job control), so
    /// that the shell gets it as it was.
    pub fn suspend(&self) {
        let _ = tcsetattr(&self.fd, SetArg::TCSANOW, &Termios::from(self.saved));
    }

    /// Raw again: at the start, and when agentpipe continues after a stop.
    pub fn resume(&self) -> io::Result<()> {
        tcsetattr(&self.fd, SetArg::TCSANOW, &Termios::from(self.raw))?;
        Ok(())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.suspend();
    }
}
