//! The end of input waits for a command that is working: the `stdin` step's grace measures
//! quiet time (no CPU, no output), so a pipeline stage that works after its input ended keeps
//! its output with default flags, while an idle agent that ignores EOF is still ended.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::*;

/// A child that reads its stdin to the end, logs `EOF`, burns `cpu` seconds of CPU time (not
/// wall time: a loaded machine only makes it slower), logs `DONE`, then sits idle; on TERM it
/// logs `TERM` and exits 7, at once even while it computes.
fn works_after_eof(cpu: f64) -> Vec<String> {
    let script = format!(
        r#"import os, signal, sys, time
def log(word):
    with open(os.environ["D"] + "/log", "a") as f: f.write(word + "\n")
def term(*_):
    log("TERM"); os._exit(7)
signal.signal(signal.SIGTERM, term)
with open(os.environ["D"] + "/child.tmp", "w") as f: f.write(str(os.getpid()))
os.rename(os.environ["D"] + "/child.tmp", os.environ["D"] + "/child.pid")
sys.stdin.buffer.read()
log("EOF")
while time.process_time() < {cpu}: pass
log("DONE")
while True: time.sleep(3600)
"#
    );
    vec!["python3".into(), "-c".into(), script]
}

#[test]
fn a_pipeline_stage_that_sorts_after_its_input_ended_keeps_its_output() {
    let sandbox = Sandbox::new("quiet-sort");
    let script = format!("seq 1 600000 | {BIN} -- sort -R | wc -l");
    let mut command = sandbox.command("bash");
    command.args(["-c", &script]);
    let mut run = Run::start(sandbox, command);
    drop(run.take_stdin());
    let done = run.finish_within(Duration::from_secs(120));
    done.assert_code(0);
    assert_eq!(
        done.stdout_text().trim(),
        "600000",
        "stderr:\n{}",
        done.stderr
    );
    assert!(!done.stderr.contains("sent SIGTERM"), "{}", done.stderr);
}

#[test]
fn a_command_working_past_its_grace_is_waited_for_and_said_once_in_verbose() {
    let mut run = Run::agentpipe(
        "quiet-works",
        &["-v", "--eof-grace", "300ms", "--term-grace", "20s"],
        works_after_eof(1.5),
    );
    run.sandbox.wait_pid("child");
    run.close_stdin();
    let done = run.finish_within(Duration::from_secs(60));
    done.assert_code(7);
    assert_eq!(
        run.sandbox.log(),
        ["EOF", "DONE", "TERM"],
        "{}",
        done.stderr
    );
    let working: Vec<&str> = done
        .stderr_lines()
        .into_iter()
        .filter(|line| line.contains("still working: "))
        .collect();
    assert_eq!(working.len(), 1, "said once:\n{}", done.stderr);
    assert!(
        working[0].contains(" s of CPU") && working[0].contains("in the last "),
        "{}",
        working[0]
    );
    assert!(
        done.stderr.contains("once it was quiet for 300ms"),
        "{}",
        done.stderr
    );
    run.sandbox.assert_nothing_left();
}

#[test]
fn an_idle_agent_that_ignores_eof_is_still_ended_after_its_grace() {
    let mut run = Run::agentpipe("quiet-idle", &["-v"], eof_logger(EXIT_ON_TERM));
    run.sandbox.wait_pid("child");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(7);
    assert_due(
        done.since(eof),
        1.0,
        "TERM 1s after EOF (the default --grace)",
    );
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    assert!(!done.stderr.contains("still working"), "{}", done.stderr);
    assert!(
        done.stderr.contains("1s after its input ended"),
        "{}",
        done.stderr
    );
}

#[test]
fn output_after_the_end_of_input_is_work_too() {
    // No CPU to speak of: a line every 150 ms for 1.5 s, a grace of 400 ms.
    let script = "trap 'log TERM; exit 7' TERM\npidfile child\ncat >/dev/null\n\
                  for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i; sleep 0.15; done\nlog DONE\nspin";
    let mut run = Run::agentpipe("quiet-output", &["--eof-grace", "400ms"], sh(script));
    run.sandbox.wait_pid("child");
    run.close_stdin();
    let done = run.finish_within(Duration::from_secs(30));
    done.assert_code(7);
    assert!(
        done.stdout_text().contains("line10"),
        "{}",
        done.stdout_text()
    );
    assert_eq!(run.sandbox.log(), ["DONE", "TERM"]);
}

#[test]
fn a_signal_or_a_timeout_is_never_extended_by_work() {
    // Working forever after the end of input: an interrupt is not held back by the work.
    let mut run = Run::agentpipe(
        "quiet-signal",
        &["--grace", "300ms", "--term-grace", "20s"],
        works_after_eof(1e9),
    );
    run.sandbox.wait_pid("child");
    run.close_stdin();
    run.sandbox.wait_log("EOF");
    // EOF started the sequence; the interrupt skips to the stop signal at once.
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_within(done.since(sent), 0.0, 1.5, "TERM on the interrupt");

    let mut run = Run::agentpipe(
        "quiet-timeout",
        &[
            "--timeout",
            "1500ms",
            "--eof-grace",
            "300ms",
            "--term-grace",
            "20s",
        ],
        works_after_eof(1e9),
    );
    run.sandbox.wait_pid("child");
    run.close_stdin();
    let done = run.finish();
    // The end of input started the sequence: the status is the command's.
    done.assert_code(7);
    assert!(done.stderr.contains("--timeout elapsed"), "{}", done.stderr);
    assert_due(done.elapsed(), 1.5, "the timeout's stop signal");
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
}
