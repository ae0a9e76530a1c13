//! Failing closed: every exit recognised, no wait at exit that a signal cannot break, no process
//! left behind by a composition of rules, and private trace and report files.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use nix::sys::signal::Signal;

/// The report agentpipe wrote to `$D/NAME`.
fn report(sandbox: &Sandbox, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(sandbox.path(name)).expect("the report was written");
    serde_json::from_str(&text).expect("the report is JSON")
}

#[test]
fn a_child_killed_by_a_real_time_signal_ends_the_run_by_the_same_signal_in_every_scope() {
    for (scope, number, name) in [
        ("child", 34, "SIGRTMIN"),
        ("group", 40, "SIGRTMIN+6"),
        ("tree", 64, "SIGRTMAX"),
    ] {
        let sandbox = Sandbox::new("rt-exit");
        let report_path = sandbox.path_str("report.json");
        let script = format!("kill -{number} $$");
        let options = ["--scope", scope, "-v", "--report", &report_path];
        let mut command = sandbox.agentpipe(&options, ["sh", "-c", &script]);
        command.stdin(Stdio::null());
        let mut run = Run::start(sandbox, command);
        let done = run.finish_within(Duration::from_secs(5));
        assert_eq!(
            done.status.signal(),
            Some(number),
            "{scope}: {}",
            done.stderr
        );
        assert!(!done.status.core_dumped());
        assert!(
            done.stderr.contains(&format!("killed by {name}")),
            "{}",
            done.stderr
        );
        let report = report(&run.sandbox, "report.json");
        assert_eq!(report["exit"]["signal"], name, "{report}");
        assert_eq!(report["exit"]["status"], 128 + number, "{report}");
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn a_run_step_killed_by_a_real_time_signal_is_reported_as_killed_by_it() {
    let sandbox = Sandbox::new("rt-run");
    let report_path = sandbox.path_str("report.json");
    let options = [
        "--sequence",
        "run \"kill -34 $$\" 1s, KILL",
        "--report",
        &report_path,
    ];
    let command = sandbox.agentpipe(&options, sh("trap '' TERM; pidfile child; exec sleep 20"));
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    let report = report(&run.sandbox, "report.json");
    let step = &report["commands"][0];
    assert_eq!(step["signal"], "SIGRTMIN", "{report}");
    assert_eq!(step["ended"], false, "{report}");
}
