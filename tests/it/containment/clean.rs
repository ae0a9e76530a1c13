//! Clean children: what the command starts with (signal mask and dispositions, descriptors).

use super::*;

/// Every signal agentpipe handles, blocked by its parent.
const BLOCKED: [Signal; 12] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGWINCH,
];

/// The child (here `cat` itself, so that no shell adjusts anything) starts with an empty signal
/// mask and SIGPIPE at its default although agentpipe's parent blocked every signal agentpipe
/// handles; what that parent ignored stays ignored, SIGCHLD included (agentpipe must catch it
/// for itself, and restore it for the child) and the signals agentpipe forwards (QUIT).
#[test]
fn child_is_clean_when_the_parent_blocked_every_handled_signal_and_ignored_chld_and_quit() {
    let sandbox = Sandbox::new("clean-signals");
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    let ignored = [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGCHLD,
    ];
    reset_signals(&mut command);
    ignore_signals(&mut command, &ignored);
    block_signals(&mut command, &BLOCKED);
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = only_child(agentpipe);
    // `cat` is running once it has read something.
    run.write(b"ping\n");
    run.wait_stdout("ping\n");

    let status = fs::read_to_string(format!("/proc/{child}/status")).unwrap();
    assert_eq!(
        signal_mask(&status, "SigBlk"),
        0,
        "the child starts with signals blocked:\n{status}"
    );
    let expected: u64 = ignored.iter().map(|&signal| mask_bit(signal)).sum();
    // Standard signals only: the C library keeps some real-time ones for itself.
    let got = signal_mask(&status, "SigIgn") & 0x7fff_ffff;
    assert_eq!(
        got, expected,
        "SigIgn {got:#x}, expected {expected:#x} (SIGPIPE default, the parent's ignored kept)"
    );
    // agentpipe's own SIGPIPE is ignored (Rust's runtime): the child's must not be.
    assert_eq!(got & mask_bit(Signal::SIGPIPE), 0);

    run.close_stdin();
    run.finish().assert_code(0);
    run.sandbox.assert_nothing_left();
}

/// A signal ignored when agentpipe started (nohup, `cmd &`) stays ignored: it starts no
/// sequence.
#[test]
fn signals_ignored_by_the_parent_are_no_trigger() {
    let sandbox = Sandbox::new("ignored-no-trigger");
    let mut command = sandbox.agentpipe(
        &["-v", "--grace", "100ms", "--term-grace", "20s"],
        sh("trap 'log USR1' USR1\ntrap 'log TERM; exit 7' TERM\npidfile child\nspin"),
    );
    ignore_signals(&mut command, &[Signal::SIGHUP, Signal::SIGINT]);
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGHUP);
    run.signal(Signal::SIGINT);
    // Signals are taken in number order: had HUP or INT been caught, they would be acted on
    // before USR1 is forwarded.
    run.signal(Signal::SIGUSR1);
    run.wait_stderr("SIGUSR1");
    run.sandbox.wait_log("USR1");
    let stderr = run.stderr_text();
    assert!(
        !stderr.contains("SIGHUP") && !stderr.contains("SIGINT") && !sequence_started(&stderr),
        "an ignored signal acted on:\n{stderr}"
    );
    assert!(run.try_status().is_none(), "agentpipe exited");

    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(sent), 0.1, "TERM after the grace");
    assert_eq!(run.sandbox.log(), ["USR1", "TERM"]);
    run.sandbox.assert_nothing_left();
}

/// A parent that blocks signals before starting agentpipe (a blocked mask is inherited across
/// exec) must not make agentpipe deaf: it still forwards, and still runs the sequence on
/// SIGTERM.
#[test]
fn signals_blocked_by_the_parent_still_reach_agentpipe() {
    let sandbox = Sandbox::new("blocked-still-work");
    let mut command = sandbox.agentpipe(
        &["--grace", "100ms", "--term-grace", "20s"],
        sh("trap 'log USR1' USR1\ntrap 'log TERM; exit 7' TERM\npidfile child\nspin"),
    );
    block_signals(&mut command, &BLOCKED);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    run.signal(Signal::SIGUSR1);
    wait_until(
        "agentpipe to forward SIGUSR1 although its parent had blocked it",
        LIMIT,
        || {
            run.sandbox
                .log()
                .contains(&"USR1".to_string())
                .then_some(())
        },
    );
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(sent), 0.1, "TERM after the grace");
    assert_eq!(run.sandbox.log(), ["USR1", "TERM"]);
    run.sandbox.assert_gone(&[child]);
    run.sandbox.assert_nothing_left();
}
