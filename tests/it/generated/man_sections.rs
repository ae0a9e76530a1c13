//! agentpipe(1)'s own sections, the ones not about a single flag: the close sequence, relay,
//! signals, exit statuses, the environment, the report, the trace, examples. They are the man page's
//! alone, so they live with the test that builds it; the library keeps what `--help` shows.

use crate::cli::manual;
use roff::{Inline, Roff, bold, roman};

/// The sections, in the page's order, as roff.
pub fn roff() -> Roff {
    let mut page = Page(Roff::new());
    for section in [
        close_sequence,
        relay,
        signals,
        exit_status,
        environment,
        report,
        trace,
        examples,
        see_also,
    ] {
        section(&mut page);
    }
    page.0
}

/// The blocks the page's own sections are made of. In text, `` `word` `` is bold (a flag, a
/// command to type); everything else is roman.
struct Page(Roff);

impl Page {
    fn section(&mut self, title: &str) {
        self.0.control("SH", [title]);
    }

    fn subsection(&mut self, title: &str) {
        // `.SS` alone takes its title from the next line, which is escaped like any text.
        self.0.control("SS", []).text(spans(title));
    }

    fn paragraph(&mut self, text: &str) {
        self.0.control("PP", []).text(spans(text));
    }

    /// A paragraph under a tag: a flag, a field, an exit status.
    fn tagged(&mut self, tag: &str, text: &str) {
        self.0.control("TP", []).text(spans(tag)).text(spans(text));
    }

    fn bullets(&mut self, items: &[&str]) {
        for item in items {
            self.0.control("IP", [r"\(bu", "2"]).text(spans(item));
        }
    }

    /// Lines shown as typed, indented.
    fn shown(&mut self, lines: &[&str]) {
        self.0
            .control("PP", [])
            .control("RS", ["4"])
            .control("nf", []);
        for line in lines {
            self.0.text([roman(*line)]);
        }
        self.0.control("fi", []).control("RE", []);
    }
}

/// `text` with its `` `word` `` spans in bold.
fn spans(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                bold(part)
            } else {
                roman(part)
            }
        })
        .collect()
}

fn close_sequence(page: &mut Page) {
    page.section("CLOSE SEQUENCE");
    page.paragraph(
        "\
        The close sequence is a list of steps. Each step acts, then waits up to its duration; \
        every wait ends as soon as no process of the scope (`--scope`) is left, so that a grace \
        period is an upper bound, never a sleep. The default list, which the step flags set:",
    );
    page.tagged(
        "1. wait (`--wait`, default 0s)",
        "Nothing is done: the command may exit on its own, and its stdin stays open.",
    );
    page.tagged(
        "2. stdin (`--grace`, default 1s)",
        "\
            The command's stdin is closed and agentpipe stops reading its own. When the end of \
            agentpipe's input started the sequence, the bytes already read are written to the \
            command first; after any other trigger they are discarded (and counted in the -v \
            timeline and the report).",
    );
    page.tagged(
        "3. signal (`--signal`, default TERM; `--term-grace`, default 1s)",
        "\
            The stop signal, then SIGCONT (so that a stopped process acts on it), is sent to the \
            scope.",
    );
    page.tagged(
        "4. KILL",
        "SIGKILL is sent to the scope, and agentpipe waits until the scope is gone.",
    );
    page.paragraph(
        "\
        `--stop-command CMD` adds a run step (below) between steps 2 and 3, waiting \
        `--term-grace`. Every signal the sequence sends is said in one line on stderr even \
        without -v (not with -q): what was sent, to what, why, and which flag changes it.",
    );
    page.subsection("Triggers");
    page.tagged(
        "the end of agentpipe's stdin",
        "\
            It is forwarded: the command's stdin is closed once every byte read has been \
            written. When stdin is a pipe, a socket or a terminal, it also starts the sequence at \
            the stdin step, with `--eof-grace` as that step's wait (by default the step's own, \
            `--grace`). When stdin is a regular file or a device such as /dev/null, its end only \
            means the data ended and starts nothing, unless `--eof-grace` is given. With \
            `--eof-grace inf` the end of input is a plain half-close: the command runs on until \
            it exits or another trigger comes. A `--grace inf` without `--eof-grace` does the \
            same.",
    );
    page.tagged(
        "SIGINT, SIGTERM or SIGHUP received by agentpipe",
        "\
            The sequence starts at step 1. A signal that was ignored when agentpipe started \
            (nohup, `cmd &` in a script) stays ignored and is no trigger.",
    );
    page.tagged(
        "`--timeout` elapsed since agentpipe started",
        "\
            The sequence starts at step 1: unlike timeout(1), the command's stdin is closed \
            first and the stop signal follows `--grace` later. `--timeout 0` disables it.",
    );
    page.tagged(
        "`--idle-timeout`: no byte moved either way; `--output-idle-timeout`: no output",
        "\
            The sequence starts at step 1, with the exit statuses of `--timeout`. Bytes waiting \
            for a reader that does not take them are no idleness. They do nothing once the \
            sequence runs.",
    );
    page.tagged(
        "agentpipe's parent exited (`--end-with-parent`, Linux)",
        "\
            The parent process is watched through a pidfd: its threads exiting do not count. The \
            sequence starts at step 1.",
    );
    page.tagged(
        "agentpipe's stdout reader went away",
        "\
            A write to it failed with EPIPE, or poll(2) reported an error or hang-up on it, even \
            with nothing to write. agentpipe first closes its read end of the command's stdout, \
            so that the command sees EPIPE or SIGPIPE as in a plain pipeline, then starts the \
            sequence at step 1.",
    );
    page.tagged(
        "the command exited, leaving processes in its scope",
        "\
            agentpipe takes the first signal step after the current one (unless the current step \
            already is a signal step) and goes on with the sequence until the scope is empty: by \
            default the remaining processes get the stop signal and SIGCONT, then SIGKILL after \
            `--term-grace`, while the output drains.",
    );
    page.subsection("While the sequence runs");
    page.bullets(&[
        "\
            Each SIGINT, SIGTERM or SIGHUP takes the next step at once: three Ctrl-C end the \
            default sequence. Signals that arrive together, before agentpipe handled the first, \
            count once. After SIGKILL there is nothing left to skip to, and an interrupt changes \
            nothing (but see below).",
        "\
            `--timeout` jumps to the first signal step after the current one (KILL when no other \
            is left); at the KILL step it changes nothing.",
        "\
            The end of agentpipe's stdin is still forwarded to the command, and a closed stdout \
            still closes the command's stdout, but neither changes the step. A stdin step \
            reached after the command's stdin was already closed still waits its grace.",
        "\
            With -v, agentpipe says what comes next, when, and how many interrupts reach \
            SIGKILL.",
        "\
            After SIGKILL, a process still not gone 5 seconds later (uninterruptible sleep) is \
            named on stderr; one more interrupt then makes agentpipe exit with status 125 \
            without waiting for it.",
        "\
            Once the command exited and only its output is left to relay, the first interrupt \
            stops reading more of it, and the next drops what is still queued for a reader that \
            does not take it.",
    ]);
    page.subsection("The --sequence syntax");
    page.paragraph("STEPS is the whole list, its steps separated by commas:");
    page.tagged("wait D", "Do nothing for up to D.");
    page.tagged("stdin D", "Close the command's stdin, then wait up to D.");
    page.tagged(
        "run \"CMD\" D",
        "\
            Run CMD through sh -c in a process group of its own, outside the scope, with stdin \
            from /dev/null, its output on agentpipe's stderr, and AGENTPIPE_PID, \
            AGENTPIPE_TRIGGER and AGENTPIPE_STEP in its environment; then wait up to D for the \
            command to exit. CMD is killed, with its group, if it still runs when its step ends. \
            A comma inside quotes belongs to CMD.",
    );
    page.tagged(
        "SIGNAL D",
        "\
            Send SIGNAL (spelled as for `--signal`: TERM, SIGTERM, int, 15), then SIGCONT unless \
            SIGNAL is CONT, then wait up to D.",
    );
    page.tagged(
        "KILL",
        "\
            Or SIGKILL, or 9: send SIGKILL and wait until the scope is gone. It must be the last \
            step, takes no duration, and may not appear anywhere else.",
    );
    page.paragraph(
        "\
        A list that does not end with KILL is a usage error, and so is `--sequence` together \
        with `--wait`, `--grace`, `--signal` or `--term-grace`. `--eof-grace` may be combined \
        with `--sequence`: it replaces the stdin step's wait when the end of input starts the \
        sequence. A list without a stdin step gets `stdin 0s` inserted before its first signal \
        step; the end of input starts the sequence at the first stdin step. The default sequence \
        is:",
    );
    page.shown(&["--sequence 'wait 0s, stdin 1s, TERM 1s, KILL'"]);
    page.subsection("Durations");
    page.paragraph(
        "\
        Every DURATION is written as humantime (250ms, 1.5s, 1m30s), a bare number of seconds \
        (2, 0.5), or inf for no limit; month and year units are refused (5M would be five \
        months). A step that waits inf waits until the scope is gone or an interrupt comes; \
        `--timeout inf` is no timeout. Durations are shown exactly as read (1s500ms).",
    );
}

fn relay(page: &mut Page) {
    page.section("RELAY");
    page.bullets(&[
        "\
            Bytes pass in order and unchanged, without line buffering: a partial line reaches \
            the other side at once.",
        "\
            Memory is bounded: each direction holds at most 64 KiB read and not yet written. \
            When the command does not read its stdin, agentpipe stops reading its own, and the \
            other way round.",
        "\
            agentpipe never blocks on a descriptor it inherited and never sets O_NONBLOCK on one \
            (its open file description is shared, with a whole terminal session for example). On \
            Linux it reads and writes a private non-blocking description of the same terminal, \
            pipe or FIFO, reopened through /proc/self/fd, and keeps the inherited one open beside \
            it; a pipe that cannot be reopened is used with RWF_NOWAIT, a socket with \
            MSG_DONTWAIT.",
        "\
            On Linux, a direction between two pipes moves bytes with splice(2). Once a stream \
            flows (a transfer of 16 KiB or more, or a full destination), the pipes at both ends \
            of that direction are grown to 1 MiB; a few small messages grow nothing.",
        "\
            Half-close both ways: when the command's stdout ends, agentpipe closes its own \
            stdout (shutdown(2) on a socket) and goes on waiting for the command; when the \
            command closes its stdin, agentpipe stops reading its own stdin and closes it.",
        "\
            Drain: when the command exits, the bytes already in its stdout pipe are always \
            delivered. Bytes that arrive after that, from a process that inherited the pipe, are \
            relayed for at most `--drain` (default 1s). agentpipe then exits without waiting for \
            the end of its own stdin. An interrupt after the command exited ends the drain at \
            once, and the next one drops what is still queued for a reader that does not take it.",
        "\
            The command's stderr goes where `--stderr` says; agentpipe's own messages always go \
            to its own stderr. If descriptor 0, 1 or 2 is closed when agentpipe starts, it opens \
            /dev/null there first.",
        "\
            With `--stderr-tail SIZE`, the command's stderr is a pipe that agentpipe relays, in \
            the same way as its stdout (never blocking, bytes unchanged), to where `--stderr` \
            says, and its last SIZE bytes go into the report (stderr_tail). After the command \
            exits it drains as stdout does: what it wrote is delivered, what a descendant \
            writes later is relayed for at most `--drain`. Without the flag the command's \
            stderr is left alone (a terminal stays a terminal).",
    ]);
}

fn signals(page: &mut Page) {
    page.section("SIGNALS");
    page.paragraph(
        "\
        The command starts in a process group of its own (unless `--foreground`), so that a \
        terminal's Ctrl-C reaches agentpipe alone, which runs the close sequence. The command \
        starts with an empty signal mask and SIGPIPE at its default action; signals ignored when \
        agentpipe started stay ignored, for agentpipe and for the command.",
    );
    page.tagged(
        "SIGINT, SIGTERM, SIGHUP",
        "\
            Start the close sequence, or take its next step when it runs. SIGINT received before \
            the command exited also makes agentpipe die by SIGINT (see EXIT STATUS).",
    );
    page.tagged(
        "SIGUSR1, SIGUSR2, SIGWINCH, SIGQUIT",
        "\
            Forwarded to the command alone. SIGQUIT keeps its meaning, such as a thread dump \
            from a Go or JVM agent.",
    );
    page.tagged(
        "SIGTSTP (Ctrl-Z), SIGCONT (fg)",
        "\
            SIGTSTP is passed on to the command's process group, then agentpipe stops itself; \
            SIGCONT continues agentpipe, which passes it on to the command's group.",
    );
    page.tagged(
        "SIGTTIN, SIGTTOU",
        "\
            A command stopped by one of them, because it tried to use the terminal from its own \
            process group (ssh asking for a password), is reported in one line that suggests \
            `--foreground` or, for ssh, `-o BatchMode=yes` (-q silences it).",
    );
    page.tagged(
        "What agentpipe sends",
        "\
            The close sequence's signals go to the scope: the command alone (`--scope child`), \
            its process group (group, the default), every process it started (tree, Linux), or \
            every process of a cgroup created for it (cgroup, Linux, cgroup v2). \
            agentpipe never signals a recycled process id: the command is not reaped until its \
            scope is empty, and on Linux single processes are signalled through pidfds.",
    );
    page.tagged(
        "Parent death",
        "\
            On Linux, the command gets SIGKILL as its parent-death signal: a SIGKILLed agentpipe \
            leaves no unsupervised command. Processes the command started still see only EOF or \
            EPIPE.",
    );
}

fn exit_status(page: &mut Page) {
    page.section("EXIT STATUS");
    page.paragraph("The first entry that matches wins.");
    page.tagged("127", "COMMAND was not found.");
    page.tagged("126", "COMMAND was found but cannot be executed.");
    page.tagged(
        "125",
        "\
            Any other setup or usage failure; or agentpipe gave up on a process that SIGKILL did \
            not remove.",
    );
    page.tagged(
        "death by SIGINT ($? is 130)",
        "\
            agentpipe received SIGINT before the command exited: it dies by SIGINT itself, so \
            that a calling script stops too.",
    );
    page.tagged(
        "124, or 137",
        "\
            `--timeout`, `--idle-timeout` or `--output-idle-timeout` started the sequence: 124 \
            when the command ended before SIGKILL, 137 when SIGKILL was sent. With `--preserve-status`, the entries below apply instead.",
    );
    page.tagged("N", "The command exited with code N.");
    page.tagged(
        "death by signal S ($? is 128+S)",
        "\
            The command was killed by signal S: agentpipe dies by S itself, so that $? is what \
            it would be without agentpipe.",
    );
    page.paragraph(
        "\
        To die by a signal, agentpipe turns core dumps off, restores the signal's default \
        action, unblocks it and raises it; where that does not end it (as PID 1), it exits with \
        128+S. `--help` and `--version` exit 0. Errors are one line on stderr, starting with \
        `agentpipe:`, that says what failed and what to do. A report that cannot be written is \
        said so on stderr and changes no status.",
    );
}

fn environment(page: &mut Page) {
    page.section("ENVIRONMENT");
    page.paragraph(
        "\
        agentpipe reads no environment variable of its own. COMMAND is looked up in PATH, and \
        runs with agentpipe's environment, unchanged.",
    );
    page.paragraph(
        "\
        agentpipe is often named in a variable that another program reads to start its \
        transport:",
    );
    page.tagged(
        "GIT_SSH_COMMAND",
        "git runs it instead of ssh: `GIT_SSH_COMMAND='agentpipe --eof-grace inf -- ssh'`.",
    );
    page.tagged(
        "RSYNC_RSH",
        "\
            rsync runs it instead of ssh (as does its -e option): `RSYNC_RSH='agentpipe -- \
            ssh'`.",
    );
}

fn report(page: &mut Page) {
    page.section("REPORT");
    page.paragraph(
        "\
        With `--report PATH` (`-` for stderr), agentpipe writes one JSON object on one line when \
        it exits: after the command and its scope are gone, before agentpipe exits or dies by a \
        signal. It is written too when COMMAND could not be started, but not after a usage \
        error. A file is created or truncated. Text that is not UTF-8 (an argument) is converted \
        with each invalid sequence replaced by U+FFFD. Times are seconds since agentpipe \
        started, to the microsecond (2.104311; 1.0 for one second). Every field below is always \
        present; null marks what does not apply.",
    );
    page.tagged(
        "version",
        "1. It changes only when a field changes meaning or goes away; new fields may appear.",
    );
    page.tagged("command", "COMMAND and its arguments: an array of strings.");
    page.tagged(
        "pid",
        "The command's process id; null if it could not be started.",
    );
    page.tagged(
        "start",
        "When agentpipe started, in UTC: \"2026-01-31T12:00:00.123456Z\".",
    );
    page.tagged(
        "elapsed",
        "Seconds from the start until the report was written.",
    );
    page.tagged("scope", "\"child\", \"group\", \"tree\" or \"cgroup\".");
    page.tagged(
        "sequence",
        "\
            The close sequence, in the `--sequence` syntax: \"wait 0s, stdin 1s, TERM 1s, \
            KILL\".",
    );
    page.tagged(
        "trigger",
        "\
            What started the close sequence: \"eof\", the name of the signal received \
            (\"SIGINT\", \"SIGTERM\", \"SIGHUP\"), \"timeout\", \"idle-timeout\", \
            \"output-idle-timeout\", \"parent-exit\", \"downstream-closed\" \
            (agentpipe's stdout reader went away), \"child-exit\" (the command exited, leaving \
            processes in its scope), or null when the command exited with nothing started.",
    );
    page.tagged(
        "steps",
        "\
            The steps taken, in order: objects with step (its 1-based place in the sequence), \
            action (\"wait\", \"stdin\", \"run\", \"signal\" or \"kill\"), signal (the signal \
            it sent: \"SIGTERM\", or \"SIGKILL\" for kill; null for wait, stdin and run) and at \
            (seconds since the start).",
    );
    page.tagged(
        "exit",
        "\
            An object. code: the command's exit code, or null; signal: the signal that killed it \
            (\"SIGKILL\"), or null; status: the status agentpipe exits with, as $? shows it \
            (128+S when it dies by signal S); status_signal: the signal agentpipe dies by, or \
            null when it exits with status; error: why the command could not be started or \
            supervised, or why agentpipe gave up on it, else null.",
    );
    page.tagged(
        "bytes",
        "\
            to_child and from_child, each an object with relayed (bytes written to the command's \
            stdin, or to agentpipe's stdout) and discarded (read but dropped: input the command \
            never took, output after its reader went away); stderr, the same for the command's \
            stderr with `--stderr-tail` (relayed to where `--stderr` says), else null. null when \
            supervising failed.",
    );
    page.tagged(
        "drain",
        "\
            limit: `--drain` in seconds, null for inf; cut: true when `--drain` ran out while a \
            process still held the command's stdout (or its stderr, with `--stderr-tail`). null \
            when supervising failed.",
    );
    page.tagged(
        "leftovers",
        "\
            pids: processes found in the scope after the command exited; signals: the signals \
            the close sequence sent to the scope, in order (a signal step sends its signal then \
            SIGCONT), when processes were left; else both are empty.",
    );
    page.tagged(
        "cgroup",
        "\
            With --scope cgroup, cpu, cpu_user, cpu_system: the CPU time of the processes of the \
            command's cgroup in seconds (from its cpu.stat); memory_peak: the most memory they \
            used at once, in bytes (its memory.peak), null where the memory controller is not \
            enabled for it. null for the other scopes and when the command did not start.",
    );
    page.tagged(
        "quiet_since",
        "\
            With an idle trigger: when bytes last moved in the direction that went quiet; else \
            null.",
    );
    page.tagged(
        "commands",
        "\
            The commands run steps started, each with step, command, pid (null when it could \
            not start), code or signal (both null when it was killed at the end of its step), \
            ended (it still ran when its step ended) and error (why it could not start).",
    );
    page.tagged(
        "stderr_tail",
        "\
            With `--stderr-tail SIZE`: the last SIZE bytes of the command's stderr, as a string \
            (often why it failed: ssh's \"Connection refused\", an agent's error). It starts at \
            the first whole character (the limit may cut one in two), and each sequence that is \
            not UTF-8 is replaced by U+FFFD. null without the flag.",
    );
    page.paragraph("For example, after Ctrl-D to `agentpipe --report - -- cat`:");
    page.shown(&[
        r#"{"version":1,"command":["cat"],"pid":4242,"#,
        r#" "start":"2026-01-31T12:00:00.123456Z","elapsed":2.104311,"#,
        r#" "scope":"group","sequence":"wait 0s, stdin 1s, TERM 1s, KILL","#,
        r#" "trigger":"eof","#,
        r#" "steps":[{"step":2,"action":"stdin","signal":null,"at":2.101002}],"#,
        r#" "exit":{"code":0,"signal":null,"status":0,"status_signal":null,"error":null},"#,
        r#" "bytes":{"to_child":{"relayed":6,"discarded":0},"#,
        r#"          "from_child":{"relayed":6,"discarded":0},"stderr":null},"#,
        r#" "drain":{"limit":1.0,"cut":false},"#,
        r#" "leftovers":{"pids":[],"signals":[]},"cgroup":null,"#,
        r#" "quiet_since":null,"commands":[],"stderr_tail":null}"#,
    ]);
    page.paragraph("(shown here over several lines; agentpipe writes it on one).");
}

fn trace(page: &mut Page) {
    page.section("TRACE");
    page.paragraph(
        "\
        With `--trace PATH` (`-` for stderr), agentpipe records every chunk relayed each way, with \
        the time since it started (the clock of `-v`), its direction and its length, in order \
        with every event the `-v` timeline tells. A chunk is what one move of the relay carried. \
        The file is created with mode 0600, or truncated and narrowed to 0600; a FIFO is opened \
        without waiting. `--trace-limit` caps its size; the last line then says the trace \
        stopped, and the relay goes on untraced.",
    );
    page.paragraph(
        "\
        The trace never slows the relay down nor stops it. Between two pipes the relay stays \
        zero-copy: tee(2) duplicates the bytes into the trace's own pipe before each splice. The \
        trace is written without blocking; when its destination is slower than the relay, at \
        most 4 MiB of records wait, and what is relayed meanwhile is counted instead (a \
        skipped event, per direction) once it catches up. agentpipe's own lines on stderr (the \
        timeline, warnings) are written the same way, through a private non-blocking \
        description of the pipe or terminal: up to 256 KiB wait for a slow reader, the rest is \
        dropped, and one line at exit says how many lines were.",
    );
    page.subsection("Text and hex");
    page.paragraph(
        "\
        One header line per event, as the timeline writes it. A chunk's header reads \
        `agentpipe [+0.004s]: > 50 bytes to the child` (< and from the child the other way); \
        its bytes follow, indented by two spaces: as text, with \\\\, control characters (\\n, \
        \\r, \\t, \\0, \\x1b, \\u{85}) and invalid UTF-8 (\\xff) escaped and a line break after \
        each \\n; or, with `--trace-format hex`, as hexdump -C shows them.",
    );
    page.shown(&[
        "agentpipe [+0.004s]: > 50 bytes to the child",
        r#"  {"id":1,"method":"ping"}\n"#,
        r#"  {"id":2,"method":"ping"}\n"#,
        "agentpipe [+0.004s]: end of input",
        "agentpipe [+0.005s]: < 25 bytes from the child",
        r#"  {"id":1,"result":"pong"}\n"#,
    ]);
    page.subsection("JSON lines");
    page.paragraph(
        "\
        With `--trace-format jsonl`, one JSON object per line and event; fields that do not \
        apply are left out.",
    );
    page.tagged("t", "Seconds since agentpipe started, to the microsecond.");
    page.tagged(
        "event",
        "\
            \"trace\" (the first line), \"data\", \"skipped\", \"lost\" (events not recorded), \
            \"stopped\", or the timeline's event: \"started\", \"armed\", \"end_of_input\", \
            \"data_ended\", \"forwarded_eof\", \"closed_child_stdin\", \"child_closed_stdin\", \
            \"child_output_ended\", \"closed_output\", \"output_reader_gone\", \"drain_over\", \
            \"output_dropped\", \"stderr_drain_over\", \"stderr_relayed\", \
            \"input_discarded\", \"forwarding\", \"suspending\", \"resumed\", \
            \"stopped_by_terminal\", \"run_started\", \"run_failed\", \"run_exited\", \
            \"run_ended\", \"unkillable\", \"sequence_started\", \"step\", \"received\", \
            \"sent\", \"timeout\", \"eof_grace_inf\", \"child_exited\", \"still_in_scope\", \
            \"scope_empty\", \"lines_dropped\", \"done\".",
    );
    page.tagged("dir", "data and skipped: \"to_child\" or \"from_child\".");
    page.tagged(
        "len",
        "\
            data: the chunk's length in bytes; skipped: bytes relayed and not recorded; lost: \
            events not recorded; stopped: the limit.",
    );
    page.tagged(
        "text",
        "data: the chunk's bytes, when they are valid UTF-8.",
    );
    page.tagged(
        "base64",
        "data: the chunk's bytes otherwise, in base64 with padding.",
    );
    page.tagged(
        "message",
        "Every event but data: its line in the text trace.",
    );
    page.tagged(
        "start, version",
        "trace: when agentpipe started, in UTC, and 1, the version of this schema.",
    );
    page.shown(&[
        r#"{"t":0.004902,"event":"data","dir":"to_child","len":4,"base64":"YQD/Cg=="}"#,
        r#"{"t":0.005109,"event":"end_of_input","message":"end of input"}"#,
    ]);
}

/// The examples that end `--help`, each with more about it.
fn examples(page: &mut Page) {
    // In the order of `manual::EXAMPLES`.
    const MORE: [&str; 6] = [
        "\
        ssh without a terminal forwards no signal to the remote command, but the end of its \
        input does cross. BatchMode=yes keeps ssh from asking for a password on the terminal, \
        which it cannot use from its own process group (or give `--foreground`).",
        "\
        On Ctrl-C the agent first sees its stdin end; the docker exec client is then signalled \
        and, if need be, killed. To bound the agent itself, run agentpipe in the container as \
        well: `agentpipe -- docker exec -i ctr agentpipe -- agent`.",
        "\
        The end of input must not end ssh here, hence `--eof-grace inf`; a Ctrl-C still ends it \
        in order. rsync works the same way: `rsync -e 'agentpipe -- ssh' -a src/ host:dst/`.",
        "\
        Bytes pass unchanged, the stage's exit status is transform's, and when consumer goes \
        away transform sees EPIPE as in a plain pipeline.",
        "\
        Press Ctrl-D: agentpipe closes the command's stdin, waits --grace (1s), sends SIGTERM \
        and SIGCONT, waits --term-grace (1s) and sends SIGKILL; it then dies by SIGKILL like its \
        command, and $? is 137. Press Ctrl-C instead: the sequence starts at step 1 and each \
        further Ctrl-C takes the next step at once, so three reach SIGKILL; agentpipe then dies \
        by SIGINT and $? is 130.",
        "\
        The file holds one JSON object (see REPORT); `jq .trigger,.exit /tmp/agent-run.json` \
        tells what ended the run and how.",
    ];
    assert_eq!(
        manual::EXAMPLES.len(),
        MORE.len(),
        "each example of --help has its paragraph in the man page"
    );
    page.section("EXAMPLES");
    for (example, more) in manual::EXAMPLES.iter().zip(MORE) {
        page.paragraph(&format!("{}:", example.what));
        page.shown(&[example.command]);
        page.paragraph(more);
    }
}

fn see_also(page: &mut Page) {
    page.section("SEE ALSO");
    page.paragraph(
        "timeout(1), nohup(1), kill(1), ssh(1), git(1), rsync(1), signal(7), prctl(2), splice(2)",
    );
}
