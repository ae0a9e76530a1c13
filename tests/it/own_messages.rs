//! agentpipe's own messages (the `-v` timeline, warnings, a trace on stderr) never hold back the
//! relay or the close sequence, whatever its stderr does; `-q` silences the warnings.

use std::io;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::common::*;

/// Issue: the `-v` timeline blocked agentpipe when its stderr was a pipe nobody read, the
/// command flooding the same pipe: interrupts were not acted on. Its own lines now wait in a
/// bounded queue (or are dropped), and the relay and the sequence go on.
#[test]
fn an_unread_stderr_flooded_by_the_command_delays_neither_signals_nor_the_exit() {
    let sandbox = Sandbox::new("stderr-stall");
    let (reader, writer) = io::pipe().unwrap();
    let script = "trap '' TERM\npidfile child\n(while :; do echo flood; done) >&2 &\n\
                  cat >/dev/null\nlog EOF\nspin";
    let mut command = sandbox.agentpipe(&["-v", "--grace", "30s", "-s", "KILL"], sh(script));
    command.stderr(Stdio::from(writer));
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    // The flood fills the pipe: agentpipe's lines from now on cannot be written.
    let full = Instant::now();
    while full.elapsed() < Duration::from_millis(300) {
        run.write(b"still relaying\n");
        thread::sleep(Duration::from_millis(10));
    }
    run.signal(Signal::SIGTERM); // step 2 closes the command's stdin: it logs EOF
    wait_until(
        "the first SIGTERM to be acted on",
        Duration::from_secs(3),
        || run.sandbox.log().contains(&"EOF".to_string()).then_some(()),
    );
    let second = run.signal(Signal::SIGTERM); // skips the 30 s grace: SIGKILL
    let done = run.finish_within(Duration::from_secs(10));
    drop(reader);
    done.assert_signal(Signal::SIGKILL);
    assert_within(
        done.since(second),
        0.0,
        1.5,
        "exit after the second SIGTERM",
    );
}

#[test]
fn quiet_silences_warnings() {
    // The warning agentpipe gives for a command stopped by SIGTTIN, which -q silences.
    let sandbox = Sandbox::new("quiet");
    let (_master, slave) = open_pty();
    let mut command = sandbox.agentpipe(
        &["-q", "--grace", "100ms"],
        sh("pidfile child\nread line < /dev/tty"),
    );
    controlling_tty(&mut command, &slave);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    wait_state(child, "stopped", |state| state == 'T');
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    run.sandbox.assert_nothing_left();
    done.assert_signal(Signal::SIGTERM);
    assert_eq!(done.stderr, "", "-q printed something");
}

#[test]
fn quiet_and_verbose_are_a_usage_error() {
    let mut run = Run::agentpipe("quiet-verbose", &["-q", "-v"], ["true"]);
    let done = run.finish();
    done.assert_code(125);
    let lines = done.stderr_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("agentpipe: "), "{lines:?}");
}
