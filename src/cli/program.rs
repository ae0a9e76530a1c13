//! The `agentpipe` program: parse the command line, start the command (through the
//! platform's supervisor: `run` on Unix, `run_windows` on Windows), write the report, and tell
//! `main` the status to end with.

use anyhow::{Context, Result};
use clap::Parser;
use clap::error::ErrorKind;

use super::supervisor::supervise;
use super::{Cli, Destination};
use crate::exit_status::{Status, USAGE};
use crate::outcome::Outcome;
use crate::platform;
use crate::report::{self, Ending, RunFacts, Start};

/// The program: runs agentpipe as its command line says and ends with the status it comes to.
pub fn main() -> ! {
    let start = Start::now();
    let status = run(start).unwrap_or_else(|error| {
        say(&format!("agentpipe: {error:#}"));
        Status::Code(USAGE)
    });
    status.exit()
}

/// What agentpipe says when no command was given (COMMAND is its only required argument).
const NO_COMMAND: &str =
    "no command given; usage: agentpipe [OPTIONS] -- COMMAND [ARG]... (see 'agentpipe --help')";

/// Runs agentpipe as its command line says, and returns the status to end with.
///
/// An `Err` is a usage error, reported before anything started (status 125). Every failure
/// after that is reported here, on stderr and in the report, and comes back as a status.
fn run(start: Start) -> Result<Status> {
    super::supervisor::prepare();
    if std::env::args_os().len() < 2 {
        anyhow::bail!(NO_COMMAND);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            let _ = error.print();
            return Ok(Status::Code(0));
        }
        // Options without a command: clap would say "the following required arguments were
        // not provided: <COMMAND>...".
        Err(error) if error.kind() == ErrorKind::MissingRequiredArgument => {
            anyhow::bail!(NO_COMMAND)
        }
        Err(error) => anyhow::bail!("{}", one_line(&error.to_string())),
    };
    let scope = cli.scope().map_err(anyhow::Error::msg)?;
    if cli.end_with_parent && !platform::HAS_PARENT_WATCH {
        anyhow::bail!("--end-with-parent needs Linux (a pidfd on the parent); leave it out here");
    }
    if let Some(report) = &cli.report {
        report
            .check()
            .with_context(|| format!("cannot use --report file {report}"))?;
    }
    let config = cli.config();
    if cli.protocol.is_none() && !config.sequence.messages().is_empty() {
        anyhow::bail!(
            "a send step writes its message as a frame of --protocol: add --protocol mcp (or lsp), \
             or drop the step"
        );
    }
    for message in config.sequence.messages() {
        if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(message) {
            anyhow::bail!(
                "the message of a send step is not JSON ({error}): write one JSON value, in single \
                 quotes: send '{{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}}' 1s"
            );
        }
    }

    let mut pid = None;
    let result = supervise(&cli, &config, scope, start, &mut pid);
    let (status, failure) = match &result {
        Ok(Supervised::Ended(outcome)) => (Status::of(outcome, cli.preserve_status), None),
        Ok(Supervised::NotStarted { status, error }) => (*status, Some(error.clone())),
        Err(error) => {
            say(&format!("agentpipe: {error:#}"));
            (Status::Code(USAGE), Some(format!("{error:#}")))
        }
    };

    if let Some(target) = &cli.report {
        let facts = RunFacts {
            command: &cli.command,
            start,
            scope,
            sequence: &config.sequence,
            drain: config.drain,
        };
        let ending = match (&result, &failure) {
            (Ok(Supervised::Ended(outcome)), _) => Ending::Supervised(outcome),
            (_, failure) => Ending::Failed {
                pid,
                error: failure.as_deref().unwrap_or_default(),
            },
        };
        let json = report::report(&facts, ending, status);
        if let Err(error) = report::line(&json).and_then(|line| target.write_all(&line)) {
            // The run's status stands: the report is about it, not part of it.
            say(&format!(
                "agentpipe: cannot write report to {target}: {error}; check the path and its permissions"
            ));
        }
    }
    Ok(status)
}

/// One line on agentpipe's stderr at exit, as the report goes there: never blocks, even when
/// nobody reads stderr (see [`Destination::write_all`]).
pub(super) fn say(line: &str) {
    let _ = Destination::Stderr.write_all(format!("{line}\n").as_bytes());
}

/// How supervising the command ended.
pub(super) enum Supervised {
    Ended(Box<Outcome>),
    /// The command could not be started: agentpipe exits with `status` (126, 127 or 125).
    NotStarted {
        status: Status,
        error: String,
    },
}

/// clap's message in one line, pointing at --help.
fn one_line(message: &str) -> String {
    // The message, then clap's tip (a similar argument), in one line; not its usage block.
    let parts: Vec<&str> = message
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect();
    let body = parts.join("; ");
    let body = body.strip_prefix("error: ").unwrap_or(&body);
    format!("{body} (see 'agentpipe --help')")
}
