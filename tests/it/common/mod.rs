//! Shared helpers of the integration tests.
//!
//! - [`Sandbox`]: a temporary directory (`$D` in the child's scripts) and a tag put in the
//!   environment of every process a test starts; dropping it SIGKILLs every live process that
//!   carries the tag (agentpipe, the child, grandchildren, whatever it left) and removes the
//!   directory, so a failing test leaves nothing behind. The tag also tells a recycled pid from
//!   one of ours.
//! - [`Run`]: agentpipe started with piped stdin, and stdout and stderr collected by threads;
//!   every wait has a deadline, and dropping a run SIGKILLs an agentpipe still running.
//! - Process, signal-log and exit-status checks.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_agentpipe");

/// The environment variable that marks every process a test started.
pub const TAG_VAR: &str = "AGENTPIPE_TEST_TAG";

/// The longest any single wait of a test may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Every flag that takes a duration.
pub const DURATION_FLAGS: [&str; 6] = [
    "--wait",
    "--grace",
    "--eof-grace",
    "--term-grace",
    "--timeout",
    "--drain",
];

/// How often a condition is looked at while waiting for it.
const POLL: Duration = Duration::from_millis(5);

/// Shell functions available to every script given to [`sh`] and [`background`]:
/// `log WORD...` appends a line to `$D/log`; `spin` runs until killed, handling traps within
/// 50 ms; `pidfile NAME` writes the shell's pid to `$D/NAME.pid` atomically.
pub const PRELUDE: &str = r#"
log() { printf '%s\n' "$*" >> "$D/log"; }
spin() { while :; do sleep 0.05; done; }
pidfile() { echo $$ > "$D/$1.tmp" && mv "$D/$1.tmp" "$D/$1.pid"; }
"#;

/// `sh -c SCRIPT`, with [`PRELUDE`] (kept in `$D/prelude`) sourced first.
pub fn sh(script: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!(". \"$D/prelude\"\n{script}"),
    ]
}

/// Polls `check` until it gives a value, failing the test after `limit`.
pub fn wait_until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        thread::sleep(POLL);
    }
}

/// Asserts that `elapsed` lies within `[low, high]` seconds.
pub fn assert_within(elapsed: Duration, low: f64, high: f64, what: &str) {
    let seconds = elapsed.as_secs_f64();
    assert!(
        (low..=high).contains(&seconds),
        "{what}: took {seconds:.3}s, expected between {low}s and {high}s"
    );
}

/// Asserts that something due `due` seconds after its cause happened on time: not early, and
/// late by at most 1.5 s (a loaded machine).
pub fn assert_due(elapsed: Duration, due: f64, what: &str) {
    assert_within(elapsed, (due - 0.05).max(0.0), due + 1.5, what);
}

/// A child that sets `traps`, writes `$D/child.pid`, reads its stdin to the end, logs `EOF`
/// and runs on until a signal ends it.
pub fn eof_logger(traps: &str) -> Vec<String> {
    sh(&format!(
        "{traps}\npidfile child\ncat >/dev/null\nlog EOF\nspin"
    ))
}

/// Shell lines that start `script` in the background as a separate `sh` (in the child's
/// process group, its stderr on /dev/null), and wait until it wrote `$D/grandchild.pid`.
/// `script` may use `log` and `spin`; it must not contain single quotes.
pub fn background(script: &str) -> String {
    format!(
        "sh -c '. \"$D/prelude\"\necho $$ > \"$D/grandchild.pid\"\n{script}' 2>/dev/null &\n\
         while [ ! -s \"$D/grandchild.pid\" ]; do sleep 0.01; done"
    )
}

/// Trap: log TERM and exit 7.
pub const EXIT_ON_TERM: &str = "trap 'log TERM; exit 7' TERM";

/// Trap: log TERM and go on.
pub const IGNORE_TERM: &str = "trap 'log TERM' TERM";

/// A temporary directory and a tag for the processes of one test. See the module documentation.
pub struct Sandbox {
    pub dir: PathBuf,
    pub tag: String,
    /// Start times of the pids read by [`Sandbox::wait_pid`]: a pid and its start time name one
    /// process, even when the pid is reused.
    started: Mutex<HashMap<i32, u64>>,
    /// Keeps the heavy tests (see [`heavy`]) from running while this sandbox's test does.
    _light: Option<RwLockReadGuard<'static, ()>>,
}

/// Held for reading by every test that has a sandbox, for writing by a heavy test: a test that
/// loads the machine (hundreds of processes, gigabytes) then runs alone, and the timing windows
/// of the others stay those of a quiet machine.
static LOAD: RwLock<()> = RwLock::new(());

thread_local! {
    /// Whether this thread holds [`LOAD`] already: taking it again could wait behind a heavy
    /// test that waits for this thread.
    static HOLDS_LOAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs the rest of the calling test alone: no test with a sandbox runs until the guard drops.
pub fn heavy() -> RwLockWriteGuard<'static, ()> {
    LOAD.write().unwrap_or_else(PoisonError::into_inner)
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let light = (!HOLDS_LOAD.get()).then(|| {
            HOLDS_LOAD.set(true);
            LOAD.read().unwrap_or_else(PoisonError::into_inner)
        });
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let tag = format!(
            "agentpipe-test-{}-{}-{name}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(&tag);
        fs::create_dir_all(&dir).expect("create the sandbox directory");
        fs::write(dir.join("prelude"), PRELUDE).expect("write the prelude");
        Sandbox {
            dir,
            tag,
            started: Mutex::new(HashMap::new()),
            _light: light,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The sandbox directory as a string, for command lines.
    pub fn path_str(&self, name: &str) -> String {
        self.path(name)
            .to_str()
            .expect("UTF-8 temp dir")
            .to_string()
    }

    /// `program`, with `$D` and the tag in its environment, and stdin, stdout and stderr piped
    /// (a test may set them otherwise).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("D", &self.dir)
            .env(TAG_VAR, &self.tag)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `agentpipe OPTIONS -- COMMAND`.
    pub fn agentpipe(
        &self,
        options: &[&str],
        command: impl IntoIterator<Item = impl AsRef<OsStr>>,
    ) -> Command {
        let mut agentpipe = self.command(BIN);
        agentpipe.args(options).arg("--").args(command);
        agentpipe
    }

    /// Waits for `$D/NAME.pid` and returns the pid it holds.
    pub fn wait_pid(&self, name: &str) -> i32 {
        let path = self.path(&format!("{name}.pid"));
        let pid = wait_until(&format!("{}", path.display()), LIMIT, || {
            fs::read_to_string(&path).ok()?.trim().parse().ok()
        });
        // Only a process that carries the tag is ours (a pid written in another PID namespace
        // names a stranger here).
        if let Some(stat) = stat(pid).filter(|_| self.tagged(pid)) {
            self.started.lock().unwrap().insert(pid, stat.start);
        }
        pid
    }

    /// The lines of `$D/log`, where the child's trap handlers write what they received.
    pub fn log(&self) -> Vec<String> {
        fs::read_to_string(self.path("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits until `$D/log` holds `line`.
    pub fn wait_log(&self, line: &str) {
        wait_until(&format!("'{line}' in the log"), LIMIT, || {
            self.log().iter().any(|logged| logged == line).then_some(())
        })
    }

    /// Whether `pid` is a live (not zombie) process of this test: a pid read by
    /// [`Sandbox::wait_pid`] is recognised by its start time (a process that is exiting is still
    /// alive, though its environment can no longer be read), any other by its tag.
    pub fn live(&self, pid: i32) -> bool {
        let Some(stat) = stat(pid) else {
            return false;
        };
        if matches!(stat.state, 'Z' | 'X') {
            return false;
        }
        match self.started.lock().unwrap().get(&pid) {
            Some(&start) => stat.start == start,
            None => self.tagged(pid),
        }
    }

    fn tagged(&self, pid: i32) -> bool {
        let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
            return false;
        };
        let wanted = format!("{TAG_VAR}={}", self.tag);
        environ
            .split(|&byte| byte == 0)
            .any(|entry| entry == wanted.as_bytes())
    }

    /// Every live process that carries this test's tag (one that is exiting may be missed).
    pub fn live_processes(&self) -> Vec<i32> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| self.live(pid))
            .collect()
    }

    /// Asserts that none of `pids` is alive.
    pub fn assert_gone(&self, pids: &[i32]) {
        let alive: Vec<i32> = pids.iter().copied().filter(|&pid| self.live(pid)).collect();
        assert!(alive.is_empty(), "processes left behind: {alive:?}");
    }

    /// Asserts that no process of this test is alive.
    pub fn assert_nothing_left(&self) {
        let alive: Vec<String> = self
            .live_processes()
            .into_iter()
            .map(|pid| {
                let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                format!("{pid} ({})", comm.trim())
            })
            .collect();
        assert!(alive.is_empty(), "processes left behind: {alive:?}");
    }

    /// Waits until `pid` has exited (gone or a zombie).
    pub fn wait_gone(&self, pid: i32, limit: Duration) {
        wait_until(&format!("pid {pid} to exit"), limit, || {
            (!self.live(pid)).then_some(())
        });
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = self.live_processes();
            if pids.is_empty() || Instant::now() >= deadline {
                break;
            }
            for pid in pids {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            thread::sleep(POLL);
        }
        let _ = fs::remove_dir_all(&self.dir);
        if self._light.is_some() {
            HOLDS_LOAD.set(false);
        }
    }
}

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

/// Starts the command with `fd` also open at descriptor `target` (inherited across exec).
pub fn pass_fd(command: &mut Command, fd: OwnedFd, target: RawFd) {
    before_exec(command, move || {
        // SAFETY: dup2 and fcntl are async-signal-safe. A copy made by dup2 is not
        // close-on-exec; when `fd` already is `target`, its flag is cleared instead.
        let result = unsafe {
            if fd.as_raw_fd() == target {
                libc::fcntl(target, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd.as_raw_fd(), target)
            }
        };
        if result < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    });
}

/// Starts the command with these descriptors closed.
pub fn close_fds(command: &mut Command, fds: &[RawFd]) {
    let fds = fds.to_vec();
    before_exec(command, move || {
        for &fd in &fds {
            // SAFETY: close is async-signal-safe.
            unsafe { libc::close(fd) };
        }
        Ok(())
    });
}

/// Starts the command as the leader of a new session whose controlling terminal is `tty`.
pub fn controlling_tty(command: &mut Command, tty: &File) {
    let fd = tty.as_raw_fd();
    before_exec(command, move || {
        // SAFETY: setsid and ioctl are async-signal-safe; `fd` stays open until exec.
        unsafe {
            if libc::setsid() < 0 || libc::ioctl(fd, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    });
}

/// A pseudo-terminal: its master, and its slave opened without becoming anybody's controlling
/// terminal. Both are close-on-exec, so that no concurrent test's child inherits them.
pub fn open_pty() -> (File, File) {
    use nix::fcntl::OFlag;
    use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).expect("ptmx");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname_r(&master).expect("ptsname");
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(name)
        .expect("open the pty slave");
    let master = File::from(OwnedFd::from(master));
    (master, slave)
}

/// A pty whose terminal side is in raw mode: every byte value passes unchanged, and is
/// readable at once, without waiting for a newline.
pub fn open_raw_pty() -> (File, File) {
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    let (master, slave) = open_pty();
    let mut termios = tcgetattr(&slave).unwrap();
    cfmakeraw(&mut termios);
    tcsetattr(&slave, SetArg::TCSANOW, &termios).unwrap();
    (master, slave)
}

/// The descriptors of this test process that a child inherits (not close-on-exec): those it
/// inherited itself, since everything the tests open is close-on-exec.
pub fn inherited_fds() -> Vec<RawFd> {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&fd| {
            // SAFETY: F_GETFD only reads a descriptor flag; a closed descriptor gives -1.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect()
}

/// Whether `fd`'s open file description has O_NONBLOCK.
pub fn is_nonblocking(fd: &impl AsRawFd) -> bool {
    // SAFETY: F_GETFL only reads the flags of a descriptor the caller holds.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0, "F_GETFL failed");
    flags & libc::O_NONBLOCK != 0
}

/// A pipe whose both ends are close-on-exec.
pub fn pipe() -> (File, File) {
    let (reader, writer) = io::pipe().expect("pipe");
    (
        File::from(OwnedFd::from(reader)),
        File::from(OwnedFd::from(writer)),
    )
}

/// Deterministic bytes that are not text: every byte value occurs, with no period a relay bug
/// could hide in.
pub fn binary_data(len: usize) -> Vec<u8> {
    seeded_data(len, 0x9E37_79B9_7F4A_7C15)
}

/// The test data generator: `len` bytes of xorshift64 from `seed` (not 0, which xorshift never
/// leaves), each seed giving its own stream.
pub fn seeded_data(len: usize, seed: u64) -> Vec<u8> {
    assert_ne!(seed, 0, "xorshift from 0 gives only zeros");
    let mut state = seed;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    data
}

/// Arguments for the child: OS strings built from bytes.
pub fn os(bytes: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(bytes).to_os_string()
}
