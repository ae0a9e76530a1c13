//! What the job holds and what it does not: `--scope child` ends the command alone, and the
//! job ends everything in it when agentpipe itself is killed.

use crate::support::*;

#[test]
fn scope_child_ends_the_command_alone_and_its_grandchild_survives() {
    let dir = scratch("scope-child");
    let pidfile = dir.join("pids");
    let report_file = dir.join("report.json");
    let mut run = agentpipe_with(
        &[
            "--scope",
            "child",
            "--grace",
            "300ms",
            "--term-grace",
            "300ms",
            "--report",
            &win(&report_file),
        ],
        &["stubborn", &win(&pidfile)],
    );
    let processes = pids(&pidfile);
    drop(run.stdin.take());
    let status = finish(&mut run);
    assert_eq!(status.code(), Some(137), "{}", stderr_of(&mut run));
    assert!(processes[0].gone(), "the command outlived its KILL");
    assert_eq!(report(&report_file)["scope"], "child");
    // Not in any job: the grandchild runs on (and `gone` then ends it, leaving nothing behind).
    assert!(
        !processes[1].gone(),
        "the grandchild was ended, but --scope child holds the command alone"
    );
}

/// A way to kill agentpipe: its process, the marker its wine process's arguments hold.
type Kill = fn(&mut std::process::Child, &str);

#[test]
fn agentpipe_killed_ends_the_job_and_everything_in_it() {
    // TerminateProcess, as Task Manager or `taskkill /f` does it; then SIGKILL to the wine
    // process that runs agentpipe (wine closes its handles, the job's last one among them).
    let ways: [(&str, Kill); 2] = [
        ("killed", |run, _| run.kill().unwrap()),
        ("sigkilled", |_, marker| signal_agentpipe(marker, "KILL")),
    ];
    for (name, kill) in ways {
        let dir = scratch(name);
        let pidfile = dir.join("pids");
        let marker = dir.file_name().unwrap().to_str().unwrap().to_string();
        let mut run = agentpipe_with(&[], &["stubborn", &win(&pidfile)]);
        let processes = pids(&pidfile);
        kill(&mut run, &marker);
        finish(&mut run);
        for process in &processes {
            assert!(
                process.gone(),
                "{name}: pid {} outlived agentpipe's job",
                process.pid
            );
        }
    }
}
