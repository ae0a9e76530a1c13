//! Signal numbers and names as this Unix has them (nix's table).

use std::str::FromStr;

use nix::libc;

pub const SIGHUP: i32 = libc::SIGHUP;
pub const SIGINT: i32 = libc::SIGINT;
pub const SIGQUIT: i32 = libc::SIGQUIT;
pub const SIGKILL: i32 = libc::SIGKILL;
pub const SIGUSR1: i32 = libc::SIGUSR1;
pub const SIGUSR2: i32 = libc::SIGUSR2;
pub const SIGPIPE: i32 = libc::SIGPIPE;
pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGCHLD: i32 = libc::SIGCHLD;
pub const SIGCONT: i32 = libc::SIGCONT;
pub const SIGSTOP: i32 = libc::SIGSTOP;
pub const SIGTSTP: i32 = libc::SIGTSTP;
pub const SIGTTIN: i32 = libc::SIGTTIN;
pub const SIGTTOU: i32 = libc::SIGTTOU;
pub const SIGWINCH: i32 = libc::SIGWINCH;
pub const SIGSEGV: i32 = libc::SIGSEGV;
pub const SIGBUS: i32 = libc::SIGBUS;
pub const SIGFPE: i32 = libc::SIGFPE;
pub const SIGILL: i32 = libc::SIGILL;
pub const SIGABRT: i32 = libc::SIGABRT;

/// `SIGTERM` for 15: the name of the signal numbered `number`, if this system has one.
pub fn signal_name(number: i32) -> Option<&'static str> {
    nix::sys::signal::Signal::try_from(number)
        .ok()
        .map(nix::sys::signal::Signal::as_str)
}

/// 15 for `SIGTERM`: the number of the signal named `name` (upper case, with its prefix).
pub fn signal_number(name: &str) -> Option<i32> {
    nix::sys::signal::Signal::from_str(name)
        .ok()
        .map(|signal| signal as i32)
}

/// Why a signal this system names cannot be a step of the sequence here: never on Unix.
pub fn undeliverable(_number: i32) -> Option<&'static str> {
    None
}

/// The spawn errors that mean the program exists but cannot be run (status 126).
pub const NOT_EXECUTABLE_ERRORS: [i32; 2] = [libc::ENOEXEC, libc::EISDIR];

/// Dies of `signal`: default action restored and unblocked, no core dump; where the signal does
/// not kill (PID 1, SIGSTOP), exits 128+S instead.
pub fn die_by_signal(signal: i32) -> ! {
    use nix::sys::resource::{Resource, setrlimit};
    use nix::sys::signal::{SigHandler, SigSet, Signal, raise};
    super::set_undumpable();
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    // Every status comes from nix's wait, whose Signal names every signal a child can die of.
    if let Ok(signal) = Signal::try_from(signal) {
        // SAFETY: restores the default action, which runs no code of ours.
        let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
        let _ = SigSet::from(signal).thread_unblock();
        let _ = raise(signal);
    }
    std::process::exit(128 + signal)
}
