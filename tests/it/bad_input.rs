//! Bad input through the binary: random command lines, and a table of every flag with invalid
//! values (status 125, one line naming the flag, no process started). The parsers themselves
//! are property-tested in process in src/proptests.rs.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;
use crate::inputs::{argv, config};
use proptest::prelude::*;

/// Inputs tried, over every test of this file (printed at the end of each test, for the record).
static TRIED: AtomicUsize = AtomicUsize::new(0);

fn tried() {
    TRIED.fetch_add(1, Ordering::Relaxed);
}

/// How a run of the binary on bad (or random) input ended.
struct Attempt {
    code: Option<i32>,
    stderr: String,
    started: bool,
}

/// Runs `agentpipe ARGS` with stdin at EOF, `$D` replaced by the sandbox; the command (when
/// there is one) is `touch $D/started`, which tells whether a process was started.
fn attempt(name: &str, args: &[String]) -> Attempt {
    tried();
    let sandbox = Sandbox::new(name);
    let dir = sandbox.dir.to_str().unwrap().to_string();
    let args: Vec<String> = args.iter().map(|arg| arg.replace("$D", &dir)).collect();
    let mut command = sandbox.command(BIN);
    // In the sandbox: a random --stderr or --report value names a file there.
    command
        .args(&args)
        .stdin(Stdio::null())
        .current_dir(&sandbox.dir);
    let started_file = sandbox.path("started");
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    let started = started_file.exists();
    assert!(
        !done.stderr.contains("panicked"),
        "agentpipe {args:?} panicked:\n{}",
        done.stderr
    );
    Attempt {
        code: done.status.code(),
        stderr: done.stderr,
        started,
    }
}

/// Asserts the usage-error contract: 125, exactly one line `agentpipe: ...` naming `flag`, and
/// no process started.
fn assert_usage_error(attempt: &Attempt, args: &[String], flag: &str) {
    assert_eq!(
        attempt.code,
        Some(125),
        "agentpipe {args:?}: expected 125; stderr:\n{}",
        attempt.stderr
    );
    let lines: Vec<&str> = attempt.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "agentpipe {args:?}: expected one line, got:\n{}",
        attempt.stderr
    );
    assert!(
        lines[0].starts_with("agentpipe: "),
        "agentpipe {args:?}: {:?}",
        lines[0]
    );
    assert!(
        lines[0].contains(flag),
        "agentpipe {args:?}: the message does not name {flag}: {:?}",
        lines[0]
    );
    assert!(
        !attempt.started,
        "agentpipe {args:?}: the command was started"
    );
}

/// Every flag with invalid values: (arguments before `--`, the flag the message must name).
fn invalid_flags() -> Vec<(Vec<&'static str>, &'static str)> {
    let mut table: Vec<(Vec<&str>, &str)> = Vec::new();
    let bad_durations = [
        "x",
        "",
        "1h2",
        "nan",
        "-inf",
        "1e400",
        "1S",
        "0x10",
        "5 m 3",
        "1s1",
        "∞",
        "1.2.3s",
        "100000000000000000000ns",
    ];
    for flag in DURATION_FLAGS {
        for value in bad_durations {
            table.push((vec![flag, value], flag));
        }
        // A value that looks like a flag, after '=' or a space.
        for value in ["-1", "-inf", "-0.5s"] {
            table.push((
                vec![Box::leak(format!("{flag}={value}").into_boxed_str())],
                flag,
            ));
            table.push((vec![flag, value], flag));
        }
        table.push((vec![flag], flag)); // no value at all
        table.push((vec![flag, "1s", flag, "2s"], flag)); // given twice
    }
    for flag in ["-s", "--signal"] {
        for value in [
            "FOO", "", "0", "65", "SIG", "SIGTERMX", "1.5", "TERM 1s", "-9x",
        ] {
            table.push((vec![flag, value], "--signal"));
        }
        table.push((vec![flag], "--signal"));
    }
    table.push((vec!["--signal=-9"], "--signal"));
    // A stop signal stops a process instead of ending it.
    for value in ["STOP", "tstp", "SIGTTIN", "ttou"] {
        table.push((vec!["-s", value], "--signal"));
    }
    for value in ["KILL", "STOP", "CHLD", "TSTP", "PIPE", "FOO", "INT,", ""] {
        table.push((vec!["--forward", value], "--forward"));
    }
    table.push((vec!["--forward"], "--forward"));
    table.push((vec!["-s", "-9"], "--signal"));
    table.push((vec!["--sequence", "-1, KILL"], "--sequence"));
    for value in [
        "",
        ",",
        "TERM 1s",
        "KILL 1s",
        "KILL, TERM 1s",
        "stdin 1s, KILL,",
        "stdin, KILL",
        "stdin 1s 2s, KILL",
        "wait x, KILL",
        "FOO 1s, KILL",
        "9 1s",
        "stdin 1s,, KILL",
        "stdin 1e400, KILL",
        "wait 1s; KILL",
        "STOP 1s, KILL",
        "stdin 1s, TTOU 1s, KILL",
        "run docker stop x 2s, KILL",
    ] {
        table.push((vec!["--sequence", value], "--sequence"));
    }
    for other in [
        ["--wait", "1s"],
        ["--grace", "1s"],
        ["--term-grace", "1s"],
        ["--signal", "INT"],
    ] {
        table.push((vec!["--sequence", "KILL", other[0], other[1]], "--sequence"));
    }
    table.push((vec!["--stderr", ""], "--stderr"));
    table.push((vec!["--stderr", "$D/no-such-dir/err"], "--stderr"));
    table.push((vec!["--stderr", "$D"], "--stderr")); // a directory
    table.push((vec!["--stderr", "$D/prelude/err"], "--stderr")); // a file as a directory
    for value in ["", "4x", "-1", "1.5k", "k", "2M", "99999999999999999999"] {
        table.push((vec!["--stderr-tail", value], "--stderr-tail"));
    }
    table.push((vec!["--stderr-tail"], "--stderr-tail"));
    table.push((
        vec!["--stderr-tail", "4k", "--stderr", "$D/no-such-dir/err"],
        "--stderr",
    ));
    for value in ["", "bogus", "GROUP", "1"] {
        table.push((vec!["--scope", value], "--scope"));
    }
    table.push((vec!["--scope"], "--scope"));
    table.push((vec!["--foreground", "--scope", "group"], "--foreground"));
    table.push((vec!["--report", ""], "--report"));
    table.push((vec!["--report"], "--report"));
    table.push((vec!["--preserve-status=yes"], "--preserve-status"));
    table.push((vec!["--foreground=1"], "--foreground"));
    table.push((vec!["--verbose=no"], "--verbose"));
    table.push((vec!["-v", "-q"], "--quiet"));
    table.push((vec!["--quiet", "--verbose"], "--verbose"));
    table.push((vec!["--bogus"], "--bogus"));
    table.push((vec!["--wai", "1s"], "--wai"));
    table
}

#[test]
fn every_flag_with_an_invalid_value_exits_125_with_one_line_naming_it_and_starts_nothing() {
    let table = invalid_flags();
    for (options, flag) in &table {
        let mut args: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        args.extend(["--", "touch", "$D/started"].map(String::from));
        let attempt = attempt("bad-flag", &args);
        assert_usage_error(&attempt, &args, flag);
    }
    // Without a command: the message names what is missing.
    for args in [vec![], vec!["--"], vec!["-v", "--"]] {
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        assert_usage_error(&attempt("no-command", &args), &args, "COMMAND");
    }
    eprintln!(
        "{} invalid flag values tried; {} inputs in this file so far",
        table.len() + 3,
        TRIED.load(Ordering::Relaxed)
    );
}

#[test]
fn the_same_flags_with_valid_values_do_start_the_command() {
    // The control for the table: the marker is made when the command runs.
    for options in [
        vec!["--wait", "1s"],
        vec![
            "--grace",
            "250ms",
            "--eof-grace",
            "inf",
            "--term-grace",
            "1m30s",
        ],
        vec!["--timeout", "1h", "--drain", "0"],
        vec!["-s", "int"],
        vec!["--signal", "15"],
        vec!["--sequence", "stdin 1s, TERM 1s, KILL"],
        vec!["--stderr", "$D/err"],
        vec!["--stderr", "null"],
        vec!["--stderr", "-"],
        vec!["--stderr-tail", "64KiB", "--stderr", "$D/err"],
        vec!["--stderr-tail", "1M", "--stderr", "null"],
        vec!["--scope", "child"],
        vec!["--foreground", "--scope", "child"],
        vec!["--report", "$D/report.json"],
        vec!["--preserve-status", "-q"],
        vec!["--wait=-0", "--grace=.5"],
    ] {
        let mut args: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        args.extend(["--", "touch", "$D/started"].map(String::from));
        let attempt = attempt("good-flag", &args);
        assert_eq!(
            attempt.code,
            Some(0),
            "agentpipe {args:?}: {}",
            attempt.stderr
        );
        assert!(
            attempt.started,
            "agentpipe {args:?} did not run the command"
        );
    }
}

proptest! {
    // Each case starts the binary: fewer cases, still every token in combination.
    #![proptest_config(config(150))]

    /// Random command lines through the real binary: a usage error is 125, one line, nothing
    /// started; anything else runs the command; never a panic.
    #[test]
    fn random_command_lines_through_the_binary_fail_cleanly_or_run(args in argv()) {
        let attempt = attempt("random-argv", &args);
        match attempt.code {
            Some(125) => {
                let lines: Vec<&str> = attempt.stderr.lines().collect();
                prop_assert_eq!(lines.len(), 1, "{:?}: {}", args, attempt.stderr);
                prop_assert!(lines[0].starts_with("agentpipe: "), "{:?}", lines[0]);
                prop_assert!(!attempt.started, "{:?} started the command", args);
            }
            Some(0) => prop_assert!(
                attempt.started || args.iter().any(|a| a == "-h" || a == "--help"),
                "{:?} exited 0 without running the command", args
            ),
            // The command may be ended by the sequence before it exits on its own (for
            // example --timeout 0 with -s STOP): any status but a crash.
            code => prop_assert!(code != Some(101), "{:?}: {:?}", args, code),
        }
    }
}

#[test]
fn huge_durations_are_refused_or_unbounded_never_a_panic() {
    for value in ["1e19", "18446744073709551615", "584542046091y"] {
        for flag in DURATION_FLAGS {
            let args: Vec<String> = [flag, value, "--", "touch", "$D/started"]
                .map(String::from)
                .to_vec();
            let attempt = attempt("huge", &args);
            match attempt.code {
                Some(125) => assert_usage_error(&attempt, &args, flag),
                code => assert_eq!(code, Some(0), "agentpipe {args:?}: {}", attempt.stderr),
            }
        }
        let sequence = format!("wait {value}, stdin {value}, TERM {value}, KILL");
        let args: Vec<String> = vec![
            "--sequence".into(),
            sequence,
            "--".into(),
            "touch".into(),
            "$D/started".into(),
        ];
        let attempt = attempt("huge-sequence", &args);
        match attempt.code {
            Some(125) => assert_usage_error(&attempt, &args, "--sequence"),
            code => assert_eq!(code, Some(0), "agentpipe {args:?}: {}", attempt.stderr),
        }
    }
}

#[test]
fn a_negative_duration_or_signal_after_a_space_names_its_flag() {
    for (flag, value) in [("--wait", "-1"), ("--timeout", "-0.5"), ("-s", "-9")] {
        let args: Vec<String> = [flag, value, "--", "touch", "$D/started"]
            .map(String::from)
            .to_vec();
        let attempt = attempt("negative", &args);
        let named = if flag == "-s" { "--signal" } else { flag };
        assert_usage_error(&attempt, &args, named);
    }
}

#[test]
fn signal_kill_is_the_kill_step_and_a_timeout_then_exits_137() {
    let mut run = Run::agentpipe(
        "signal-kill",
        &["-s", "KILL", "--grace", "0s", "--timeout", "100ms"],
        ["sleep", "30"],
    );
    let done = run.finish();
    // "--timeout started the sequence: 124, or 137 if SIGKILL was sent".
    done.assert_code(137);
}

/// The Guarantees (ARCHITECTURE.md) name tests that exist: a promise is never left pointing at
/// a test that was renamed or removed.
#[test]
fn the_guarantees_name_tests_that_exist() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/ARCHITECTURE.md")).unwrap();
    let start = readme
        .find("\n## Guarantees\n")
        .expect("a Guarantees section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let mut named = 0;
    for quoted in section.split('`').skip(1).step_by(2) {
        // MODULE::TEST, or MODULE::SUBMODULE::TEST for a module in a folder of its own.
        let path: Vec<&str> = quoted.split("::").collect();
        let Some((test, modules)) = path.split_last() else {
            continue;
        };
        if modules.is_empty()
            || !modules.iter().all(|module| {
                !module.is_empty() && module.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
            || !test.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        // A name through a `tests` module is a unit test in src/, the parsers' property tests
        // are in the crate; every other test is in tests/it.
        if modules.contains(&"tests") {
            continue;
        }
        let path = match modules {
            ["proptests"] => "src/proptests.rs".to_string(),
            [file] => format!("tests/it/{file}.rs"),
            [folder @ .., file] => format!("tests/it/{}/{file}.rs", folder.join("/")),
            [] => unreachable!("not empty"),
        };
        let source = std::fs::read_to_string(format!("{root}/{path}"))
            .unwrap_or_else(|error| panic!("the Guarantees name {path}: {error}"));
        assert!(
            source.contains(&format!("fn {test}(")),
            "the Guarantees name {quoted}, which {path} does not define"
        );
        named += 1;
    }
    assert!(named >= 20, "only {named} tests named in the Guarantees");
}

#[test]
fn values_that_are_not_utf8_name_their_flag_and_paths_may_be_any_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"\xff");
    for flag in ["--wait", "--timeout", "--signal", "--sequence", "--scope"] {
        let sandbox = Sandbox::new("not-utf8");
        let mut command = sandbox.command(BIN);
        command
            .arg(flag)
            .arg(not_utf8)
            .args(["--", "true"])
            .stdin(Stdio::null());
        let done = Run::start(sandbox, command).finish();
        done.assert_code(125);
        assert!(done.stderr.contains(flag), "{flag}: {}", done.stderr);
    }
    for flag in ["--stderr", "--report"] {
        let sandbox = Sandbox::new("not-utf8-path");
        let mut path = sandbox.dir.clone().into_os_string();
        path.push("/");
        path.push(not_utf8);
        let mut command = sandbox.command(BIN);
        command
            .arg(flag)
            .arg(&path)
            .args(["--", "true"])
            .stdin(Stdio::null());
        // The run owns the sandbox: it must outlive the check, or the directory is gone.
        let mut run = Run::start(sandbox, command);
        run.finish().assert_code(0);
        assert!(std::path::Path::new(&path).exists(), "{flag}: no file");
    }
}
