//! A test's sandbox: its directory, its tag, and the processes it may leave (see the module documentation of [`crate::common`]).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{BIN, LIMIT, POLL, PRELUDE, TAG_VAR, stat, wait_until};

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
