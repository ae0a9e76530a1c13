//! Exit status, first match wins: command not found / not executable, SIGINT, --timeout, the
//! child's exit code, the child's death by a signal.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;
use nix::sys::signal::Signal;

#[test]
fn a_command_not_found_exits_127() {
    let mut run = Run::agentpipe("not-found", &[], ["agentpipe-test-no-such-command"]);
    let done = run.finish();
    done.assert_code(127);
    done.assert_one_error_line();
    let mut run = Run::agentpipe("not-found-path", &[], ["/nonexistent/command"]);
    run.finish().assert_code(127);
}

#[test]
fn a_command_found_but_not_executable_exits_126() {
    let sandbox = Sandbox::new("not-executable");
    let script = sandbox.path("script");
    fs::write(&script, "#!/bin/sh\necho ran\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    let command = sandbox.agentpipe(&[], [&script]);
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(126);
    done.assert_one_error_line();
    assert!(done.stdout.is_empty());

    // A directory is found, and cannot be executed either.
    let sandbox = Sandbox::new("directory");
    let command = sandbox.agentpipe(&[], [&sandbox.dir]);
    Run::start(sandbox, command).finish().assert_code(126);
}

#[test]
fn sigint_before_the_child_exited_kills_agentpipe_with_sigint() {
    // The child exits 0 on the EOF that the SIGINT brings: still death by SIGINT.
    let mut run = Run::agentpipe("sigint", &[], sh("pidfile child\nexec cat"));
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGINT);
    let done = run.finish();
    done.assert_signal(Signal::SIGINT);
}

#[test]
fn sigint_after_the_child_exited_keeps_the_childs_status() {
    // The child exits 3 at once; a grandchild out of scope keeps the output (and agentpipe)
    // going.
    let mut run = Run::agentpipe(
        "sigint-after-exit",
        &["-v", "--scope", "child", "--drain", "3s"],
        sh(&format!(
            "pidfile child\n{}\nexit 3",
            background("while :; do echo tick; sleep 0.05; done")
        )),
    );
    let child = run.sandbox.wait_pid("child");
    run.sandbox.wait_gone(child, LIMIT);
    run.wait_stdout("tick");
    run.signal(Signal::SIGINT);
    let done = run.finish();
    done.assert_code(3);
}

#[test]
fn sigint_outranks_the_timeout() {
    let mut run = Run::agentpipe(
        "sigint-timeout",
        &[
            "--timeout",
            "200ms",
            "--grace",
            "100ms",
            "--term-grace",
            "20s",
            "-v",
        ],
        eof_logger(IGNORE_TERM),
    );
    run.sandbox.wait_log("TERM");
    run.signal(Signal::SIGINT);
    // Decision (bw): an interrupt within 2 ms of a step taken on its deadline counts for that
    // step, which an answer this quick (the child logs at once) can land in; the 20 s grace would
    // then run. So the timeline says what the interrupt did, and when it counted for the TERM
    // step, the next one skips to SIGKILL. Either way agentpipe got SIGINT before the command
    // exited.
    run.wait_stderr("received SIGINT");
    if run.stderr_text().contains("counts for that step") {
        run.signal(Signal::SIGINT);
    }
    let done = run.finish();
    done.assert_signal(Signal::SIGINT);
}

#[test]
fn timeout_exits_124_when_the_child_ended_before_sigkill() {
    // cat ends on the EOF of the stdin step.
    let mut run = Run::agentpipe("timeout-124", &["--timeout", "300ms"], ["cat"]);
    let done = run.finish();
    done.assert_code(124);
    assert_due(done.elapsed(), 0.3, "exit after --timeout");
}

#[test]
fn timeout_exits_137_when_sigkill_was_needed() {
    let mut run = Run::agentpipe(
        "timeout-137",
        &[
            "--timeout",
            "200ms",
            "--grace",
            "100ms",
            "--term-grace",
            "500ms",
        ],
        eof_logger(IGNORE_TERM),
    );
    let done = run.finish();
    done.assert_code(137);
    assert_due(
        done.elapsed(),
        0.8,
        "SIGKILL after timeout, grace and term grace",
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn preserve_status_gives_the_childs_exit_code_after_a_timeout() {
    let mut run = Run::agentpipe(
        "preserve-code",
        &[
            "--timeout",
            "200ms",
            "--grace",
            "100ms",
            "--preserve-status",
        ],
        eof_logger(EXIT_ON_TERM),
    );
    let done = run.finish();
    done.assert_code(7);
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn preserve_status_gives_the_childs_signal_after_a_timeout() {
    let mut run = Run::agentpipe(
        "preserve-signal",
        &[
            "--timeout",
            "200ms",
            "--grace",
            "100ms",
            "--term-grace",
            "100ms",
            "--preserve-status",
        ],
        eof_logger(IGNORE_TERM),
    );
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
}

#[test]
fn the_childs_exit_code_is_agentpipes() {
    for code in [0, 1, 42, 124, 125, 126, 127, 255] {
        let mut run = Run::agentpipe("exit-code", &[], sh(&format!("exit {code}")));
        run.finish().assert_code(code);
    }
}

#[test]
fn a_child_killed_by_a_signal_kills_agentpipe_with_the_same_signal_without_a_core() {
    for signal in [
        Signal::SIGTERM,
        Signal::SIGSEGV,
        Signal::SIGABRT,
        Signal::SIGUSR1,
        Signal::SIGKILL,
    ] {
        let mut run = Run::agentpipe(
            "child-signal",
            &[],
            sh(&format!("kill -{} $$", &signal.as_str()[3..])),
        );
        let done = run.finish();
        done.assert_signal(signal);
    }
}

#[test]
fn a_calling_shell_sees_128_plus_the_signal() {
    let sandbox = Sandbox::new("shell-status");
    let mut command = sandbox.command("sh");
    command.env("AGENTPIPE", BIN).args([
        "-c",
        "\"$AGENTPIPE\" -- sh -c 'kill -TERM $$'; echo \"status $?\"",
    ]);
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "status 143\n");
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "-h", "--version", "-V"] {
        let sandbox = Sandbox::new("help");
        let mut command = sandbox.command(BIN);
        command.arg(flag);
        let done = Run::start(sandbox, command).finish();
        done.assert_code(0);
        assert!(
            done.stdout_text().contains("agentpipe"),
            "{flag}: {}",
            done.stdout_text()
        );
    }
}

#[test]
fn as_pid_1_where_the_signal_cannot_kill_it_agentpipe_exits_128_plus_the_signal() {
    if !have_tools("as PID 1", &["unshare"]) {
        return;
    }
    let sandbox = Sandbox::new("pid-1");
    let mut probe = sandbox.command("unshare");
    probe.args(["--pid", "--fork", "true"]);
    if !Run::start(sandbox, probe).finish().status.success() {
        return skipped("as PID 1", "no PID namespace here (unshare --pid failed)");
    }
    // In a new PID namespace agentpipe is PID 1, which a default-action signal does not kill.
    let sandbox = Sandbox::new("pid-1");
    let mut command = sandbox.command("unshare");
    command.args([
        "--pid",
        "--fork",
        BIN,
        "--",
        "sh",
        "-c",
        "echo $PPID; kill -TERM $$",
    ]);
    let done = Run::start(sandbox, command).finish();
    assert_eq!(done.stdout_text(), "1\n", "agentpipe was not PID 1");
    done.assert_code(128 + 15);
}
