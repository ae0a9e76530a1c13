//! Bad input: `--sequence` and duration parsing under property tests (never a panic; always a
//! clear one-line error or a valid sequence), random command lines in-process and through the
//! binary, and a table of every flag with invalid values (status 125, one line naming the flag,
//! no process started).

mod common;

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentpipe::cli::Cli;
use agentpipe::sequence::{Limit, format_limit, parse_duration};
use agentpipe::{Action, Sequence, Step};
use clap::Parser;
use common::*;
use nix::sys::signal::Signal;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// Inputs tried, over every test of this file (printed at the end of each test, for the record).
static TRIED: AtomicUsize = AtomicUsize::new(0);

fn tried() {
    TRIED.fetch_add(1, Ordering::Relaxed);
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // A failure prints its minimal input; nothing is written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An error message from a parser: non-empty, its first line too (the command line joins the
/// lines into one), and no control character that the input did not have.
fn check_clear(message: &str, input: &str) -> Result<(), TestCaseError> {
    let first = message.lines().next().unwrap_or_default();
    prop_assert!(
        !first.trim().is_empty(),
        "empty error message for {:?}",
        input
    );
    for c in message.chars().filter(|c| c.is_control()) {
        prop_assert!(
            input.contains(c),
            "error message for {:?} adds a control character: {:?}",
            input,
            message
        );
    }
    Ok(())
}

/// What every sequence must be: exactly one KILL, last, without a duration, and at least one
/// `stdin` step. A sequence read from `--sequence` text (`parsed`) also has no SIGKILL anywhere
/// else, and what agentpipe shows of it (-v, the report) reads back as the same sequence.
fn check_valid(sequence: &Sequence, input: &str, parsed: bool) -> Result<(), TestCaseError> {
    let steps = sequence.steps();
    prop_assert!(!steps.is_empty(), "{:?} gave an empty sequence", input);
    let kill = Step {
        action: Action::Kill,
        wait: None,
    };
    prop_assert_eq!(
        steps.last(),
        Some(&kill),
        "{:?}: the last step is not KILL",
        input
    );
    let kills = steps
        .iter()
        .filter(|step| step.action == Action::Kill)
        .count();
    prop_assert_eq!(kills, 1, "{:?}: KILL appears more than once", input);
    prop_assert!(
        steps.iter().any(|step| step.action == Action::CloseStdin),
        "{:?}: no stdin step",
        input
    );
    if !parsed {
        return Ok(());
    }
    prop_assert!(
        !steps
            .iter()
            .any(|step| step.action == Action::Signal(Signal::SIGKILL)),
        "{:?}: SIGKILL as a plain signal step",
        input
    );
    // Shown with durations to the millisecond.
    let shown = sequence.to_string();
    let again = match Sequence::parse(&shown) {
        Ok(again) => again,
        Err(error) => {
            return Err(TestCaseError::fail(format!(
                "{input:?} shows as {shown:?}, which is refused: {error}"
            )));
        }
    };
    prop_assert_eq!(
        again.steps().len(),
        steps.len(),
        "{:?} shows as {:?}",
        input,
        shown
    );
    for (read, step) in again.steps().iter().zip(steps) {
        prop_assert_eq!(read.action, step.action, "{:?} shows as {:?}", input, shown);
        prop_assert!(
            close_enough(read.wait, step.wait),
            "{:?} shows as {:?}: {:?} read back as {:?}",
            input,
            shown,
            step.wait,
            read.wait
        );
    }
    Ok(())
}

/// Two limits equal to the half millisecond that durations are shown with.
fn close_enough(a: Limit, b: Limit) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.abs_diff(b) <= Duration::from_micros(500),
        _ => false,
    }
}

/// Pieces that `--sequence` text is made of, valid and not.
fn sequence_token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "wait", "stdin", "STDIN", "KILL", "kill", "SIGKILL", "9", "TERM", "sigterm", "15",
            "INT", "hup", "CONT", "STOP", "USR1", "0", "65", "-1", "SIG", "SIGFOO", "inf",
            "infinity", "1s", "250ms", "1.5s", "1m30s", "0", "2", ".5", "1e3", "1e19", "1e400",
            "NaN", "-inf", "1h2", "1 s", "5sec", "3ns",
        ])
        .prop_map(str::to_string),
        3 => prop::sample::select(vec![",", ", ", " ", ",,", "\t", "\n", "  ,  "])
            .prop_map(str::to_string),
        1 => "[a-zA-Z0-9.+-]{0,6}",
        1 => any::<char>().prop_map(String::from),
    ]
}

fn sequence_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(sequence_token(), 0..14).prop_map(|tokens| tokens.concat())
}

/// A valid step list as (text, expected steps), spelled in random ways.
fn valid_sequence() -> impl Strategy<Value = (String, Vec<Step>)> {
    let signals = vec![
        (Signal::SIGTERM, ["TERM", "SIGTERM", "term", "15"]),
        (Signal::SIGINT, ["INT", "SIGINT", "Int", "2"]),
        (Signal::SIGHUP, ["HUP", "SIGHUP", "hup", "1"]),
        (Signal::SIGUSR1, ["USR1", "SIGUSR1", "usr1", "10"]),
        (Signal::SIGCONT, ["CONT", "SIGCONT", "cont", "18"]),
        (Signal::SIGQUIT, ["QUIT", "SigQuit", "quit", "3"]),
    ];
    let action = prop_oneof![
        Just((Action::Wait, "wait".to_string())),
        prop::sample::select(vec!["stdin", "STDIN", "Stdin"])
            .prop_map(|name| (Action::CloseStdin, name.to_string())),
        (prop::sample::select(signals), 0..4usize)
            .prop_map(|((signal, names), pick)| (Action::Signal(signal), names[pick].to_string())),
    ];
    let step = (action, duration_text());
    let kill = prop::sample::select(vec!["KILL", "SIGKILL", "kill", "9"]);
    let separator = prop::sample::select(vec![",", ", ", " , ", ",\t", "  ,"]);
    (prop::collection::vec(step, 0..7), kill, separator).prop_map(|(steps, kill, separator)| {
        let mut parts: Vec<String> = steps
            .iter()
            .map(|((_, name), (text, _))| format!("{name} {text}"))
            .collect();
        parts.push(kill.to_string());
        let mut expected: Vec<Step> = steps
            .iter()
            .map(|((action, _), (_, wait))| Step {
                action: *action,
                wait: *wait,
            })
            .collect();
        expected.push(Step {
            action: Action::Kill,
            wait: None,
        });
        // Decision (b): a list without a stdin step gets `stdin 0s` before its first signal.
        if !expected
            .iter()
            .any(|step| step.action == Action::CloseStdin)
        {
            let at = expected
                .iter()
                .position(|step| matches!(step.action, Action::Signal(_) | Action::Kill))
                .unwrap();
            expected.insert(
                at,
                Step {
                    action: Action::CloseStdin,
                    wait: Some(Duration::ZERO),
                },
            );
        }
        (parts.join(separator), expected)
    })
}

/// A valid duration as (text, value), in every syntax the README lists.
fn duration_text() -> impl Strategy<Value = (String, Limit)> {
    let millis = 0u64..100_000_000;
    prop_oneof![
        millis
            .clone()
            .prop_map(|ms| (format!("{ms}ms"), Some(Duration::from_millis(ms)))),
        (0u64..1_000_000).prop_map(|s| (format!("{s}s"), Some(Duration::from_secs(s)))),
        (0u64..1_000_000).prop_map(|s| (format!("{s}"), Some(Duration::from_secs(s)))),
        (0u64..1000, 0u64..60)
            .prop_map(|(m, s)| (format!("{m}m{s}s"), Some(Duration::from_secs(m * 60 + s)))),
        (0u64..100_000, 0u64..1000).prop_map(|(s, ms)| (
            format!("{s}.{ms:03}s"),
            Some(Duration::from_millis(s * 1000 + ms))
        )),
        (0u64..24, 0u64..60).prop_map(|(h, m)| (
            format!("{h}h{m}m"),
            Some(Duration::from_secs(h * 3600 + m * 60))
        )),
        prop::sample::select(vec!["inf", "INF", "infinity", "Infinity"])
            .prop_map(|text| (text.to_string(), None)),
    ]
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn sequence_text_of_any_shape_gives_a_valid_sequence_or_a_clear_error(text in sequence_soup()) {
        tried();
        match Sequence::parse(&text) {
            Ok(sequence) => check_valid(&sequence, &text, true)?,
            Err(message) => check_clear(&message, &text)?,
        }
    }

    #[test]
    fn any_unicode_text_gives_a_valid_sequence_or_a_clear_error(text in any::<String>()) {
        tried();
        match Sequence::parse(&text) {
            Ok(sequence) => check_valid(&sequence, &text, true)?,
            Err(message) => check_clear(&message, &text)?,
        }
        match parse_duration(&text) {
            Ok(_) => {}
            Err(message) => check_clear(&message, &text)?,
        }
    }

    #[test]
    fn valid_step_lists_parse_to_exactly_their_steps((text, expected) in valid_sequence()) {
        tried();
        let sequence = Sequence::parse(&text)
            .unwrap_or_else(|error| panic!("{text:?} refused: {error}"));
        prop_assert_eq!(sequence.steps(), expected.as_slice(), "{:?}", text);
        check_valid(&sequence, &text, true)?;
    }

    #[test]
    fn duration_text_of_any_shape_parses_or_gives_a_clear_error(
        text in prop::collection::vec(sequence_token(), 0..4).prop_map(|t| t.concat())
    ) {
        tried();
        match parse_duration(&text) {
            // Whatever is accepted is shown as a duration that reads back the same, to the
            // half millisecond.
            Ok(limit) => {
                let shown = format_limit(limit);
                let again = parse_duration(&shown)
                    .unwrap_or_else(|error| panic!("{text:?} shows as {shown:?}: {error}"));
                prop_assert!(close_enough(again, limit), "{:?} shows as {:?}", text, shown);
            }
            Err(message) => check_clear(&message, &text)?,
        }
    }

    #[test]
    fn valid_durations_parse_to_their_value((text, value) in duration_text()) {
        tried();
        prop_assert_eq!(parse_duration(&text), Ok(value), "{:?}", text);
        prop_assert_eq!(parse_duration(&format_limit(value)), Ok(value));
    }

    #[test]
    fn bare_numbers_are_seconds_and_never_panic(seconds in any::<f64>()) {
        tried();
        let text = seconds.to_string();
        match parse_duration(&text) {
            Ok(Some(duration)) => {
                prop_assert!(seconds >= 0.0);
                prop_assert!((duration.as_secs_f64() - seconds).abs() <= seconds * 1e-9 + 1e-9);
            }
            Ok(None) => prop_assert!(seconds == f64::INFINITY, "{} read as inf", text),
            Err(message) => {
                prop_assert!(seconds < 0.0 || !seconds.is_finite() || seconds > u64::MAX as f64
                    || seconds.is_nan(), "{text} refused");
                check_clear(&message, &text)?;
            }
        }
    }
}

/// Tokens of an agentpipe command line. Durations stay below 2^63 ns: longer ones are valid
/// but crash agentpipe (see `huge_durations_are_refused_or_unbounded_never_a_panic`).
fn argv_token() -> impl Strategy<Value = Vec<String>> {
    let flag = prop::sample::select(vec![
        "--wait",
        "--grace",
        "--eof-grace",
        "--term-grace",
        "-s",
        "--signal",
        "--sequence",
        "--timeout",
        "--drain",
        "--stderr",
        "--scope",
        "--report",
    ]);
    let value = prop::sample::select(vec![
        "0",
        "0s",
        "1s",
        "250ms",
        "inf",
        "1e18",
        "x",
        "",
        "-1",
        "TERM",
        "int",
        "99",
        "KILL",
        "STOP",
        "child",
        "group",
        "tree",
        "null",
        "inherit",
        "-",
        "$D/file",
        "wait 0s, KILL",
        "stdin 1s, TERM 1s, KILL",
        "TERM 1s",
        "KILL 1s",
        ",",
    ]);
    let switch = prop::sample::select(vec![
        "--preserve-status",
        "--foreground",
        "-v",
        "-q",
        "--verbose",
        "--quiet",
        "--bogus",
        "-x",
        "--preserve-status=yes",
    ]);
    // Free text where durations and sequences go; durations past 2^63 ns are left out (see
    // `huge_durations_are_refused_or_unbounded_never_a_panic`), and NUL cannot be an argument.
    let text_flag = prop::sample::select(vec!["--sequence", "--wait", "--timeout", "-s"]);
    let text = sequence_soup().prop_filter("no huge duration, no NUL", |text| {
        !text.contains("1e19") && !text.contains('\0')
    });
    prop_oneof![
        3 => (flag.clone(), value.clone()).prop_map(|(f, v)| vec![f.to_string(), v.to_string()]),
        1 => (text_flag, text).prop_map(|(f, v)| vec![f.to_string(), v]),
        1 => (flag, value).prop_map(|(f, v)| vec![format!("{f}={v}")]),
        1 => switch.prop_map(|s| vec![s.to_string()]),
    ]
}

fn argv() -> impl Strategy<Value = Vec<String>> {
    (prop::collection::vec(argv_token(), 0..6), 0..4u8).prop_map(|(tokens, end)| {
        let mut argv: Vec<String> = tokens.into_iter().flatten().collect();
        match end {
            0 => {}
            1 => argv.push("--".into()),
            _ => argv.extend(["--", "touch", "$D/started"].map(String::from)),
        }
        argv
    })
}

proptest! {
    #![proptest_config(config(3000))]

    /// The whole command line, parsed as agentpipe does, never panics; a parsed one always gives
    /// a sequence and a scope decision.
    #[test]
    fn random_command_lines_parse_or_fail_cleanly_in_process(args in argv()) {
        tried();
        let full = std::iter::once("agentpipe".to_string()).chain(args.iter().cloned());
        if let Ok(cli) = Cli::try_parse_from(full) {
            // The step flags too give a sequence that --sequence could state (-s KILL included).
            let config = cli.config();
            check_valid(&config.sequence, &format!("{args:?}"), true)?;
            let _ = cli.scope();
        }
    }
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

/// The README's Guarantees name tests that exist: a promise is never left pointing at a test
/// that was renamed or removed.
#[test]
fn the_readme_guarantees_name_tests_that_exist() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let start = readme
        .find("\n## Guarantees\n")
        .expect("a Guarantees section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let mut named = 0;
    for quoted in section.split('`').skip(1).step_by(2) {
        let Some((file, test)) = quoted.split_once("::") else {
            continue;
        };
        if !file.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            || !test.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let source = std::fs::read_to_string(format!("{root}/tests/{file}.rs"))
            .unwrap_or_else(|error| panic!("README names tests/{file}.rs: {error}"));
        assert!(
            source.contains(&format!("fn {test}(")),
            "README names {file}::{test}, which tests/{file}.rs does not define"
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
