use std::fs::OpenOptions;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use clap::error::ErrorKind;
use nix::sys::signal::Signal;

use agentpipe::cli::{Cli, StderrTarget};
use agentpipe::exit_status::{Status, USAGE};
use agentpipe::process::{ChildProcess, SpawnOptions};
use agentpipe::relay;
use agentpipe::report::Timeline;
use agentpipe::signals::SignalSource;
use agentpipe::supervisor::Supervisor;

fn main() {
    let start = Instant::now();
    let status = run(start).unwrap_or_else(|error| {
        eprintln!("agentpipe: {error:#}");
        Status::Code(USAGE)
    });
    status.exit()
}

fn run(start: Instant) -> Result<Status> {
    relay::fill_closed_std_fds();
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
        Err(error) => anyhow::bail!("{}", one_line(&error.to_string())),
    };
    let scope = cli.scope().map_err(anyhow::Error::msg)?;
    let timeline = Timeline::new(start, cli.verbose);
    let signals = SignalSource::install().context("cannot install signal handlers")?;
    let (input, output) = relay::take_std_fds().context("cannot set up stdin and stdout")?;

    let mut command = Command::new(&cli.command[0]);
    command.args(&cli.command[1..]).stderr(stderr(&cli.stderr)?);
    let options = SpawnOptions {
        scope,
        foreground: cli.foreground,
        parent_death_signal: true,
        keep_ignored: if signals.chld_was_ignored {
            vec![Signal::SIGCHLD]
        } else {
            Vec::new()
        },
    };
    let name = cli.command[0].to_string_lossy();
    let (child, pipes) = match ChildProcess::spawn(&mut command, &options) {
        Ok(started) => started,
        Err(error) => {
            eprintln!(
                "agentpipe: cannot run '{name}': {error}; check the command name, PATH and permissions"
            );
            return Ok(Status::of_spawn_error(&error));
        }
    };
    timeline.say(format_args!("started '{name}' as pid {}", child.pid()));
    let supervisor = Supervisor::new(
        child,
        pipes,
        Some(input),
        Some(output),
        cli.config(),
        timeline,
    );
    let outcome = supervisor
        .with_signals(signals)
        .run()
        .context("supervising the command failed")?;
    Ok(Status::of(&outcome, cli.preserve_status))
}

/// clap's message in one line, pointing at --help.
fn one_line(message: &str) -> String {
    let body: Vec<&str> = message
        .lines()
        .take_while(|line| !line.trim().is_empty() && !line.starts_with("Usage:"))
        .map(str::trim)
        .collect();
    let body = body.join(" ");
    let body = body.strip_prefix("error: ").unwrap_or(&body);
    format!("{body} (see 'agentpipe --help')")
}

fn stderr(target: &StderrTarget) -> Result<Stdio> {
    Ok(match target {
        StderrTarget::Inherit => Stdio::inherit(),
        StderrTarget::Null => Stdio::null(),
        StderrTarget::File(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| {
                    format!(
                        "cannot open --stderr file '{}'; check the path and its permissions",
                        path.display()
                    )
                })?;
            Stdio::from(file)
        }
    })
}
