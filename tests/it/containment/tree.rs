//! `--scope tree`: agentpipe is the subreaper, descendants that left the group are followed,
//! and everything is ended before agentpipe exits.

use super::*;

/// The issue's "done when": `agentpipe --scope tree -- sh -c '(setsid sh -c "trap \"\" TERM; exec
/// sleep 300" &); sleep 1'` leaves nothing behind and exits about --term-grace after the shell.
/// Here the shell ends when told to, rather than after a second.
#[test]
fn tree_scope_ends_a_setsid_escapee_ignoring_term_a_term_grace_after_the_shell() {
    let sandbox = Sandbox::new("tree-escapee");
    script(
        &sandbox,
        "escapee",
        "trap '' TERM\npidfile escapee\nexec sleep 300",
    );
    let command = sandbox.agentpipe(
        &["-v", "--scope", "tree", "--term-grace", "700ms"],
        sh("(setsid sh \"$D/escapee.sh\" &)\npidfile child\nread line\nexit 0"),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = run.sandbox.wait_pid("child");
    let escapee = run.sandbox.wait_pid("escapee");
    assert_ne!(
        session(escapee),
        session(child),
        "the escapee did not setsid"
    );
    // Its parent subshell exited: agentpipe, the subreaper, adopted it.
    wait_parent(escapee, agentpipe, "the escapee");

    run.write(b"go\n");
    let shell_told = Instant::now();
    let done = run.finish();
    done.assert_code(0);
    // The shell exits at once; the escapee ignores TERM and lasts until SIGKILL.
    assert_due(done.since(shell_told), 0.7, "exit after the shell's");
    run.sandbox.assert_gone(&[child, escapee]);
    run.sandbox.assert_nothing_left();
    assert!(
        mentions_pid(&done.stderr, escapee),
        "-v does not name the leftover {escapee}:\n{}",
        done.stderr
    );
}

/// A daemon that double-forked into its own session, ignoring TERM, gets the sequence's stop
/// signal and SIGCONT along with the child, then SIGKILL after --term-grace.
#[test]
fn tree_scope_signals_reach_a_double_forked_daemon_in_another_session() {
    let sandbox = Sandbox::new("tree-daemon");
    // fork (the subshell), setsid, fork again and let the middle process exit: a classic daemon,
    // not a session leader, orphaned, with its stdio detached from agentpipe's pipes.
    script(
        &sandbox,
        "launch",
        "sh \"$D/daemon.sh\" </dev/null >/dev/null 2>&1 &\nexit 0",
    );
    script(
        &sandbox,
        "daemon",
        "trap 'log daemon TERM' TERM\ntrap 'log daemon CONT' CONT\npidfile daemon\nspin",
    );
    let command = sandbox.agentpipe(
        &["--scope", "tree", "--grace", "100ms", "--term-grace", "1s"],
        sh(
            "trap 'log child TERM; exit 7' TERM\n(setsid sh \"$D/launch.sh\" &)\npidfile child\nspin",
        ),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = run.sandbox.wait_pid("child");
    let daemon = run.sandbox.wait_pid("daemon");
    wait_parent(daemon, agentpipe, "the daemon");
    assert_ne!(session(daemon), session(child));
    assert_ne!(
        stat(daemon).unwrap().pgrp,
        child,
        "the daemon is in the child's group"
    );
    assert_ne!(session(daemon), daemon, "the daemon is a session leader");

    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    // wait 0, stdin 100ms, TERM to the child (exits) and the daemon (does not), KILL 1 s later.
    assert_due(done.since(sent), 1.1, "SIGKILL for the daemon");
    let log = run.sandbox.log();
    for line in ["child TERM", "daemon TERM", "daemon CONT"] {
        assert!(log.iter().any(|l| l == line), "no {line:?} in {log:?}");
    }
    run.sandbox.assert_gone(&[child, daemon]);
    run.sandbox.assert_nothing_left();
}

/// A descendant in another session that is stopped when the child exits gets the stop signal
/// and SIGCONT, acts on it, and agentpipe exits as soon as it is gone (not after --term-grace).
#[test]
fn tree_scope_continues_a_stopped_leftover_so_it_acts_on_the_stop_signal() {
    let sandbox = Sandbox::new("tree-stopped");
    script(
        &sandbox,
        "escapee",
        "trap 'log escapee TERM; exit 0' TERM\npidfile escapee\nkill -STOP $$\nspin",
    );
    let command = sandbox.agentpipe(
        &["-v", "--scope", "tree", "--term-grace", "30s"],
        sh("(setsid sh \"$D/escapee.sh\" >/dev/null &)\npidfile child\ncat >/dev/null"),
    );
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    let escapee = run.sandbox.wait_pid("escapee");
    wait_state(escapee, "stopped", |state| state == 'T');

    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_within(done.since(eof), 0.0, 3.0, "exit once the leftover is gone");
    assert_eq!(run.sandbox.log(), ["escapee TERM"]);
    run.sandbox.assert_gone(&[child, escapee]);
    run.sandbox.assert_nothing_left();
}

/// Orphans handed to agentpipe as their subreaper are reaped when they exit, while the child
/// runs on, not left as zombies until the end.
#[test]
fn tree_scope_reaps_adopted_orphans_as_they_exit() {
    let sandbox = Sandbox::new("tree-reap");
    script(
        &sandbox,
        "orphan",
        "pidfile orphan$1\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\nexit 0",
    );
    let command = sandbox.agentpipe(
        &["--scope", "tree"],
        sh(
            "for n in 1 2 3; do (sh \"$D/orphan.sh\" $n >/dev/null &); done\npidfile child\ncat >/dev/null",
        ),
    );
    let run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = Process::of(run.sandbox.wait_pid("child"));
    let orphans: Vec<Process> = (1..=3)
        .map(|n| {
            let pid = run.sandbox.wait_pid(&format!("orphan{n}"));
            let orphan = Process::of(pid);
            wait_parent(pid, agentpipe, "an orphan");
            orphan
        })
        .collect();

    lets_orphans_exit_and_expects_them_reaped(run, &child, &orphans);
}
