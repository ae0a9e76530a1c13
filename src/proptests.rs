//! The parsers under property tests, in process: `--sequence` and duration text of any shape
//! gives a valid sequence or a clear one-line error, never a panic, and what agentpipe shows of
//! a sequence reads back the same; random command lines parse or fail cleanly. (The same
//! command lines through the binary are in tests/it/bad_input.rs.)

use std::time::Duration;

use crate::signals::Signal;
#[cfg(feature = "cli")]
use clap::Parser;
use proptest::prelude::*;

#[cfg(feature = "cli")]
use crate::cli::Cli;
use crate::duration::{Limit, format_limit, parse_limit};
use crate::sequence::{Action, Sequence, Step};

#[path = "../tests/it/inputs.rs"]
mod inputs;

use inputs::{argv, config, sequence_soup, sequence_token};

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
            .any(|step| step.action == Action::Signal(Signal::KILL)),
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

/// A valid step list as (text, expected steps), spelled in random ways.
fn valid_sequence() -> impl Strategy<Value = (String, Vec<Step>)> {
    let signals = vec![
        (Signal::TERM, ["TERM", "SIGTERM", "term", "15"]),
        (Signal::INT, ["INT", "SIGINT", "Int", "2"]),
        (Signal::HUP, ["HUP", "SIGHUP", "hup", "1"]),
        (Signal::USR1, ["USR1", "SIGUSR1", "usr1", "10"]),
        (Signal::CONT, ["CONT", "SIGCONT", "cont", "18"]),
        (Signal::QUIT, ["QUIT", "SigQuit", "quit", "3"]),
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
        match Sequence::parse(&text) {
            Ok(sequence) => check_valid(&sequence, &text, true)?,
            Err(error) => check_clear(&error.to_string(), &text)?,
        }
    }

    #[test]
    fn any_unicode_text_gives_a_valid_sequence_or_a_clear_error(text in any::<String>()) {
        match Sequence::parse(&text) {
            Ok(sequence) => check_valid(&sequence, &text, true)?,
            Err(error) => check_clear(&error.to_string(), &text)?,
        }
        match parse_limit(&text) {
            Ok(_) => {}
            Err(error) => check_clear(&error.to_string(), &text)?,
        }
    }

    #[test]
    fn valid_step_lists_parse_to_exactly_their_steps((text, expected) in valid_sequence()) {
        let sequence = Sequence::parse(&text)
            .unwrap_or_else(|error| panic!("{text:?} refused: {error}"));
        prop_assert_eq!(sequence.steps(), expected.as_slice(), "{:?}", text);
        check_valid(&sequence, &text, true)?;
    }

    #[test]
    fn duration_text_of_any_shape_parses_or_gives_a_clear_error(
        text in prop::collection::vec(sequence_token(), 0..4).prop_map(|t| t.concat())
    ) {
        match parse_limit(&text) {
            // Whatever is accepted is shown as a duration that reads back the same, to the
            // half millisecond.
            Ok(limit) => {
                let shown = format_limit(limit);
                let again = parse_limit(&shown)
                    .unwrap_or_else(|error| panic!("{text:?} shows as {shown:?}: {error}"));
                prop_assert!(close_enough(again, limit), "{:?} shows as {:?}", text, shown);
            }
            Err(error) => check_clear(&error.to_string(), &text)?,
        }
    }

    #[test]
    fn valid_durations_parse_to_their_value((text, value) in duration_text()) {
        prop_assert_eq!(parse_limit(&text), Ok(value), "{:?}", text);
        prop_assert_eq!(parse_limit(&format_limit(value)), Ok(value));
    }

    #[test]
    fn bare_numbers_are_seconds_and_never_panic(seconds in any::<f64>()) {
        let text = seconds.to_string();
        match parse_limit(&text) {
            Ok(Some(duration)) => {
                prop_assert!(seconds >= 0.0);
                prop_assert!((duration.as_secs_f64() - seconds).abs() <= seconds * 1e-9 + 1e-9);
            }
            Ok(None) => prop_assert!(seconds == f64::INFINITY, "{} read as inf", text),
            Err(error) => {
                let message = error.to_string();
                prop_assert!(seconds < 0.0 || !seconds.is_finite() || seconds > u64::MAX as f64
                    || seconds.is_nan(), "{text} refused");
                check_clear(&message, &text)?;
            }
        }
    }
}

#[cfg(feature = "cli")]
proptest! {
    #![proptest_config(config(3000))]

    /// The whole command line, parsed as agentpipe does, never panics; a parsed one always gives
    /// a sequence and a scope decision.
    #[test]
    fn random_command_lines_parse_or_fail_cleanly_in_process(args in argv()) {
        let full = std::iter::once("agentpipe".to_string()).chain(args.iter().cloned());
        if let Ok(cli) = Cli::try_parse_from(full) {
            // The step flags too give a sequence that --sequence could state (-s KILL included).
            let config = cli.config();
            check_valid(&config.sequence, &format!("{args:?}"), true)?;
            let _ = cli.scope();
        }
    }
}
