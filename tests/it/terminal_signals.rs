//! The terminal's signals: with `--foreground` a Ctrl-C the terminal sent to the whole group is
//! the command's (a `kill` aimed at agentpipe still triggers), and `--forward` hands a signal to
//! the command instead of starting the sequence. Driven through a real pseudo-terminal, whose
//! line discipline turns a typed ^C into SIGINT for its foreground group.

use std::io::Write;
use std::process::Stdio;

use nix::sys::signal::Signal;

use crate::common::*;

/// A python child that writes `$D/child.pid`, then reads lines from its stdin, logging `got
/// LINE` for each and `KeyboardInterrupt` for each SIGINT (python's default handler), until
/// the end of its input.
fn python_reader() -> Vec<String> {
    let script = r#"import os, sys
D = os.environ["D"]
def log(word):
    with open(D + "/log", "a") as f: f.write(word + "\n")
with open(D + "/child.tmp", "w") as f: f.write(str(os.getpid()))
os.rename(D + "/child.tmp", D + "/child.pid")
while True:
    try:
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        log("KeyboardInterrupt")
        continue
    if not line:
        break
    log("got " + line.strip())
"#;
    vec!["python3".into(), "-c".into(), script.into()]
}

/// agentpipe on a new terminal (its stdin, and its controlling terminal: agentpipe's group is
/// the terminal's foreground group), stdout and stderr piped; the terminal's master, read so
/// that its echo never fills up.
fn on_terminal(name: &str, options: &[&str], command: Vec<String>) -> (Run, std::fs::File) {
    let (master, slave) = open_pty();
    let sandbox = Sandbox::new(name);
    let mut agentpipe = sandbox.agentpipe(options, command);
    agentpipe.stdin(Stdio::from(slave.try_clone().unwrap()));
    controlling_tty(&mut agentpipe, &slave);
    let run = Run::start(sandbox, agentpipe);
    let _echo = Capture::start("the terminal", master.try_clone().unwrap());
    (run, master)
}

fn wait_logged(run: &Run, line: &str) {
    wait_until(&format!("{line:?} in the log"), LIMIT, || {
        run.sandbox.log().iter().any(|l| l == line).then_some(())
    });
}

#[test]
fn with_foreground_a_ctrl_c_from_the_terminal_is_the_commands_and_it_keeps_reading() {
    let (mut run, mut master) = on_terminal(
        "fg-ctrl-c",
        &["-v", "--foreground", "--grace", "300ms"],
        python_reader(),
    );
    run.sandbox.wait_pid("child");
    master.write_all(b"one\n").unwrap();
    wait_logged(&run, "got one");
    master.write_all(b"\x03").unwrap(); // Ctrl-C: SIGINT to the whole foreground group
    wait_logged(&run, "KeyboardInterrupt");
    run.wait_stderr("it is the child's");
    master.write_all(b"two\n").unwrap();
    wait_logged(&run, "got two");
    assert!(run.try_status().is_none(), "agentpipe is still running");
    assert!(
        !run.stderr_text().contains("close sequence"),
        "{}",
        run.stderr_text()
    );

    // A kill aimed at agentpipe alone still starts the sequence; the stdin step cannot close
    // the terminal, and no line says it did.
    let sent = run.signal(Signal::SIGINT);
    let done = run.finish();
    done.assert_signal(Signal::SIGINT);
    assert_within(done.since(sent), 0.25, 2.5, "SIGTERM after --grace");
    assert_eq!(
        run.sandbox.log(),
        ["got one", "KeyboardInterrupt", "got two"]
    );
    assert!(
        done.stderr.contains(
            "300ms after agentpipe received SIGINT (--grace 300ms; its stdin is the terminal, \
             which agentpipe leaves open)"
        ),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("stdin was closed"), "{}", done.stderr);
    assert!(
        !done.stderr.contains("closing the child's stdin"),
        "{}",
        done.stderr
    );
}

#[test]
fn forward_int_makes_ctrl_c_an_interrupt_for_the_command() {
    let trapper = sh("trap 'log INT' INT\npidfile child\nwhile :; do sleep 0.05; done");
    let (mut run, mut master) = on_terminal("forward-int", &["-v", "--forward", "INT"], trapper);
    let child = run.sandbox.wait_pid("child");
    master.write_all(b"\x03").unwrap(); // reaches agentpipe's group only
    wait_logged(&run, "INT");
    run.wait_stderr("forwarding SIGINT to the child");
    run.signal(Signal::SIGINT);
    wait_until("a second INT", LIMIT, || {
        (run.sandbox.log().len() == 2).then_some(())
    });
    assert!(run.try_status().is_none(), "SIGINT started nothing");
    assert!(run.sandbox.live(child));
    // SIGTERM still triggers.
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_signal(Signal::SIGTERM);
    assert!(done.stderr.contains("close sequence"), "{}", done.stderr);
    run.sandbox.assert_nothing_left();
}

#[test]
fn forward_refuses_the_signals_agentpipe_needs() {
    for (signal, why) in [("KILL", "cannot be caught"), ("chld", "watches its child")] {
        let sandbox = Sandbox::new("forward-refused");
        let output = sandbox
            .agentpipe(&["--forward", &format!("INT,{signal}")], ["true"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(125));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("agentpipe: ") && stderr.contains(why),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// agentpipe with its stdin, stdout and stderr all on a new terminal, as in a terminal window:
/// the terminal's master, and what the screen shows.
fn on_screen(name: &str, options: &[&str], command: Vec<String>) -> (Run, std::fs::File, Capture) {
    let (master, slave) = open_pty();
    let sandbox = Sandbox::new(name);
    let mut agentpipe = sandbox.agentpipe(options, command);
    agentpipe
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    controlling_tty(&mut agentpipe, &slave);
    let run = Run::start(sandbox, agentpipe);
    let screen = Capture::start("the screen", master.try_clone().unwrap());
    (run, master, screen)
}

#[test]
fn agentpipes_line_after_a_prompt_or_an_echoed_ctrl_z_starts_on_a_line_of_its_own() {
    let prompt = sh("printf '>>> '\ncat >/dev/null\necho done");
    let (mut run, mut master, screen) = on_screen("own-line", &["-v"], prompt);
    screen.wait_for(">>> ");
    master.write_all(b"\x04").unwrap(); // Ctrl-D: the end of input
    screen.wait_for("done");
    let done = run.finish();
    done.assert_code(0);
    let shown = screen.text();
    assert!(shown.contains(">>> \r\nagentpipe ["), "{shown:?}");
    assert!(!shown.contains(">>> agentpipe"), "{shown:?}");

    let ready = sh("echo ready\ncat >/dev/null");
    let (mut run, mut master, screen) = on_screen("own-line-ctrl-z", &["-v"], ready);
    screen.wait_for("ready");
    master.write_all(b"\x1a").unwrap(); // Ctrl-Z: echoed as ^Z, SIGTSTP for agentpipe
    screen.wait_for("suspending");
    wait_state(run.pid(), "stopped", |state| state == 'T');
    let shown = screen.text();
    assert!(shown.contains("^Z\r\nagentpipe ["), "{shown:?}");
    run.signal(Signal::SIGCONT);
    master.write_all(b"\x04").unwrap();
    let done = run.finish();
    done.assert_code(0);
}
