//! Signal storms and fault injection: a thousand signals at a relaying agentpipe, both ends
//! closing mid-stream, the child killed mid-write, a full disk behind `--stderr`, stdout and
//! `--report`, EINTR in every blocking call, a child that closes and reopens its stdout, a
//! terminal as stdin, and one socket as both stdin and stdout. One module per fault; the
//! helpers they share are here.

mod disk;
mod eintr;
mod ends;
mod stdio;
mod storms;

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::robust::{Deadline, Watchdog, set_nonblocking};
use agentpipe::{Config, Exit, Stream};
use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Faults injected and signals sent, over every test of this file (printed by each test).
static FAULTS: AtomicUsize = AtomicUsize::new(0);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

fn fault() {
    FAULTS.fetch_add(1, Ordering::Relaxed);
}

fn tally(test: &str) {
    eprintln!(
        "{test}: {} faults injected, {} signals sent so far in this file",
        FAULTS.load(Ordering::Relaxed),
        SIGNALS.load(Ordering::Relaxed)
    );
}

/// Sends `signal` to `pid`, which the caller has not reaped yet (so the pid cannot have been
/// recycled: a zombie still holds it).
fn send(pid: i32, signal: Signal) {
    kill(Pid::from_raw(pid), signal).expect("signal an unreaped process");
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// How long any test of this file may run before its processes are killed and it fails.
const TEST_LIMIT: Duration = Duration::from_secs(90);

/// A watchdog over the processes of `run` (see [`Watchdog`]), named after the test.
fn watch(run: &Run) -> Watchdog {
    let test = thread::current().name().unwrap_or("faults").to_string();
    Watchdog::arm(&test, &[&run.sandbox.tag], TEST_LIMIT)
}

/// Asserts that agentpipe did not panic.
fn assert_no_panic(done: &Finished) {
    assert!(
        !done.stderr.contains("panicked") && done.status.code() != Some(101),
        "agentpipe panicked ({:?}):\n{}",
        done.status,
        done.stderr
    );
}

/// The steps of a `--report`, as (step number, action) in the order they were taken, a signal
/// step's action being its signal.
fn report_steps(report: &Report) -> Vec<(u32, String)> {
    report
        .steps()
        .into_iter()
        .map(|(step, action, signal)| match signal {
            Some(signal) if action == "signal" => (step as u32, signal),
            _ => (step as u32, action),
        })
        .collect()
}

fn read_report(sandbox: &Sandbox) -> Report {
    Report::read(sandbox.path("report.json"))
}

/// A writer thread's result: bytes written, and how it ended.
type Written = (usize, io::Result<()>);

/// Writes `data` in 64 KiB chunks, chunk `k` only once `ready(k)` holds; counts progress.
fn write_paced(
    mut stdin: impl Write,
    data: &[u8],
    ready: impl Fn(usize) -> bool,
    progress: &AtomicUsize,
) -> Written {
    let mut at = 0;
    for (index, chunk) in data.chunks(64 * 1024).enumerate() {
        while !ready(index) {
            thread::sleep(Duration::from_micros(200));
        }
        if let Err(error) = stdin.write_all(chunk) {
            return (at, Err(error));
        }
        at += chunk.len();
        progress.store(at, Ordering::SeqCst);
    }
    (at, Ok(()))
}

/// `agentpipe --report $D/report.json OPTIONS -- COMMAND` in a new sandbox, stdio piped and
/// collected.
fn start(name: &str, options: &[&str], command: Vec<String>) -> Run {
    let (sandbox, command) = reporting(name, options, command);
    Run::start(sandbox, command)
}

/// A new sandbox and `agentpipe --report $D/report.json OPTIONS -- COMMAND` in it.
fn reporting(name: &str, options: &[&str], command: Vec<String>) -> (Sandbox, Command) {
    let sandbox = Sandbox::new(name);
    let report = sandbox.path_str("report.json");
    let mut args = vec!["--report", &report];
    args.extend_from_slice(options);
    let command = sandbox.agentpipe(&args, command);
    (sandbox, command)
}
