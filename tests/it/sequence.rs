//! The close sequence: its steps, its triggers, and what interrupts do while it runs.

use std::io::Write;
use std::time::Duration;

use crate::common::*;
use nix::sys::signal::Signal;

#[test]
fn eof_closes_the_childs_stdin_and_the_wait_ends_when_it_exits() {
    let mut run = Run::agentpipe("eof-exit", &["--grace", "5s"], ["cat"]);
    run.write(b"hello\n");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout, b"hello\n");
    // The 5 s grace is an upper bound, not a sleep.
    assert_within(done.since(eof), 0.0, 1.5, "exit after EOF");
}

#[test]
fn eof_reaches_the_child_after_every_byte_read_was_written() {
    // The child reads nothing for 300 ms: at EOF, bytes are still on their way to it.
    let mut run = Run::agentpipe(
        "eof-after-bytes",
        &["--eof-grace", "5s"],
        sh("sleep 0.3\nwc -c"),
    );
    let mut stdin = run.take_stdin();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&binary_data(4 << 20))
        // stdin dropped here: EOF right after the last byte.
    });
    let done = run.finish();
    writer.join().unwrap().expect("write 4 MiB");
    done.assert_code(0);
    assert_eq!(done.stdout_text().trim(), (4 << 20).to_string());
}

#[test]
fn eof_starts_at_the_stdin_step_then_sends_the_stop_signal_after_the_grace() {
    let mut run = Run::agentpipe(
        "eof-term",
        &["--grace", "300ms", "--term-grace", "30s"],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(eof), 0.3, "TERM after EOF");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn eof_grace_is_the_stdin_steps_wait_when_eof_starts_the_sequence() {
    let mut run = Run::agentpipe(
        "eof-grace",
        &["--grace", "20s", "--eof-grace", "300ms"],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(7);
    assert_due(
        done.since(eof),
        0.3,
        "TERM after EOF with --eof-grace 300ms",
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn grace_not_eof_grace_applies_when_a_signal_starts_the_sequence() {
    let mut run = Run::agentpipe(
        "grace-signal",
        &["--grace", "300ms", "--eof-grace", "20s"],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(sent), 0.3, "TERM after the SIGTERM trigger");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn stop_signal_is_followed_by_sigcont_so_a_stopped_child_acts_on_it() {
    let mut run = Run::agentpipe(
        "sigcont",
        &["--grace", "200ms", "--term-grace", "20s"],
        sh("trap 'log TERM; exit 6' TERM\npidfile child\nkill -STOP $$\nspin"),
    );
    let child = run.sandbox.wait_pid("child");
    wait_state(child, "stopped", |state| state == 'T');
    let eof = run.close_stdin();
    let done = run.finish();
    // Without SIGCONT the TERM would stay pending until SIGKILL, 20 s later.
    done.assert_code(6);
    assert_due(done.since(eof), 0.2, "exit after TERM + CONT");
    assert_eq!(run.sandbox.log(), ["TERM"]);
}

#[test]
fn child_ignoring_eof_and_term_is_killed_after_the_term_grace() {
    let mut run = Run::agentpipe(
        "kill",
        &["--grace", "200ms", "--term-grace", "500ms"],
        eof_logger(IGNORE_TERM),
    );
    let child = run.sandbox.wait_pid("child");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    assert_due(done.since(eof), 0.7, "SIGKILL after EOF");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_gone(&[child]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn child_that_traps_term_and_flushes_in_time_is_delivered_whole() {
    let mut run = Run::agentpipe(
        "flush-in-time",
        &["--grace", "200ms", "--term-grace", "5s"],
        eof_logger(
            "trap 'log TERM; echo flushing; head -c 100000 /dev/zero | tr \"\\0\" x; exit 3' TERM",
        ),
    );
    run.sandbox.wait_pid("child");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(3);
    let mut expected = b"flushing\n".to_vec();
    expected.extend(std::iter::repeat_n(b'x', 100_000));
    assert!(
        done.stdout == expected,
        "stdout: {} bytes, expected {}",
        done.stdout.len(),
        expected.len()
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn child_that_traps_term_and_flushes_too_late_is_killed() {
    let mut run = Run::agentpipe(
        "flush-too-late",
        &["--grace", "200ms", "--term-grace", "500ms"],
        eof_logger("trap 'log TERM; sleep 3; echo late; exit 3' TERM"),
    );
    run.sandbox.wait_pid("child");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    assert_due(done.since(eof), 0.7, "SIGKILL during the trap");
    assert!(
        !done.stdout_text().contains("late"),
        "{:?}",
        done.stdout_text()
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn signal_flag_picks_the_stop_signal_in_every_spelling() {
    for spelling in ["INT", "sigint", "SigInt", "2"] {
        let mut run = Run::agentpipe(
            "signal-flag",
            &["--eof-grace", "0", "--term-grace", "20s", "-s", spelling],
            eof_logger("trap 'log INT; exit 4' INT\ntrap 'log TERM; exit 5' TERM"),
        );
        run.sandbox.wait_pid("child");
        run.close_stdin();
        let done = run.finish();
        done.assert_code(4);
        // INT may kill the child's `cat` before it logs EOF: only the signals matter here.
        let log = run.sandbox.log();
        assert!(
            log.contains(&"INT".to_string()) && !log.contains(&"TERM".to_string()),
            "-s {spelling}: {log:?}"
        );
    }
}

#[test]
fn sequence_flag_states_the_whole_list() {
    let mut run = Run::agentpipe(
        "sequence-flag",
        &["--sequence", "stdin 200ms, USR1 500ms, HUP 500ms, KILL"],
        eof_logger("trap 'log USR1' USR1\ntrap 'log HUP' HUP\ntrap 'log TERM' TERM"),
    );
    let child = run.sandbox.wait_pid("child");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    assert_due(done.since(eof), 1.2, "KILL after stdin, USR1 and HUP steps");
    assert_eq!(run.sandbox.log(), ["EOF", "USR1", "HUP"]);
    run.sandbox.assert_gone(&[child]);
}

#[test]
fn first_step_does_nothing_and_keeps_the_childs_stdin_open() {
    let mut run = Run::agentpipe(
        "wait-step",
        &["-v", "--wait", "5s"],
        sh(
            "trap 'log TERM; exit 9' TERM\npidfile child\nIFS= read -r line\necho \"got $line\"\nexit 5",
        ),
    );
    run.sandbox.wait_pid("child");
    let sent = run.signal(Signal::SIGTERM);
    run.wait_stderr("step 1");
    // The sequence is in its first step: input still reaches the child.
    run.write(b"hello\n");
    let done = run.finish();
    done.assert_code(5);
    assert_eq!(done.stdout_text(), "got hello\n");
    assert!(run.sandbox.log().is_empty(), "{:?}", run.sandbox.log());
    // The 5 s wait ends as soon as the child is gone.
    assert_within(done.since(sent), 0.0, 3.0, "exit during --wait 5s");
}

/// A signal trigger: step 1 (`--wait`), then the child's stdin closed, then TERM after
/// `--grace`.
fn signal_starts_the_sequence_at_step_one(name: &str, signal: Signal) -> Finished {
    let mut run = Run::agentpipe(
        name,
        &["--wait", "300ms", "--grace", "300ms", "--term-grace", "20s"],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    let sent = run.signal(signal);
    let done = run.finish();
    assert_due(done.since(sent), 0.6, "TERM after wait and grace");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_nothing_left();
    done
}

#[test]
fn sigterm_starts_the_sequence_at_step_one() {
    signal_starts_the_sequence_at_step_one("sigterm", Signal::SIGTERM).assert_code(7);
}

#[test]
fn sighup_starts_the_sequence_at_step_one() {
    signal_starts_the_sequence_at_step_one("sighup", Signal::SIGHUP).assert_code(7);
}

#[test]
fn sigint_starts_the_sequence_at_step_one() {
    signal_starts_the_sequence_at_step_one("sigint", Signal::SIGINT).assert_signal(Signal::SIGINT);
}

#[test]
fn timeout_starts_the_sequence_at_step_one() {
    let mut run = Run::agentpipe(
        "timeout-trigger",
        &[
            "--timeout",
            "400ms",
            "--grace",
            "300ms",
            "--term-grace",
            "20s",
        ],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    let done = run.finish();
    done.assert_code(124);
    assert_due(done.elapsed(), 0.7, "TERM after timeout and grace");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn closed_stdout_reader_starts_the_sequence_at_step_one() {
    let sandbox = Sandbox::new("reader-gone");
    let command = sandbox.agentpipe(
        &["--grace", "300ms", "--term-grace", "20s"],
        eof_logger(&format!("{EXIT_ON_TERM}\necho ready")),
    );
    let mut run = Run::start_raw_stdout(sandbox, command);
    let mut stdout = run.raw_stdout.take().unwrap();
    let mut ready = [0; 6];
    std::io::Read::read_exact(&mut stdout, &mut ready).unwrap();
    assert_eq!(&ready, b"ready\n");
    // The child writes nothing more: agentpipe must notice the reader going away by itself.
    drop(stdout);
    let gone = std::time::Instant::now();
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(gone), 0.3, "TERM after the reader went away");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn closed_stdout_reader_gives_the_child_sigpipe() {
    let sandbox = Sandbox::new("reader-gone-flood");
    let command = sandbox.agentpipe(&[], sh("pidfile child\nexec yes flood"));
    let mut run = Run::start_raw_stdout(sandbox, command);
    let mut stdout = run.raw_stdout.take().unwrap();
    let mut start = [0; 12];
    std::io::Read::read_exact(&mut stdout, &mut start).unwrap();
    assert_eq!(&start, b"flood\nflood\n");
    drop(stdout);
    let done = run.finish();
    // As in a plain pipeline: the child dies of SIGPIPE, and agentpipe with it.
    done.assert_signal(Signal::SIGPIPE);
    assert_within(done.elapsed(), 0.0, 1.5, "exit after the reader went away");
}

#[test]
fn each_interrupt_skips_to_the_next_step_at_once() {
    let mut run = Run::agentpipe(
        "skip",
        &["--grace", "30s", "--term-grace", "30s"],
        eof_logger(IGNORE_TERM),
    );
    let child = run.sandbox.wait_pid("child");
    run.signal(Signal::SIGTERM);
    run.sandbox.wait_log("EOF");
    run.signal(Signal::SIGHUP);
    run.sandbox.wait_log("TERM");
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    assert_within(
        done.elapsed(),
        0.0,
        5.0,
        "three interrupts instead of 60 s of grace",
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_gone(&[child]);
}

#[test]
fn three_ctrl_c_end_the_default_sequence() {
    let mut run = Run::agentpipe("three-ctrl-c", &[], eof_logger(IGNORE_TERM));
    let child = run.sandbox.wait_pid("child");
    run.signal(Signal::SIGINT);
    run.sandbox.wait_log("EOF");
    run.signal(Signal::SIGINT);
    run.sandbox.wait_log("TERM");
    let third = run.signal(Signal::SIGINT);
    let done = run.finish();
    done.assert_signal(Signal::SIGINT);
    // The default term grace is 1 s: the third interrupt must not wait for it.
    assert_within(
        done.since(third),
        0.0,
        0.8,
        "exit after the third interrupt",
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_gone(&[child]);
}

#[test]
fn timeout_while_the_sequence_runs_jumps_to_the_signal_step() {
    let mut run = Run::agentpipe(
        "timeout-jump",
        &[
            "--eof-grace",
            "30s",
            "--timeout",
            "1s",
            "--term-grace",
            "30s",
        ],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    run.close_stdin();
    run.sandbox.wait_log("EOF");
    let done = run.finish();
    assert_due(done.elapsed(), 1.0, "TERM at the timeout");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    // EOF started the sequence, not the timeout: the child's own status.
    done.assert_code(7);
}

#[test]
fn eof_while_the_sequence_runs_changes_nothing() {
    let mut run = Run::agentpipe(
        "eof-during",
        &[
            "-v",
            "--wait",
            "500ms",
            "--grace",
            "500ms",
            "--eof-grace",
            "0",
            "--term-grace",
            "20s",
        ],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    let sent = run.signal(Signal::SIGTERM);
    run.wait_stderr("step 1");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(7);
    // Neither restarted at the stdin step with --eof-grace 0, nor skipped ahead.
    assert_due(done.since(sent), 1.0, "TERM after wait and grace");
}

#[test]
fn closed_stdout_while_the_sequence_runs_changes_nothing() {
    let sandbox = Sandbox::new("epipe-during");
    let command = sandbox.agentpipe(
        &["-v", "--grace", "1s", "--term-grace", "20s"],
        eof_logger(EXIT_ON_TERM),
    );
    let mut run = Run::start_raw_stdout(sandbox, command);
    run.sandbox.wait_pid("child");
    let sent = run.signal(Signal::SIGTERM);
    run.wait_stderr("step 2");
    drop(run.raw_stdout.take());
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(sent), 1.0, "TERM after the grace");
}

#[test]
fn eof_grace_inf_makes_eof_a_plain_half_close() {
    let mut run = Run::agentpipe(
        "eof-grace-inf",
        &[
            "--grace",
            "100ms",
            "--term-grace",
            "100ms",
            "--eof-grace",
            "inf",
        ],
        sh("trap 'log TERM' TERM\ncat\nlog EOF\nsleep 0.8\necho still here\nexit 3"),
    );
    run.write(b"data\n");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(3);
    assert_eq!(done.stdout_text(), "data\nstill here\n");
    assert_eq!(run.sandbox.log(), ["EOF"]);
    assert_within(done.since(eof), 0.75, 2.5, "the child's own time");
}

#[test]
fn eof_grace_inf_still_obeys_other_triggers() {
    let mut run = Run::agentpipe(
        "eof-grace-inf-signal",
        &[
            "--grace",
            "200ms",
            "--term-grace",
            "20s",
            "--eof-grace",
            "inf",
        ],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    run.close_stdin();
    run.sandbox.wait_log("EOF");
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_within(done.since(sent), 0.0, 1.7, "TERM after the signal");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn durations_take_bare_seconds_units_and_inf() {
    // A bare number is seconds; `1m30s` and `inf` parse.
    let mut run = Run::agentpipe(
        "durations",
        &[
            "--grace",
            "0.3",
            "--term-grace",
            "1m30s",
            "--timeout",
            "inf",
        ],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(eof), 0.3, "TERM after --grace 0.3");
}

#[test]
fn grace_inf_waits_for_an_interrupt() {
    let mut run = Run::agentpipe(
        "grace-inf",
        &["-v", "--grace", "inf", "--term-grace", "20s"],
        eof_logger(EXIT_ON_TERM),
    );
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGTERM);
    run.sandbox.wait_log("EOF");
    run.wait_stderr("step 2");
    // Well past every default: still no TERM.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(run.sandbox.log(), ["EOF"]);
    assert!(
        run.try_status().is_none(),
        "agentpipe exited during --grace inf"
    );
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_within(
        done.since(sent),
        0.0,
        1.5,
        "TERM after the second interrupt",
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}

#[test]
fn verbose_timeline_tells_the_pid_each_step_and_the_interrupts_left() {
    let mut run = Run::agentpipe(
        "verbose",
        &[
            "-v",
            "--stderr",
            "null",
            "--grace",
            "200ms",
            "--term-grace",
            "200ms",
        ],
        eof_logger(IGNORE_TERM),
    );
    let child = run.sandbox.wait_pid("child");
    run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    let lines = done.stderr_lines();
    assert!(lines.len() >= 4, "{lines:?}");
    for line in &lines {
        let rest = line
            .strip_prefix("agentpipe [+")
            .unwrap_or_else(|| panic!("not a timeline line: {line:?}"));
        let (offset, message) = rest
            .split_once("s]: ")
            .unwrap_or_else(|| panic!("not a timeline line: {line:?}"));
        let (seconds, millis) = offset.split_once('.').expect("seconds.millis");
        assert!(
            seconds.bytes().all(|b| b.is_ascii_digit())
                && millis.len() == 3
                && millis.bytes().all(|b| b.is_ascii_digit())
                && !message.is_empty(),
            "not a timeline line: {line:?}"
        );
    }
    let text = done.stderr.clone();
    assert!(
        text.contains(&child.to_string()),
        "no child pid in:\n{text}"
    );
    assert!(text.contains("interrupt"), "no interrupt count in:\n{text}");
    assert!(text.contains("KILL"), "no KILL step in:\n{text}");
}
