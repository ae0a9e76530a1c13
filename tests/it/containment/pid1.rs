//! agentpipe as PID 1 of a PID namespace: it reaps the orphans handed to it, and exits
//! 128+S where it cannot die by S.

use super::*;

/// Whether this machine lets us run a command as PID 1 of a new PID namespace.
pub(crate) fn pid_namespaces() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if !have_tools("the PID 1 tests", &["unshare"]) {
            return false;
        }
        let ok = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !ok {
            skipped(
                "the PID 1 tests",
                "`unshare --pid --fork --mount-proc` failed: creating a PID namespace needs a right \
                 this machine does not give (root, or user namespaces)",
            );
        }
        ok
    })
}

/// `agentpipe OPTIONS -- COMMAND` as PID 1 of a new PID namespace (with its own /proc).
fn as_pid_1(
    sandbox: &Sandbox,
    options: &[&str],
    command: impl IntoIterator<Item = impl AsRef<std::ffi::OsStr>>,
) -> Command {
    let mut unshare = sandbox.command("unshare");
    unshare
        .args(["--pid", "--fork", "--mount-proc", BIN])
        .args(options)
        .arg("--")
        .args(command);
    unshare
}

/// The pid, outside, of the live process of `sandbox` that has `inner` as its pid in a child
/// PID namespace.
fn outer_pid(sandbox: &Sandbox, inner: i32) -> i32 {
    wait_until(&format!("the outer pid of {inner}"), LIMIT, || {
        sandbox.live_processes().into_iter().find(|&pid| {
            let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
                return false;
            };
            status
                .lines()
                .find_map(|line| line.strip_prefix("NSpid:"))
                .is_some_and(|ids| {
                    let ids: Vec<&str> = ids.split_whitespace().collect();
                    ids.len() >= 2 && ids.last() == Some(&inner.to_string().as_str())
                })
        })
    })
}

/// As a container's init, agentpipe reaps every orphan handed to it while its child runs.
#[test]
fn as_pid_1_it_reaps_the_orphans_handed_to_it() {
    if !pid_namespaces() {
        return;
    }
    let sandbox = Sandbox::new("pid1-reap");
    script(
        &sandbox,
        "orphan",
        "pidfile orphan$1\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\nexit 0",
    );
    let command = as_pid_1(
        &sandbox,
        &[],
        sh(
            "for n in 1 2 3; do (setsid sh \"$D/orphan.sh\" $n >/dev/null &); done\npidfile child\ncat >/dev/null",
        ),
    );
    let run = Run::start(sandbox, command);
    let agentpipe = only_child(run.pid());
    let inner_child = run.sandbox.wait_pid("child");
    let child = Process::of(outer_pid(&run.sandbox, inner_child));
    assert_eq!(stat(child.pid).unwrap().ppid, agentpipe);
    let orphans: Vec<Process> = (1..=3)
        .map(|n| {
            let inner = run.sandbox.wait_pid(&format!("orphan{n}"));
            let pid = outer_pid(&run.sandbox, inner);
            let orphan = Process::of(pid);
            wait_parent(pid, agentpipe, "an orphan");
            orphan
        })
        .collect();

    lets_orphans_exit_and_expects_them_reaped(run, &child, &orphans);
}

/// As PID 1, agentpipe cannot die of a signal it raises on itself: where it should (its child
/// was killed by S, or it was interrupted) it exits 128+S instead of hanging or exiting 0.
#[test]
fn as_pid_1_it_exits_128_plus_s_instead_of_dying_by_the_signal() {
    if !pid_namespaces() {
        return;
    }
    for (signal, code) in [("TERM", 143), ("KILL", 137), ("USR1", 138)] {
        let sandbox = Sandbox::new(&format!("pid1-{signal}"));
        let command = as_pid_1(&sandbox, &[], sh(&format!("kill -{signal} $$")));
        let mut run = Run::start(sandbox, command);
        let done = run.finish();
        // unshare exits with its child's code, and dies by its child's signal.
        done.assert_code(code);
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn as_pid_1_an_interrupted_agentpipe_exits_130() {
    if !pid_namespaces() {
        return;
    }
    let sandbox = Sandbox::new("pid1-int");
    let command = as_pid_1(
        &sandbox,
        &["--grace", "100ms", "--term-grace", "20s"],
        eof_logger(EXIT_ON_TERM),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = only_child(run.pid());
    run.sandbox.wait_pid("child");
    send(agentpipe, Signal::SIGINT);
    let done = run.finish();
    done.assert_code(130);
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_nothing_left();
}
