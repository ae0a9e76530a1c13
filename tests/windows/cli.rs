//! agentpipe.exe under wine: the relay, the exit statuses, the sequence through the job.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn a_mebibyte_goes_through_both_ways_exactly_and_the_exit_code_is_the_childs() {
    let data = random_bytes(1 << 20);
    let mut run = agentpipe_with(&[], &["cat"]);
    let mut stdin = run.stdin.take().unwrap();
    let mut stdout = run.stdout.take().unwrap();
    let writer = {
        let data = data.clone();
        std::thread::spawn(move || stdin.write_all(&data).unwrap())
    };
    let mut back = Vec::new();
    stdout.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    let status = finish(&mut run);
    assert!(back == data, "{} bytes back of {}", back.len(), data.len());
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut run));

    let mut run = agentpipe_with(&[], &["exit", "7"]);
    assert_eq!(finish(&mut run).code(), Some(7));
}

#[test]
fn the_end_of_input_ends_a_cooperative_child_at_the_stdin_step_and_the_report_says_so() {
    let dir = scratch("eof");
    let log = dir.join("log");
    let report_file = dir.join("report.json");
    let mut run = agentpipe_with(
        &["--report", &windows_path(report_file.to_str().unwrap())],
        &["eof", &windows_path(log.to_str().unwrap())],
    );
    drop(run.stdin.take());
    let status = finish(&mut run);
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut run));
    assert_eq!(wait_file(&log), "eof");
    let report = report(&report_file);
    assert_eq!(report["exit"]["code"], 0);
    assert_eq!(report["trigger"], "eof");
    assert_eq!(actions(&report), ["stdin"], "{report}");
    assert_eq!(report["scope"], "group");
}

#[test]
fn a_child_ignoring_its_input_and_console_events_is_ended_with_its_grandchild_by_the_job() {
    let dir = scratch("stubborn");
    let pidfile = dir.join("pids");
    let report_file = dir.join("report.json");
    let mut run = agentpipe_with(
        &[
            "-v",
            "--grace",
            "500ms",
            "--term-grace",
            "500ms",
            "--report",
            &windows_path(report_file.to_str().unwrap()),
        ],
        &["stubborn", &windows_path(pidfile.to_str().unwrap())],
    );
    let pids = pids(&pidfile);
    let closed = Instant::now();
    drop(run.stdin.take());
    let status = finish(&mut run);
    let took = closed.elapsed();
    let stderr = stderr_of(&mut run);
    assert_eq!(status.code(), Some(137), "{stderr}");
    // stdin 500ms, TERM 500ms, KILL: about a second, far less than the limit.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    for process in &pids {
        assert!(process.gone(), "pid {} outlived the job", process.pid);
    }
    let report = report(&report_file);
    assert_eq!(
        actions(&report),
        ["stdin", "signal SIGTERM", "kill SIGKILL"],
        "{report}"
    );
    // Said in one line each even without -v, naming the job (not a Unix process group).
    assert!(
        stderr.contains(") and its job 500ms after SIGTERM"),
        "{stderr}"
    );
    assert!(!stderr.contains("process group"), "{stderr}");
    // Nothing is stopped by a terminal here: no SIGCONT follows SIGTERM, nor is one said.
    assert!(
        stderr.contains("sent SIGTERM to the child's job;"),
        "{stderr}"
    );
    assert!(!stderr.contains("SIGCONT"), "{stderr}");
    // The job's accounting, read before each signal: the grandchild, with the last one.
    let ended = report["ended"].as_array().expect("an ended list");
    assert_eq!(ended.len(), 1, "{report}");
    assert_eq!(ended[0]["pid"], pids[1].pid, "{report}");
    assert_eq!(ended[0]["name"], "child.exe", "{report}");
    assert_eq!(ended[0]["signal"], "SIGKILL", "{report}");
    // wine 8 refuses a console event to a process group: the step is taken, said in one line,
    // and the sequence goes on to the job's end.
    if stderr.contains("could not send SIGTERM") {
        assert_eq!(stderr.matches("could not send").count(), 1, "{stderr}");
    }
}

#[test]
fn timeout_gives_124_for_a_child_ended_by_its_stdin_and_137_for_one_killed() {
    let dir = scratch("timeout");
    let log = dir.join("log");
    // stdin held open: only the timeout starts the sequence.
    let mut run = agentpipe_with(
        &["--timeout", "1s"],
        &["eof", &windows_path(log.to_str().unwrap())],
    );
    let status = finish(&mut run);
    assert_eq!(status.code(), Some(124), "{}", stderr_of(&mut run));
    assert_eq!(wait_file(&log), "eof");

    let pidfile = dir.join("pids");
    let mut run = agentpipe_with(
        &[
            "--timeout",
            "1s",
            "--grace",
            "300ms",
            "--term-grace",
            "300ms",
        ],
        &["stubborn", &windows_path(pidfile.to_str().unwrap())],
    );
    let pids = pids(&pidfile);
    let status = finish(&mut run);
    assert_eq!(status.code(), Some(137), "{}", stderr_of(&mut run));
    for process in &pids {
        assert!(process.gone(), "pid {} outlived the job", process.pid);
    }
}

#[test]
fn a_missing_program_is_127_with_one_line_and_a_bad_signal_is_125() {
    let mut run = Command::new(agentpipe())
        .args(["--", "no-such-program-here.exe"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    assert_eq!(status.code(), Some(127), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not found"), "{stderr}");

    let mut run = agentpipe_with(&["--signal", "HUP"], &["exit", "0"]);
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    assert_eq!(status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no meaning on Windows"), "{stderr}");

    // No signals to pass on: refused in one line, never ignored.
    let mut run = agentpipe_with(&["--forward", "INT"], &["exit", "0"]);
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    assert_eq!(status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--forward"), "{stderr}");
}

#[test]
fn ctrl_c_runs_the_sequence_and_agentpipe_ends_as_interrupted() {
    let dir = scratch("ctrl-c");
    let log = dir.join("log");
    let report_file = dir.join("report.json");
    let marker = dir.file_name().unwrap().to_str().unwrap().to_string();
    let pidfile = dir.join("pid");
    let mut run = agentpipe_with(
        &["--report", &windows_path(report_file.to_str().unwrap())],
        &[
            "eof",
            &windows_path(log.to_str().unwrap()),
            &windows_path(pidfile.to_str().unwrap()),
        ],
    );
    // The child runs, its stdin held open: agentpipe's handler was installed before it started.
    let _child = pids(&pidfile);
    signal_agentpipe(&marker, "INT");
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    // 128 + SIGINT, as a death by SIGINT reads on Unix.
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_eq!(wait_file(&log), "eof", "the stdin step ended the child");
    let report = report(&report_file);
    assert_eq!(report["trigger"], "SIGINT", "{report}");
    assert_eq!(actions(&report), ["wait", "stdin"], "{report}");
    drop(run.stdin.take());
}

#[test]
fn the_stdout_reader_gone_starts_the_sequence() {
    let dir = scratch("downstream");
    let report_file = dir.join("report.json");
    let mut run = agentpipe_with(
        &[
            "--grace",
            "300ms",
            "--term-grace",
            "300ms",
            "--report",
            &windows_path(report_file.to_str().unwrap()),
        ],
        &["flood"],
    );
    let mut stdout = run.stdout.take().unwrap();
    let mut some = [0; 4096];
    stdout.read_exact(&mut some).unwrap();
    drop(stdout);
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    let report = report(&report_file);
    assert_eq!(report["trigger"], "downstream-closed", "{report}\n{stderr}");
    assert!(
        report["bytes"]["from_child"]["discarded"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert!(status.code().is_some(), "{stderr}");
    drop(run.stdin.take());
}

#[test]
fn stderr_tail_keeps_the_last_bytes_and_still_shows_them() {
    let dir = scratch("stderr-tail");
    let report_file = dir.join("report.json");
    let mut run = agentpipe_with(
        &[
            "--stderr-tail",
            "1K",
            "--report",
            &windows_path(report_file.to_str().unwrap()),
        ],
        &["stderr", "no such model", "3"],
    );
    drop(run.stdin.take());
    let status = finish(&mut run);
    let stderr = stderr_of(&mut run);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no such model"), "{stderr}");
    let report = report(&report_file);
    assert_eq!(report["stderr_tail"], "no such model", "{report}");
}

#[test]
fn idle_timeout_ends_a_silent_child_with_124() {
    let dir = scratch("idle");
    let log = dir.join("log");
    let report_file = dir.join("report.json");
    // stdin held open and nothing written either way: only the idle timeout starts the sequence.
    let mut run = agentpipe_with(
        &[
            "--idle-timeout",
            "500ms",
            "--report",
            &windows_path(report_file.to_str().unwrap()),
        ],
        &["eof", &windows_path(log.to_str().unwrap())],
    );
    let status = finish(&mut run);
    assert_eq!(status.code(), Some(124), "{}", stderr_of(&mut run));
    assert_eq!(wait_file(&log), "eof");
    let report = report(&report_file);
    assert_eq!(report["trigger"], "idle-timeout", "{report}");
    drop(run.stdin.take());
}
