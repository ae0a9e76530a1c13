//! Containment against commands that try to get away: fork racers (a process that forks one child
//! and exits at once, generation after generation), a command that moves itself into
//! agentpipe's own process group, a process whose main thread exited while another runs, and
//! `--scope cgroup` where agentpipe may not create a cgroup.
//!
//! Every racer is count-limited (it stops forking after [`GENERATIONS`] and sleeps), so a test
//! that fails leaves a few sleeping processes, which its sandbox kills by their tag.
#![cfg(target_os = "linux")]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How many generations a racer forks before it sleeps.
const GENERATIONS: &str = "400";

/// Runs per scope; each run takes the next variant of [`VARIANTS`].
const RUNS: usize = 20;

/// How many runs go at once.
const PARALLEL: usize = 4;

/// A racer: `racer.py GENERATIONS IGNORE_TERM SETSID`. Its stdio goes to /dev/null, so that only
/// the scope (not a held pipe) keeps agentpipe waiting.
const RACER: &str = r#"
import os, signal, sys, time
generations, ignore, setsid = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
if ignore:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
for _ in range(generations):
    if os.fork():
        os._exit(0)
    if setsid:
        os.setsid()
time.sleep(60)
"#;

/// (ignores TERM, calls setsid) for each run in turn.
const VARIANTS: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

/// Runs the racer [`RUNS`] times under `scope` (the variants that leave the group only where
/// the scope follows them), [`PARALLEL`] at a time, and returns how many runs left a survivor.
/// The sandboxes are made here, since a thread that makes one may wait behind a heavy test.
fn racer_survivors(scope: &str, setsid: bool) -> usize {
    let sandboxes: Vec<Sandbox> = (0..RUNS).map(|_| Sandbox::new("racer")).collect();
    for sandbox in &sandboxes {
        fs::write(sandbox.path("racer.py"), RACER).expect("write the racer");
    }
    let runs: Vec<(usize, &Sandbox)> = sandboxes.iter().enumerate().collect();
    let survived: Vec<usize> = thread::scope(|threads| {
        let workers: Vec<_> = runs
            .chunks(RUNS.div_ceil(PARALLEL))
            .map(|chunk| {
                threads.spawn(move || {
                    let mut survived = Vec::new();
                    for &(run, sandbox) in chunk {
                        let (ignore, leaves) = VARIANTS[run % VARIANTS.len()];
                        let leaves = leaves && setsid;
                        let flag = |on: bool| if on { "1" } else { "0" };
                        let racer = sandbox.path_str("racer.py");
                        let args = ["python3", &racer, GENERATIONS, flag(ignore), flag(leaves)];
                        let options = ["--scope", scope, "--term-grace", "0.2"];
                        // stdin stays open: the racer's exit, with processes left, starts the
                        // sequence.
                        let mut command = sandbox.agentpipe(&options, args);
                        command.stdout(Stdio::null()).stderr(Stdio::null());
                        let mut agentpipe = command.spawn().expect("start agentpipe");
                        let status = wait_within(&mut agentpipe, LIMIT);
                        assert!(status.is_some(), "agentpipe still running after {LIMIT:?}");
                        if !sandbox.live_processes().is_empty() {
                            survived.push(run);
                        }
                    }
                    survived
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a racer run"))
            .collect()
    });
    survived.len()
}

/// Waits for `child` at most `limit`; kills it if it is still running then.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// One test for the three scopes, one after the other, so that no more than [`PARALLEL`]
/// racers run at once.
#[test]
fn fork_racers_do_not_outlive_a_group_a_tree_or_a_cgroup_scope() {
    for (scope, setsid) in [("group", false), ("tree", true), ("cgroup", true)] {
        assert_eq!(
            racer_survivors(scope, setsid),
            0,
            "{scope}: runs with survivors"
        );
    }
}

#[test]
fn a_child_that_joins_agentpipes_own_group_still_gets_each_step() {
    let sandbox = Sandbox::new("joins-group");
    let script = "import os, time\nos.setpgid(0, os.getpgid(os.getppid()))\n\
                  open(os.environ['D'] + '/joined', 'w').close()\ntime.sleep(60)";
    let options = ["--sequence", "TERM 5s, KILL"];
    let mut command = sandbox.agentpipe(&options, ["python3", "-c", script]);
    // agentpipe leads a group of its own, the one the child joins.
    command.process_group(0).stdout(Stdio::null());
    let mut run = Run::start(sandbox, command);
    wait_until("the child to join agentpipe's group", LIMIT, || {
        run.sandbox.path("joined").exists().then_some(())
    });
    let sent = run.signal(Signal::SIGTERM);
    let finished = run.finish();
    // The child was killed by the first step's SIGTERM, and agentpipe dies by it too.
    finished.assert_signal(Signal::SIGTERM);
    assert!(
        finished.since(sent) < Duration::from_secs(3),
        "SIGTERM reached the child at the first step"
    );
}

/// Whether any thread of `pid` is alive (its main thread may have exited: state Z).
fn threads_alive(pid: i32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let stat = fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let state = stat
            .rfind(')')
            .and_then(|end| stat[end + 2..].chars().next());
        !matches!(state, Some('Z' | 'X') | None)
    })
}

#[test]
fn a_leftover_whose_main_thread_exited_is_alive_while_a_thread_runs() {
    for scope in ["group", "tree", "cgroup"] {
        let sandbox = Sandbox::new("main-thread-exited");
        let python = "import ctypes, os, threading, time\n\
                      threading.Thread(target=time.sleep, args=(60,)).start()\n\
                      ctypes.CDLL(None).pthread_exit(None)";
        fs::write(sandbox.path("leftover.py"), python).expect("write the leftover");
        // The command exits once its leftover's main thread has (state Z, a thread running).
        let child = sh(r#"python3 "$D/leftover.py" </dev/null >/dev/null 2>&1 &
            echo $! > "$D/leftover.pid"
            until grep -q '^State:.Z' /proc/$!/status; do sleep 0.01; done"#);
        let options = ["--scope", scope, "--term-grace", "0.2"];
        let command = sandbox.agentpipe(&options, child);
        let mut run = Run::start(sandbox, command);
        let finished = run.finish();
        let leftover: i32 = fs::read_to_string(run.sandbox.path("leftover.pid"))
            .expect("the leftover's pid")
            .trim()
            .parse()
            .expect("a pid");
        let survived = threads_alive(leftover);
        if survived {
            let _ = kill(Pid::from_raw(leftover), Signal::SIGKILL);
        }
        assert!(!survived, "{scope}: pid {leftover} outlived agentpipe");
        finished.assert_code(0);
    }
}

#[test]
fn scope_cgroup_without_a_cgroup_to_create_is_one_line_and_status_125() {
    let sandbox = Sandbox::new("no-delegation");
    // An unprivileged user may not create a cgroup below root's.
    let mut command = sandbox.command("setpriv");
    command
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            BIN,
        ])
        .args(["--scope", "cgroup", "--", "true"]);
    if fs::metadata("/proc/self").map(|me| me.uid()).ok() != Some(0) {
        return skipped(
            "scope cgroup unprivileged",
            "needs root to drop to an unprivileged user",
        );
    }
    if !have_tools("scope cgroup unprivileged", &["setpriv"]) {
        return;
    }
    let output = command.stdin(Stdio::null()).output().expect("setpriv");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("--scope cgroup") && stderr.contains("Delegate=yes"),
        "says what to do: {stderr}"
    );
}

#[test]
fn scope_cgroup_puts_the_command_in_a_cgroup_of_its_own_and_reports_its_usage() {
    let sandbox = Sandbox::new("cgroup-report");
    let report = sandbox.path_str("report.json");
    let child = sh(r#"grep '^0::' /proc/self/cgroup > "$D/cgroup"; exit 3"#);
    let command = sandbox.agentpipe(&["--scope", "cgroup", "--report", &report], child);
    let mut run = Run::start(sandbox, command);
    run.finish().assert_code(3);
    let cgroup = fs::read_to_string(run.sandbox.path("cgroup")).expect("the child's cgroup");
    let own = fs::read_to_string("/proc/self/cgroup").expect("our cgroup");
    let own = own
        .lines()
        .find(|line| line.starts_with("0::"))
        .unwrap_or_default();
    let name = cgroup.trim().rsplit('/').next().unwrap_or_default();
    assert!(
        name.starts_with("agentpipe-"),
        "a cgroup of its own: {cgroup}"
    );
    assert_ne!(cgroup.trim(), own, "not agentpipe's cgroup");
    let json = Report::read(&report);
    assert_eq!(json["scope"], "cgroup");
    let usage = &json["cgroup"];
    assert!(
        usage["cpu"].as_f64().is_some_and(|cpu| cpu > 0.0),
        "{usage}"
    );
    assert!(
        usage["cpu_user"].is_f64() && usage["cpu_system"].is_f64(),
        "{usage}"
    );
    assert!(
        usage["memory_peak"].is_u64() || usage["memory_peak"].is_null(),
        "{usage}"
    );
}
