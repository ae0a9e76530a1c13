//! The command line: usage errors, and arguments passed to the child unchanged.

use std::os::unix::ffi::OsStrExt;

use crate::common::*;

/// Runs agentpipe with `options` and a command that would leave a marker file, and asserts a
/// usage or setup error: status 125, one line `agentpipe: ...`, nothing started.
fn assert_usage_error(options: &[&str]) {
    let sandbox = Sandbox::new("usage");
    let marker = sandbox.path("marker");
    let command = sandbox.agentpipe(options, ["sh", "-c", "touch \"$D/marker\""]);
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    assert_eq!(
        done.status.code(),
        Some(125),
        "{options:?}: {:?}",
        done.status
    );
    assert!(
        done.stderr_lines().len() == 1 && done.stderr.starts_with("agentpipe: "),
        "{options:?}: expected one line 'agentpipe: ...', got:\n{}",
        done.stderr
    );
    assert!(!marker.exists(), "{options:?}: the command was started");
    assert!(
        done.stdout.is_empty(),
        "{options:?}: {:?}",
        done.stdout_text()
    );
}

#[test]
fn unknown_options_are_usage_errors() {
    assert_usage_error(&["--no-such-option"]);
    assert_usage_error(&["-x"]);
}

#[test]
fn bad_durations_are_usage_errors() {
    for option in DURATION_FLAGS {
        for value in ["soon", "-1", "1 fortnight", ""] {
            assert_usage_error(&[option, value]);
        }
    }
}

#[test]
fn bad_signals_are_usage_errors() {
    for value in ["FOO", "SIGFOO", "0", "99", ""] {
        assert_usage_error(&["--signal", value]);
    }
    assert_usage_error(&["--sequence", "stdin 1s, FOO 1s, KILL"]);
}

#[test]
fn a_sequence_must_end_with_kill() {
    assert_usage_error(&["--sequence", "stdin 1s, TERM 1s"]);
    assert_usage_error(&["--sequence", "KILL, stdin 1s"]);
    assert_usage_error(&["--sequence", "stdin 1s, KILL, TERM 1s, KILL"]);
}

#[test]
fn malformed_sequences_are_usage_errors() {
    for sequence in [
        "",
        "stdin, KILL",
        "stdin 1s, KILL 2s",
        "frobnicate 1s, KILL",
        "stdin 1s 2s, KILL",
        "stdin soon, KILL",
        "stdin 1s,, KILL",
    ] {
        assert_usage_error(&["--sequence", sequence]);
    }
}

#[test]
fn sequence_with_a_step_flag_is_a_usage_error() {
    for (flag, value) in [
        ("--wait", "1s"),
        ("--grace", "1s"),
        ("--term-grace", "1s"),
        ("--signal", "INT"),
    ] {
        assert_usage_error(&["--sequence", "stdin 1s, TERM 1s, KILL", flag, value]);
    }
}

#[test]
fn foreground_with_scope_group_is_a_usage_error() {
    assert_usage_error(&["--foreground", "--scope", "group"]);
    assert_usage_error(&["--scope", "group", "--foreground"]);
}

#[test]
fn bad_scopes_are_usage_errors() {
    assert_usage_error(&["--scope", "everything"]);
    assert_usage_error(&["--scope", ""]);
}

#[test]
fn a_missing_command_is_a_usage_error() {
    for options in [&[][..], &["--grace", "1s"][..]] {
        let sandbox = Sandbox::new("no-command");
        let mut command = sandbox.command(BIN);
        command.args(options);
        let done = Run::start(sandbox, command).finish();
        done.assert_code(125);
        done.assert_one_error_line();
    }
}

#[test]
fn an_unusable_stderr_path_is_a_setup_error() {
    assert_usage_error(&["--stderr", "/nonexistent-directory/stderr"]);
    assert_usage_error(&["--stderr", ""]);
}

#[test]
fn arguments_reach_the_child_byte_for_byte() {
    let arguments: Vec<&[u8]> = vec![
        b"plain",
        b"with space",
        b"  leading and trailing  ",
        b"'single quotes'",
        b"\"double quotes\"",
        b"*",
        b"?[a-z]*",
        b"$HOME",
        b"`id`",
        b"$(id)",
        b"",
        b"-v",
        b"--grace",
        b"--",
        b"new\nline",
        b"tab\there",
        b"back\\slash",
        "\u{fc}n\u{ef}c\u{f6}d\u{e9}".as_bytes(),
        b"\xff\xfe not UTF-8 \x80\xc3",
    ];
    let mut command = vec![
        os(b"sh"),
        os(b"-c"),
        os(b"printf '%s\\0' \"$@\""),
        os(b"sh"),
    ];
    command.extend(arguments.iter().map(|argument| os(argument)));
    let mut run = Run::agentpipe("arguments", &[], &command);
    let done = run.finish();
    done.assert_code(0);
    let received: Vec<&[u8]> = done.stdout.split(|&byte| byte == 0).collect();
    let expected: Vec<&[u8]> = arguments.iter().copied().chain([&b""[..]]).collect();
    assert_eq!(
        received,
        expected,
        "got {:?}",
        std::ffi::OsStr::from_bytes(&done.stdout)
    );
}

#[test]
fn options_after_the_command_belong_to_the_command() {
    // No `--`: whatever follows COMMAND is its own.
    let sandbox = Sandbox::new("trailing-options");
    let mut command = sandbox.command(BIN);
    command.args(["--grace", "1s", "printf", "%s|", "--grace", "-v", "--help"]);
    let done = Run::start(sandbox, command).finish();
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "--grace|-v|--help|");
}

/// agentpipe's stderr when run with `args` and nothing else (no command to start, or one that
/// cannot be): the one line it says, checked to be one line with status `code`.
fn one_error_line(args: &[&str], code: i32) -> String {
    let sandbox = Sandbox::new("message");
    let output = sandbox.command(BIN).args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(code), "{args:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("agentpipe: "), "{stderr}");
    stderr
}

#[test]
fn options_without_a_command_say_a_command_is_missing_and_how_to_give_one() {
    for args in [&[][..], &["-v"], &["--grace", "2s"], &["--"]] {
        let line = one_error_line(args, 125);
        assert_eq!(
            line,
            "agentpipe: no command given; usage: agentpipe [OPTIONS] -- COMMAND [ARG]... (see \
             'agentpipe --help')\n",
            "{args:?}"
        );
    }
}

#[test]
fn path_is_mentioned_only_where_it_is_searched() {
    let line = one_error_line(&["--", "no-such-command-anywhere"], 127);
    assert!(
        line.ends_with("not found; check the command name and PATH\n"),
        "{line}"
    );
    let line = one_error_line(&["--", "./no-such-server.py"], 127);
    assert!(!line.contains("PATH"), "{line}");
    assert!(
        line.contains("'./no-such-server.py': no such file in /"),
        "{line}"
    );
    let line = one_error_line(&["--", "/no/such/server"], 127);
    assert!(
        line.ends_with("'/no/such/server': no such file; check the path\n"),
        "{line}"
    );
}

#[test]
fn an_unquoted_run_command_is_told_to_be_quoted_and_a_stop_signal_is_no_step() {
    let line = one_error_line(
        &["--sequence", "run docker stop x 2s, KILL", "--", "true"],
        125,
    );
    assert!(
        line.contains(r#"a run step's command goes in quotes: run "docker stop x" 2s"#),
        "{line}"
    );
    assert!(!line.contains("separate steps with commas"), "{line}");
    let line = one_error_line(&["--sequence", "STOP 1s, KILL", "--", "true"], 125);
    assert!(
        line.contains("SIGSTOP stops a process instead of ending it"),
        "{line}"
    );
    let line = one_error_line(&["-s", "STOP", "--", "true"], 125);
    assert!(line.contains("'--signal <SIGNAL>'"), "{line}");
}
