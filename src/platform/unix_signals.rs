//! Signal numbers and names as this Unix has them (nix's table, and the real-time ones).

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

/// `SIGTERM` for 15: the name of the signal numbered `number`, if this system has one,
/// real-time signals included (`SIGRTMIN+1` for 35), so that a child killed by one is
/// recognised.
pub fn signal_name(number: i32) -> Option<&'static str> {
    nix::sys::signal::Signal::try_from(number)
        .ok()
        .map(nix::sys::signal::Signal::as_str)
        .or_else(|| realtime_signal_name(number))
}

/// The names of the signals above the classic 31, which no crate names: Linux numbers them 32 to
/// 64, of which the C library keeps 32 and 33 for its threads; then SIGRTMIN (34) to SIGRTMAX
/// (64), spelt as kill(1) lists them. No other system reports a number above 31.
const REALTIME_NAMES: [&str; 33] = [
    "SIG32",
    "SIG33",
    "SIGRTMIN",
    "SIGRTMIN+1",
    "SIGRTMIN+2",
    "SIGRTMIN+3",
    "SIGRTMIN+4",
    "SIGRTMIN+5",
    "SIGRTMIN+6",
    "SIGRTMIN+7",
    "SIGRTMIN+8",
    "SIGRTMIN+9",
    "SIGRTMIN+10",
    "SIGRTMIN+11",
    "SIGRTMIN+12",
    "SIGRTMIN+13",
    "SIGRTMIN+14",
    "SIGRTMIN+15",
    "SIGRTMAX-14",
    "SIGRTMAX-13",
    "SIGRTMAX-12",
    "SIGRTMAX-11",
    "SIGRTMAX-10",
    "SIGRTMAX-9",
    "SIGRTMAX-8",
    "SIGRTMAX-7",
    "SIGRTMAX-6",
    "SIGRTMAX-5",
    "SIGRTMAX-4",
    "SIGRTMAX-3",
    "SIGRTMAX-2",
    "SIGRTMAX-1",
    "SIGRTMAX",
];

/// The name of a real-time signal (32 to 64); `None` for any other number.
fn realtime_signal_name(number: i32) -> Option<&'static str> {
    let index = usize::try_from(number.checked_sub(32)?).ok()?;
    REALTIME_NAMES.get(index).copied()
}

/// 15 for `SIGTERM`: the number of the signal named `name` (upper case, with its prefix). Not
/// for a real-time signal, which a step does not send.
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
/// not kill (PID 1, SIGSTOP), exits 128+S instead. By number, so that a child killed by a
/// real-time signal is followed by the same one.
pub fn die_by_signal(signal: i32) -> ! {
    use nix::sys::resource::{Resource, setrlimit};
    super::set_undumpable();
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    // SAFETY: restores the default action, which runs no code of ours, and unblocks the signal
    // in a set built on the stack; an invalid number only makes each call fail.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}
