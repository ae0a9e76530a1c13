//! The command line: the one definition behind `-h`, `--help`, the man page and the completions,
//! and the program that runs it (`run.rs`).
//!
//! Each flag's doc comment is its help: the first paragraph is the one line `-h` shows, the
//! whole comment is what `--help` and agentpipe(1) show. The examples that end `--help` are in
//! [`manual`].

// Read only to generate the completions, by the drift test.
#[cfg(test)]
mod completion;
mod destination;
#[cfg(test)]
mod generated;
mod manual;
#[cfg(agentpipe_poll)]
pub(crate) mod oom;
mod program;
mod size;
mod values;
// The supervision itself: the event loop on Unix, the threaded driver on Windows.
#[cfg(agentpipe_poll)]
mod run;
#[cfg(agentpipe_poll)]
mod spawn_error;
#[cfg(agentpipe_poll)]
use run as supervisor;
#[cfg(agentpipe_threads)]
mod run_windows;
#[cfg(agentpipe_threads)]
use run_windows as supervisor;

use destination::Destination;
pub use values::{ProtocolArg, ScopeArg, StderrTarget, TraceFormatArg, Wait};
use values::{duration, forward_signal, stderr_target, stop_signal, tail_size, text, trace_limit};

use std::ffi::OsString;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::{Parser, ValueHint};

use crate::config::Settings;
use crate::platform;
use crate::scope::Scope;
use crate::sequence::Sequence;
#[cfg(agentpipe_poll)]
use crate::signals::Handling;
use crate::signals::Signal;

pub use program::main;

/// Run a command behind pipes, relay stdin and stdout to it, and stop it in order: wait, close
/// its stdin, signal, SIGKILL.
///
/// agentpipe starts COMMAND with its stdin and stdout connected to agentpipe by pipes and relays
/// agentpipe's own stdin and stdout to it. When agentpipe's stdin ends (a pipe, socket or
/// terminal: the controller is done), when agentpipe receives SIGINT, SIGTERM or SIGHUP, when
/// --timeout or --idle-timeout elapses, when its parent exits (--end-with-parent), or when
/// agentpipe's stdout is closed by its reader, it runs the close sequence: each step acts, then
/// waits until the command's processes are gone or its time is up. Whenever the sequence sends a
/// signal, agentpipe says so in one line on stderr (unless -q). It always reaps the command before
/// exiting, and exits with the command's status.
#[derive(Debug, Parser)]
#[command(
    name = "agentpipe",
    version,
    override_usage = "agentpipe [OPTIONS] -- COMMAND [ARG]...",
    after_help = "See 'agentpipe --help' for details and examples, and agentpipe(1) for the close \
                  sequence, exit statuses and the report.",
    after_long_help = manual::help_examples(),
    max_term_width = 100
)]
pub struct Cli {
    /// How long step 1 waits for the command to exit on its own, its stdin still open.
    ///
    /// Step 1 is where SIGINT, SIGTERM, SIGHUP, --timeout and a closed stdout start the close
    /// sequence (the end of input starts it at step 2). Nothing is done to the command: the wait
    /// ends as soon as its processes are gone, or after DURATION. Example: --wait 2s lets an
    /// agent finish the answer it is writing before its stdin is closed.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "0s", value_parser = text(duration))]
    pub wait: Wait,

    /// How long step 2 waits after closing the command's stdin, before the stop signal.
    ///
    /// When the end of agentpipe's input started the sequence, the bytes already read for the
    /// command are written first; after any other trigger they are discarded. The wait ends as
    /// soon as the command's processes are gone. Example: --grace 5s for an agent that saves its
    /// state when its input ends.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = text(duration))]
    pub grace: Wait,

    /// Step 2's wait when the end of agentpipe's stdin starts the sequence [default: --grace].
    ///
    /// The end of a pipe, a socket or a terminal means the controller is done, and starts the
    /// sequence at step 2. The end of a regular file or of a device such as /dev/null (cron jobs,
    /// `cmd &` in scripts) only means the data ended: it is passed on to the command and starts
    /// nothing, unless --eof-grace is given. The value inf makes the end of input a plain
    /// half-close whatever stdin is: the command's stdin is closed and it runs on until it exits or
    /// another trigger comes, as git over ssh needs (git closes ssh's stdin after sending a
    /// pack, then waits for the answer). The wait counts quiet time: while the command uses the
    /// CPU (a tenth of the wait or more, or waits for it half the time) or writes output, the
    /// wait starts again, so that a pipeline stage that works after its input ended (sort, a
    /// compressor) keeps its output; -v says so once. An idle command is ended after the wait.
    /// Only the end of input's sequence is extended this way, never a signal's or a timeout's.
    /// Example: --eof-grace inf.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = text(duration))]
    pub eof_grace: Option<Wait>,

    /// How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU
    /// timeout's name).
    ///
    /// The stop signal (--signal) and then SIGCONT go to the whole scope (--scope); the wait ends
    /// as soon as its processes are gone. It is also the time processes left in the scope after
    /// the command exited have before SIGKILL, and the wait of the --stop-command step. Example:
    /// --term-grace 10s for an agent that writes out a large state on SIGTERM.
    #[arg(long, short = 'k', visible_alias = "kill-after", value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = text(duration))]
    pub term_grace: Wait,

    /// The stop signal that step 3 sends.
    ///
    /// A name with or without SIG, in any case, or a number: TERM, SIGTERM, int, 15. SIGCONT
    /// follows it, so that a stopped process acts on it. On Windows TERM is a Ctrl-Break event and
    /// INT a Ctrl-C event to the command's process group; other signals are refused (125).
    /// Example: -s INT for an agent that shuts down cleanly on Ctrl-C only.
    #[arg(short, long, value_name = "SIGNAL", allow_hyphen_values = true, default_value = "TERM", value_parser = text(stop_signal))]
    pub signal: Signal,

    /// The whole close sequence, instead of --wait, --grace, --signal and --term-grace.
    ///
    /// Comma-separated steps, taken in order, each waiting up to D: 'wait D' does nothing,
    /// 'stdin D' closes the command's stdin, 'run "CMD" D' runs CMD (see --stop-command), 'send
    /// JSON D' writes JSON (quoted as CMD is) to the command's stdin as a message of --protocol,
    /// 'SIGNAL D' sends SIGNAL and then SIGCONT; the last step is 'KILL', which sends SIGKILL and
    /// waits until the scope is gone. A list without a stdin step gets 'stdin 0s' before its first
    /// signal step. The flags' default is 'wait 0s, stdin 1s, TERM 1s, KILL'. Example:
    /// --sequence 'stdin 5s, run "docker exec ctr pkill -INT -x agent" 5s, TERM 2s, KILL'.
    #[arg(long, value_name = "STEPS", allow_hyphen_values = true, value_parser = text(Sequence::parse),
          conflicts_with_all = ["wait", "grace", "term_grace", "signal", "stop_command"])]
    pub sequence: Option<Sequence>,

    /// Run CMD as a step between closing stdin and the stop signal, to stop the command from
    /// outside.
    ///
    /// Through ssh and docker exec the far side sees only EOF: a command such as `docker exec ctr
    /// pkill -INT -x agent` can stop it another way. CMD runs through sh -c in a process group of
    /// its own that the sequence's signals never reach, with stdin from /dev/null and its output
    /// on agentpipe's stderr (never in the relayed output), and AGENTPIPE_PID (the command's pid),
    /// AGENTPIPE_TRIGGER and AGENTPIPE_STEP in its environment. Its step waits up to --term-grace
    /// for the command to exit; CMD itself is killed if it still runs when its step ends. On
    /// Windows CMD runs through cmd /c, outside the command's job, with the same variables.
    /// Example: --stop-command 'docker exec ctr pkill -INT -x agent'.
    #[arg(long, value_name = "CMD", allow_hyphen_values = true, value_hint = ValueHint::CommandString)]
    pub stop_command: Option<String>,

    /// Start the close sequence this long after agentpipe started: the stop signal comes
    /// --grace later.
    ///
    /// The timeout is when the ending starts, not when the command is gone: the sequence starts
    /// at step 1, so unlike timeout(1) the command's stdin is closed first and the stop signal
    /// follows --grace later (SIGKILL --term-grace after that): with the defaults a command that
    /// ignores all but SIGKILL is gone about --timeout + 2s after start. When the sequence
    /// already runs, the timeout takes its first signal step not yet taken. agentpipe then exits
    /// with status 124, or 137 if SIGKILL was sent (unless --preserve-status). 0 disables it, as
    /// in timeout(1). Default: no timeout. Example: --timeout 10m.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = text(duration))]
    pub timeout: Option<Wait>,

    /// Start the close sequence when no byte has moved either way for this long.
    ///
    /// A connection that stays up but carries nothing (a dead ssh or docker link that TCP does
    /// not notice) ends as --timeout would, with status 124 or 137. Bytes waiting for a reader
    /// that does not take them are not idleness: a slow reader is no stall. With --timeout,
    /// whichever comes first. Example: --idle-timeout 5m.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = text(duration))]
    pub idle_timeout: Option<Wait>,

    /// Start the close sequence when the command has written no output for this long, even while
    /// its input still flows.
    ///
    /// A CI system's "no output" timeout, for a hung build or agent; otherwise as --idle-timeout.
    /// Example: --output-idle-timeout 10m.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = text(duration))]
    pub output_idle_timeout: Option<Wait>,

    /// With --timeout or an idle timeout, exit with the command's own status instead of 124 or
    /// 137.
    #[arg(long)]
    pub preserve_status: bool,

    /// Start the close sequence when agentpipe's parent process exits (Linux, Windows).
    ///
    /// For stdio servers started by editors, MCP clients and CI runners: when the client dies,
    /// the server and what it started end too, even if something else still holds the pipes.
    /// The parent is watched through a pidfd (on Windows, a handle on the parent process); its
    /// threads exiting do not count. Refused (125)
    /// when the parent is init already (the process that started agentpipe is gone) and when
    /// agentpipe is PID 1: there is no parent that could exit. Example:
    /// --scope tree --end-with-parent -- npx -y some-server.
    #[arg(long)]
    pub end_with_parent: bool,

    /// How long output that arrives after the command exited is still relayed.
    ///
    /// What the command wrote before it exited is always delivered. Output that comes later is
    /// from a process it started that holds its stdout; it is relayed for at most DURATION (inf:
    /// until every holder closes it), then agentpipe exits. With the default --scope group, the
    /// rest of the command's group is signalled when the command exits, so the drain mostly
    /// serves processes outside the group (a daemon it started). Example: --drain 0s.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = text(duration))]
    pub drain: Wait,

    /// Where the command's stderr goes: inherit (or -), null, or a file [default: inherit; with
    /// --pty: the terminal].
    ///
    /// inherit and - are agentpipe's own stderr; null is /dev/null; anything else is a file,
    /// created if needed and appended to. agentpipe's own messages always go to its own stderr.
    /// With --pty and without this flag, the command's stderr is its terminal, as a terminal
    /// program expects: its errors are then part of the output. Example: --stderr agent.log.
    #[arg(long, value_name = "inherit|null|PATH",
          value_parser = OsStringValueParser::new().try_map(stderr_target), value_hint = ValueHint::FilePath)]
    pub stderr: Option<StderrTarget>,

    /// Pass the command's stderr through agentpipe, and put its last SIZE bytes in the report.
    ///
    /// The command's stderr is then a pipe that agentpipe relays to where --stderr says, keeping
    /// its last SIZE bytes for the report's stderr_tail (see REPORT in agentpipe(1)), so that a
    /// script learns why ssh or the agent failed. Output that arrives after the command exited
    /// is relayed for at most --drain, as its stdout is. Without this flag the command's stderr
    /// is left alone: a terminal stays a terminal. SIZE is bytes, with an optional unit (k and
    /// KiB are 1024 bytes, KB 1000; at most 1MiB), reserved at start (address space; memory
    /// only as stderr fills it). Example: --stderr-tail 4k --report run.json.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = text(tail_size))]
    pub stderr_tail: Option<usize>,

    /// Keep the command in agentpipe's process group, so that it can use the terminal.
    ///
    /// The command then gets the terminal's signals (Ctrl-C, Ctrl-\) itself: a Ctrl-C the
    /// terminal sent to the whole group is the command's (python's KeyboardInterrupt), and
    /// agentpipe waits for the command as a shell would; a kill aimed at agentpipe's pid still
    /// starts the close sequence. Use it for a command that asks for a password on the terminal,
    /// such as ssh without keys, or for a REPL. Implies --scope child; --foreground --scope group
    /// is a usage error. Refused on Windows (125).
    #[arg(long)]
    pub foreground: bool,

    /// Signals passed on to the command instead of starting the close sequence: SIG[,SIG...].
    ///
    /// Each signal named is sent to the command alone whenever agentpipe receives it, with -v
    /// saying so; the others keep their meaning (SIGINT, SIGTERM and SIGHUP start the close
    /// sequence unless named here). --forward INT makes Ctrl-C an interrupt for an agent being
    /// tested by hand, as dumb-init's --rewrite or watchexec's --map-signal do; SIGTERM still
    /// stops it. Signals agentpipe needs itself (CHLD, TSTP, CONT, TTIN, TTOU, PIPE) or cannot
    /// catch (KILL, STOP) are refused, and so is this flag on Windows (125), which has no signals
    /// to pass on. Example: --forward INT,USR1.
    #[arg(long, value_name = "SIG[,SIG...]", value_delimiter = ',', value_parser = text(forward_signal))]
    pub forward: Vec<Signal>,

    /// Run the command on a pseudo-terminal of its own, as ssh -t or script(1) do.
    ///
    /// The terminal is the command's stdin, stdout and controlling terminal (and its stderr,
    /// unless --stderr or --stderr-tail says otherwise), in a session of its own of which it is
    /// the leader: line editing, colours, job control, and programs that buffer their output
    /// when it is not a terminal work as in a terminal window (python3 -i, bash -i, a REPL, an
    /// agent's interactive mode). agentpipe relays its stdin to the terminal and the terminal to
    /// its stdout, so the output has a terminal's line endings (CR LF) and what is relayed to
    /// the command is echoed unless it turns echo off. The scope's group is the command's own.
    ///
    /// When agentpipe's stdin is a terminal, it is put in raw mode for the run and restored
    /// however the run ends: every key, Ctrl-C, Ctrl-D and Ctrl-Z included, goes to the
    /// command's terminal, whose program decides what it means (signal agentpipe to end it
    /// from outside). The command's window size follows agentpipe's terminal.
    ///
    /// The end of input on a terminal: the sequence's stdin step, and the end of agentpipe's
    /// own stdin, write the terminal's EOF character (stty's eof, Ctrl-D by default) after what
    /// was already relayed, twice after an unfinished line; a program reading lines takes it as
    /// the end of its input. When the step's wait ends with the command still there, agentpipe
    /// hangs the terminal up: the command's session gets SIGHUP, its output ends, and the next
    /// step follows at once. To give SIGHUP time, put a wait step after stdin: --sequence
    /// 'stdin 1s, wait 2s, TERM 1s, KILL'.
    ///
    /// Not with --foreground (the command has a terminal of its own) nor --protocol (a
    /// terminal echoes and rewrites what passes, so messages do not pass intact): both are usage
    /// errors. Refused on Windows (125). Example: agentpipe --pty -v -- python3 -i.
    #[arg(long, conflicts_with_all = ["foreground", "protocol"])]
    pub pty: bool,

    /// What the sequence's signals reach, and what may not outlive agentpipe [default: group].
    ///
    /// child: the command alone. group: its process group, the command and what it started
    /// that stayed in the group. tree (Linux only): every process it started, even those that
    /// left its group or were orphaned, since agentpipe becomes their subreaper; daemons the
    /// command started, such as an ssh ControlPersist master, end with it. cgroup (Linux,
    /// cgroup v2): every process of a cgroup agentpipe creates for the command below its own,
    /// which no fork or setsid leaves; the kernel kills them all at once, and the report gives
    /// their CPU time and peak memory. It needs a cgroup agentpipe may create children in (as
    /// root, or delegated: systemd-run --user --scope -p Delegate=yes agentpipe --scope cgroup
    /// -- make -j8). On Windows group and tree are the command's Job Object, which holds every
    /// process it starts (unless one asks to break away) and ends them all when agentpipe exits or
    /// is killed; child is the command alone, in no job; cgroup is refused (125).
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub scope: Option<ScopeArg>,

    /// Write a JSON report of the run to PATH when agentpipe exits (-: stderr).
    ///
    /// One JSON object, on one line: the command, its pid, the start time, the trigger, each
    /// step taken with its time, the exit, the bytes relayed each way, the drain and the
    /// processes left in the scope (see REPORT in agentpipe(1)). The file is created or
    /// truncated. When it cannot be written, agentpipe says so on stderr and exits with the
    /// status it would have had. Example: --report /tmp/agent-run.json.
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(Destination::parse), value_hint = ValueHint::FilePath)]
    pub report: Option<Destination>,

    /// Record every chunk relayed each way, and every event, in a trace at PATH (-: stderr).
    ///
    /// Each chunk the relay moves, to the command or from it, with the time since agentpipe
    /// started (the clock of -v), its direction and its length, in order with the events that -v
    /// tells: the start and pid, the end of input, the half-closes, the signals received, each
    /// step, the exit (see TRACE in agentpipe(1)). The file is created with mode 0600, as it holds
    /// whatever the protocol carries, or truncated (on Windows, with the permissions its
    /// directory gives). The trace never slows the relay down: when
    /// its destination falls behind, the bytes relayed meanwhile are counted and said in one
    /// line instead. Example: --trace /tmp/agent.trace, or --trace - -v to see it all on stderr.
    #[arg(long, value_name = "PATH", value_parser = OsStringValueParser::new().try_map(Destination::parse), value_hint = ValueHint::FilePath)]
    pub trace: Option<Destination>,

    /// How --trace writes: text, hex or jsonl.
    ///
    /// text: one header line per chunk ('agentpipe [+0.012s]: > 18 bytes to the child'), then
    /// its bytes below it, indented, with control characters and invalid UTF-8 escaped; events
    /// as the -v timeline writes them. hex: the same, with each chunk's bytes as a hex dump.
    /// jsonl: one JSON object per line and event, a chunk's bytes as a string where they are
    /// valid UTF-8, else in base64. Example: --trace-format jsonl, then jq 'select(.event ==
    /// "data")'.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub trace_format: TraceFormatArg,

    /// The most bytes --trace writes; its last line then says that it stopped.
    ///
    /// A size as --stderr-tail takes it (k, m and g, or KiB, MiB and GiB, are powers of 1024;
    /// KB, MB and GB powers of 1000), at least 1K. Example: --trace-limit 1G.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = text(trace_limit))]
    pub trace_limit: u64,

    /// Read the command's stdio as JSON-RPC messages: mcp (one per line) or lsp (Content-Length
    /// headers, also DAP).
    ///
    /// Bytes pass unchanged and at once, both ways. The trace then records messages, not chunks
    /// (see MESSAGES in agentpipe(1)); -v and the report name requests left unanswered; bytes on
    /// the command's stdout that are no frame (a log line) go to stderr, or the --stderr file,
    /// never to agentpipe's stdout. With lsp, the sequence gets a step 'shutdown 2s' before its
    /// stdin step: agentpipe sends the server shutdown (its own id; the answer is not relayed),
    /// then exit, as editors do, unless the client sent them itself. Refused on Windows (125),
    /// not available there yet. Example: --protocol mcp --trace mcp.trace.
    #[arg(long, value_enum, value_name = "PROTOCOL")]
    pub protocol: Option<ProtocolArg>,

    /// With --protocol: start the close sequence when a request has had no response for this
    /// long.
    ///
    /// The request is named in the line that says why; agentpipe then exits with 124, or 137 if
    /// SIGKILL was sent, as with --timeout. An MCP progress notification for the request
    /// (notifications/progress with its progressToken) restarts its clock. Requests either way
    /// count: the client's, and the command's own (sampling, workspace/configuration). Example:
    /// --response-timeout 2m.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, requires = "protocol", value_parser = text(duration))]
    pub response_timeout: Option<Wait>,

    /// Print a timeline of what happens, and what comes next, on stderr.
    ///
    /// Each line is stamped with the time since agentpipe started: the command's start and pid,
    /// the trigger, each step with what comes next, when, and how many interrupts reach SIGKILL,
    /// the exit and the step that ended it, the bytes relayed and discarded, and the processes
    /// left in the scope.
    #[arg(short, long)]
    pub verbose: bool,

    /// Do not print agentpipe's warnings, nor the line that says a signal was sent.
    ///
    /// Without -q, agentpipe says each signal the close sequence sends, that the command was
    /// stopped for reading the terminal, and that a process is still there after SIGKILL.
    /// Errors that end agentpipe (status 125, 126, 127) and a report that cannot be written are
    /// still printed. Cannot be combined with -v.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// The command to run, and its arguments.
    ///
    /// Give it after --, so that none of its options is taken for one of agentpipe's. It is
    /// looked up in PATH and runs with agentpipe's environment.
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND",
          value_hint = ValueHint::CommandWithArguments)]
    pub command: Vec<OsString>,
}

/// How long the LSP shutdown step waits for the server to answer and end: what
/// vscode-languageclient gives it.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Cli {
    /// The sequence settings the flags describe.
    pub fn config(&self) -> Settings {
        let sequence = self.sequence.clone().unwrap_or_else(|| {
            Sequence::standard(self.wait.0, self.grace.0, self.signal, self.term_grace.0)
        });
        let sequence = match &self.stop_command {
            Some(command) => sequence.run_before_signal(command.clone(), self.term_grace.0),
            None => sequence,
        };
        // An explicit --sequence is taken as written: it may name its own shutdown step.
        let lsp = self.protocol == Some(ProtocolArg::Lsp) && self.sequence.is_none();
        let sequence = match lsp {
            true => sequence.shutdown_first(Some(SHUTDOWN_WAIT)),
            false => sequence,
        };
        // 0 disables a timeout, as in timeout(1); so does inf.
        let enabled = |wait: Option<Wait>| wait.and_then(|wait| wait.0).filter(|d| !d.is_zero());
        Settings {
            sequence,
            eof_grace: self.eof_grace.map(|wait| wait.0),
            timeout: enabled(self.timeout),
            idle_timeout: enabled(self.idle_timeout),
            output_idle_timeout: enabled(self.output_idle_timeout),
            response_timeout: enabled(self.response_timeout),
            drain: self.drain.0,
        }
    }

    /// How agentpipe handles the signals it receives.
    #[cfg(agentpipe_poll)]
    pub(crate) fn handling(&self) -> Handling {
        Handling {
            forward: self.forward.clone(),
            foreground: self.foreground,
        }
    }

    /// The scope, checked against --foreground.
    pub fn scope(&self) -> Result<Scope, String> {
        match (self.foreground, self.scope.map(|scope| scope.0)) {
            (true, Some(Scope::Group)) => {
                Err("--foreground keeps the command in agentpipe's group, so --scope group cannot apply; drop one of them".into())
            }
            (_, Some(Scope::Tree)) if !platform::HAS_SUBREAPER => {
                Err("--scope tree needs Linux (a child subreaper); use --scope group".into())
            }
            (_, Some(Scope::Cgroup)) if !platform::HAS_CGROUP => {
                Err("--scope cgroup needs Linux (cgroup v2); use --scope group".into())
            }
            (_, Some(scope @ (Scope::Tree | Scope::Cgroup))) => Ok(scope),
            (true, _) | (false, Some(Scope::Child)) => Ok(Scope::Child),
            (false, _) => Ok(Scope::Group),
        }
    }
}
