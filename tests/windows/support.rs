//! What every Windows test uses: the helper's path, a private directory, bounded waits, and
//! the check that a process is gone.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_OBJECT_0};
use windows_sys::Win32::System::Threading::{
    OpenProcess, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE, TerminateProcess, WaitForSingleObject,
};

/// Every wait of a test ends by then: wide for a loaded machine running wine.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The helper program built from `tests/windows/child.c`.
pub fn helper() -> String {
    let dir = std::env::var("AGENTPIPE_TEST_HELPERS")
        .expect("AGENTPIPE_TEST_HELPERS: run these tests with tests/windows/run");
    format!("{dir}\\child.exe")
}

/// agentpipe.exe, as a Windows path.
pub fn agentpipe() -> String {
    windows_path(env!("CARGO_BIN_EXE_agentpipe"))
}

/// `/a/b` as wine names it, `Z:\a\b`; a Windows path as it is.
pub fn windows_path(path: &str) -> String {
    if path.starts_with('/') {
        format!("Z:{}", path.replace('/', "\\"))
    } else {
        path.to_string()
    }
}

/// A directory of the test's own, empty: wine reuses small pids, so an earlier run's directory
/// of the same name may be there.
pub fn scratch(name: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "agentpipe-{name}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits for `path` to hold text, up to [`LIMIT`].
pub fn wait_file(path: &PathBuf) -> String {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The processes a pid file names, each held by a handle opened at once, so that a pid reused
/// later is never mistaken for them.
pub fn pids(path: &PathBuf) -> Vec<Watched> {
    wait_file(path)
        .split_whitespace()
        .map(|pid| Watched::open(pid.parse().unwrap()))
        .collect()
}

/// A process of the test's, held open.
pub struct Watched {
    pub pid: u32,
    handle: HANDLE,
}

impl Watched {
    fn open(pid: u32) -> Watched {
        // SAFETY: plain call; the handle is closed on drop.
        let handle = unsafe { OpenProcess(PROCESS_SYNCHRONIZE | PROCESS_TERMINATE, 0, pid) };
        assert!(
            !handle.is_null(),
            "pid {pid} is not there: {}",
            std::io::Error::last_os_error()
        );
        Watched { pid, handle }
    }

    /// Whether the process is gone (within a second: its end may still be in progress). One
    /// that is still there is killed, so that no test leaves a process behind.
    pub fn gone(&self) -> bool {
        // SAFETY: the handle is open.
        unsafe {
            let ended = WaitForSingleObject(self.handle, 1000) == WAIT_OBJECT_0;
            if !ended {
                TerminateProcess(self.handle, 1);
            }
            ended
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // SAFETY: the handle is open, and closed once.
        unsafe {
            TerminateProcess(self.handle, 1);
            CloseHandle(self.handle);
        }
    }
}

/// Waits for `child` up to [`LIMIT`]; kills it and fails the test past that.
pub fn finish(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("agentpipe did not end within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Deterministic pseudo-random bytes (xorshift), every byte value present.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// agentpipe.exe with `args`, then `--`, the helper and `child`, all three standard handles
/// piped.
pub fn agentpipe_with(args: &[&str], child: &[&str]) -> Child {
    Command::new(agentpipe())
        .args(args)
        .arg("--")
        .arg(helper())
        .args(child)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Its stderr, once it ended.
pub fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

pub fn report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn actions(report: &serde_json::Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            let action = step["action"].as_str().unwrap();
            match step["signal"].as_str() {
                Some(signal) => format!("{action} {signal}"),
                None => action.to_string(),
            }
        })
        .collect()
}

/// A path of the test's as wine names it.
pub fn win(path: &std::path::Path) -> String {
    windows_path(path.to_str().unwrap())
}

/// Runs agentpipe.exe with `args` and the helper's `child`, writes `input` then closes its
/// stdin; returns its stdout, its stderr and its exit code.
pub fn run_with_input(args: &[&str], child: &[&str], input: &[u8]) -> (Vec<u8>, String, i32) {
    use std::io::Write;
    let mut run = agentpipe_with(args, child);
    let _watchdog = watchdog(run.id());
    let mut stdin = run.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = Vec::new();
    run.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    let _ = writer.join().unwrap();
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    (stdout, stderr, status.code().unwrap_or(-1))
}

/// Ends process `pid` past [`LIMIT`] unless the returned sender is dropped first: a test whose
/// reads would wait for a hung agentpipe still ends.
pub fn watchdog(pid: u32) -> std::sync::mpsc::Sender<()> {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let process = Watched::open(pid);
    let handle = process.handle as usize;
    std::mem::forget(process);
    std::thread::spawn(move || {
        let process = Watched {
            pid,
            handle: handle as HANDLE,
        };
        // Dropped either way: an ended process is not affected; a hung one is ended.
        let _ = wait.recv_timeout(LIMIT);
        drop(process);
    });
    done
}

/// Sends `signal` (`INT`, `KILL`) to the wine process that runs the agentpipe.exe whose
/// arguments hold `marker`, as a terminal's Ctrl-C, `kill -INT` or `kill -KILL` would: wine
/// delivers SIGINT as CTRL_C_EVENT; SIGKILL ends the process outright.
pub fn signal_agentpipe(marker: &str, signal: &str) {
    let script = format!(
        r#"for p in /proc/[0-9]*; do
             pid=${{p#/proc/}}; [ "$pid" = "$$" ] && continue
             cmd=$( (tr '\0' ' ' < "$p/cmdline") 2>/dev/null ) || continue
             case "$cmd" in Z:*agentpipe.exe*{marker}*) kill -{signal} "$pid";; esac
           done"#
    );
    let status = Command::new("start.exe")
        .args(["/wait", "/unix", "/bin/sh", "-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
}
