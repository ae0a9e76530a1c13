//! The ends of the relay: what kind of file each descriptor is, and how it is read and written
//! without ever blocking; agentpipe's own stdin and stdout taken as such ends.

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::libc;
use nix::sys::socket::{MsgFlags, Shutdown, recv, send, shutdown};
use nix::sys::stat::{SFlag, fstat};

use crate::outlet::own_stderr;
use crate::platform::{self, NO_SIGPIPE};

/// What kind of file a descriptor is, which decides how bytes can move through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A regular file or a block device: never makes a reader or writer wait.
    File,
    Socket,
    /// A pipe or FIFO: can be spliced to and from another pipe, and grown.
    Pipe,
    /// A terminal or another character device.
    Device,
    /// The master of the child's pseudo-terminal (`--pty`): its end, as the child's input, is
    /// the terminal's EOF character.
    Master,
}

/// How an endpoint's reads and writes avoid blocking, without O_NONBLOCK on an open file
/// description that others share (a terminal with the whole session, a pipe with a pipeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// A description only agentpipe holds, with O_NONBLOCK: the pipes to the child, and a
    /// private reopening of an inherited terminal, pipe, FIFO or device (see
    /// [`platform::reopen_nonblocking`]). A read or write that would wait fails with EAGAIN.
    Private,
    /// An inherited pipe that could not be reopened: each call with RWF_NOWAIT.
    NoWait,
    /// A socket: each call with MSG_DONTWAIT.
    Socket,
    /// A regular file or block device, which never waits.
    File,
    /// The last resort, where nothing else works (a pseudo-terminal master; a terminal of another
    /// user; a system without /proc): used only after a readiness report, and written at most
    /// PIPE_BUF bytes per report. A competing reader of the same terminal can make such a read
    /// wait for the next input.
    Guarded,
}

/// A descriptor at one end of a pump.
#[derive(Debug)]
pub struct Endpoint {
    fd: OwnedFd,
    /// The inherited descriptor, where `fd` is a private reopening of it: kept open as long as
    /// `fd` (so that closing the endpoint still ends the stream), and what [`Endpoint::into_fd`]
    /// hands on.
    inherited: Option<OwnedFd>,
    pub(super) kind: Kind,
    access: Cell<Access>,
    /// A master: the last byte written left a line open (not a newline or a carriage return).
    line_open: Cell<bool>,
    /// agentpipe's stdout on the very terminal its stderr is: whether the last byte relayed
    /// left a line open is told to agentpipe's own lines, which then start on a new line.
    shares_own_lines: bool,
}

impl Endpoint {
    /// A descriptor agentpipe created and made non-blocking (its end of a child pipe).
    pub fn own(fd: OwnedFd) -> Endpoint {
        Endpoint {
            fd,
            inherited: None,
            kind: Kind::Pipe,
            access: Cell::new(Access::Private),
            line_open: Cell::new(false),
            shares_own_lines: false,
        }
    }

    /// A descriptor of the master of the child's pseudo-terminal, made non-blocking: agentpipe
    /// created it, so nobody else shares its description.
    pub fn terminal(fd: OwnedFd) -> Endpoint {
        Endpoint {
            kind: Kind::Master,
            ..Endpoint::own(fd)
        }
    }

    /// agentpipe's inherited stdin (`write` false) or stdout (`write` true), made impossible to
    /// block on; refused if it is a message socket, whose boundaries the relay cannot keep.
    pub fn inherited(fd: OwnedFd, write: bool) -> io::Result<Endpoint> {
        let kind = match fstat(&fd) {
            Ok(stat) => match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
                SFlag::S_IFREG | SFlag::S_IFBLK => Kind::File,
                SFlag::S_IFSOCK => Kind::Socket,
                SFlag::S_IFIFO => Kind::Pipe,
                _ => Kind::Device,
            },
            Err(_) => Kind::Device,
        };
        let (fd, inherited, access) = match kind {
            Kind::File => (fd, None, Access::File),
            Kind::Socket => {
                refuse_message_socket(fd.as_fd(), if write { "stdout" } else { "stdin" })?;
                (fd, None, Access::Socket)
            }
            Kind::Pipe | Kind::Device | Kind::Master => {
                match platform::reopen_nonblocking(fd.as_fd(), write) {
                    Some(private) => (private, Some(fd), Access::Private),
                    None if kind == Kind::Pipe => (fd, None, Access::NoWait),
                    None => (fd, None, Access::Guarded),
                }
            }
        };
        Ok(Endpoint {
            fd,
            inherited,
            kind,
            access: Cell::new(access),
            line_open: Cell::new(false),
            shares_own_lines: false,
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(super) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match self.access.get() {
            Access::Socket => recv(self.fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT),
            Access::NoWait => {
                return self.unless_unsupported(platform::read_nowait(self.fd(), buf));
            }
            Access::Private | Access::File | Access::Guarded => nix::unistd::read(&self.fd, buf),
        };
        result.map_err(io::Error::from)
    }

    pub(super) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let written = self.write_nowait(buf)?;
        let open = written > 0 && !matches!(buf[written - 1], b'\n' | b'\r');
        if self.kind == Kind::Master && written > 0 {
            self.line_open.set(open);
        }
        if self.shares_own_lines && written > 0 {
            own_stderr().line_open(open);
        }
        Ok(written)
    }

    fn write_nowait(&self, buf: &[u8]) -> io::Result<usize> {
        let result = match self.access.get() {
            Access::Private | Access::File => nix::unistd::write(&self.fd, buf),
            Access::Socket => send(
                self.fd.as_raw_fd(),
                buf,
                MsgFlags::MSG_DONTWAIT | NO_SIGPIPE,
            ),
            Access::NoWait => {
                return self.unless_unsupported(platform::write_nowait(self.fd(), buf));
            }
            // After POLLOUT a pipe or terminal has room for at least PIPE_BUF bytes.
            Access::Guarded => nix::unistd::write(&self.fd, &buf[..buf.len().min(libc::PIPE_BUF)]),
        };
        result.map_err(io::Error::from)
    }

    /// Where the kernel does not support RWF_NOWAIT on this pipe (EOPNOTSUPP), the endpoint is
    /// guarded from then on, and the call counts as a spurious wake-up.
    fn unless_unsupported(&self, result: io::Result<usize>) -> io::Result<usize> {
        match result {
            Err(error) if error.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                self.access.set(Access::Guarded);
                Err(io::ErrorKind::WouldBlock.into())
            }
            other => other,
        }
    }

    /// Ends the stream for the peer of a socket: other copies of the descriptor (in the child, or
    /// in agentpipe's parent) would otherwise keep it open. A terminal has no half-close: its
    /// reader is sent the terminal's EOF character (twice after an unfinished line: the first
    /// only ends the line), which a program reading lines takes as the end of its input.
    pub(super) fn shutdown_write(&self) {
        match self.kind {
            Kind::Socket => {
                let _ = shutdown(self.fd.as_raw_fd(), Shutdown::Write);
            }
            Kind::Master => {
                let eof = platform::eof_character(self.fd());
                let count = if self.line_open.get() { 2 } else { 1 };
                let _ = nix::unistd::write(&self.fd, &[eof, eof][..count]);
            }
            _ => {}
        }
    }

    /// Whether it is the master of the child's pseudo-terminal.
    pub fn is_master(&self) -> bool {
        self.kind == Kind::Master
    }

    /// Whether it is a terminal.
    pub fn is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&self.fd)
    }

    /// The descriptor as agentpipe inherited it, to hand on to the child: never the private
    /// non-blocking reopening, which would make the child's reads fail with EAGAIN.
    pub fn into_fd(self) -> OwnedFd {
        self.inherited.unwrap_or(self.fd)
    }

    /// Whether its end means its writer is done (a pipe, a socket, a terminal), rather than
    /// that a file's data ended (a regular file, /dev/null).
    pub fn ends_with_hangup(&self) -> bool {
        match self.kind {
            Kind::File => false,
            Kind::Device => self.is_terminal(),
            Kind::Pipe | Kind::Socket | Kind::Master => true,
        }
    }

    /// Whether a write may only follow a readiness report.
    pub(super) fn needs_readiness(&self) -> bool {
        self.access.get() == Access::Guarded
    }

    /// Grows a pipe through which a stream flows.
    pub(super) fn grow(&self) {
        if self.kind == Kind::Pipe {
            platform::grow_pipe(self.fd());
        }
    }

    /// Bytes waiting to be read (FIONREAD), where the descriptor can tell.
    pub fn queued(&self) -> u64 {
        let mut count: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        let result = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::FIONREAD as _, &mut count) };
        if result == 0 { count.max(0) as u64 } else { 0 }
    }
}

/// A socket that keeps message boundaries (SOCK_SEQPACKET, SOCK_DGRAM) cannot be relayed
/// exactly through the command's byte-stream pipes: a message larger than the relay's buffer
/// would be cut, and an empty one would read as the end of the input. It is refused at start.
fn refuse_message_socket(fd: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let mut kind: libc::c_int = 0;
    let mut length = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_TYPE writes one int into `kind`, whose size `length` gives.
    let result = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &mut length,
        )
    };
    let what = match kind {
        _ if result != 0 || kind == libc::SOCK_STREAM => return Ok(()),
        libc::SOCK_SEQPACKET => "a SOCK_SEQPACKET socket",
        libc::SOCK_DGRAM => "a SOCK_DGRAM socket",
        _ => "a message socket",
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{name} is {what}, whose message boundaries a byte stream cannot keep; \
             give agentpipe a pipe, a file or a stream socket"
        ),
    ))
}

/// Opens /dev/null on whichever of fd 0, 1 and 2 is closed, so that the next descriptor opened
/// does not land there by accident.
pub fn fill_closed_std_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries; dup2 onto a closed standard descriptor takes nothing.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 && null != fd {
                    libc::dup2(null, fd);
                    libc::close(null);
                }
            }
        }
    }
}

/// Takes agentpipe's stdin and stdout as relay endpoints, leaving /dev/null at fd 0 and 1: the
/// endpoints are then the only copies, so closing one is what ends the stream for its peer.
pub fn take_std_fds() -> io::Result<(Endpoint, Endpoint)> {
    let null = File::options().read(true).write(true).open("/dev/null")?;
    // A copy above fd 2 with close-on-exec (F_DUPFD_CLOEXEC), then dup2 replaces the standard
    // descriptor atomically.
    let input = io::stdin().as_fd().try_clone_to_owned()?;
    nix::unistd::dup2_stdin(&null)?;
    let output = io::stdout().as_fd().try_clone_to_owned()?;
    nix::unistd::dup2_stdout(&null)?;
    let mut output = Endpoint::inherited(output, true)?;
    output.shares_own_lines = same_terminal(output.inherited.as_ref().unwrap_or(&output.fd));
    Ok((Endpoint::inherited(input, false)?, output))
}

/// Whether `fd` is a terminal, and the one agentpipe's stderr is.
fn same_terminal(fd: &OwnedFd) -> bool {
    let device = |fd: BorrowedFd<'_>| {
        let terminal = nix::unistd::isatty(fd).unwrap_or(false);
        fstat(fd).ok().filter(|_| terminal).map(|stat| stat.st_rdev)
    };
    device(fd.as_fd()).is_some_and(|rdev| device(io::stderr().as_fd()) == Some(rdev))
}
