//! The command line: the one definition behind `--help`, the man page and the completions.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use nix::sys::signal::Signal;

use crate::process::Scope;
use crate::sequence::{self, Limit, Sequence};
use crate::signals;
use crate::supervisor::Config;

const AFTER_HELP: &str = "\
Examples:
  Wrap an agent behind ssh so that Ctrl-C or the controller's EOF ends it in order:
    agentpipe -- ssh host agent --stdio
  The same through docker exec, which forwards no signals:
    agentpipe -- docker exec -i ctr agent
  git over ssh (git closes ssh's stdin, then waits for the answer):
    GIT_SSH_COMMAND='agentpipe --eof-grace inf -- ssh' git fetch
  A pipeline stage whose shutdown on signal is bounded:
    producer | agentpipe --eof-grace inf -- transform | consumer
  Watch a stubborn agent end, step by step:
    agentpipe -v --grace 1s -- sh -c 'trap \"\" TERM; sleep 100'";

/// Run a command behind pipes, relay stdin and stdout to it, and stop it in order: wait, close
/// its stdin, signal, SIGKILL.
///
/// agentpipe starts COMMAND with its stdin and stdout connected to agentpipe by pipes and relays
/// agentpipe's own stdin and stdout to it. When agentpipe's stdin ends, when agentpipe receives
/// SIGINT, SIGTERM or SIGHUP, when --timeout elapses, or when agentpipe's stdout is closed by its
/// reader, it runs the close sequence: each step acts, then waits until the command's processes
/// are gone or its time is up. It always reaps the command before exiting, and exits with the
/// command's status.
#[derive(Debug, Parser)]
#[command(
    name = "agentpipe",
    version,
    override_usage = "agentpipe [OPTIONS] -- COMMAND [ARG]...",
    after_help = AFTER_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// How long the first step waits for the command to exit on its own, its stdin still open,
    /// when a signal, --timeout or a closed stdout starts the sequence.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration)]
    pub wait: Wait,

    /// How long the command may take to exit after its stdin is closed, before it is signalled.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub grace: Wait,

    /// The --grace to use when agentpipe's own stdin ended. `inf` makes the end of input a plain
    /// half-close: the command runs on until it exits or another trigger comes (pipeline stages,
    /// git over ssh). Default: the value of --grace.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub eof_grace: Option<Wait>,

    /// How long the command may take to exit after the stop signal, before SIGKILL. Also how
    /// long processes left in the scope after the command exits have before SIGKILL.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub term_grace: Wait,

    /// The stop signal: a name or number (TERM, SIGTERM, int, 15).
    #[arg(short, long, value_name = "SIGNAL", default_value = "TERM", value_parser = signals::parse)]
    pub signal: Signal,

    /// The whole close sequence, instead of --wait, --grace, --signal and --term-grace:
    /// comma-separated steps `wait D`, `stdin D` or `SIGNAL D`, ending with `KILL`.
    /// Example: 'stdin 5s, INT 2s, TERM 5s, KILL'.
    #[arg(long, value_name = "STEPS", value_parser = Sequence::parse,
          conflicts_with_all = ["wait", "grace", "term_grace", "signal"])]
    pub sequence: Option<Sequence>,

    /// Start the close sequence this long after the start (exit status 124, or 137 when SIGKILL
    /// was needed).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Wait>,

    /// With --timeout, exit with the command's own status instead of 124 or 137.
    #[arg(long)]
    pub preserve_status: bool,

    /// How long output that still arrives after the command exited (from a process it started
    /// that holds its stdout) is relayed. Output already written when it exited is always
    /// delivered.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub drain: Wait,

    /// Where the command's stderr goes: `inherit` (agentpipe's stderr), `null`, or a file PATH,
    /// appended to.
    #[arg(long, value_name = "inherit|null|PATH", default_value = "inherit", value_parser = stderr_target)]
    pub stderr: StderrTarget,

    /// Keep the command in agentpipe's process group, so that it can use the terminal (it then
    /// gets the terminal's Ctrl-C itself). Implies --scope child.
    #[arg(long)]
    pub foreground: bool,

    /// What the sequence's signals reach and what may not outlive agentpipe: the command alone
    /// (`child`), its process group (`group`, the default), or every process it started, even
    /// those that left its group or were orphaned (`tree`, Linux only: daemons the command
    /// started, such as an ssh ControlPersist master, end with it).
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub scope: Option<ScopeArg>,

    /// Print a timeline of what happens, and what comes next, on stderr.
    #[arg(short, long)]
    pub verbose: bool,

    /// The command to run, and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// A duration argument: `None` is `inf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub Limit);

fn duration(text: &str) -> Result<Wait, String> {
    sequence::parse_duration(text).map(Wait)
}

/// Where the command's stderr goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StderrTarget {
    Inherit,
    Null,
    File(PathBuf),
}

fn stderr_target(text: &str) -> Result<StderrTarget, String> {
    Ok(match text {
        "inherit" => StderrTarget::Inherit,
        "null" => StderrTarget::Null,
        "" => return Err("give inherit, null or a file path".to_string()),
        path => StderrTarget::File(PathBuf::from(path)),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// The command alone.
    Child,
    /// The command's process group.
    Group,
    /// Every descendant of the command (Linux).
    Tree,
}

impl Cli {
    /// The sequence settings the flags describe.
    pub fn config(&self) -> Config {
        let sequence = self.sequence.clone().unwrap_or_else(|| {
            Sequence::standard(self.wait.0, self.grace.0, self.signal, self.term_grace.0)
        });
        Config {
            sequence,
            eof_grace: self.eof_grace.map(|wait| wait.0),
            timeout: self.timeout.and_then(|wait| wait.0),
            drain: self.drain.0,
        }
    }

    /// The scope, checked against --foreground.
    pub fn scope(&self) -> Result<Scope, String> {
        match (self.foreground, self.scope) {
            (true, Some(ScopeArg::Group)) => {
                Err("--foreground keeps the command in agentpipe's group, so --scope group cannot apply; drop one of them".into())
            }
            (_, Some(ScopeArg::Tree)) if cfg!(not(target_os = "linux")) => {
                Err("--scope tree needs Linux (a child subreaper); use --scope group".into())
            }
            (_, Some(ScopeArg::Tree)) => Ok(Scope::Tree),
            (true, _) | (false, Some(ScopeArg::Child)) => Ok(Scope::Child),
            (false, _) => Ok(Scope::Group),
        }
    }
}
