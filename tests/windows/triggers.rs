//! The triggers and steps that only the Windows front end carries out its own way: the parent's
//! process handle waited on, the output's idle timer fed by the stdout pump, `run` steps through
//! `cmd /c`, and agentpipe's own stderr written by a thread of its own.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn end_with_parent_runs_the_sequence_when_the_parent_process_ends() {
    let dir = scratch("parent");
    let (go, log, pidfile) = (dir.join("go"), dir.join("log"), dir.join("pid"));
    let report_file = dir.join("report.json");
    // The helper starts agentpipe, then exits once told to: agentpipe's parent goes away while
    // its stdin (the test's pipe) stays open.
    let mut parent = Command::new(helper())
        .args(["parent", &win(&go), &agentpipe(), "--end-with-parent"])
        .args(["--report", &win(&report_file), "--", &helper(), "eof"])
        .args([&win(&log), &win(&pidfile)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _child = pids(&pidfile);
    std::fs::write(&go, "go").unwrap();
    assert_eq!(finish(&mut parent).code(), Some(0));
    // agentpipe holds the stdout pipe until it ends.
    let mut stdout = parent.stdout.take().unwrap();
    let (ended, wait) = mpsc::channel();
    std::thread::spawn(move || ended.send(stdout.read_to_end(&mut Vec::new()).is_ok()));
    assert_eq!(wait.recv_timeout(LIMIT), Ok(true), "agentpipe did not end");
    assert_eq!(wait_file(&log), "eof", "the stdin step ended the child");
    let report = report(&report_file);
    assert_eq!(report["trigger"], "parent-exit", "{report}");
    assert_eq!(actions(&report), ["wait", "stdin"], "{report}");
    drop(parent.stdin.take());
}

#[test]
fn output_idle_timeout_ends_a_child_that_reads_but_says_nothing() {
    let dir = scratch("output-idle");
    let log = dir.join("log");
    let report_file = dir.join("report.json");
    let mut run = agentpipe_with(
        &[
            "--output-idle-timeout",
            "500ms",
            "--report",
            &win(&report_file),
        ],
        &["eof", &win(&log)],
    );
    // Input keeps flowing, so only the output's silence can start the sequence.
    let mut stdin = run.stdin.take().unwrap();
    let started = Instant::now();
    let feeding = std::thread::spawn(move || {
        while started.elapsed() < LIMIT && stdin.write_all(b"tick\n").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let status = finish(&mut run);
    feeding.join().unwrap();
    assert_eq!(status.code(), Some(124), "{}", stderr_of(&mut run));
    assert_eq!(wait_file(&log), "eof");
    let report = report(&report_file);
    assert_eq!(report["trigger"], "output-idle-timeout", "{report}");
    assert!(
        report["bytes"]["to_child"]["relayed"].as_u64().unwrap() > 0,
        "{report}"
    );
}

#[test]
fn a_run_step_runs_its_command_through_cmd_with_the_agentpipe_variables() {
    let dir = scratch("run-step");
    let (log, pidfile, ran) = (dir.join("log"), dir.join("pid"), dir.join("ran"));
    let report_file = dir.join("report.json");
    let sequence = format!(
        "run 'echo %AGENTPIPE_TRIGGER% %AGENTPIPE_STEP% %AGENTPIPE_PID%> {}' 1s, stdin 5s, KILL",
        win(&ran)
    );
    let mut run = agentpipe_with(
        &[
            "--timeout",
            "300ms",
            "--report",
            &win(&report_file),
            "--sequence",
            &sequence,
        ],
        &["eof", &win(&log), &win(&pidfile)],
    );
    let child = pids(&pidfile);
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    assert_eq!(status.code(), Some(124), "{stderr}");
    let line = wait_file(&ran);
    assert_eq!(
        line.trim(),
        format!("timeout 1 {}", child[0].pid),
        "{stderr}"
    );
    assert_eq!(
        wait_file(&log),
        "eof",
        "the stdin step came after the run step"
    );
    let report = report(&report_file);
    assert_eq!(actions(&report), ["run", "stdin"], "{report}");
    let command = &report["commands"][0];
    assert_eq!(command["step"], 1, "{report}");
    assert_eq!(command["code"], 0, "{report}");
    assert!(command["pid"].as_u64().is_some(), "{report}");
    drop(run.stdin.take());
}

#[test]
fn agentpipes_own_stderr_nobody_reads_never_holds_up_the_relay() {
    // A trace of a mebibyte to stderr, which the test reads only once agentpipe ended: far more
    // than a pipe holds. The records that do not fit are dropped; the relay goes on.
    let input = random_bytes(1 << 20);
    let started = Instant::now();
    let (output, stderr, code) = run_with_input(&["-v", "--trace", "-"], &["cat"], &input);
    assert_eq!(code, 0, "{}", &stderr[..stderr.len().min(2000)]);
    assert!(
        output == input,
        "{} bytes back of {}",
        output.len(),
        input.len()
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.starts_with("agentpipe [+"),
        "{}",
        &stderr[..stderr.len().min(200)]
    );
}

#[test]
fn idle_timeout_waits_while_input_flows_then_ends_the_child() {
    let dir = scratch("idle-flowing");
    let log = dir.join("log");
    let mut run = agentpipe_with(&["--idle-timeout", "500ms"], &["eof", &win(&log)]);
    let mut stdin = run.stdin.take().unwrap();
    let started = Instant::now();
    // A second and a half of input, a line each 50 ms; then silence, stdin held open.
    let feeding = std::thread::spawn(move || {
        while started.elapsed() < Duration::from_millis(1500) && stdin.write_all(b"tick\n").is_ok()
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        stdin
    });
    let status = finish(&mut run);
    let took = started.elapsed();
    drop(feeding.join().unwrap());
    assert_eq!(status.code(), Some(124), "{}", stderr_of(&mut run));
    assert!(
        took >= Duration::from_millis(1500),
        "ended after {took:?}, while input flowed"
    );
    assert_eq!(wait_file(&log), "eof");
}
