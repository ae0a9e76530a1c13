//! A look at the scope that fails (no /proc, no descriptor left) is never an empty scope: what
//! the kernel still says is kept, what can be signalled is, one line says what could not be
//! checked, and a scope that stays unchecked after SIGKILL ends the run with 125.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::common::*;

/// The command of the probe: a background `sleep` that keeps nothing of agentpipe's open, its
/// pid in `$D/sleep.pid`, then exit 3 once `$D/go` exists (at once if `go` is false).
/// `detach`: the sleep goes to a session of its own first (its pid is written from there, and
/// waited for, so that it is out of the group before the command exits).
fn leaves_a_sleep(go: bool, detach: bool) -> Vec<String> {
    let wait = match go {
        true => "pidfile child\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\n",
        false => "",
    };
    let sleep = "echo $$ > \"$D/sleep.tmp\" && mv \"$D/sleep.tmp\" \"$D/sleep.pid\"; \
                 exec sleep 8";
    let start = match detach {
        true => format!(
            "setsid sh -c '{sleep}' >/dev/null 2>&1 </dev/null &\n\
                         while [ ! -e \"$D/sleep.pid\" ]; do sleep 0.01; done"
        ),
        false => format!(
            "sh -c '{sleep}' >/dev/null 2>&1 </dev/null &\n\
                          while [ ! -e \"$D/sleep.pid\" ]; do sleep 0.01; done"
        ),
    };
    sh(&format!("{wait}{start}\nexit 3"))
}

/// The unshare(1) options that give a mount namespace of its own: root's, or a user
/// namespace's where agentpipe runs as someone else.
fn mount_namespace() -> &'static str {
    // SAFETY: geteuid takes nothing and cannot fail.
    match unsafe { nix::libc::geteuid() } {
        0 => "-m",
        _ => "-rm",
    }
}

/// Whether an empty tmpfs can be mounted over /proc in a mount namespace of its own.
fn proc_can_be_hidden() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if !have_tools("hiding /proc", &["unshare"]) {
            return false;
        }
        let hidden = Command::new("unshare")
            .args([mount_namespace(), "sh", "-c", "mount -t tmpfs none /proc"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !hidden {
            skipped(
                "hiding /proc",
                "`unshare -m` with a tmpfs over /proc failed: a mount namespace needs root or \
                 user namespaces",
            );
        }
        hidden
    })
}

/// `agentpipe OPTIONS -- COMMAND` in a mount namespace where an empty tmpfs covers /proc.
fn with_proc_hidden(sandbox: &Sandbox, options: &[&str], command: Vec<String>) -> Command {
    let mut unshare = sandbox.command("unshare");
    unshare
        .args([mount_namespace(), "sh", "-c"])
        .arg("mount -t tmpfs none /proc && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(options)
        .arg("--")
        .args(command);
    unshare.stdin(Stdio::null());
    unshare
}

#[test]
fn a_scope_behind_a_hidden_proc_is_signalled_and_the_kernel_says_when_it_is_empty() {
    if !proc_can_be_hidden() {
        return;
    }
    for scope in ["group", "tree"] {
        let sandbox = Sandbox::new("hidden-proc");
        let command = with_proc_hidden(&sandbox, &["--scope", scope], leaves_a_sleep(false, false));
        let mut run = Run::start(sandbox, command);
        let done = run.finish();
        let sleep = run.sandbox.wait_pid("sleep");
        done.assert_code(3);
        run.sandbox.assert_gone(&[sleep]);
        let unseen = done.stderr_lines().into_iter().filter(|line| {
            line.starts_with("agentpipe: cannot see what sh") && line.contains("/proc")
        });
        assert_eq!(unseen.count(), 1, "{scope}: {}", done.stderr);
        assert!(done.stderr.contains("sent SIGTERM"), "{}", done.stderr);
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn a_tree_that_cannot_be_seen_gets_each_signal_once() {
    if !proc_can_be_hidden() || !have_tools("counting the signals sent", &["strace"]) {
        return;
    }
    // The child's group reaches the child: it must not get the signal through its pidfd too (a
    // command that counts interrupts would take two for "quit now"). Counted as agentpipe's
    // calls, since two sends a call apart usually arrive as one.
    let sandbox = Sandbox::new("hidden-proc-tree-once");
    let options = [
        "--scope",
        "tree",
        "--timeout",
        "300ms",
        "--sequence",
        "INT 1s, KILL",
    ];
    let hidden = with_proc_hidden(&sandbox, &options, sh("trap '' INT\nexec sleep 8"));
    let calls = sandbox.path("calls");
    let mut traced = sandbox.command("strace");
    traced
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=kill,tgkill,pidfd_send_signal",
            "-o",
        ])
        .arg(&calls)
        .arg(hidden.get_program())
        .args(hidden.get_args());
    traced.stdin(Stdio::null());
    let mut run = Run::start(sandbox, traced);
    let done = run.finish();
    done.assert_code(137);
    let calls = std::fs::read_to_string(&calls).expect("strace's record");
    for signal in ["SIGINT", "SIGCONT", "SIGKILL"] {
        let sent = calls.lines().filter(|line| {
            line.contains(signal) && (line.contains(" kill(") || line.contains("_signal("))
        });
        assert_eq!(sent.count(), 1, "{signal} sent once: {calls}");
    }
    run.sandbox.assert_nothing_left();
}

#[test]
fn a_scope_with_nothing_to_list_is_not_looked_at_behind_a_hidden_proc() {
    if !proc_can_be_hidden() {
        return;
    }
    // The command alone, or in agentpipe's own group: no look, so nothing that could fail.
    for options in [["--scope", "child"], ["--foreground", "--term-grace=1s"]] {
        let sandbox = Sandbox::new("hidden-proc-child");
        let command = with_proc_hidden(&sandbox, &options, sh("exit 3"));
        let done = Run::start(sandbox, command).finish();
        done.assert_code(3);
        assert_eq!(done.stderr, "", "{options:?}");
    }
    // A cgroup is found through /proc: without it, nothing starts, and the line says why.
    let sandbox = Sandbox::new("hidden-proc-cgroup");
    let command = with_proc_hidden(&sandbox, &["--scope", "cgroup"], sh("echo ran"));
    let done = Run::start(sandbox, command).finish();
    done.assert_code(125);
    done.assert_one_error_line();
    assert!(done.stderr.contains("mount /proc"), "{}", done.stderr);
    assert_eq!(done.stdout_text(), "", "nothing started");
}

#[test]
fn a_scope_that_cannot_be_checked_after_sigkill_ends_with_125_saying_processes_may_remain() {
    if !proc_can_be_hidden() || !have_tools("an unreachable leftover", &["setsid"]) {
        return;
    }
    // Out of the group and never seen: nothing without /proc reaches it.
    let sandbox = Sandbox::new("hidden-proc-unchecked");
    let report = sandbox.path_str("report.json");
    let options = [
        "--scope",
        "tree",
        "--term-grace",
        "300ms",
        "--report",
        &report,
    ];
    let command = with_proc_hidden(&sandbox, &options, leaves_a_sleep(false, true));
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    let sleep = run.sandbox.wait_pid("sleep");
    done.assert_code(125);
    let lines = done.stderr_lines();
    let last = lines.last().copied().unwrap_or_default();
    assert!(last.contains("processes may remain"), "{}", done.stderr);
    assert!(done.stderr.contains("sent SIGKILL"), "{}", done.stderr);
    let report = Report::read(&report);
    let error = report.at("exit.error").to_string();
    assert!(error.contains("processes may remain"), "{error}");
    // It did survive: that is what the status says. The sandbox ends it.
    assert!(
        run.sandbox.live(sleep),
        "the unreachable sleep should still run"
    );
}

/// The descriptors `pid` holds whose link names `kind` (`pidfd`, `eventpoll`), by number.
fn descriptors_of(pid: i32, kind: &str) -> Vec<u64> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("list the descriptors");
    let of_kind = entries.flatten().filter(|entry| {
        std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().contains(kind))
    });
    of_kind
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// Waits until agentpipe `pid` supervises its command in its event loop (it holds the
/// command's pidfd and its wait's epoll set): its start needs no more descriptors.
fn wait_supervising(pid: i32) {
    wait_until("agentpipe's event loop", LIMIT, || {
        let ready = !descriptors_of(pid, "pidfd").is_empty()
            && !descriptors_of(pid, "eventpoll").is_empty();
        ready.then_some(())
    });
}

/// The number of `pid`'s pidfd (the child's, opened at the spawn): every descriptor below it
/// was opened before the command started, the reserve's included.
fn pidfd_number(pid: i32) -> u64 {
    let pidfds = descriptors_of(pid, "pidfd");
    pidfds.into_iter().min().expect("a pidfd")
}

/// Whether `--scope cgroup` can run here.
pub(crate) fn cgroup_scope() -> bool {
    let status = Command::new(BIN)
        .args(["--scope", "cgroup", "--", "true"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run agentpipe");
    if !status.success() {
        assert!(!under_ci(), "--scope cgroup must work under CI");
        skipped(
            "the cgroup part",
            "--scope cgroup cannot create a cgroup here",
        );
    }
    status.success()
}

/// The cgroups agentpipe `pid` created that are still there.
pub(crate) fn cgroups_of(pid: i32) -> Vec<std::path::PathBuf> {
    let name = format!("agentpipe-{pid}-");
    let mut found = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with(&name) {
                found.push(path);
            } else if path.is_dir() && dirs.len() < 64 && dir.components().count() < 6 {
                dirs.push(path);
            }
        }
    }
    found
}

/// The probe's command under `options`, its descriptor limit lowered to what `limit` says of
/// agentpipe's pid before it leaves its sleep: the run, the sleep's pid, and how it ended.
fn with_descriptors_limited(options: &[&str], limit: impl Fn(i32) -> u64) -> (Run, i32, Finished) {
    with_descriptors_limited_and(options, limit, false)
}

/// As [`with_descriptors_limited`]; with `input_ends`, agentpipe's stdin is a pipe, closed
/// once the limit is lowered, so that the sequence starts (and the wait's descriptors change)
/// before the command leaves its sleep.
fn with_descriptors_limited_and(
    options: &[&str],
    limit: impl Fn(i32) -> u64,
    input_ends: bool,
) -> (Run, i32, Finished) {
    let sandbox = Sandbox::new("descriptors-limited");
    let mut command = sandbox.agentpipe(options, leaves_a_sleep(true, false));
    if !input_ends {
        command.stdin(Stdio::null());
    }
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    wait_supervising(run.pid());
    limit_descriptors(run.pid(), limit(run.pid()));
    if input_ends {
        run.close_stdin();
        run.wait_stderr("closed the child's stdin");
    }
    std::fs::write(run.sandbox.path("go"), "").expect("go");
    let done = run.finish();
    assert!(
        !done.stderr.contains("supervising the command failed"),
        "agentpipe gave up: {}",
        done.stderr
    );
    let sleep = run.sandbox.wait_pid("sleep");
    (run, sleep, done)
}

#[test]
fn a_scope_looked_at_with_every_descriptor_taken_is_still_ended_in_every_scope() {
    if !have_tools("descriptors exhausted", &["prlimit"]) {
        return;
    }
    // With the input ending, the closed stdin drops a descriptor from the wait, whose epoll set
    // is then made again: with none to be had poll(2) takes over, and it cannot take more
    // descriptors than the limit (EINVAL) either, so it looks at them a few at a time.
    let cases = [false, true]
        .into_iter()
        .flat_map(|input_ends| ["group", "tree", "cgroup"].map(|scope| (scope, input_ends)));
    for (scope, input_ends) in cases {
        if scope == "cgroup" && !cgroup_scope() {
            continue;
        }
        // Nothing more can be opened, the reserve's numbers included.
        let options = ["-v", "--scope", scope, "--term-grace", "300ms"];
        let (run, sleep, done) = with_descriptors_limited_and(&options, |_| 3, input_ends);
        done.assert_code(3);
        run.sandbox.assert_gone(&[sleep]);
        assert!(
            done.stderr.contains("cannot see what sh")
                && done.stderr.contains("no file descriptor was left"),
            "{scope}, input ends {input_ends}: {}",
            done.stderr
        );
        assert_eq!(cgroups_of(run.pid()), Vec::<std::path::PathBuf>::new());
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn a_look_that_runs_out_of_descriptors_retries_with_the_reserve_and_sees_the_scope() {
    if !have_tools("descriptors exhausted", &["prlimit"]) {
        return;
    }
    for scope in ["group", "tree"] {
        // What the command's start opened is out of reach, what came before is not.
        let (run, sleep, done) = with_descriptors_limited(&["--scope", scope], pidfd_number);
        done.assert_code(3);
        run.sandbox.assert_gone(&[sleep]);
        assert!(
            done.stderr.contains(&format!("pid {sleep}")) && !done.stderr.contains("cannot see"),
            "{scope}: the look saw the sleep: {}",
            done.stderr
        );
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn a_hidden_scope_is_said_once_within_its_sequence() {
    if !proc_can_be_hidden() {
        return;
    }
    // A sleep that ignores TERM: the group is not empty after TERM, and SIGKILL ends it.
    let sandbox = Sandbox::new("hidden-proc-kill");
    let command = sh(
        "trap '' TERM\n(trap '' TERM; exec sleep 8) >/dev/null 2>&1 </dev/null &\n\
                      echo $! > \"$D/sleep.tmp\" && mv \"$D/sleep.tmp\" \"$D/sleep.pid\"\nexit 3",
    );
    let options = ["--scope", "group", "--term-grace", "300ms"];
    let command = with_proc_hidden(&sandbox, &options, command);
    let mut run = Run::start(sandbox, command);
    let done = run.finish_within(Duration::from_secs(8));
    let sleep = run.sandbox.wait_pid("sleep");
    done.assert_code(3);
    run.sandbox.assert_gone(&[sleep]);
    assert_eq!(
        done.stderr.matches("cannot see").count(),
        1,
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("sent SIGKILL"), "{}", done.stderr);
    assert!(
        done.elapsed() >= Duration::from_millis(300),
        "the TERM grace was waited"
    );
    run.sandbox.assert_nothing_left();
}
