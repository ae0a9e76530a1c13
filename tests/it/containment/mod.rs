//! Containment: no process outlives agentpipe, signals reach exactly the processes they should,
//! the child starts clean, job control works, and PID 1 duties are done.
//!
//! Every test uses real processes and checks by pid that nothing is left running. Descendants
//! write their pids to `$D/NAME.pid`; the tests synchronise on those files, on log lines written
//! by the processes' traps, on agentpipe's output and on process states read from /proc.
//! One module per concern; the helpers they share are here.
#![cfg(target_os = "linux")]

mod clean;
mod job_control;
pub(crate) mod pid1;
mod signalling;
mod tree;

use std::fs::{self, File};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use crate::common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Writes `$D/NAME.sh`: [`PRELUDE`] then `body`, for `sh "$D/NAME.sh"` in a child's script (the
/// descendants that setsid, double-fork or get orphaned need the prelude's functions too).
fn script(sandbox: &Sandbox, name: &str, body: &str) {
    fs::write(
        sandbox.path(&format!("{name}.sh")),
        format!("{PRELUDE}\n{body}\n"),
    )
    .expect("write a helper script");
}

/// Field NUMBER (as proc(5) numbers them, from 1) of `/proc/PID/stat`.
fn stat_field(pid: i32, number: usize) -> Option<i64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 (state).
    rest.split_whitespace().nth(number - 3)?.parse().ok()
}

fn session(pid: i32) -> i32 {
    stat_field(pid, 6).unwrap_or_else(|| panic!("pid {pid} has no session: gone")) as i32
}

/// One process for good: a pid and its start time, so that a recycled pid is not mistaken for it.
#[derive(Clone, Copy, Debug)]
struct Process {
    pid: i32,
    start: i64,
}

impl Process {
    fn of(pid: i32) -> Process {
        let start = stat_field(pid, 22).unwrap_or_else(|| panic!("pid {pid} is already gone"));
        Process { pid, start }
    }

    /// Whether this process still has an entry in /proc, running or as a zombie.
    fn exists(&self) -> bool {
        stat_field(self.pid, 22) == Some(self.start)
    }

    fn state(&self) -> Option<char> {
        stat(self.pid)
            .filter(|_| self.exists())
            .map(|stat| stat.state)
    }

    /// Waits until somebody reaped it (no zombie left either).
    fn wait_reaped(&self, what: &str) {
        wait_until(
            &format!("{what} (pid {}) to be reaped", self.pid),
            LIMIT,
            || (!self.exists()).then_some(()),
        );
    }
}

/// Waits until `pid`'s parent is `parent` (an orphan adopted by its subreaper or by PID 1).
fn wait_parent(pid: i32, parent: i32, what: &str) {
    wait_until(
        &format!("{what} (pid {pid}) to be adopted by pid {parent}"),
        LIMIT,
        || (stat(pid)?.ppid == parent).then_some(()),
    );
}

/// The processes whose parent is `parent`.
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|stat| stat.ppid == parent))
        .collect()
}

/// Waits for `parent` to have exactly one child, and returns it.
fn only_child(parent: i32) -> i32 {
    wait_until(
        &format!("pid {parent} to start a child"),
        LIMIT,
        || match children_of(parent)[..] {
            [child] => Some(child),
            _ => None,
        },
    )
}

/// Sends `signal` to `pid`.
fn send(pid: i32, signal: Signal) {
    kill(Pid::from_raw(pid), signal).unwrap_or_else(|error| panic!("kill {pid} {signal}: {error}"));
}

/// Waits until agentpipe has exited, without collecting its output (a test that checks what its
/// descendants do afterwards).
fn wait_exit(run: &mut Run) -> std::process::ExitStatus {
    wait_until("agentpipe to exit", LIMIT, || run.try_status())
}

/// Starts the command with every signal at its default action (the environment the tests run
/// in may ignore some), before any other set-up given for it.
fn reset_signals(command: &mut Command) {
    before_exec(command, || {
        for number in 1..32 {
            // SAFETY: signal(2) is async-signal-safe; KILL and STOP just fail.
            unsafe { nix::libc::signal(number, nix::libc::SIG_DFL) };
        }
        Ok(())
    });
}

/// Whether `text` names `pid` (as a number of its own, not part of a longer one).
fn mentions_pid(text: &str, pid: i32) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|number| number == pid.to_string())
}

/// Whether the -v timeline in `text` shows the close sequence starting or taking a step.
fn sequence_started(text: &str) -> bool {
    text.contains("close sequence") || text.contains("step ")
}

/// Whether the lines of `text` include one that holds every one of `words`.
fn has_line_with(text: &str, words: &[&str]) -> bool {
    text.lines()
        .any(|line| words.iter().all(|word| line.contains(word)))
}

/// Tells the orphans to exit ("go"), then checks that agentpipe reaped each while its child still
/// runs, and that closing its stdin then ends everything.
fn lets_orphans_exit_and_expects_them_reaped(mut run: Run, child: &Process, orphans: &[Process]) {
    File::create(run.sandbox.path("go")).unwrap();
    for orphan in orphans {
        orphan.wait_reaped("an orphan that exited");
    }
    assert!(run.try_status().is_none(), "agentpipe exited early");
    assert!(
        child.state().is_some_and(|state| state != 'Z'),
        "the child ended"
    );

    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    run.sandbox.assert_nothing_left();
}
