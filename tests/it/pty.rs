//! `--pty`: the command on a pseudo-terminal agentpipe creates. Most tests run agentpipe itself
//! on a test pseudo-terminal (as in a terminal window: its stdin, stdout and stderr the
//! terminal, which is its controlling terminal), type keys on that terminal's master and read
//! what it shows; the others give agentpipe pipes, as a script would.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::sys::termios::{LocalFlags, Termios, tcgetattr};
use nix::unistd::Pid;

use crate::common::*;

/// agentpipe running on a test terminal, with the terminal's master to type on and its screen.
struct Window {
    master: File,
    /// The terminal's slave, kept to read its settings.
    slave: File,
    screen: Capture,
    run: Run,
    /// The terminal's settings before agentpipe started.
    before: Termios,
}

impl Window {
    /// `agentpipe OPTIONS -- COMMAND` on a new terminal of `rows` x `columns`; agentpipe's
    /// stderr is collected apart (so that its `-v` lines can be waited for).
    fn start<S: AsRef<std::ffi::OsStr>>(
        name: &str,
        options: &[&str],
        command: &[S],
        size: (u16, u16),
    ) -> Window {
        Window::start_with(name, options, command, size, false)
    }

    /// As [`Window::start`]; with `stderr_too`, agentpipe's stderr is the terminal as well.
    fn start_with<S: AsRef<std::ffi::OsStr>>(
        name: &str,
        options: &[&str],
        command: &[S],
        size: (u16, u16),
        stderr_too: bool,
    ) -> Window {
        let (master, slave) = open_pty();
        set_size(&master, size);
        let before = tcgetattr(&slave).expect("the terminal's settings");
        let sandbox = Sandbox::new(name);
        let mut agentpipe = sandbox.agentpipe(options, command);
        agentpipe
            .env("TERM", "xterm")
            .env("PS1", "$ ")
            .env_remove("PYTHONSTARTUP")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()));
        if stderr_too {
            agentpipe.stderr(Stdio::from(slave.try_clone().unwrap()));
        }
        controlling_tty(&mut agentpipe, &slave);
        let run = Run::start(sandbox, agentpipe);
        let screen = Capture::start("the terminal", master.try_clone().unwrap());
        Window {
            master,
            slave,
            screen,
            run,
            before,
        }
    }

    fn type_in(&mut self, keys: &[u8]) {
        self.master.write_all(keys).expect("type on the terminal");
    }

    /// Waits until the screen shows `needle` after the first `from` bytes.
    fn wait_screen(&self, from: usize, needle: &str) {
        wait_until(&format!("{needle:?} on the terminal"), LIMIT, || {
            let bytes = self.screen.bytes();
            contains(&bytes[from.min(bytes.len())..], needle.as_bytes()).then_some(())
        });
    }

    fn shown(&self) -> usize {
        self.screen.bytes().len()
    }

    fn settings(&self) -> Termios {
        tcgetattr(&self.slave).expect("the terminal's settings")
    }

    /// Waits for agentpipe to end, and checks that it left its terminal as it found it.
    fn finish(mut self) -> Finished {
        let finished = self.run.finish();
        assert_eq!(
            self.settings(),
            self.before,
            "agentpipe did not restore its terminal ({:?}); stderr:\n{}",
            finished.status,
            finished.stderr
        );
        finished
    }
}

fn set_size(terminal: &File, (rows, columns): (u16, u16)) {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize.
    let result = unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCSWINSZ as _, &size) };
    assert_eq!(result, 0, "set the test terminal's size");
}

/// `python3 -i` on agentpipe's pseudo-terminal gives a prompt and readline's line editing:
/// Ctrl-A, Ctrl-E, Left and Backspace edit the line before Enter sends it. Meanwhile
/// agentpipe's own terminal is raw (the keys reach the command's terminal as typed), and it is
/// cooked again after the run.
#[test]
fn python_gets_a_prompt_and_line_editing() {
    if !have_tools("python on a pty", &["python3"]) {
        return;
    }
    let mut window = Window::start("pty-python", &["--pty"], &["python3", "-i"], (24, 80));
    window.wait_screen(0, ">>> ");
    assert!(
        !window.settings().local_flags.contains(LocalFlags::ICANON),
        "agentpipe's terminal is not raw during the run"
    );
    let from = window.shown();
    // "rint(6*7)", Ctrl-A, "p", Ctrl-E, Enter: print(6*7).
    window.type_in(b"rint(6*7)\x01p\x05\r");
    window.wait_screen(from, "\r\n42\r\n>>> ");
    let from = window.shown();
    // "print(6*8)", Left, Backspace, "9", Enter: print(6*9).
    window.type_in(b"print(6*8)\x1b[D\x7f9\r");
    window.wait_screen(from, "\r\n54\r\n>>> ");
    let from = window.shown();
    window.type_in(b"import os; print('tty', os.isatty(0), os.isatty(1), os.isatty(2))\r");
    window.wait_screen(from, "tty True True True");
    window.type_in(b"raise SystemExit(3)\r");
    window.finish().assert_code(3);
}

/// Ctrl-C typed on agentpipe's terminal is the command's: python gets KeyboardInterrupt and
/// goes on, and agentpipe runs no sequence. Ctrl-D at the prompt ends python.
#[test]
fn ctrl_c_and_ctrl_d_are_the_commands_keys() {
    if !have_tools("python on a pty", &["python3"]) {
        return;
    }
    let mut window = Window::start("pty-keys", &["--pty", "-v"], &["python3", "-i"], (24, 80));
    window.wait_screen(0, ">>> ");
    let from = window.shown();
    window.type_in(b"import time; time.sleep(60)\r");
    window.wait_screen(from, "time.sleep(60)\r\n");
    window.type_in(b"\x03");
    window.wait_screen(from, "KeyboardInterrupt");
    window.wait_screen(from, "\r\n>>> ");
    let from = window.shown();
    window.type_in(b"print('still', 6*7)\r");
    window.wait_screen(from, "still 42");
    window.type_in(b"\x04");
    let finished = window.finish();
    finished.assert_code(0);
    assert!(
        !finished.stderr.contains("close sequence"),
        "a key started the sequence:\n{}",
        finished.stderr
    );
}

/// The command's terminal starts with the size of agentpipe's, and follows when agentpipe's
/// terminal is resized (SIGWINCH): the command sees the new size.
#[test]
fn the_window_size_follows() {
    let script = "stty size; read line; stty size; read line";
    let mut window = Window::start(
        "pty-size",
        &["--pty", "-v"],
        &["sh", "-c", script],
        (30, 100),
    );
    window.wait_screen(0, "30 100\r\n");
    set_size(&window.master, (40, 120));
    window.run.wait_stderr("40 rows by 120 columns");
    let from = window.shown();
    window.type_in(b"\r");
    window.wait_screen(from, "40 120\r\n");
    window.type_in(b"\r");
    window.finish().assert_code(0);
}

/// Whichever way the run ends, agentpipe's terminal is restored: agentpipe ended by SIGTERM
/// (its sequence ends the command), and a command killed by a signal, of which agentpipe then
/// dies itself.
#[test]
fn the_terminal_is_restored_after_a_signal_and_a_death_by_signal() {
    let window = Window::start("pty-term", &["--pty"], &sh("pidfile child\nspin"), (24, 80));
    window.run.sandbox.wait_pid("child");
    assert!(!window.settings().local_flags.contains(LocalFlags::ICANON));
    window.run.signal(Signal::SIGTERM);
    let finished = window.finish();
    assert!(finished.status.code().is_some() || finished.status.signal().is_some());

    let killed = sh("pidfile child\nread line\nkill -KILL $$");
    let mut window = Window::start("pty-killed", &["--pty"], &killed, (24, 80));
    window.run.sandbox.wait_pid("child");
    assert!(!window.settings().local_flags.contains(LocalFlags::ICANON));
    window.type_in(b"\r");
    window.finish().assert_signal(Signal::SIGKILL);
}

/// An interactive bash on the pseudo-terminal has job control and is not stopped by SIGTTIN:
/// it is its terminal's session leader and foreground group.
#[test]
fn bash_interactive_is_not_stopped() {
    let options = ["--pty"];
    let mut window = Window::start("pty-bash", &options, &["bash", "--norc", "-i"], (24, 80));
    window.wait_screen(0, "$ ");
    let from = window.shown();
    window.type_in(b"echo $$ > \"$D/bash.pid\"; echo \"hi-$((6*7))\"\r");
    window.wait_screen(from, "hi-42\r\n");
    let bash = window.run.sandbox.wait_pid("bash");
    let state = stat(bash).expect("bash");
    assert_ne!(state.state, 'T', "bash is stopped");
    assert_eq!(state.pgrp, bash, "bash is not its own group's leader");
    let from = window.shown();
    window.type_in(b"case $- in *m*) echo job-control-on;; esac\r");
    window.wait_screen(from, "job-control-on\r\n");
    assert!(!window.screen.text().contains("no job control"));
    window.type_in(b"exit 5\r");
    window.finish().assert_code(5);
}

/// From a script (stdin a pipe): the end of agentpipe's input is the terminal's EOF character,
/// which ends `cat` and `python3` at once, long before the grace.
#[test]
fn end_of_input_is_the_terminals_eof_character() {
    let mut run = Run::agentpipe("pty-eof-cat", &["--pty", "--eof-grace", "20s"], ["cat"]);
    run.write(b"hello\n");
    run.wait_stdout("hello\r\nhello\r\n");
    let t0 = run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    assert_within(finished.since(t0), 0.0, 5.0, "cat ending on VEOF");

    if !have_tools("python on a pty", &["python3"]) {
        return;
    }
    let options = ["--pty", "--eof-grace", "20s", "-v"];
    let mut run = Run::agentpipe("pty-eof-python", &options, ["python3", "-i"]);
    run.wait_stdout(">>> ");
    run.write(b"print(6*7)\n");
    run.wait_stdout("42\r\n>>> ");
    let t0 = run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    assert_within(finished.since(t0), 0.0, 5.0, "python ending on VEOF");
    assert!(
        finished
            .stderr
            .contains("sent the terminal's EOF character"),
        "{}",
        finished.stderr
    );
}

/// A command that ignores the EOF character gets SIGHUP when the stdin step's wait ends:
/// agentpipe hangs its terminal up (a `wait` step after it gives the command time to act).
#[test]
fn a_command_ignoring_eof_gets_sighup() {
    let child = sh("trap 'log HUP; exit 3' HUP\ntrap 'log TERM' TERM\npidfile child\nspin");
    let sequence = "stdin 300ms, wait 5s, TERM 1s, KILL";
    let options = ["--pty", "-v", "--sequence", sequence];
    let mut run = Run::agentpipe("pty-hup", &options, child);
    run.sandbox.wait_pid("child");
    let t0 = run.close_stdin();
    let finished = run.finish();
    finished.assert_code(3);
    assert_within(finished.since(t0), 0.25, 4.0, "SIGHUP after the stdin step");
    assert_eq!(run.sandbox.log(), ["HUP"]);
    assert!(finished.stderr.contains("hung up the child's terminal"));
    run.sandbox.assert_nothing_left();
}

/// With the command's terminal raw (`stty raw -echo`), every byte value passes both ways
/// unchanged, and the end of input reaches it as one EOF character after a finished line.
#[test]
fn every_byte_passes_a_raw_terminal() {
    let child = ["sh", "-c", "stty raw -echo; printf ready; exec cat"];
    let mut run = Run::agentpipe("pty-bytes", &["--pty", "--eof-grace", "200ms"], child);
    run.wait_stdout("ready");
    let mut data: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    data.push(b'\n');
    run.write(&data);
    run.close_stdin();
    let finished = run.finish();
    let mut expected = b"ready".to_vec();
    expected.extend_from_slice(&data);
    expected.push(4);
    assert_eq!(finished.stdout, expected);
}

/// The command's stderr is its terminal by default, and agentpipe's own with `--stderr
/// inherit`; the trace records what passes through the terminal; `--pty` with `--foreground`
/// or `--protocol` is a usage error.
#[test]
fn stderr_trace_and_usage() {
    let child = ["sh", "-c", "echo to-err >&2; echo to-out"];
    let mut run = Run::agentpipe("pty-stderr", &["--pty"], child);
    let finished = run.finish();
    finished.assert_code(0);
    assert!(finished.stdout_text().contains("to-err\r\n"));
    assert!(!finished.stderr.contains("to-err"));

    let sandbox = Sandbox::new("pty-inherit");
    let trace = sandbox.path_str("trace");
    let options = ["--pty", "--stderr", "inherit", "--trace", &trace];
    let command = sandbox.agentpipe(&options, child);
    let mut run = Run::start(sandbox, command);
    let finished = run.finish();
    assert!(finished.stderr.contains("to-err"));
    assert!(!finished.stdout_text().contains("to-err"));
    let trace = std::fs::read_to_string(&trace).expect("the trace");
    assert!(trace.contains("to-out"), "{trace}");

    for other in [&["--foreground"][..], &["--protocol", "mcp"]] {
        let output = Command::new(BIN)
            .arg("--pty")
            .args(other)
            .args(["--", "true"])
            .output()
            .expect("run agentpipe");
        assert_eq!(output.status.code(), Some(125));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("agentpipe: ") && stderr.contains(other[0]),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// The scope is the command's own group: a process it started in the background there ends
/// with it when agentpipe gets SIGTERM, and the report names the run.
#[test]
fn the_scope_is_the_commands_group() {
    let sandbox = Sandbox::new("pty-scope");
    let report = sandbox.path_str("report.json");
    let child = sh(&format!("{}\npidfile child\nspin", background("spin")));
    let options = ["--pty", "--report", &report];
    let command = sandbox.agentpipe(&options, child);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    let grandchild = run.sandbox.wait_pid("grandchild");
    assert_eq!(stat(grandchild).unwrap().pgrp, child);
    let started = Instant::now();
    kill(Pid::from_raw(run.pid()), Signal::SIGTERM).unwrap();
    let finished = run.finish_within(LIMIT);
    assert!(finished.since(started) < Duration::from_secs(8));
    run.sandbox.assert_gone(&[child, grandchild]);
    let text = std::fs::read_to_string(&report).expect("the report");
    let report: serde_json::Value = serde_json::from_str(&text).expect("a JSON report");
    assert_eq!(report["pid"], child, "{text}");
    assert!(
        report["trigger"]
            .as_str()
            .is_some_and(|t| t.contains("TERM")),
        "{text}"
    );
    assert_eq!(report["steps"][1]["action"], "stdin", "{text}");
}

/// agentpipe's own lines on the terminal it made raw return the carriage themselves: each ends
/// with CR LF, so that it starts at the left margin.
#[test]
fn agentpipes_own_lines_on_the_raw_terminal_end_with_crlf() {
    let child = ["sh", "-c", "read line"];
    let mut window = Window::start_with("pty-crlf", &["--pty", "-v"], &child, (24, 80), true);
    window.wait_screen(0, "armed");
    window.type_in(b"\r");
    window.wait_screen(0, "done:");
    let capture = window.screen.clone();
    window.finish().assert_code(0);
    let screen = capture.text();
    let lines: Vec<&str> = screen.split_inclusive('\n').collect();
    let own: Vec<&&str> = lines
        .iter()
        .filter(|line| line.contains("agentpipe ["))
        .collect();
    assert!(own.len() >= 3, "{screen:?}");
    for line in own {
        assert!(line.ends_with("\r\n"), "{line:?} in {screen:?}");
    }
}

/// The triggers start the sequence under --pty as on pipes: `--timeout` (status 124, the
/// command ended by the hangup at the end of its stdin step), and SIGINT to agentpipe, which
/// then dies by SIGINT itself.
#[test]
fn the_triggers_work_on_a_terminal() {
    // SIGTERM follows the hangup at once: trapped, so that the shell runs its HUP trap.
    let child = sh("trap 'log HUP; exit 3' HUP\ntrap 'log TERM' TERM\npidfile child\nspin");
    let options = ["--pty", "--timeout", "300ms", "--grace", "200ms", "-v"];
    let mut run = Run::agentpipe("pty-timeout", &options, child.clone());
    run.sandbox.wait_pid("child");
    let finished = run.finish();
    finished.assert_code(124);
    assert_within(
        finished.elapsed(),
        0.45,
        6.0,
        "the timeout, the grace, the hangup",
    );
    assert_eq!(run.sandbox.log().first().map(String::as_str), Some("HUP"));
    assert!(
        finished
            .stderr
            .contains("sent the terminal's EOF character")
    );

    let mut run = Run::agentpipe("pty-int", &["--pty", "--grace", "200ms"], child);
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGINT);
    let finished = run.finish();
    finished.assert_signal(Signal::SIGINT);
    assert_eq!(run.sandbox.log().first().map(String::as_str), Some("HUP"));
    run.sandbox.assert_nothing_left();
}

/// agentpipe stopped (SIGTSTP from outside; the terminal's own Ctrl-Z is the command's) gives
/// its terminal back as it found it, so that the shell gets a sane terminal, and makes it raw
/// again when it continues.
#[test]
fn a_stopped_agentpipe_gives_its_terminal_back_until_it_continues() {
    let window = Window::start("pty-stop", &["--pty"], &sh("pidfile child\nspin"), (24, 80));
    window.run.sandbox.wait_pid("child");
    let agentpipe = window.run.pid();
    let raw = |window: &Window| !window.settings().local_flags.contains(LocalFlags::ICANON);
    assert!(raw(&window));
    window.run.signal(Signal::SIGTSTP);
    wait_state(agentpipe, "agentpipe stopped", |state| state == 'T');
    wait_until("the terminal restored while stopped", LIMIT, || {
        (window.settings() == window.before).then_some(())
    });
    window.run.signal(Signal::SIGCONT);
    wait_until("the terminal raw again", LIMIT, || {
        raw(&window).then_some(())
    });
    window.run.signal(Signal::SIGTERM);
    window.finish();
}
