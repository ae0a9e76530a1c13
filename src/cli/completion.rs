//! What the shell completions offer beyond the definition that parses: example values for
//! durations, sizes and signals, the fixed values of --stderr, files and `-` for --report and
//! --trace, and (bash, fish) the command after `--` completed as a command line of its own.

use clap::CommandFactory;
use clap::builder::{PossibleValue, PossibleValuesParser};

use super::Cli;

/// Fixed values an argument takes besides a file name.
const FIXED_VALUES: [(&str, &[&str]); 1] = [("stderr", &["inherit", "null", "-"])];

/// The arguments that take a file or `-` (stderr). They keep their file hint, so that every
/// shell completes a file; bash and fish offer `-` too (see [`bash_extra`], [`FISH_EXTRA`]).
const FILE_OR_DASH: [&str; 2] = ["--report", "--trace"];

/// Example sizes for each argument that takes one: offered instead of file names.
const SIZE_EXAMPLES: [(&str, &[(&str, &str)]); 2] = [
    (
        "stderr_tail",
        &[
            ("4k", "4 KiB"),
            ("64k", "64 KiB"),
            ("1M", "1 MiB, the most kept"),
        ],
    ),
    (
        "trace_limit",
        &[
            ("1M", "1 MiB"),
            ("64M", "64 MiB, the default"),
            ("1G", "1 GiB"),
        ],
    ),
];

/// The arguments that take a duration.
const DURATION_ARGS: [&str; 9] = [
    "wait",
    "grace",
    "eof_grace",
    "term_grace",
    "timeout",
    "idle_timeout",
    "output_idle_timeout",
    "response_timeout",
    "drain",
];

/// Example durations, offered by the shell completions.
fn duration_examples() -> Vec<PossibleValue> {
    [
        ("0s", "at once"),
        ("250ms", "a quarter of a second"),
        ("1s", "one second"),
        ("5s", "five seconds"),
        ("1m30s", "a minute and a half"),
        ("inf", "no limit"),
    ]
    .into_iter()
    .map(|(value, help)| PossibleValue::new(value).help(help))
    .collect()
}

/// Signal names offered by the shell completions: those of POSIX that make sense as a stop
/// signal, the same on every platform (any other name or number is accepted too).
fn signal_examples() -> Vec<PossibleValue> {
    [
        ("TERM", "terminate (the default)"),
        ("INT", "interrupt, as Ctrl-C"),
        ("HUP", "hang-up"),
        ("QUIT", "quit (a thread dump in Go and JVM programs)"),
        ("USR1", "user-defined 1"),
        ("USR2", "user-defined 2"),
        ("ALRM", "alarm clock"),
        ("KILL", "kill at once: it cannot be caught"),
        ("ABRT", "abort"),
        ("PIPE", "broken pipe"),
        ("WINCH", "window size changed"),
        ("XCPU", "CPU time limit exceeded"),
        ("VTALRM", "virtual alarm clock"),
        ("PROF", "profiling timer"),
    ]
    .into_iter()
    .map(|(name, help)| PossibleValue::new(name).help(help))
    .collect()
}

/// The definition that the shell completions are generated from (src/cli/generated.rs): the
/// command line's, with example values offered after the durations and signal names after --signal.
/// The definition that parses has no such list: clap would present it as the only values
/// possible, in its help and errors.
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    // Every argument is taken out and put back, in order, so that the order stays.
    let ids: Vec<String> = command
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    for id in ids {
        command = command.mut_arg(&id, |arg| {
            if DURATION_ARGS.contains(&id.as_str()) {
                arg.value_parser(PossibleValuesParser::new(duration_examples()))
            } else if id == "signal" {
                arg.value_parser(PossibleValuesParser::new(signal_examples()))
            } else if let Some((_, sizes)) = SIZE_EXAMPLES.iter().find(|(arg, _)| *arg == id) {
                let sizes = sizes
                    .iter()
                    .map(|(size, help)| PossibleValue::new(size).help(help));
                arg.value_parser(PossibleValuesParser::new(sizes))
            } else if let Some(values) = FIXED_VALUES.iter().find(|(flag, _)| *flag == id) {
                // Without a hint, bash offers the values as words; a file name is still
                // completed where none of them matches (`-o default`).
                arg.value_parser(PossibleValuesParser::new(values.1.iter().copied()))
                    .value_hint(clap::ValueHint::Unknown)
            } else {
                arg
            }
        });
    }
    command
}

/// Appended to bash's script: after `--`, the words are a command line of its own (completed by
/// bash-completion's `_command_offset` where it is loaded, else commands then file names); a
/// signal name completes in any case; --report and --trace offer `-` besides files; a flag's
/// value that is a word from a list (a duration, a size, a signal) never falls back to file
/// names; and an empty word that is no flag's value is the command's place, where bash would
/// otherwise insert the `-` all the options share.
pub fn bash_extra() -> String {
    let command = command();
    let flags = |wanted: fn(&clap::Arg) -> bool| -> String {
        let args = command.get_arguments().filter(|arg| wanted(arg));
        let names = args.flat_map(|arg| {
            let longs = arg.get_long_and_visible_aliases().unwrap_or_default();
            let shorts = arg.get_short_and_visible_aliases().unwrap_or_default();
            let longs = longs.into_iter().map(|long| format!("--{long}"));
            longs.chain(shorts.into_iter().map(|short| format!("-{short}")))
        });
        names.collect::<Vec<_>>().join(" ")
    };
    let valued = flags(|arg| arg.get_action().takes_values());
    let worded = flags(|arg| !arg.get_possible_values().is_empty());
    BASH_EXTRA
        .replace("@VALUED@", &valued)
        .replace("@WORDED@", &worded)
        .replace("@FILE_OR_DASH@", &FILE_OR_DASH.join("|"))
}

const BASH_EXTRA: &str = r#"
_agentpipe_command_line() {
    local i cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            if declare -F _command_offset >/dev/null; then
                _command_offset $((i + 1))
            elif ((COMP_CWORD == i + 1)); then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return 0
        fi
    done
    if [[ $prev == -s || $prev == --signal ]]; then
        cur="${cur^^}"
    fi
    if ((COMP_CWORD > 1)) && [[ -z $cur && " @VALUED@ " != *" $prev "* ]]; then
        COMPREPLY=($(compgen -c -- "$cur"))
        return 0
    fi
    _agentpipe "$1" "$cur" "$3"
    case $prev in
        @FILE_OR_DASH@)
            [[ - == "$cur"* ]] && COMPREPLY+=(-)
            ;;
    esac
    if [[ " @WORDED@ " == *" $prev "* ]]; then
        compopt +o default +o bashdefault 2>/dev/null
    fi
}
complete -F _agentpipe_command_line -o bashdefault -o default agentpipe
"#;

/// Appended to fish's script: after `--`, the rest is completed as a command line of its own;
/// `-` besides the files of --report and --trace.
pub const FISH_EXTRA: &str = r#"
function __agentpipe_after_dashdash
    contains -- -- (commandline -opc)
end
function __agentpipe_command_line
    set -l tokens (commandline -opc)
    set -l at (contains -i -- -- $tokens)
    set -l rest $tokens[(math $at + 1)..-1] (commandline -ct)
    complete -C (string join -- ' ' (string escape -- $rest))
end
complete -c agentpipe -n __agentpipe_after_dashdash -f -a '(__agentpipe_command_line)'
complete -c agentpipe -l report -r -a '-' -d 'agentpipe\'s stderr'
complete -c agentpipe -l trace -r -a '-' -d 'agentpipe\'s stderr'
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Signal;
    use clap::Parser;

    #[test]
    fn completion_examples_are_accepted() {
        for example in duration_examples() {
            let name = example.get_name();
            assert!(crate::duration::parse_limit(name).is_ok(), "{example:?}");
        }
        for example in signal_examples() {
            assert!(example.get_name().parse::<Signal>().is_ok(), "{example:?}");
        }
        let parses = |arg: &str, value: &str| {
            let args = ["agentpipe", &format!("--{arg}"), value, "--", "true"];
            Cli::try_parse_from(args).is_ok()
        };
        for (arg, sizes) in SIZE_EXAMPLES {
            for (size, _) in sizes {
                assert!(parses(&arg.replace('_', "-"), size), "--{arg} {size}");
            }
        }
    }

    #[test]
    fn completion_examples_go_to_every_duration_and_signal_argument() {
        let with_examples = |command: clap::Command| {
            let mut ids: Vec<String> = command
                .get_arguments()
                .filter(|arg| {
                    arg.get_action().takes_values() && !arg.get_possible_values().is_empty()
                })
                .map(|arg| arg.get_id().to_string())
                .collect();
            ids.sort_unstable();
            ids
        };
        let mut expected: Vec<String> = DURATION_ARGS.iter().map(|id| id.to_string()).collect();
        expected.extend(
            [
                "protocol",
                "scope",
                "signal",
                "stderr",
                "stderr_tail",
                "trace_format",
                "trace_limit",
            ]
            .map(String::from),
        );
        expected.sort_unstable();
        assert_eq!(with_examples(command()), expected);
        // The definition that parses lists possible values for its enumerations only.
        assert_eq!(
            with_examples(Cli::command()),
            ["protocol", "scope", "trace_format"]
        );
        let order = |command: clap::Command| -> Vec<String> {
            command
                .get_arguments()
                .map(|arg| arg.get_id().to_string())
                .collect()
        };
        assert_eq!(order(command()), order(Cli::command()));
    }
}
