//! `--report`: the JSON object agentpipe writes when it exits, checked field by field for each
//! trigger, and for the ways agentpipe can end (a code, death by a signal, a failed start).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::common::*;
use nix::sys::signal::Signal;

/// The top-level fields, in the order agentpipe writes them (the schema's canonical form).
const FIELDS: [&str; 19] = [
    "version",
    "command",
    "pid",
    "start",
    "elapsed",
    "scope",
    "sequence",
    "trigger",
    "steps",
    "exit",
    "bytes",
    "drain",
    "leftovers",
    "ended",
    "cgroup",
    "quiet_since",
    "commands",
    "unanswered",
    "stderr_tail",
];

const DEFAULT_SEQUENCE: &str = "wait 0s, stdin 1s, TERM 1s, KILL";

#[test]
fn eof_trigger() {
    let mut run = Run::agentpipe(
        "report-eof",
        &["--report", "-"],
        sh("pidfile child\nexec cat"),
    );
    let child = run.sandbox.wait_pid("child");
    run.write(b"hello\n");
    run.wait_stdout("hello\n");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    let report = report_of(&done);

    assert_common_fields(&report, &done, Some(child));
    assert_eq!(report.at("sequence").str(), DEFAULT_SEQUENCE);
    assert_eq!(report.at("trigger").str(), "eof");
    assert_steps(&report, &[(2, "stdin", None)]);
    assert_exit(&report, Some(0), None, 0, None);
    assert_bytes(&report, (6, 0), (6, 0));
    assert_eq!(report.at("drain.limit").number(), 1.0);
    assert_eq!(report.at("drain.cut"), &Value::Bool(false));
    assert_no_leftovers(&report);
}

#[test]
fn sigterm_trigger() {
    let run = Run::agentpipe(
        "report-term",
        &["--report", "-", "--grace", "100ms"],
        sh("trap 'exit 7' TERM\npidfile child\nspin"),
    );
    let child = run.sandbox.wait_pid("child");
    run.signal(Signal::SIGTERM);
    let done = finish(run);
    done.assert_code(7);
    let report = report_of(&done);

    assert_ended_by(&report, &done, child, "SIGTERM", UP_TO_TERM);
    // Each step is due after the one before it: wait 0s, then stdin 100ms.
    let at = |index: usize| report.at(&format!("steps.{index}.at")).number();
    assert!(at(0) <= at(1) && at(1) + 0.099 <= at(2), "{report:?}");
    assert_exit(&report, Some(7), None, 7, None);
    assert_bytes(&report, (0, 0), (0, 0));
    assert_no_leftovers(&report);
}

#[test]
fn sigint_trigger_is_reported_before_agentpipe_dies_by_it() {
    let run = Run::agentpipe(
        "report-int",
        &["--report", "-", "--grace", "100ms"],
        sh("trap 'exit 7' TERM\npidfile child\nspin"),
    );
    let child = run.sandbox.wait_pid("child");
    run.signal(Signal::SIGINT);
    let done = finish(run);
    done.assert_signal(Signal::SIGINT);
    let report = report_of(&done);

    assert_ended_by(&report, &done, child, "SIGINT", UP_TO_TERM);
    assert_exit(&report, Some(7), None, 130, Some("SIGINT"));
}

#[test]
fn timeout_trigger() {
    let run = Run::agentpipe(
        "report-timeout",
        &["--report", "-", "--timeout", "200ms", "--grace", "100ms"],
        sh("trap 'exit 3' TERM\npidfile child\nspin"),
    );
    let child = run.sandbox.wait_pid("child");
    let done = finish(run);
    done.assert_code(124);
    let report = report_of(&done);

    assert_ended_by(&report, &done, child, "timeout", UP_TO_TERM);
    assert!(report.at("steps.0.at").number() >= 0.2, "{report:?}");
    assert_exit(&report, Some(3), None, 124, None);
}

#[test]
fn timeout_trigger_that_needed_sigkill() {
    let run = Run::agentpipe(
        "report-timeout-kill",
        &[
            "--report",
            "-",
            "--timeout",
            "100ms",
            "--grace",
            "0s",
            "--term-grace",
            "100ms",
        ],
        sh("trap '' TERM\npidfile child\nspin"),
    );
    let child = run.sandbox.wait_pid("child");
    let done = finish(run);
    done.assert_code(137);
    let report = report_of(&done);

    assert_common_fields(&report, &done, Some(child));
    assert_eq!(report.at("trigger").str(), "timeout");
    assert_steps(
        &report,
        &[
            (1, "wait", None),
            (2, "stdin", None),
            (3, "signal", Some("SIGTERM")),
            (4, "kill", Some("SIGKILL")),
        ],
    );
    assert_exit(&report, None, Some("SIGKILL"), 137, None);
}

#[test]
fn downstream_closed_trigger() {
    let sandbox = Sandbox::new("report-downstream");
    let command = sandbox.agentpipe(
        &["--report", "-", "--grace", "100ms"],
        sh("trap 'exit 5' TERM\npidfile child\nspin"),
    );
    let mut run = Run::start_raw_stdout(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    drop(run.raw_stdout.take());
    let done = finish(run);
    done.assert_code(5);
    let report = report_of(&done);

    assert_ended_by(&report, &done, child, "downstream-closed", UP_TO_TERM);
    assert_exit(&report, Some(5), None, 5, None);
}

/// A child that starts a grandchild (`$D/grand.pid`, in its process group, not holding its
/// stdout), waits until it runs, and exits 4.
fn child_leaving_a_grandchild() -> Vec<String> {
    sh(r#"pidfile child
sh -c 'echo $$ > "$D/grand.tmp" && mv "$D/grand.tmp" "$D/grand.pid" && exec sleep 30' >/dev/null 2>&1 &
while [ ! -e "$D/grand.pid" ]; do sleep 0.01; done
# The grandchild's mv may still be exiting when its file appears: exit only once the grandchild
# is sleep itself, so that it is the one process left in the group.
grand=$(cat "$D/grand.pid")
while [ "$(cat /proc/$grand/comm 2>/dev/null)" != sleep ]; do sleep 0.01; done
exit 4"#)
}

#[test]
fn child_exit_trigger_with_a_grandchild_left_in_the_group() {
    let run = Run::agentpipe(
        "report-child-exit",
        &["--report", "-"],
        child_leaving_a_grandchild(),
    );
    let child = run.sandbox.wait_pid("child");
    let grandchild = run.sandbox.wait_pid("grand");
    let done = finish_leaving(run, &[grandchild]);
    done.assert_code(4);
    let report = report_of(&done);

    assert_common_fields(&report, &done, Some(child));
    assert_eq!(report.at("trigger").str(), "child-exit");
    assert_steps(&report, &[(3, "signal", Some("SIGTERM"))]);
    assert_exit(&report, Some(4), None, 4, None);
    assert_eq!(
        report.at("leftovers.signals").strs(),
        ["SIGTERM", "SIGCONT"],
        "{report:?}"
    );
    // Every pid listed was in the scope: the grandchild is the only candidate.
    for pid in report.at("leftovers.pids").array() {
        assert_eq!(pid.number(), f64::from(grandchild), "{report:?}");
    }
}

#[test]
fn child_exit_trigger_names_the_leftover_pids() {
    let run = Run::agentpipe(
        "report-leftover-pids",
        &["--report", "-"],
        child_leaving_a_grandchild(),
    );
    let grandchild = run.sandbox.wait_pid("grand");
    let done = finish_leaving(run, &[grandchild]);
    let report = report_of(&done);
    let pids: Vec<f64> = report
        .at("leftovers.pids")
        .array()
        .iter()
        .map(Field::number)
        .collect();
    assert_eq!(pids, [f64::from(grandchild)], "{report:?}");
}

#[test]
fn drain_cut_by_a_grandchild_holding_the_output() {
    // The grandchild ignores SIGTERM and keeps the child's stdout open: the output is cut after
    // --drain, and the grandchild gets SIGKILL after --term-grace.
    let run = Run::agentpipe(
        "report-drain",
        &["--report", "-", "--drain", "100ms", "--term-grace", "300ms"],
        sh(r#"pidfile child
sh -c 'trap "" TERM; echo $$ > "$D/grand.tmp" && mv "$D/grand.tmp" "$D/grand.pid" && exec sleep 30' &
while [ ! -e "$D/grand.pid" ]; do sleep 0.01; done
echo bye
exit 0"#),
    );
    let grandchild = run.sandbox.wait_pid("grand");
    let done = finish_leaving(run, &[grandchild]);
    done.assert_code(0);
    assert_eq!(done.stdout, b"bye\n");
    let report = report_of(&done);

    assert_eq!(report.at("trigger").str(), "child-exit");
    assert_steps(
        &report,
        &[(3, "signal", Some("SIGTERM")), (4, "kill", Some("SIGKILL"))],
    );
    assert_eq!(report.at("drain.limit").number(), 0.1);
    assert_eq!(report.at("drain.cut"), &Value::Bool(true), "{report:?}");
    assert_eq!(
        report.at("leftovers.signals").strs(),
        ["SIGTERM", "SIGCONT", "SIGKILL"]
    );
    assert_bytes(&report, (0, 0), (4, 0));
}

#[test]
fn plain_exit_has_no_trigger() {
    let mut run = Run::agentpipe(
        "report-plain",
        &["--report", "-"],
        sh("pidfile child\necho hi\nexit 3"),
    );
    let child = run.sandbox.wait_pid("child");
    let done = run.finish();
    done.assert_code(3);
    let report = report_of(&done);

    assert_common_fields(&report, &done, Some(child));
    assert_eq!(report.at("trigger"), &Value::Null);
    assert_steps(&report, &[]);
    assert_exit(&report, Some(3), None, 3, None);
    assert_bytes(&report, (0, 0), (3, 0));
    assert_no_leftovers(&report);
}

#[test]
fn child_killed_by_a_signal_is_reported_before_agentpipe_dies_by_it() {
    let mut run = Run::agentpipe(
        "report-killed",
        &["--report", "-"],
        sh("pidfile child\nkill -TERM $$"),
    );
    let child = run.sandbox.wait_pid("child");
    let done = run.finish();
    done.assert_signal(Signal::SIGTERM);
    let report = report_of(&done);

    assert_common_fields(&report, &done, Some(child));
    assert_eq!(report.at("trigger"), &Value::Null);
    assert_exit(&report, None, Some("SIGTERM"), 143, Some("SIGTERM"));
}

#[test]
fn command_not_found() {
    let mut run = Run::agentpipe(
        "report-not-found",
        &["--report", "-"],
        ["agentpipe-test-no-such-command"],
    );
    let done = run.finish();
    done.assert_code(127);
    let report = report_of(&done);

    assert_common_fields(&report, &done, None);
    assert_eq!(
        report.at("command").strs(),
        ["agentpipe-test-no-such-command"]
    );
    assert_eq!(report.at("trigger"), &Value::Null);
    assert_steps(&report, &[]);
    assert_eq!(report.at("exit.code"), &Value::Null);
    assert_eq!(report.at("exit.signal"), &Value::Null);
    assert_eq!(report.at("exit.status").number(), 127.0);
    assert_eq!(report.at("exit.status_signal"), &Value::Null);
    let error = report.at("exit.error").str();
    assert!(
        error.starts_with("cannot run 'agentpipe-test-no-such-command'"),
        "{error}"
    );
    assert_bytes(&report, (0, 0), (0, 0));
    assert_no_leftovers(&report);
}

#[test]
fn command_not_executable() {
    let sandbox = Sandbox::new("report-not-executable");
    let script = sandbox.path("script");
    fs::write(&script, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    let command = sandbox.agentpipe(&["--report", "-"], [&script]);
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(126);
    let report = report_of(&done);
    assert_eq!(report.at("pid"), &Value::Null);
    assert_eq!(report.at("exit.status").number(), 126.0);
    assert!(report.at("exit.error").str().starts_with("cannot run"));
}

#[test]
fn report_file_is_created_or_truncated_and_holds_one_object() {
    let sandbox = Sandbox::new("report-file");
    let path = sandbox.path_str("report.json");
    fs::write(
        &path,
        "an older, longer report that must go away entirely\n".repeat(50),
    )
    .unwrap();
    let command = sandbox.agentpipe(&["--report", &path], sh("exit 2"));
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(2);
    assert!(
        !done.stderr.contains('{'),
        "report on stderr: {}",
        done.stderr
    );
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches('\n').count(), 1, "{text}");
    assert!(text.ends_with('\n'));
    check_with_python(text.trim_end());
    let report = Report::parse(text.trim_end());
    assert_eq!(report.keys(""), FIELDS);
    assert_eq!(report.at("exit.code").number(), 2.0);
}

#[test]
fn report_that_cannot_be_written_keeps_the_exit_status() {
    let sandbox = Sandbox::new("report-unwritable");
    let path = sandbox.path_str("no-such-dir/report.json");
    let command = sandbox.agentpipe(&["--report", &path], sh("exit 3"));
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(3);
    let lines = done.stderr_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("agentpipe: cannot write report to '{path}': ")),
        "{lines:?}"
    );
}

#[test]
fn arguments_are_escaped_and_non_utf8_is_replaced() {
    use std::os::unix::ffi::OsStrExt;
    let awkward: [&[u8]; 6] = [
        b"quote \" backslash \\ slash /",
        b"tab\tnewline\nreturn\r",
        b"\x01\x1b[31m\x7f",
        b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
        b"bad \xff\xfe utf-8 \xc3",
        b"",
    ];
    let mut command: Vec<std::ffi::OsString> = vec!["sh".into(), "-c".into(), "exit 0".into()];
    command.extend(awkward.iter().map(|bytes| os(bytes)));
    let mut run = Run::agentpipe("report-escapes", &["--report", "-"], &command);
    let done = run.finish();
    done.assert_code(0);
    let report = report_of(&done);
    let expected: Vec<String> = command
        .iter()
        .map(|arg| String::from_utf8_lossy(arg.as_bytes()).into_owned())
        .collect();
    assert_eq!(report.at("command").strs(), expected);
    assert!(expected[7].contains('\u{fffd}'));
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the tests.

fn finish(mut run: Run) -> Finished {
    let done = run.finish();
    run.sandbox.assert_nothing_left();
    done
}

/// Finishes `run`, and checks that `others` are gone too.
fn finish_leaving(mut run: Run, others: &[i32]) -> Finished {
    let done = run.finish();
    run.sandbox.assert_gone(others);
    run.sandbox.assert_nothing_left();
    done
}

/// The one report line on agentpipe's stderr, checked by python3 too, read.
fn report_of(done: &Finished) -> Report {
    let report = Report::on_stderr(&done.stderr);
    check_with_python(&report.to_string());
    assert_eq!(report.keys(""), FIELDS, "fields or their order changed");
    report
}

/// The fields every report has, whatever ended the run.
fn assert_common_fields(report: &Report, done: &Finished, pid: Option<i32>) {
    assert_eq!(report.at("version").number(), 1.0);
    assert!(!report.at("command").strs().is_empty());
    match pid {
        Some(pid) => assert_eq!(report.at("pid").number(), f64::from(pid), "{report:?}"),
        None => assert_eq!(report.at("pid"), &Value::Null),
    }
    let start = report.at("start").str();
    assert!(is_rfc3339_utc_micros(start), "start: {start}");
    let elapsed = report.at("elapsed").number();
    let bound = done.elapsed().as_secs_f64() + 0.5;
    assert!((0.0..bound).contains(&elapsed), "elapsed {elapsed}");
    for (index, step) in report.at("steps").array().iter().enumerate() {
        let at = step.at("at").number();
        assert!(
            (0.0..=elapsed).contains(&at),
            "step at {at}, elapsed {elapsed}"
        );
        assert_eq!(
            report.keys(&format!("steps.{index}")),
            ["step", "action", "signal", "at"]
        );
    }
    assert_eq!(report.at("scope").str(), "group");
    assert_eq!(
        report.keys("exit"),
        ["code", "signal", "status", "status_signal", "error"]
    );
    if report.at("bytes") != &Value::Null {
        assert_eq!(report.keys("bytes"), ["to_child", "from_child", "stderr"]);
    }
    assert_eq!(report.keys("drain"), ["limit", "cut"]);
    assert_eq!(report.keys("leftovers"), ["pids", "signals"]);
}

/// `(step number, action, signal)` of each step taken.
/// The steps a trigger at step 1 takes up to the stop signal, with the default sequence.
const UP_TO_TERM: &[(u32, &str, Option<&str>)] = &[
    (1, "wait", None),
    (2, "stdin", None),
    (3, "signal", Some("SIGTERM")),
];

/// The fields every supervised run has, the trigger, and the steps taken.
fn assert_ended_by(
    report: &Report,
    done: &Finished,
    child: i32,
    trigger: &str,
    steps: &[(u32, &str, Option<&str>)],
) {
    assert_common_fields(report, done, Some(child));
    assert_eq!(report.at("trigger").str(), trigger);
    assert_steps(report, steps);
}

fn assert_steps(report: &Report, expected: &[(u32, &str, Option<&str>)]) {
    let steps: Vec<(u32, String, Option<String>)> = report
        .at("steps")
        .array()
        .iter()
        .map(|step| {
            (
                step.at("step").number() as u32,
                step.at("action").str().to_string(),
                step.at("signal").opt_str().map(str::to_string),
            )
        })
        .collect();
    let expected: Vec<(u32, String, Option<String>)> = expected
        .iter()
        .map(|(step, action, signal)| (*step, action.to_string(), signal.map(str::to_string)))
        .collect();
    assert_eq!(steps, expected, "{report:?}");
    let times: Vec<f64> = report
        .at("steps")
        .array()
        .iter()
        .map(|step| step.at("at").number())
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
}

fn assert_exit(
    report: &Report,
    code: Option<i32>,
    signal: Option<&str>,
    status: i32,
    status_signal: Option<&str>,
) {
    let exit = report.at("exit");
    assert_eq!(
        exit.at("code").opt_number(),
        code.map(f64::from),
        "{report:?}"
    );
    assert_eq!(exit.at("signal").opt_str(), signal, "{report:?}");
    assert_eq!(exit.at("status").number(), f64::from(status), "{report:?}");
    assert_eq!(
        exit.at("status_signal").opt_str(),
        status_signal,
        "{report:?}"
    );
    assert_eq!(exit.at("error"), &Value::Null, "{report:?}");
}

/// (relayed, discarded) to the child and from it.
fn assert_bytes(report: &Report, to_child: (u64, u64), from_child: (u64, u64)) {
    let pair = |direction: &str| {
        (
            report.at(&format!("bytes.{direction}.relayed")).number() as u64,
            report.at(&format!("bytes.{direction}.discarded")).number() as u64,
        )
    };
    assert_eq!(pair("to_child"), to_child, "{report:?}");
    assert_eq!(pair("from_child"), from_child, "{report:?}");
}

fn assert_no_leftovers(report: &Report) {
    assert!(report.at("leftovers.pids").array().is_empty(), "{report:?}");
    assert!(
        report.at("leftovers.signals").array().is_empty(),
        "{report:?}"
    );
}

/// `2026-01-31T12:00:00.123456Z`.
fn is_rfc3339_utc_micros(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    bytes.len() == 27
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && bytes[19] == b'.'
        && digits(20..26)
        && bytes[26] == b'Z'
}

/// `python3 -m json.tool`, a second JSON parser, accepts `line` (under CI python3 must be
/// there; elsewhere the check is skipped when it is not).
fn check_with_python(line: &str) {
    if !have_tools("the report read back by python3", &["python3"]) {
        return;
    }
    let mut child = Command::new("python3")
        .args(["-m", "json.tool"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 -m json.tool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python3 -m json.tool refused {line}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
