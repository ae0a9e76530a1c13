//! Linux: agentpipe's own spawn, in the parent's memory (clone(CLONE_VM | CLONE_VFORK)), as
//! posix_spawn(3) starts a child, with the set-up of [`ChildSetup`] that posix_spawn cannot do
//! (the parent-death signal, the cgroup).
//!
//! Why: the standard library forks as soon as a `pre_exec` closure is set, and a fork copies
//! agentpipe's page tables and makes every page either process writes next a copy-on-write
//! fault, in the parent while it sets up the relay and in the child until its exec. Measured on
//! `agentpipe -- true` against the standard library's fork (paired medians of 400 alternating
//! runs, see benches/README.md's History): 0.12 to 0.135 ms less, and 42 page faults fewer of
//! 222. Decision (cm).

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::libc::{self, c_char, c_int, c_void};
use nix::unistd::Pid;

use super::ChildSetup;

/// The child's stack until its exec: its calls are a few system calls deep (glibc's posix_spawn
/// gives its child 32 KiB plus the arguments). Never zeroed: only the pages it touches are used.
const STACK: usize = 64 * 1024;

/// The shell a file the kernel cannot execute (ENOEXEC) is run with, as execvp(3) does.
const SHELL: &CStr = c"/bin/sh";

unsafe extern "C" {
    /// The process's environment, which the child is given as it is.
    static environ: *const *const c_char;
}

/// What the child reads, and the error it writes back: shared, since the child runs in the
/// parent's memory while the parent waits (CLONE_VFORK) until it has exec'd or exited.
struct Shared<'a> {
    path: &'a CStr,
    argv: &'a [*const c_char],
    /// `/bin/sh path args...`, for a file without a `#!` line.
    shell_argv: &'a [*const c_char],
    /// The descriptors that become the child's 0, 1 and 2 (-1: its own, inherited).
    stdio: [c_int; 3],
    setup: &'a ChildSetup,
    /// The errno of the step that failed; 0 while nothing did.
    error: AtomicI32,
}

/// Starts `command` (its program and arguments: the caller vouches that nothing else is set on
/// it but an environment or a directory, for which `None` says to use the standard library)
/// with `stdio` as its 0, 1 and 2 where given, set up as `setup` says. The program is looked
/// for in PATH here, before the child starts, as execvp(3) would: the same errors (not found,
/// permission denied) for the same files.
pub fn spawn(
    command: &Command,
    stdio: [Option<BorrowedFd<'_>>; 3],
    setup: &ChildSetup,
) -> io::Result<Option<Pid>> {
    if command.get_envs().len() > 0 || command.get_current_dir().is_some() {
        return Ok(None);
    }
    let program = command.get_program();
    let args: Vec<CString> = std::iter::once(program)
        .chain(command.get_args())
        .map(c_string)
        .collect::<io::Result<_>>()?;
    let path = resolve(program)?;
    let argv: Vec<*const c_char> = args
        .iter()
        .map(|arg| arg.as_ptr())
        .chain([ptr::null()])
        .collect();
    let shell_argv: Vec<*const c_char> = [SHELL.as_ptr(), path.as_ptr()]
        .into_iter()
        .chain(argv[1..].iter().copied())
        .collect();
    let shared = Shared {
        path: &path,
        argv: &argv,
        shell_argv: &shell_argv,
        stdio: stdio.map(|fd| fd.map_or(-1, |fd| fd.as_raw_fd())),
        setup,
        error: AtomicI32::new(0),
    };
    let pid = start(&shared)?;
    match shared.error.load(Ordering::Relaxed) {
        0 => Ok(Some(pid)),
        error => {
            // It exited without exec: collected here, as the standard library does.
            super::wait_pid(pid, 0);
            Err(io::Error::from_raw_os_error(error))
        }
    }
}

/// clone(2) with every signal blocked around it, so that no handler of agentpipe's runs in the
/// child before it has reset the dispositions; returns once the child has exec'd or exited.
fn start(shared: &Shared<'_>) -> io::Result<Pid> {
    let mut stack: Vec<u8> = Vec::with_capacity(STACK);
    // The stack grows down from its end, rounded down to the 16 bytes the ABI wants (a byte
    // vector promises no alignment of its own).
    let end = stack.as_mut_ptr().wrapping_add(STACK);
    let top = end.wrapping_sub(end as usize % 16).cast::<c_void>();
    // SAFETY: the sets are initialised by sigfillset and pthread_sigmask before being read;
    // clone runs `child` on `stack`, which outlives it (the parent waits for its exec or exit
    // under CLONE_VFORK), with a pointer to `shared`, which outlives it too.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        let arg = ptr::from_ref(shared).cast_mut().cast::<c_void>();
        let pid = libc::clone(child, top, flags, arg);
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
        match pid {
            -1 => Err(error),
            pid => Ok(Pid::from_raw(pid)),
        }
    }
}

/// The child, in the parent's memory: only async-signal-safe calls, no allocation (see
/// [`ChildSetup::apply`]); an error is written to [`Shared::error`] before `_exit(127)`.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Shared`, alive until this child exec's or exits.
    let shared = unsafe { &*arg.cast::<Shared<'_>>() };
    let error = match prepare(shared) {
        Ok(()) => exec(shared),
        Err(error) => error,
    };
    // Never 0, which says nothing failed: a step that failed with errno left at 0 is EINVAL.
    let code = error.raw_os_error().filter(|&code| code != 0);
    shared
        .error
        .store(code.unwrap_or(libc::EINVAL), Ordering::Relaxed);
    // SAFETY: _exit(2) ends the child at once, running nothing of the parent's.
    unsafe { libc::_exit(127) }
}

/// The child's descriptors and set-up, as the standard library orders them: stdio first (a
/// session takes its stdin as its terminal), then [`ChildSetup::apply`].
fn prepare(shared: &Shared<'_>) -> io::Result<()> {
    for (target, &fd) in shared.stdio.iter().enumerate() {
        let target = target as c_int;
        // SAFETY: dup2 and fcntl on descriptors the parent holds open for the call.
        let done = unsafe {
            match fd {
                -1 => 0,
                // Already in place: only close-on-exec to clear.
                fd if fd == target => libc::fcntl(fd, libc::F_SETFD, 0),
                fd => libc::dup2(fd, target),
            }
        };
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    shared.setup.apply()
}

/// execve(2) of the resolved path, and of the shell with it for a file without a `#!` line
/// (as execvp(3) does): returns only what failed.
fn exec(shared: &Shared<'_>) -> io::Error {
    // SAFETY: null-terminated arrays of pointers to strings the parent keeps alive.
    unsafe {
        libc::execve(shared.path.as_ptr(), shared.argv.as_ptr(), environ);
        if io::Error::last_os_error().raw_os_error() == Some(libc::ENOEXEC) {
            libc::execve(SHELL.as_ptr(), shared.shell_argv.as_ptr(), environ);
        }
    }
    io::Error::last_os_error()
}

fn c_string(text: &OsStr) -> io::Result<CString> {
    CString::new(text.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

/// The file execvp(3) would run for `program`: itself if it names a path, else the first
/// executable file of that name in PATH (the C library's default path without one). A file
/// found but not executable (or a directory) is passed over, and makes the search fail with
/// "permission denied" rather than "not found".
fn resolve(program: &OsStr) -> io::Result<CString> {
    let name = program.as_bytes();
    if name.contains(&b'/') {
        return c_string(program);
    }
    let path = std::env::var_os("PATH");
    let path = path
        .as_deref()
        .map_or(&b"/bin:/usr/bin"[..], OsStr::as_bytes);
    let mut denied = false;
    for dir in path
        .split(|&byte| byte == b':')
        .filter(|_| !name.is_empty())
    {
        let mut candidate = dir.to_vec();
        if !candidate.is_empty() {
            candidate.push(b'/');
        }
        candidate.extend_from_slice(name);
        let candidate = OsStr::from_bytes(&candidate);
        // stat(2) itself: the standard library's first metadata call probes statx first.
        match nix::sys::stat::stat(candidate) {
            Ok(found) if found.st_mode & libc::S_IFMT == libc::S_IFREG => {
                if executable(candidate, found.st_mode) {
                    return c_string(candidate);
                }
                denied = true;
            }
            Ok(_) | Err(nix::errno::Errno::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    // The errors execvp(3) would have left in errno.
    Err(io::Error::from_raw_os_error(match denied {
        true => libc::EACCES,
        false => libc::ENOENT,
    }))
}

/// Whether this process may execute the file (access(2), which knows root and the mounts),
/// given that some execute bit is set.
fn executable(path: &OsStr, mode: u32) -> bool {
    mode & 0o111 != 0 && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}
