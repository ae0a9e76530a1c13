//! Signal storms: a thousand signals that are no trigger at a relaying agentpipe, and a storm
//! of interrupts mixed in.

use super::*;

/// Signals that are no trigger: forwarded to the child (which ignores them), caught and
/// harmless (CHLD, CONT), or ignored (PIPE, URG).
const HARMLESS: [Signal; 8] = [
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGQUIT,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGPIPE,
    Signal::SIGURG,
];

#[test]
fn a_storm_of_a_thousand_signals_leaves_the_relay_intact_and_the_sequence_as_it_was() {
    // The child ignores what is forwarded to it, so that only agentpipe's handling is tested.
    let mut run = start(
        "storm-relay",
        &[],
        sh("trap '' USR1 USR2 WINCH QUIT\nexec cat"),
    );
    let _watchdog = watch(&run);
    let pid = run.pid();
    let data = binary_data(32 << 20);
    let stdin = run.take_stdin();
    let sent_so_far = AtomicUsize::new(0);
    let progress = AtomicUsize::new(0);
    let chunks = data.len().div_ceil(64 * 1024);
    let written = thread::scope(|scope| {
        // The writer keeps pace with the storm: chunk k waits for k/chunks of the signals, so
        // the storm falls on a relay in full flow from its first signal to its last.
        let writer = scope.spawn(|| {
            write_paced(
                stdin,
                &data,
                |chunk| sent_so_far.load(Ordering::SeqCst) * chunks >= chunk * 1000,
                &progress,
            )
        });
        let mut sent = 0;
        while sent < 1000 {
            if sent % 100 == 50 {
                // Ctrl-Z and fg, in the middle of it: agentpipe stops the child's group and
                // itself, SIGCONT resumes both.
                send(pid, Signal::SIGTSTP);
                wait_state(pid, "stopped by SIGTSTP", |state| state == 'T');
                send(pid, Signal::SIGCONT);
                wait_state(pid, "continued", |state| state != 'T');
                sent += 2;
                sent_so_far.store(sent, Ordering::SeqCst);
                continue;
            }
            send(pid, HARMLESS[sent % HARMLESS.len()]);
            sent += 1;
            sent_so_far.store(sent, Ordering::SeqCst);
            if sent.is_multiple_of(4) {
                // Give the relay a moment between bursts; a storm, not a single burst.
                thread::sleep(Duration::from_micros(300));
            }
        }
        fault();
        writer.join().unwrap()
    });
    assert!(
        written.1.is_ok(),
        "writing to agentpipe failed: {:?}",
        written.1
    );
    let done = run.finish_within(Duration::from_secs(60));
    assert_no_panic(&done);
    done.assert_code(0);
    assert_eq!(done.stdout.len(), data.len(), "bytes lost or added");
    assert!(done.stdout == data, "the bytes differ");
    // Only the end of input started the sequence, at its stdin step, which the child's exit
    // ended.
    let report = read_report(&run.sandbox);
    assert_eq!(report.at("trigger").str(), "eof", "{report}");
    assert_eq!(
        report_steps(&report),
        [(2, "stdin".to_string())],
        "{report}"
    );
    run.sandbox.assert_nothing_left();
    tally("relay storm");
}

#[test]
fn a_storm_of_a_thousand_mixed_signals_with_interrupts_ends_exactly_as_the_sequence_says() {
    // A child that ignores every signal it can: only the KILL step ends it.
    let mut run = start(
        "storm-interrupts",
        &["--sequence", "wait 2s, stdin 2s, TERM 2s, KILL"],
        sh("trap '' INT TERM HUP USR1 USR2 WINCH QUIT\npidfile child\ncat\nexec sleep 1000"),
    );
    let _watchdog = watch(&run);
    let pid = run.pid();
    let child = run.sandbox.wait_pid("child");
    let data = binary_data(16 << 20);
    let stdin = run.take_stdin();
    let progress = AtomicUsize::new(0);
    let mut kinds = HARMLESS.to_vec();
    kinds.extend([Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP]);
    let started = thread::scope(|scope| {
        let writer = scope.spawn(|| write_paced(stdin, &data, |_| true, &progress));
        wait_until("the relay to start", LIMIT, || {
            (progress.load(Ordering::SeqCst) > 0).then_some(())
        });
        let started = Instant::now();
        // SIGINT first: agentpipe received it before the child exited, whatever follows.
        send(pid, Signal::SIGINT);
        for index in 1..1000 {
            send(pid, kinds[index % kinds.len()]);
        }
        fault();
        // The writer ends when agentpipe stops reading (EPIPE) or when it is done.
        let _ = writer.join().unwrap();
        started
    });
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_signal(Signal::SIGINT);
    // However the interrupts coalesced, every step was taken once, in order, and the waits
    // (6 s in all) are upper bounds that interrupts only shorten.
    assert_within(done.since(started), 0.0, 6.0 + 1.5, "the storm's end");
    let report = read_report(&run.sandbox);
    // Interrupts that arrive together count once, taken in signal-number order: the trigger is
    // one of them, not necessarily the first sent.
    assert!(
        ["SIGINT", "SIGTERM", "SIGHUP"].contains(&report.at("trigger").str()),
        "{report}"
    );
    let expected: Vec<(u32, String)> = [(1, "wait"), (2, "stdin"), (3, "SIGTERM"), (4, "kill")]
        .map(|(n, a)| (n, a.to_string()))
        .to_vec();
    assert_eq!(report_steps(&report), expected, "{report}");
    assert_eq!(report.at("exit.code"), &Value::Null, "{report}");
    assert_eq!(report.at("exit.signal").str(), "SIGKILL", "{report}");
    // What was relayed before the stdin step closed the child's input is intact.
    assert!(
        done.stdout.len() <= data.len() && done.stdout == data[..done.stdout.len()],
        "the relayed bytes are not a prefix of the input"
    );
    run.sandbox.assert_gone(&[child]);
    run.sandbox.assert_nothing_left();
    tally("interrupt storm");
}
