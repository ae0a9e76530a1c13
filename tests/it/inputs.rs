//! Random inputs of agentpipe's parsers: `--sequence` and duration text, and whole command
//! lines. Shared by the property tests of the parsers in process (src/proptests.rs, which
//! includes this file) and those of the binary (bad_input).

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// `cases` cases per property.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // A failure prints its minimal input; nothing is written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces that `--sequence` text is made of, valid and not.
pub fn sequence_token() -> impl Strategy<Value = String> {
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

/// Text made of those pieces: mostly near-valid sequences and durations.
pub fn sequence_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(sequence_token(), 0..14).prop_map(|tokens| tokens.concat())
}

/// Tokens of an agentpipe command line. Durations stay below 2^63 ns: longer ones are valid
/// but crash agentpipe (see `bad_input::huge_durations_are_refused_or_unbounded_never_a_panic`).
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
        "--stderr-tail",
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
        "4k",
        "64KiB",
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

/// A command line after `agentpipe`: tokens, then nothing, `--`, or `-- touch $D/started`.
pub fn argv() -> impl Strategy<Value = Vec<String>> {
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
