//! Signals on Windows: only their names and numbers, so that a sequence, a report and an exit
//! status read as they do on Unix (SIGKILL is 9, so a job ended by it exits 137).
//!
//! Windows has no signals. agentpipe gives three of them a meaning: TERM is a Ctrl-Break event
//! to the child's process group, INT a Ctrl-C event, KILL the end of its Job Object (or of the
//! process alone, for the `child` scope). Every other name is known, so that a sequence written
//! for Unix is refused with a reason instead of as a typo.

/// Linux's numbers, which scripts and reports expect (128 + 9 = 137).
pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGWINCH: i32 = 28;
pub const SIGSEGV: i32 = 11;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGILL: i32 = 4;
pub const SIGABRT: i32 = 6;

/// Every name, with its number.
const NAMES: [(i32, &str); 20] = [
    (SIGHUP, "SIGHUP"),
    (SIGINT, "SIGINT"),
    (SIGQUIT, "SIGQUIT"),
    (SIGKILL, "SIGKILL"),
    (SIGUSR1, "SIGUSR1"),
    (SIGUSR2, "SIGUSR2"),
    (SIGPIPE, "SIGPIPE"),
    (SIGTERM, "SIGTERM"),
    (SIGCHLD, "SIGCHLD"),
    (SIGCONT, "SIGCONT"),
    (SIGSTOP, "SIGSTOP"),
    (SIGTSTP, "SIGTSTP"),
    (SIGTTIN, "SIGTTIN"),
    (SIGTTOU, "SIGTTOU"),
    (SIGWINCH, "SIGWINCH"),
    (SIGSEGV, "SIGSEGV"),
    (SIGBUS, "SIGBUS"),
    (SIGFPE, "SIGFPE"),
    (SIGILL, "SIGILL"),
    (SIGABRT, "SIGABRT"),
];

/// `SIGTERM` for 15.
pub fn signal_name(number: i32) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, name)| *name)
}

/// 15 for `SIGTERM` (upper case, with its prefix).
pub fn signal_number(name: &str) -> Option<i32> {
    NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(number, _)| *number)
}

/// Why the signal numbered `number` cannot be a step here: every one but TERM, INT and KILL.
pub fn undeliverable(number: i32) -> Option<&'static str> {
    (![SIGTERM, SIGINT, SIGKILL].contains(&number)).then_some(
        "has no meaning on Windows, where agentpipe sends TERM as Ctrl-Break, INT as Ctrl-C, \
         and KILL by ending the command's Job Object",
    )
}

/// The spawn errors that mean the program exists but cannot be run (status 126):
/// ERROR_BAD_EXE_FORMAT, ERROR_DIRECTORY.
pub const NOT_EXECUTABLE_ERRORS: [i32; 2] = [193, 267];

/// Ends agentpipe as a death by `signal` would on Unix: with status 128 + S, which is what a
/// calling script sees there.
pub fn die_by_signal(signal: i32) -> ! {
    std::process::exit(128 + signal)
}
