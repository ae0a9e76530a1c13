//! Race-free signalling (the child stays unreaped while its scope lives) and a killed
//! agentpipe, which leaves no unsupervised child.

use super::*;

/// While a process of the scope remains, the exited child stays a zombie of agentpipe: neither
/// its pid nor its process-group id can be reused by a stranger that a later signal would hit.
fn exited_child_stays_unreaped_while_the_scope_lives(scope: &str, launch: &str) {
    let sandbox = Sandbox::new(&format!("unreaped-{scope}"));
    script(
        &sandbox,
        "leftover",
        "trap 'log leftover TERM' TERM\npidfile leftover\nspin",
    );
    let command = sandbox.agentpipe(
        &["-v", "--scope", scope, "--term-grace", "30s"],
        // The child exits once the leftover has set its trap.
        sh(&format!(
            "{launch}\nwhile [ ! -e \"$D/leftover.pid\" ]; do sleep 0.01; done\npidfile child\nexit 0"
        )),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = Process::of(run.sandbox.wait_pid("child"));
    let leftover = run.sandbox.wait_pid("leftover");
    // The stop signal reached the leftover after the child exited...
    run.sandbox.wait_log("leftover TERM");
    // ...and the child is still there to be reaped, by agentpipe.
    assert_eq!(child.state(), Some('Z'), "the child was reaped already");
    assert_eq!(stat(child.pid).unwrap().ppid, agentpipe);
    assert!(run.sandbox.live(leftover), "the leftover is gone already");
    if scope == "group" {
        assert_eq!(stat(leftover).unwrap().pgrp, child.pid);
    }

    // An interrupt skips to SIGKILL.
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(0);
    assert_within(done.since(sent), 0.0, 1.5, "exit after SIGKILL");
    run.sandbox.assert_gone(&[child.pid, leftover]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn group_scope_keeps_the_exited_leader_unreaped_while_its_group_lives() {
    exited_child_stays_unreaped_while_the_scope_lives(
        "group",
        "sh \"$D/leftover.sh\" >/dev/null &",
    );
}

#[test]
fn tree_scope_keeps_the_exited_child_unreaped_while_a_descendant_lives() {
    exited_child_stays_unreaped_while_the_scope_lives(
        "tree",
        "(setsid sh \"$D/leftover.sh\" >/dev/null &)",
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A killed agentpipe leaves no unsupervised child
// ---------------------------------------------------------------------------------------------

/// SIGKILL agentpipe: its child dies of PR_SET_PDEATHSIG; descendants in other sessions (which
/// no death signal reaches) see EOF on the child's stdin and EPIPE on its stdout.
fn sigkill_leaves_no_unsupervised_child(scope: &str) {
    let sandbox = Sandbox::new(&format!("sigkill-{scope}"));
    script(
        &sandbox,
        "reader",
        "pidfile reader\ncat >/dev/null\nlog reader EOF",
    );
    script(
        &sandbox,
        "writer",
        "trap '' PIPE\npidfile writer\nwhile echo tick; do sleep 0.02; done 2>/dev/null\nlog writer EPIPE",
    );
    // An asynchronous list's stdin is /dev/null unless redirected: hand the reader the child's
    // stdin through fd 3.
    let command = sandbox.agentpipe(
        &["--scope", scope],
        sh("exec 3<&0
setsid sh \"$D/reader.sh\" <&3 >/dev/null &
exec 3<&-
setsid sh \"$D/writer.sh\" </dev/null &
pidfile child
exec sleep 300"),
    );
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    let reader = run.sandbox.wait_pid("reader");
    let writer = run.sandbox.wait_pid("writer");
    assert_ne!(session(reader), session(child));
    assert_ne!(session(writer), session(child));
    // The writer's output flows through agentpipe.
    run.wait_stdout("tick\n");
    wait_state(child, "sleeping", |state| state == 'S');

    run.signal(Signal::SIGKILL);
    let status = wait_exit(&mut run);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(Signal::SIGKILL as i32)
    );
    // Nothing but the death signal ends `sleep 300`.
    run.sandbox.wait_gone(child, LIMIT);
    run.sandbox.wait_log("reader EOF");
    run.sandbox.wait_log("writer EPIPE");
    run.sandbox.wait_gone(reader, LIMIT);
    run.sandbox.wait_gone(writer, LIMIT);
    run.sandbox.assert_nothing_left();
    run.finish();
}

#[test]
fn sigkill_of_agentpipe_kills_its_child_and_descendants_see_eof_and_epipe() {
    sigkill_leaves_no_unsupervised_child("group");
}

#[test]
fn sigkill_of_agentpipe_in_tree_scope_kills_its_child_and_descendants_see_eof_and_epipe() {
    sigkill_leaves_no_unsupervised_child("tree");
}
