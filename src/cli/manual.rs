//! The parts of agentpipe(1) that are not about a single flag (the close sequence, signals,
//! exit statuses, the environment, the report, examples), and the examples that end `--help`.
//!
//! tests/generated.rs puts [`roff_sections`] between the OPTIONS that clap_mangen renders from
//! the [`Cli`](super::Cli) definition and its VERSION section, and checks the result in as
//! `man/agentpipe.1`.
//!
//! The sections are written in a small markup, turned into man(7) roff by [`roff_sections`]:
//! blocks are separated by blank lines; `## Title` is a subsection; a block whose first line is
//! `> TAG` is a tagged paragraph; a block of lines starting with `- ` is a bullet list (an item
//! goes on over lines indented by two spaces); a block whose lines are all indented by four
//! spaces is shown as typed; any other block is a paragraph. Within text, `` `word` `` is bold.

/// An example: what it shows, the command line, and (in the man page) more about it.
pub struct Example {
    pub what: &'static str,
    pub command: &'static str,
    pub more: &'static str,
}

pub const EXAMPLES: &[Example] = &[
    Example {
        what: "An agent behind ssh; Ctrl-C, or the end of the controller's input, ends it in order",
        command: "agentpipe -- ssh -o BatchMode=yes host agent --stdio",
        more: "ssh without a terminal forwards no signal to the remote command, but the end of its \
               input does cross. BatchMode=yes keeps ssh from asking for a password on the terminal, \
               which it cannot use from its own process group (or give `--foreground`).",
    },
    Example {
        what: "The same through docker exec, which forwards no signal",
        command: "agentpipe -- docker exec -i ctr agent",
        more: "On Ctrl-C the agent first sees its stdin end; the docker exec client is then \
               signalled and, if need be, killed. To bound the agent itself, run agentpipe in the \
               container as well: `agentpipe -- docker exec -i ctr agentpipe -- agent`.",
    },
    Example {
        what: "git over ssh (git closes ssh's stdin after sending a pack, then waits for the answer)",
        command: "GIT_SSH_COMMAND='agentpipe --eof-grace inf -- ssh' git fetch",
        more: "The end of input must not end ssh here, hence `--eof-grace inf`; a Ctrl-C still \
               ends it in order. rsync works the same way: `rsync -e 'agentpipe -- ssh' -a src/ \
               host:dst/`.",
    },
    Example {
        what: "A pipeline stage: the end of input is a plain half-close, a signal ends it in bounded time",
        command: "producer | agentpipe --eof-grace inf -- transform | consumer",
        more: "Bytes pass unchanged, the stage's exit status is transform's, and when consumer \
               goes away transform sees EPIPE as in a plain pipeline.",
    },
    Example {
        what: "Watch a stubborn agent (it ignores SIGTERM and its input) end, step by step",
        command: "agentpipe -v -- sh -c 'trap \"\" TERM; sleep 100'",
        more: "Press Ctrl-D: agentpipe closes the command's stdin, waits --grace (1s), sends \
               SIGTERM and SIGCONT, waits --term-grace (1s) and sends SIGKILL; it then dies by \
               SIGKILL like its command, and $? is 137. Press Ctrl-C instead: the sequence starts \
               at step 1 and each further Ctrl-C takes the next step at once, so three reach \
               SIGKILL; agentpipe then dies by SIGINT and $? is 130.",
    },
    Example {
        what: "Keep a record of how a run ended",
        command: "agentpipe --report /tmp/agent-run.json --timeout 10m -- agent",
        more: "The file holds one JSON object (see REPORT); `jq .trigger,.exit \
               /tmp/agent-run.json` tells what ended the run and how.",
    },
];

/// The examples that end `--help`.
pub fn help_examples() -> String {
    let mut text = String::from("Examples:");
    for example in EXAMPLES {
        text.push_str(&format!("\n  {}:\n    {}", example.what, example.command));
    }
    text.push_str("\n\nThe close sequence, signals, exit statuses and the report: man agentpipe");
    text
}

/// The man page's own sections, in order: (title, text in the markup of the module
/// documentation). EXAMPLES is added from [`EXAMPLES`].
pub const SECTIONS: &[(&str, &str)] = &[
    ("CLOSE SEQUENCE", CLOSE_SEQUENCE),
    ("RELAY", RELAY),
    ("SIGNALS", SIGNALS),
    ("EXIT STATUS", EXIT_STATUS),
    ("ENVIRONMENT", ENVIRONMENT),
    ("REPORT", REPORT),
];

const CLOSE_SEQUENCE: &str = "\
The close sequence is a list of steps. Each step acts, then waits up to its duration; every wait \
ends as soon as no process of the scope (`--scope`) is left, so that a grace period is an upper \
bound, never a sleep. The default list, which the step flags set:

> 1. wait (`--wait`, default 0s)
Nothing is done: the command may exit on its own, and its stdin stays open.

> 2. stdin (`--grace`, default 1s)
The command's stdin is closed and agentpipe stops reading its own. When the end of agentpipe's \
input started the sequence, the bytes already read are written to the command first; after any \
other trigger they are discarded (and counted in the -v timeline and the report).

> 3. signal (`--signal`, default TERM; `--term-grace`, default 1s)
The stop signal, then SIGCONT (so that a stopped process acts on it), is sent to the scope.

> 4. KILL
SIGKILL is sent to the scope, and agentpipe waits until the scope is gone.

## Triggers

> the end of agentpipe's stdin
It is forwarded: the command's stdin is closed once every byte read has been written. It also \
starts the sequence at the stdin step, with `--eof-grace` as that step's wait (by default the \
step's own, `--grace`). With `--eof-grace inf` the end of input is a plain half-close: the \
command runs on until it exits or another trigger comes. A `--grace inf` without `--eof-grace` \
does the same.

> SIGINT, SIGTERM or SIGHUP received by agentpipe
The sequence starts at step 1. A signal that was ignored when agentpipe \
started (nohup, `cmd &` in a script) stays ignored and is no trigger.

> `--timeout` elapsed since agentpipe started
The sequence starts at step 1.

> agentpipe's stdout reader went away
A write to it failed with EPIPE, or poll(2) reported an \
error or hang-up on it, even with nothing to write. agentpipe first closes its read end of the \
command's stdout, so that the command sees EPIPE or SIGPIPE as in a plain pipeline, then starts \
the sequence at step 1.

> the command exited, leaving processes in its scope
agentpipe takes the first signal step after the current one (unless the current step already is \
a signal step) and goes on with the sequence until the scope is empty: by default the remaining \
processes get the stop signal and SIGCONT, then SIGKILL after `--term-grace`, while the output \
drains.

## While the sequence runs

- Each SIGINT, SIGTERM or SIGHUP takes the next step at once: three Ctrl-C end the default \
sequence. Signals that arrive together, before agentpipe handled the first, count once. After \
SIGKILL there is nothing left to skip to, and an interrupt changes nothing (but see below).
- `--timeout` jumps to the first signal step after the current one (KILL when no other is left).
- The end of agentpipe's stdin is still forwarded to the command, and a closed stdout still \
closes the command's stdout, but neither changes the step. A stdin step reached after the \
command's stdin was already closed still waits its grace.
- With -v, agentpipe says what comes next, when, and how many interrupts reach SIGKILL.
- After SIGKILL, a process still not gone 5 seconds later (uninterruptible sleep) is named on \
stderr; one more interrupt then makes agentpipe exit with status 125 without waiting for it.

## The --sequence syntax

STEPS is the whole list, its steps separated by commas:

> wait D
Do nothing for up to D.

> stdin D
Close the command's stdin, then wait up to D.

> SIGNAL D
Send SIGNAL (spelled as for `--signal`: TERM, SIGTERM, int, 15), then SIGCONT unless SIGNAL is \
CONT, then wait up to D.

> KILL
Or SIGKILL, or 9: send SIGKILL and wait until the scope is gone. It must be the last step, takes \
no duration, and may not appear anywhere else.

A list that does not end with KILL is a usage error, and so is `--sequence` together with \
`--wait`, `--grace`, `--signal` or `--term-grace`. `--eof-grace` may be combined with \
`--sequence`: it replaces the stdin step's wait when the end of input starts the sequence. A list \
without a stdin step gets `stdin 0s` inserted before its first signal step; the end of input \
starts the sequence at the first stdin step. The default sequence is:

    --sequence 'wait 0s, stdin 1s, TERM 1s, KILL'

## Durations

Every DURATION is written as humantime (250ms, 1.5s, 1m30s), a bare number of seconds (2, 0.5), \
or inf for no limit. A step that waits inf waits until the scope is gone or an interrupt comes; \
`--timeout inf` is no timeout.";

const RELAY: &str = "\
- Bytes pass in order and unchanged, without line buffering: a partial line reaches the other \
side at once.
- Memory is bounded: each direction holds at most 64 KiB read and not yet written. When the \
command does not read its stdin, agentpipe stops reading its own, and the other way round.
- agentpipe never blocks on a descriptor it inherited and never sets O_NONBLOCK on one (its open \
file description is shared, with a whole terminal session for example). On Linux, a direction \
between two pipes moves bytes with splice(2).
- Half-close both ways: when the command's stdout ends, agentpipe closes its own stdout \
(shutdown(2) on a socket) and goes on waiting for the command; when the command closes its \
stdin, agentpipe stops reading its own stdin and closes it.
- Drain: when the command exits, the bytes already in its stdout pipe are always delivered. \
Bytes that arrive after that, from a process that inherited the pipe, are relayed for at most \
`--drain` (default 1s). agentpipe then exits without waiting for the end of its own stdin.
- The command's stderr goes where `--stderr` says; agentpipe's own messages always go to its own \
stderr. If descriptor 0, 1 or 2 is closed when agentpipe starts, it opens /dev/null there first.";

const SIGNALS: &str = "\
The command starts in a process group of its own (unless `--foreground`), so that a terminal's \
Ctrl-C reaches agentpipe alone, which runs the close sequence. The command starts with an empty \
signal mask and SIGPIPE at its default action; signals ignored when agentpipe started stay \
ignored, for agentpipe and for the command.

> SIGINT, SIGTERM, SIGHUP
Start the close sequence, or take its next step when it runs. SIGINT received before the command \
exited also makes agentpipe die by SIGINT (see EXIT STATUS).

> SIGUSR1, SIGUSR2, SIGWINCH, SIGQUIT
Forwarded to the command alone. SIGQUIT keeps its meaning, such as a thread dump from a Go or \
JVM agent.

> SIGTSTP (Ctrl-Z), SIGCONT (fg)
SIGTSTP is passed on to the command's process group, then agentpipe stops itself; SIGCONT \
continues agentpipe, which passes it on to the command's group.

> SIGTTIN, SIGTTOU
A command stopped by one of them, because it tried to use the terminal from its own process \
group (ssh asking for a password), is reported in one line that suggests `--foreground` or, for \
ssh, `-o BatchMode=yes` (-q silences it).

> What agentpipe sends
The close sequence's signals go to the scope: the command alone (`--scope child`), its process \
group (group, the default), or every process it started (tree, Linux). agentpipe never signals \
a recycled process id: the command is not reaped until its scope is empty, and on Linux \
single processes are signalled through pidfds.

> Parent death
On Linux, the command gets SIGKILL as its parent-death signal: a SIGKILLed agentpipe leaves no \
unsupervised command. Processes the command started still see only EOF or EPIPE.";

const EXIT_STATUS: &str = "\
The first entry that matches wins.

> 127
COMMAND was not found.

> 126
COMMAND was found but cannot be executed.

> 125
Any other setup or usage failure; or agentpipe gave up on a process that SIGKILL did not \
remove.

> death by SIGINT ($? is 130)
agentpipe received SIGINT before the command exited: it dies by SIGINT itself, so that a calling \
script stops too.

> 124, or 137
`--timeout` started the sequence: 124 when the command ended before SIGKILL, 137 when SIGKILL was \
sent. With `--preserve-status`, the entries below apply instead.

> N
The command exited with code N.

> death by signal S ($? is 128+S)
The command was killed by signal S: agentpipe dies by S itself, so that $? is what it would be \
without agentpipe.

To die by a signal, agentpipe turns core dumps off, restores the signal's default action, \
unblocks it and raises it; where that does not end it (as PID 1), it exits with 128+S. `--help` \
and `--version` exit 0. Errors are one line on stderr, starting with `agentpipe:`, that says what \
failed and what to do. A report that cannot be written is said so on stderr and changes no \
status.";

const ENVIRONMENT: &str = "\
agentpipe reads no environment variable of its own. COMMAND is looked up in PATH, and runs with \
agentpipe's environment, unchanged.

agentpipe is often named in a variable that another program reads to start its transport:

> GIT_SSH_COMMAND
git runs it instead of ssh: `GIT_SSH_COMMAND='agentpipe --eof-grace inf -- ssh'`.

> RSYNC_RSH
rsync runs it instead of ssh (as does its -e option): `RSYNC_RSH='agentpipe -- ssh'`.";

const REPORT: &str = "\
With `--report PATH` (`-` for stderr), agentpipe writes one JSON object on one line when it \
exits: after the command and its scope are gone, before agentpipe exits or dies by a signal. It \
is written too when COMMAND could not be started, but not after a usage error. A file is created \
or truncated. Text that is not UTF-8 (an argument) is converted with each invalid sequence \
replaced by U+FFFD. Times are seconds, with six decimals, since agentpipe started. Every field \
below is always present; null marks what does not apply.

> version
1. It changes only when a field changes meaning or goes away; new fields may appear.

> command
COMMAND and its arguments: an array of strings.

> pid
The command's process id; null if it could not be started.

> start
When agentpipe started, in UTC: \"2026-01-31T12:00:00.123456Z\".

> elapsed
Seconds from the start until the report was written.

> scope
\"child\", \"group\" or \"tree\".

> sequence
The close sequence, in the `--sequence` syntax: \"wait 0s, stdin 1s, TERM 1s, KILL\".

> trigger
What started the close sequence: \"eof\", the name of the signal received (\"SIGINT\", \
\"SIGTERM\", \"SIGHUP\"), \"timeout\", \"downstream-closed\" (agentpipe's stdout reader went \
away), \"child-exit\" (the command exited, leaving processes in its scope), or null when the \
command exited with nothing started.

> steps
The steps taken, in order: objects with step (its 1-based place in the sequence), action \
(\"wait\", \"stdin\", \"signal\" or \"kill\"), signal (the signal it sent: \"SIGTERM\", or \
\"SIGKILL\" for kill; null for wait and stdin) and at (seconds since the start).

> exit
An object. code: the command's exit code, or null; signal: the signal that killed it (\"SIGKILL\"), \
or null; status: the status agentpipe exits with, as $? shows it (128+S when it dies by signal S); \
status_signal: the signal agentpipe dies by, or null when it exits with status; error: why the \
command could not be started or supervised, or why agentpipe gave up on it, else null.

> bytes
to_child and from_child, each an object with relayed (bytes written to the command's stdin, or \
to agentpipe's stdout) and discarded (read but dropped: input the command never took, output \
after its reader went away). null when supervising failed.

> drain
limit: `--drain` in seconds, null for inf; cut: true when `--drain` ran out while a process still \
held the command's stdout. null when supervising failed.

> leftovers
pids: processes found in the scope after the command exited; signals: the signals the close \
sequence sent to the scope, in order (a signal step sends its signal then SIGCONT), when \
processes were left; else both are empty.

For example, after Ctrl-D to `agentpipe --report - -- cat`:

    {\"version\":1,\"command\":[\"cat\"],\"pid\":4242,
     \"start\":\"2026-01-31T12:00:00.123456Z\",\"elapsed\":2.104311,
     \"scope\":\"group\",\"sequence\":\"wait 0s, stdin 1s, TERM 1s, KILL\",
     \"trigger\":\"eof\",
     \"steps\":[{\"step\":2,\"action\":\"stdin\",\"signal\":null,\"at\":2.101002}],
     \"exit\":{\"code\":0,\"signal\":null,\"status\":0,\"status_signal\":null,\"error\":null},
     \"bytes\":{\"to_child\":{\"relayed\":6,\"discarded\":0},
              \"from_child\":{\"relayed\":6,\"discarded\":0}},
     \"drain\":{\"limit\":1.000000,\"cut\":false},
     \"leftovers\":{\"pids\":[],\"signals\":[]}}

(shown here over several lines; agentpipe writes it on one).";

/// The man page's own sections as roff, from [`SECTIONS`], EXAMPLES and SEE ALSO.
pub fn roff_sections() -> String {
    let mut out = String::new();
    for (title, text) in SECTIONS {
        out.push_str(&format!(".SH \"{title}\"\n"));
        render(&mut out, text);
    }
    out.push_str(".SH EXAMPLES\n");
    for example in EXAMPLES {
        let text = format!(
            "{}:\n\n    {}\n\n{}",
            example.what, example.command, example.more
        );
        render(&mut out, &text);
    }
    out.push_str(".SH \"SEE ALSO\"\n");
    render(
        &mut out,
        "timeout(1), nohup(1), kill(1), ssh(1), git(1), rsync(1), signal(7), prctl(2), splice(2)",
    );
    out
}

/// Renders `text`, in the markup of the module documentation, as roff.
fn render(out: &mut String, text: &str) {
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        let Some(first) = lines.first() else {
            continue;
        };
        if let Some(title) = first.strip_prefix("## ") {
            out.push_str(&format!(".SS \"{}\"\n", escape(title)));
            add_lines(out, &lines[1..]);
        } else if let Some(tag) = first.strip_prefix("> ") {
            out.push_str(".TP\n");
            out.push_str(&line(tag));
            add_lines(out, &lines[1..]);
        } else if first.starts_with("- ") {
            for item in lines {
                match item.strip_prefix("- ") {
                    Some(start) => {
                        out.push_str(".IP \\(bu 2\n");
                        out.push_str(&line(start));
                    }
                    None => out.push_str(&line(item.trim_start())),
                }
            }
        } else if lines.iter().all(|line| line.starts_with("    ")) {
            out.push_str(".PP\n.RS 4\n.nf\n");
            for shown in lines {
                out.push_str(&line(&shown[4..]));
            }
            out.push_str(".fi\n.RE\n");
        } else {
            out.push_str(".PP\n");
            add_lines(out, &lines);
        }
    }
}

fn add_lines(out: &mut String, lines: &[&str]) {
    for text in lines {
        out.push_str(&line(text));
    }
}

/// One line of text, with `` `bold` `` spans, ending with a newline.
fn line(text: &str) -> String {
    let mut out = String::new();
    for (index, part) in text.split('`').enumerate() {
        if index % 2 == 1 {
            out.push_str(&format!("\\fB{}\\fR", escape(part)));
        } else {
            out.push_str(&escape(part));
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out.push('\n');
    out
}

/// Text escaped for roff: backslashes, hyphens as minus signs (options, commands to type), and
/// straight apostrophes (the page's preamble defines `Aq`).
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_roff() {
        let mut out = String::new();
        render(
            &mut out,
            "Para `--flag` it's\nnext.\n\n## Sub\n\n> tag\nbody\n\n- one\n  more\n- two\n\n    .cmd -x \\n",
        );
        assert_eq!(
            out,
            ".PP\nPara \\fB\\-\\-flag\\fR it\\*(Aqs\nnext.\n.SS \"Sub\"\n.TP\ntag\nbody\n\
             .IP \\(bu 2\none\nmore\n.IP \\(bu 2\ntwo\n.PP\n.RS 4\n.nf\n\\&.cmd \\-x \\en\n.fi\n.RE\n"
        );
    }

    #[test]
    fn help_ends_with_the_examples() {
        let help = help_examples();
        for wanted in [
            "ssh",
            "docker exec",
            "GIT_SSH_COMMAND",
            "| consumer",
            "-v --",
        ] {
            assert!(help.contains(wanted), "{wanted} missing from {help}");
        }
    }
}
