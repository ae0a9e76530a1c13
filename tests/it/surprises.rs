//! What people who did not read the whole manual meet: the end of a file is not a hang-up,
//! drastic steps are said, a foreground command owns its terminal, timeout(1)'s conventions,
//! reports scripts can trust, and messages that say what to do.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::thread;

use crate::common::*;
use nix::sys::signal::Signal;

/// agentpipe with `stdin` as its stdin, run to its end.
fn run_with_stdin(name: &str, options: &[&str], script: &str, stdin: Stdio) -> Finished {
    let sandbox = Sandbox::new(name);
    let mut command = sandbox.agentpipe(options, sh(script));
    command.stdin(stdin);
    Run::start(sandbox, command).finish()
}

#[test]
fn the_end_of_dev_null_or_a_file_starts_nothing() {
    // A cron job or `cmd &`: stdin is /dev/null, and the command takes longer than --grace.
    let done = run_with_stdin(
        "eof-dev-null",
        &["--grace", "100ms", "--timeout", "10m"],
        "sleep 0.5; echo finished",
        Stdio::null(),
    );
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "finished\n");
    assert_eq!(done.stderr, "", "nothing drastic happened");
    // `agentpipe -- sort <file`: the whole file is sorted, however long sorting takes.
    let sandbox = Sandbox::new("eof-file");
    let numbers: String = (0..20_000).rev().map(|n| format!("{n}\n")).collect();
    fs::write(sandbox.path("numbers"), numbers).unwrap();
    let file = fs::File::open(sandbox.path("numbers")).unwrap();
    let done = run_with_stdin(
        "eof-file-run",
        &["--grace", "0s"],
        "sleep 0.3; sort -n | tail -1",
        Stdio::from(file),
    );
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "19999\n");
}

#[test]
fn eof_grace_given_explicitly_still_wins_for_a_file() {
    let done = run_with_stdin(
        "eof-file-explicit",
        &["--eof-grace", "100ms", "--term-grace", "100ms"],
        "trap 'exit 7' TERM; spin",
        Stdio::null(),
    );
    // The sequence ran: SIGTERM came, caught (7) or, on a loaded machine, before the trap was set.
    let by_term = done.status.signal() == Some(Signal::SIGTERM as i32);
    assert!(
        done.status.code() == Some(7) || by_term,
        "{:?}",
        done.status
    );
}

#[test]
fn every_signal_sent_is_said_in_one_line_without_verbose_and_not_with_quiet() {
    for (quiet, lines) in [(false, 2), (true, 0)] {
        let mut options = vec!["--grace", "100ms", "--term-grace", "100ms"];
        if quiet {
            options.push("-q");
        }
        let mut run = Run::agentpipe("drastic", &options, eof_logger("trap '' TERM"));
        let child = run.sandbox.wait_pid("child");
        run.close_stdin();
        let done = run.finish();
        done.assert_signal(Signal::SIGKILL);
        let said = done.stderr_lines();
        assert_eq!(said.len(), lines, "{said:?}");
        if !quiet {
            assert!(
                said[0].starts_with(&format!("agentpipe: sent SIGTERM to sh (pid {child})")),
                "{said:?}"
            );
            assert!(
                said[0].contains("after its input ended (--eof-grace 100ms"),
                "{said:?}"
            );
            assert!(said[1].starts_with("agentpipe: sent SIGKILL"), "{said:?}");
            assert!(said[1].contains("--term-grace 100ms"), "{said:?}");
        }
    }
    // A run that ends normally says nothing.
    let mut run = Run::agentpipe("drastic-none", &[], ["cat"]);
    run.write(b"x");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stderr, "");
}

#[test]
fn a_foreground_command_gets_the_terminal_as_stdin_and_agentpipe_never_reads_it() {
    // The command reads a line from /dev/tty while agentpipe runs: before, agentpipe sometimes
    // took the typed line itself and relayed it to the command's stdin.
    for attempt in 0..10 {
        let sandbox = Sandbox::new("foreground-race");
        let (mut master, slave) = open_pty();
        let mut command = sandbox.agentpipe(
            &["--foreground"],
            sh("pidfile child\nread -r x </dev/tty; echo \"tty got: $x\"; exec cat"),
        );
        controlling_tty(&mut command, &slave);
        command.stdin(Stdio::from(slave.try_clone().unwrap()));
        let mut run = Run::start(sandbox, command);
        run.sandbox.wait_pid("child");
        master.write_all(b"secret\n").unwrap();
        run.wait_stdout("tty got: secret\n");
        // What comes next goes to the command's stdin (cat) straight from the terminal, and
        // Ctrl-D ends it.
        master.write_all(b"more\n\x04").unwrap();
        let done = run.finish();
        done.assert_code(0);
        assert_eq!(
            done.stdout_text(),
            "tty got: secret\nmore\n",
            "attempt {attempt}"
        );
        drop(slave);
    }
}

#[test]
fn timeout_zero_disables_the_timeout_and_kill_after_is_term_grace() {
    let mut run = Run::agentpipe(
        "timeout-zero",
        &["--timeout", "0"],
        sh("sleep 0.3; echo done"),
    );
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "done\n");
    for flag in ["-k", "--kill-after"] {
        let mut run = Run::agentpipe(
            "kill-after",
            &["--timeout", "100ms", "--grace", "0s", flag, "200ms"],
            eof_logger("trap '' TERM"),
        );
        run.sandbox.wait_pid("child");
        let done = run.finish();
        done.assert_code(137);
        assert_within(
            done.elapsed(),
            0.25,
            2.0,
            "SIGKILL a --kill-after after TERM",
        );
    }
}

#[test]
fn month_and_year_units_are_refused_with_a_hint() {
    let mut run = Run::agentpipe("five-months", &["--timeout", "5M"], ["true"]);
    let done = run.finish();
    done.assert_code(125);
    done.assert_one_error_line();
    assert!(
        done.stderr.contains("did you mean 5m, minutes?"),
        "{}",
        done.stderr
    );
}

#[test]
fn verbose_says_at_start_what_is_armed() {
    let mut run = Run::agentpipe(
        "armed",
        &["-v", "--timeout", "10m", "--idle-timeout", "30s"],
        ["true"],
    );
    run.close_stdin();
    let done = run.finish();
    let armed = done.stderr_lines()[1].to_string();
    assert!(
        armed.contains("wait 0s, stdin 1s, TERM 1s, KILL"),
        "{armed}"
    );
    assert!(armed.contains("--timeout at +600.000s"), "{armed}");
    assert!(armed.contains("--idle-timeout after 30s quiet"), "{armed}");
}

#[test]
fn processes_sigkill_reached_with_the_child_are_never_reported_as_left_behind() {
    // The shell ignores TERM; its sleep is killed by the same group SIGKILL and only reaped
    // later: it is no leftover. Twenty runs, four at a time.
    let runs: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for _ in 0..5 {
                    let mut run = Run::agentpipe(
                        "no-false-leftover",
                        &[
                            "--timeout",
                            "100ms",
                            "--grace",
                            "100ms",
                            "--term-grace",
                            "100ms",
                            "--report",
                            "-",
                            "-q",
                        ],
                        sh("trap '' TERM; sleep 100"),
                    );
                    let done = run.finish();
                    done.assert_code(137);
                    let report = Report::parse(done.stderr.trim());
                    assert_eq!(
                        report["leftovers"]["pids"],
                        serde_json::json!([]),
                        "{report}"
                    );
                    run.sandbox.assert_nothing_left();
                }
            })
        })
        .collect();
    for run in runs {
        run.join().expect("a run failed");
    }
}

#[test]
fn a_missing_interpreter_and_a_directory_are_named() {
    let sandbox = Sandbox::new("bad-command");
    let script = sandbox.path("script");
    fs::write(&script, "#!/nonexistent/interpreter\necho hi\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let cases = [
        (
            sandbox.path_str("script"),
            127,
            "'/nonexistent/interpreter'",
        ),
        (
            sandbox.dir.to_string_lossy().into_owned(),
            126,
            "it is a directory",
        ),
        ("no-such-command-here".to_string(), 127, "not found"),
    ];
    for (program, code, said) in cases {
        let case = Sandbox::new("bad-command-case");
        let command = case.agentpipe(&[], [&program]);
        let done = Run::start(case, command).finish();
        done.assert_code(code);
        done.assert_one_error_line();
        assert!(done.stderr.contains(said), "{program}: {}", done.stderr);
    }
}

#[test]
fn usage_errors_keep_their_hint_in_one_line() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--timout", "1", "--", "true"],
            "a similar argument exists: '--timeout'",
        ),
        (
            &["--sequence", "stdin 2s INT 2s KILL", "--", "true"],
            "separate steps with commas",
        ),
        (
            &["--sequence", "pause 2s, KILL", "--", "true"],
            "'run \"COMMAND\" D'",
        ),
        (
            &["-s", "RTMIN+1", "--", "true"],
            "real-time signals are not supported",
        ),
    ];
    for (args, hint) in cases {
        let output = std::process::Command::new(BIN).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
    }
    let output = std::process::Command::new(BIN).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125));
    assert!(
        stderr.contains("usage: agentpipe [OPTIONS] -- COMMAND [ARG]..."),
        "{stderr}"
    );
}

#[test]
fn stderr_dash_is_agentpipes_own_stderr() {
    let sandbox = Sandbox::new("stderr-dash");
    let mut command = sandbox.agentpipe(&["--stderr", "-"], sh("echo to-stderr >&2"));
    command.current_dir(&sandbox.dir);
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stderr, "to-stderr\n");
    assert!(
        !run.sandbox.path("-").exists(),
        "a file named - was created"
    );
}
