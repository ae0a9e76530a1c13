//! The report names every process the scope ended, not only the command and what it left at
//! its exit: each with its pid, its name and the last signal the sequence sent it, or none when
//! it was gone before a signal.

use serde_json::Value;

use crate::common::*;

fn report(done: &Finished) -> Value {
    let line = done
        .stderr
        .lines()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no report in:\n{}", done.stderr));
    serde_json::from_str(line).expect("the report is JSON")
}

/// (pid, name, signal) of each process the report names as ended.
fn ended(report: &Value) -> Vec<(i32, String, Option<String>)> {
    let list = report["ended"].as_array().expect("ended is a list");
    let entry = |process: &Value| {
        (
            process["pid"].as_i64().expect("a pid") as i32,
            process["name"].as_str().expect("a name").to_string(),
            process["signal"].as_str().map(str::to_string),
        )
    };
    list.iter().map(entry).collect()
}

#[test]
fn processes_the_sequence_ended_are_named_with_the_signal_that_ended_them() {
    // A group member that ends on TERM, one that ignores it (ended by SIGKILL), while the
    // command itself ignores EOF and TERM (set after starting them: a shell cannot trap what
    // it inherited ignored).
    let script = format!(
        "{}\n{}\ntrap '' TERM\npidfile child\nspin",
        background("trap \"exit 0\" TERM\nspin").replace("grandchild.pid", "soft.pid"),
        background("trap \"\" TERM\nspin").replace("grandchild.pid", "hard.pid"),
    );
    let mut run = Run::agentpipe(
        "ended-signals",
        &["--report", "-", "--grace", "100ms", "--term-grace", "300ms"],
        sh(&script),
    );
    run.sandbox.wait_pid("child");
    let soft = run.sandbox.wait_pid("soft");
    let hard = run.sandbox.wait_pid("hard");
    run.close_stdin();
    let done = run.finish();
    done.assert_signal(nix::sys::signal::Signal::SIGKILL);
    let ended = ended(&report(&done));
    let of = |pid: i32| ended.iter().find(|(p, ..)| *p == pid).cloned();
    assert_eq!(
        of(soft),
        Some((soft, "sh".into(), Some("SIGTERM".into()))),
        "{ended:?}"
    );
    assert_eq!(
        of(hard),
        Some((hard, "sh".into(), Some("SIGKILL".into()))),
        "{ended:?}"
    );
    run.sandbox.assert_nothing_left();
}

#[test]
fn a_process_seen_in_the_scope_that_went_before_a_signal_is_named_without_one() {
    // On TERM the command starts a helper (after the signal reached the group, so the signal
    // never reached the helper) and exits; the helper is seen then, and ends on its own. The
    // command's own sleep runs from before the signal (a loop of short sleeps could be between
    // two of them when the signal comes).
    let script = "trap 'sh -c \"echo \\$\\$ > $D/helper.pid; sleep 0.3\" & exit 5' TERM\n\
                  sleep 30 &\npidfile child\nwait";
    let mut run = Run::agentpipe(
        "ended-before",
        &["--report", "-", "--grace", "100ms", "--term-grace", "5s"],
        sh(script),
    );
    run.sandbox.wait_pid("child");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(5);
    let helper = run.sandbox.wait_pid("helper");
    let ended = ended(&report(&done));
    let of = |pid: i32| ended.iter().find(|(p, ..)| *p == pid).cloned();
    let (_, _, signal) = of(helper).unwrap_or_else(|| panic!("the helper: {ended:?}"));
    assert_eq!(signal, None, "gone before a signal: {ended:?}");
    // The command's own sleep got the stop signal with the group.
    assert!(
        ended
            .iter()
            .any(|(_, name, signal)| name == "sleep" && signal.as_deref() == Some("SIGTERM")),
        "{ended:?}"
    );
    run.sandbox.assert_nothing_left();
}
