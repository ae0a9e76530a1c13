//! A started agentpipe: its stdin, its collected stdout and stderr, and how it ended.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{LIMIT, Sandbox};

/// What a [`Capture`] collected so far, and whether its source ended.
#[derive(Default)]
struct Collected {
    bytes: Vec<u8>,
    ended: bool,
}

/// Output collected by a thread, with waits for what it holds.
#[derive(Clone)]
pub struct Capture {
    shared: Arc<(Mutex<Collected>, Condvar)>,
    name: &'static str,
}

impl Capture {
    pub fn start(name: &'static str, mut source: impl Read + Send + 'static) -> Capture {
        let shared = Arc::new((Mutex::new(Collected::default()), Condvar::new()));
        let writer = Arc::clone(&shared);
        thread::spawn(move || {
            let mut buffer = vec![0; 256 * 1024];
            loop {
                let count = match source.read(&mut buffer) {
                    Ok(count) => count,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => 0,
                };
                let (lock, cond) = &*writer;
                let mut collected = lock.lock().unwrap();
                if count == 0 {
                    collected.ended = true;
                } else {
                    collected.bytes.extend_from_slice(&buffer[..count]);
                }
                cond.notify_all();
                if count == 0 {
                    return;
                }
            }
        });
        Capture { shared, name }
    }

    /// Waits until `done(bytes so far, ended)` holds; false after `limit`.
    fn wait(&self, limit: Duration, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let (lock, cond) = &*self.shared;
        let mut collected = lock.lock().unwrap();
        loop {
            if done(&collected.bytes, collected.ended) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            collected = cond.wait_timeout(collected, deadline - now).unwrap().0;
        }
    }

    /// Waits until the output holds `needle`.
    pub fn wait_for(&self, needle: &str) {
        let found = self.wait(LIMIT, |bytes, _| contains(bytes, needle.as_bytes()));
        assert!(
            found,
            "timed out waiting for {needle:?} on {}; got {:?}",
            self.name,
            self.text()
        );
    }

    /// Waits until the output ends; false after `limit`.
    pub fn wait_end(&self, limit: Duration) -> bool {
        self.wait(limit, |_, ended| ended)
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.shared.0.lock().unwrap().bytes.clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// A started agentpipe (or any command of a sandbox).
pub struct Run {
    pub child: Child,
    stdin: Option<ChildStdin>,
    /// agentpipe's stdout when it is piped and not collected (see [`Run::start_raw_stdout`]).
    pub raw_stdout: Option<ChildStdout>,
    pub stdout: Option<Capture>,
    pub stderr: Option<Capture>,
    pub started: Instant,
    status: Option<ExitStatus>,
    pub sandbox: Sandbox,
}

/// How a run ended.
pub struct Finished {
    pub status: ExitStatus,
    /// When the exit was seen (within a few milliseconds of it).
    pub at: Instant,
    pub started: Instant,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// `agentpipe OPTIONS -- COMMAND` in a new sandbox, with piped and collected stdio.
    pub fn agentpipe(
        name: &str,
        options: &[&str],
        command: impl IntoIterator<Item = impl AsRef<OsStr>>,
    ) -> Run {
        let sandbox = Sandbox::new(name);
        let command = sandbox.agentpipe(options, command);
        Run::start(sandbox, command)
    }

    /// Starts `command`. stdin, stdout and stderr are piped unless the caller set them; piped
    /// stdout and stderr are collected.
    pub fn start(sandbox: Sandbox, command: Command) -> Run {
        Run::start_with(sandbox, command, true)
    }

    /// As [`Run::start`], leaving a piped stdout in [`Run::raw_stdout`] for the test to read or
    /// close.
    pub fn start_raw_stdout(sandbox: Sandbox, command: Command) -> Run {
        Run::start_with(sandbox, command, false)
    }

    fn start_with(sandbox: Sandbox, mut command: Command, collect_stdout: bool) -> Run {
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let started = Instant::now();
        let raw = child.stdout.take();
        let (stdout, raw_stdout) = match raw {
            Some(pipe) if collect_stdout => (Some(Capture::start("stdout", pipe)), None),
            other => (None, other),
        };
        let stderr = child
            .stderr
            .take()
            .map(|pipe| Capture::start("stderr", pipe));
        Run {
            stdin: child.stdin.take(),
            child,
            raw_stdout,
            stdout,
            stderr,
            started,
            status: None,
            sandbox,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stdin
            .as_mut()
            .expect("stdin is piped and open")
            .write_all(bytes)
            .expect("write to agentpipe's stdin");
    }

    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin is piped and open")
    }

    /// Closes agentpipe's stdin (EOF) and returns when.
    pub fn close_stdin(&mut self) -> Instant {
        drop(self.stdin.take());
        Instant::now()
    }

    /// Sends `signal` to agentpipe and returns when.
    pub fn signal(&self, signal: Signal) -> Instant {
        kill(Pid::from_raw(self.pid()), signal).expect("signal agentpipe");
        Instant::now()
    }

    pub fn wait_stdout(&self, needle: &str) {
        self.stdout
            .as_ref()
            .expect("stdout collected")
            .wait_for(needle);
    }

    pub fn wait_stderr(&self, needle: &str) {
        self.stderr
            .as_ref()
            .expect("stderr collected")
            .wait_for(needle);
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.as_ref().map(Capture::text).unwrap_or_default()
    }

    /// agentpipe's status if it has exited, without waiting.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits (at most [`LIMIT`]) for agentpipe to exit and for its collected output to end.
    pub fn finish(&mut self) -> Finished {
        self.finish_within(LIMIT)
    }

    pub fn finish_within(&mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let (status, at) = loop {
            if let Some(status) = self.try_status() {
                break (status, Instant::now());
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "agentpipe still running after {limit:?}; killed it. stderr:\n{}",
                    self.stderr_text()
                );
            }
            thread::sleep(Duration::from_millis(2));
        };
        for capture in [&self.stdout, &self.stderr].into_iter().flatten() {
            assert!(
                capture.wait_end(Duration::from_secs(5)),
                "agentpipe exited ({status:?}) but its {} is still open (held by a process it left?)",
                capture.name
            );
        }
        Finished {
            status,
            at,
            started: self.started,
            stdout: self.stdout.as_ref().map(Capture::bytes).unwrap_or_default(),
            stderr: self.stderr_text(),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Finished {
    /// Asserts that agentpipe exited with `code`.
    pub fn assert_code(&self, code: i32) {
        assert_eq!(
            self.status.code(),
            Some(code),
            "expected exit code {code}, got {:?}; stderr:\n{}",
            self.status,
            self.stderr
        );
    }

    /// Asserts that agentpipe died of `signal`, without a core dump.
    pub fn assert_signal(&self, signal: Signal) {
        assert_eq!(
            self.status.signal(),
            Some(signal as i32),
            "expected death by {signal}, got {:?}; stderr:\n{}",
            self.status,
            self.stderr
        );
        assert!(!self.status.core_dumped(), "agentpipe dumped core");
    }

    /// Asserts that agentpipe's stderr is one line `agentpipe: ...`.
    pub fn assert_one_error_line(&self) {
        let lines = self.stderr_lines();
        assert!(
            lines.len() == 1 && lines[0].starts_with("agentpipe: ") && self.stderr.ends_with('\n'),
            "expected one line 'agentpipe: ...' on stderr, got:\n{}",
            self.stderr
        );
    }

    /// Time from `t0` to the exit.
    pub fn since(&self, t0: Instant) -> Duration {
        self.at.saturating_duration_since(t0)
    }

    /// Time from the start to the exit.
    pub fn elapsed(&self) -> Duration {
        self.since(self.started)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// agentpipe's stderr, line by line.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}
