//! Stalls, remote stops and parents that vanish: `--idle-timeout`, `--output-idle-timeout`,
//! `run` steps (`--stop-command`) and `--end-with-parent`.

use std::io::{Read, Write};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn report(done: &Finished) -> Report {
    Report::on_stderr(&done.stderr)
}

/// Writes a byte to agentpipe every 50 ms until `until`, keeping its input flowing.
fn trickle(run: &mut Run, until: Duration) -> thread::JoinHandle<()> {
    let mut stdin = run.take_stdin();
    thread::spawn(move || {
        let end = Instant::now() + until;
        while Instant::now() < end && stdin.write_all(b".").is_ok() {
            thread::sleep(Duration::from_millis(50));
        }
    })
}

#[test]
fn idle_timeout_ends_a_child_that_goes_silent_mid_stream() {
    let mut run = Run::agentpipe(
        "idle-both",
        &[
            "--idle-timeout",
            "400ms",
            "--grace",
            "100ms",
            "-q",
            "--report",
            "-",
        ],
        sh("trap 'exit 7' TERM; pidfile child; echo hello; spin"),
    );
    run.sandbox.wait_pid("child");
    run.wait_stdout("hello\n");
    let quiet = Instant::now();
    let done = run.finish();
    done.assert_code(124);
    assert_due(
        done.since(quiet),
        0.5,
        "the sequence after 400 ms quiet and a 100 ms grace",
    );
    let report = report(&done);
    assert_eq!(report["trigger"], "idle-timeout");
    let since = report["quiet_since"].as_f64().expect("quiet_since");
    assert!(since < 0.5, "quiet since {since}s: {report}");
    run.sandbox.assert_nothing_left();
}

#[test]
fn output_idle_timeout_fires_while_input_still_flows_and_idle_timeout_does_not() {
    let silent = "pidfile child; cat >/dev/null";
    let mut run = Run::agentpipe(
        "idle-output",
        &[
            "--output-idle-timeout",
            "400ms",
            "--grace",
            "0s",
            "-q",
            "--report",
            "-",
        ],
        sh(silent),
    );
    run.sandbox.wait_pid("child");
    let writer = trickle(&mut run, Duration::from_secs(3));
    let done = run.finish();
    writer.join().unwrap();
    done.assert_code(124);
    assert_within(
        done.elapsed(),
        0.4,
        2.0,
        "output idle timeout with input flowing",
    );
    assert_eq!(report(&done)["trigger"], "output-idle-timeout");

    let mut run = Run::agentpipe("idle-either", &["--idle-timeout", "400ms"], sh(silent));
    run.sandbox.wait_pid("child");
    let writer = trickle(&mut run, Duration::from_millis(1500));
    writer.join().unwrap(); // the input ends after 1.5 s of trickle, never idle for 400 ms
    let done = run.finish();
    done.assert_code(0);
    assert!(done.elapsed() > Duration::from_millis(1400));
}

#[test]
fn a_slow_reader_is_not_a_stall() {
    let sandbox = Sandbox::new("idle-slow-reader");
    let command = sandbox.agentpipe(
        &["--idle-timeout", "300ms", "--eof-grace", "inf"],
        ["head", "-c", "4194304", "/dev/zero"],
    );
    let mut run = Run::start_raw_stdout(sandbox, command);
    run.close_stdin();
    let mut stdout = run.raw_stdout.take().unwrap();
    // Nobody reads for a second: the bytes wait for their reader, which is no idleness.
    thread::sleep(Duration::from_secs(1));
    let mut got = Vec::new();
    stdout.read_to_end(&mut got).unwrap();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(got.len(), 4 << 20);
}

#[test]
fn idle_timeout_and_timeout_whichever_comes_first() {
    for (options, trigger) in [
        (["--timeout", "300ms", "--idle-timeout", "20s"], "timeout"),
        (
            ["--timeout", "20s", "--idle-timeout", "300ms"],
            "idle-timeout",
        ),
    ] {
        let mut args = options.to_vec();
        args.extend(["--grace", "0s", "-q", "--report", "-"]);
        let mut run = Run::agentpipe("idle-vs-timeout", &args, sh("trap 'exit 3' TERM; spin"));
        let done = run.finish();
        done.assert_code(124);
        assert_within(done.elapsed(), 0.25, 2.0, trigger);
        assert_eq!(report(&done)["trigger"], trigger);
    }
}

#[test]
fn a_run_step_stops_the_child_through_a_side_channel() {
    // The child ignores EOF and TERM and ends only on USR1, which the step's command sends it
    // using the environment agentpipe gives it; the command's output goes to stderr.
    let mut run = Run::agentpipe(
        "run-step",
        &[
            "--stop-command",
            "echo \"hook: $AGENTPIPE_TRIGGER $AGENTPIPE_STEP\"; kill -USR1 $AGENTPIPE_PID",
            "--grace",
            "100ms",
            "--term-grace",
            "5s",
            "--report",
            "-",
        ],
        sh("trap '' TERM; trap 'exit 3' USR1; pidfile child; cat >/dev/null; spin"),
    );
    run.sandbox.wait_pid("child");
    run.write(b"data\n");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(3);
    assert!(
        done.stdout.is_empty(),
        "the command's output reached stdout"
    );
    assert!(done.stderr.contains("hook: eof 3\n"), "{}", done.stderr);
    assert_within(
        done.elapsed(),
        0.1,
        2.0,
        "the child ended by the step's command",
    );
    let report = report(&done);
    let command = &report["commands"][0];
    assert_eq!(command["step"], 3);
    // The child may exit, ending the step, before the command's own exit is seen.
    assert!(command["code"] == 0 || command["ended"] == true, "{report}");
    assert!(
        !done.stderr.contains("sent SIGTERM"),
        "the stop signal was needed: {}",
        done.stderr
    );
}

#[test]
fn a_run_steps_command_that_hangs_is_ended_with_its_step_and_one_that_fails_is_reported() {
    let cases = [
        // (command, its code in the report, ended)
        ("pidfile hook; sleep 100", serde_json::Value::Null, true),
        ("exit 5", serde_json::json!(5), false),
    ];
    for (command, code, ended) in cases {
        let sequence = format!("run \". \\\"$D/prelude\\\"; {command}\" 300ms, TERM 1s, KILL");
        let mut run = Run::agentpipe(
            "run-step-bounded",
            &["--sequence", &sequence, "-q", "--report", "-"],
            sh("trap 'exit 7' TERM; pidfile child; spin"),
        );
        run.sandbox.wait_pid("child");
        let sent = run.signal(Signal::SIGTERM);
        let done = run.finish();
        // The sequence goes on to TERM after the step's 300 ms, whatever its command did.
        done.assert_code(7);
        assert_due(done.since(sent), 0.3, "TERM after the run step");
        let report = report(&done);
        assert_eq!(report["commands"][0]["code"], code, "{report}");
        assert_eq!(report["commands"][0]["ended"], ended, "{report}");
        if ended {
            let hook = run.sandbox.wait_pid("hook");
            run.sandbox.wait_gone(hook, Duration::from_secs(2));
        }
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn the_parent_killed_ends_the_run_even_with_stdin_held_open() {
    let sandbox = Sandbox::new("end-with-parent");
    // The parent starts agentpipe in the background and waits; its stdin is a pipe the test
    // holds open, so no EOF comes.
    let script = format!(
        "\"{BIN}\" --end-with-parent --grace 100ms -q -- sh -c '. \"$D/prelude\"; trap \"exit 7\" TERM; pidfile child; spin' &\n\
         echo $! > \"$D/agentpipe.pid\"; wait"
    );
    let mut command = sandbox.command("sh");
    command.args(["-c", &script]).stdout(Stdio::null());
    let mut parent = command.spawn().unwrap();
    let child = sandbox.wait_pid("child");
    let agentpipe = sandbox.wait_pid("agentpipe");
    kill(Pid::from_raw(parent.id() as i32), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    parent.wait().unwrap();
    sandbox.wait_gone(child, Duration::from_secs(3));
    sandbox.wait_gone(agentpipe, Duration::from_secs(3));
    assert_within(
        killed.elapsed(),
        0.0,
        2.5,
        "the child ended after the parent died",
    );
    drop(parent.stdin.take());
    sandbox.assert_nothing_left();
}

#[test]
fn a_parent_thread_that_exits_is_no_trigger() {
    if !have_tools("a parent's thread that exits", &["python3"]) {
        return;
    }
    let sandbox = Sandbox::new("parent-thread");
    // The thread that starts agentpipe exits; the parent process lives on, then closes
    // agentpipe's stdin: the run must end by that EOF, not by the thread's exit.
    let script = format!(
        r#"
import subprocess, threading, time, os, sys
box = {{}}
def start():
    box['p'] = subprocess.Popen(["{BIN}", "--end-with-parent", "--report", "-", "--", "cat"],
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
t = threading.Thread(target=start); t.start(); t.join()
time.sleep(0.5)
p = box['p']
assert p.poll() is None, "agentpipe ended when the thread exited"
p.stdin.write(b"x"); p.stdin.close()
err = p.stderr.read().decode()
sys.exit(0 if p.wait() == 0 and '"trigger":"eof"' in err else 1)
"#
    );
    let status = sandbox
        .command("python3")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "agentpipe reacted to the thread's exit");
    sandbox.assert_nothing_left();
}

#[test]
fn a_run_steps_command_is_outside_a_tree_scope() {
    // Under --scope tree agentpipe is the subreaper of everything below it: the step's command
    // must be neither signalled nor named as left behind. It stops the child, which ends its
    // step: the command, still sleeping, is then killed with its step.
    let sequence = "run \"kill -USR1 $AGENTPIPE_PID; exec sleep 5\" 5s, TERM 1s, KILL";
    let mut run = Run::agentpipe(
        "run-step-tree",
        &[
            "--scope",
            "tree",
            "--sequence",
            sequence,
            "-q",
            "--report",
            "-",
        ],
        sh("trap 'exit 3' USR1; pidfile child; spin"),
    );
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(3);
    assert!(
        done.elapsed() < Duration::from_secs(4),
        "the step's command held the run"
    );
    let report = report(&done);
    assert_eq!(
        report["leftovers"]["pids"],
        serde_json::json!([]),
        "{report}"
    );
    assert_eq!(report["commands"][0]["ended"], true, "{report}");
    assert_eq!(
        report["steps"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    run.sandbox.assert_nothing_left();
}
