//! Processes as /proc shows them, and how a command under test starts (signals ignored or blocked, set-up before exec).

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::thread;
use std::time::Instant;

use nix::libc;
use nix::sys::signal::Signal;

use super::{LIMIT, POLL};

/// `/proc/PID/stat`: what the tests look at.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    /// Start time after boot, in clock ticks.
    pub start: u64,
}

pub fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 of proc(5): state, ppid, pgrp, ... starttime is field 22.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Waits until `pid` is in a state that `accept` takes ('T' for stopped, ...).
pub fn wait_state(pid: i32, what: &str, accept: impl Fn(char) -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !stat(pid).is_some_and(|stat| accept(stat.state)) {
        if Instant::now() >= deadline {
            // What the process was doing, and its signals, say why it did not get there.
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let signals: Vec<&str> = status
                .lines()
                .filter(|line| line.starts_with("State") || line.starts_with("Sig"))
                .filter(|line| !line.starts_with("SigQ"))
                .chain(status.lines().filter(|line| line.starts_with("ShdPnd")))
                .collect();
            panic!("timed out after {LIMIT:?} waiting for pid {pid} to be {what}: {signals:?}");
        }
        thread::sleep(POLL);
    }
}

/// A `SigXxx:` mask of `/proc/PID/status` text.
pub fn signal_mask(status: &str, field: &str) -> u64 {
    let line = status
        .lines()
        .find(|line| line.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in:\n{status}"));
    u64::from_str_radix(line[field.len() + 1..].trim(), 16).expect("hex mask")
}

/// The bit of `signal` in a `/proc` signal mask.
pub fn mask_bit(signal: Signal) -> u64 {
    1 << (signal as i32 - 1)
}

/// Runs `setup` in the forked agentpipe before it execs. `setup` must only make
/// async-signal-safe calls.
pub fn before_exec(
    command: &mut Command,
    setup: impl Fn() -> io::Result<()> + Send + Sync + 'static,
) {
    // SAFETY: every closure given here makes only async-signal-safe calls (see callers).
    unsafe {
        command.pre_exec(setup);
    }
}

/// Starts the command with these signals ignored (as `nohup` or `cmd &` in a script do).
pub fn ignore_signals(command: &mut Command, signals: &[Signal]) {
    let numbers: Vec<libc::c_int> = signals
        .iter()
        .map(|&signal| signal as libc::c_int)
        .collect();
    before_exec(command, move || {
        for &number in &numbers {
            // SAFETY: signal(2) is async-signal-safe.
            unsafe { libc::signal(number, libc::SIG_IGN) };
        }
        Ok(())
    });
}

/// Starts the command with these signals blocked.
pub fn block_signals(command: &mut Command, signals: &[Signal]) {
    let numbers: Vec<libc::c_int> = signals
        .iter()
        .map(|&signal| signal as libc::c_int)
        .collect();
    before_exec(command, move || {
        // SAFETY: sigset manipulation and sigprocmask are async-signal-safe.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &number in &numbers {
                libc::sigaddset(&mut set, number);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        Ok(())
    });
}
