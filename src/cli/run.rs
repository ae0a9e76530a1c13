//! The command line's supervision on Unix: start the command with its stdio, signals, parent
//! watch and trace, and run the event loop to the end.

use std::fs::{File, OpenOptions};
use std::io;
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::program::{Supervised, say};
use super::{Cli, StderrTarget, spawn_error};
use crate::config::Settings;
use crate::event_loop::EventLoop;
use crate::exit_status::Status;
use crate::machine::note::Note;
use crate::outlet::{Outlet, own_stderr};
use crate::platform;
use crate::process::{ChildProcess, PtyOptions, SpawnOptions};
use crate::relay::{self, Endpoint};
use crate::report::Start;
use crate::scope::Scope;
use crate::signals::{Signal, SignalSource};
use crate::stderr::StderrRelay;
use crate::timeline::Timeline;

/// Bytes of stray output held back for a `--stderr` file that is slow to take them.
const STRAY_QUEUE: usize = 256 * 1024;

/// What comes before the command line is read: stdin, stdout and stderr made real descriptors
/// if agentpipe was started with one closed.
pub(super) fn prepare() {
    relay::fill_closed_std_fds();
}

/// Starts the command and supervises it to the end. `pid` is the command's, once it started.
pub(super) fn supervise(
    cli: &Cli,
    config: &Settings,
    scope: Scope,
    start: Start,
    pid: &mut Option<u32>,
) -> Result<Supervised> {
    let timeline = Timeline::new(start.instant, cli.verbose)
        .quiet(cli.quiet)
        .traced(super::destination::trace(cli, start)?);
    let signals =
        SignalSource::install(cli.handling()).context("cannot install signal handlers")?;
    // Watched from the start: a parent that exits while the command starts still counts.
    let parent = match cli.end_with_parent {
        true => Some(platform::watch_parent().context("cannot watch agentpipe's parent")?),
        false => None,
    };
    let (input, output) = relay::take_std_fds().context("cannot set up stdin and stdout")?;

    let mut command = Command::new(&cli.command[0]);
    command.args(&cli.command[1..]);
    let (stderr_destination, stray, stderr_file) = stderr_destination(cli)?;
    let mut options = SpawnOptions {
        scope,
        foreground: cli.foreground,
        parent_death_signal: true,
        adopt_orphans: true,
        keep_ignored: if signals.chld_was_ignored {
            vec![Signal::CHLD]
        } else {
            Vec::new()
        },
        stdin: None,
        pipe_stderr: stderr_destination.is_some(),
        stderr: stderr_file,
        handled: signals.caught().to_vec(),
        argv_only: true,
        pty: cli.pty.then(|| PtyOptions {
            size: terminal([Some(&input), Some(&output)]).and_then(platform::window_size),
            stderr: cli.stderr.is_none() && cli.stderr_tail.is_none(),
        }),
    };
    // With --foreground, a terminal as stdin goes to the command itself: agentpipe never reads
    // it, so it never takes what the command reads from the terminal (a password, a yes).
    let input = if cli.foreground && input.is_terminal() {
        options.stdin = Some(input.into_fd());
        None
    } else {
        Some(input)
    };
    // Raw from here on, restored when `own_terminal` drops, whichever way this function
    // returns (a failed start, an error, a panic, a signal that ended the run: agentpipe dies of
    // one only later). Set before the command starts, so that nothing typed while it starts is
    // echoed or edited by agentpipe's own terminal and the command sees raw keys from its first.
    let (own_terminal, window) = match cli.pty {
        true => own_terminal(input.as_ref(), &output)?,
        false => (None, None),
    };
    let name = cli.command[0].to_string_lossy();
    let (child, mut pipes) = match ChildProcess::spawn(&mut command, &options) {
        Ok(started) => started,
        Err(error) => {
            let message = spawn_error::explain(&cli.command[0], &error);
            say(&format!("agentpipe: {message}"));
            return Ok(Supervised::NotStarted {
                status: Status::of_spawn_error(&error),
                error: message,
            });
        }
    };
    *pid = Some(child.pid());
    // From here an allocation that fails ends the command's scope with it (see cli::oom).
    super::oom::watch(&child, !cli.foreground);
    tell_started(&timeline, config, &name, child.pid());
    let stderr = match (pipes.stderr.take(), stderr_destination) {
        (Some(source), Some(destination)) => {
            StderrRelay::to_endpoint(source, destination, cli.stderr_tail.unwrap_or_default())
        }
        _ => StderrRelay::Untouched,
    };
    let terminal_stdin = input.is_none();
    let event_loop = EventLoop::new(child, pipes, input, Some(output), config.clone(), timeline);
    let event_loop = match terminal_stdin {
        true => event_loop.with_terminal_stdin(),
        false => event_loop,
    };
    let event_loop = match window {
        Some(own) => event_loop.with_window(own),
        None => event_loop,
    };
    let event_loop = match &own_terminal {
        Some(raw) => event_loop.with_raw_mode(Arc::clone(raw)),
        None => event_loop,
    };
    let event_loop = event_loop.with_signals(signals).with_stderr(stderr);
    let event_loop = match parent {
        Some(parent) => event_loop.with_parent(parent),
        None => event_loop,
    };
    let event_loop = match cli.protocol {
        Some(protocol) => event_loop.with_protocol(protocol.protocol(), stray),
        None => event_loop,
    };
    let outcome = event_loop.run().context("supervising the command failed")?;
    drop(own_terminal);
    Ok(Supervised::Ended(Box::new(outcome)))
}

/// Where the command's stderr goes through agentpipe (`--stderr-tail`): the `--stderr` file or
/// agentpipe's own stderr. Without `--stderr-tail`, a `--stderr` file is the command's own, and
/// `None` is returned.
///
/// With `--protocol`, also where stray output goes: the `--stderr` file, else (`None`)
/// agentpipe's own stderr. Last, the command's own stderr when it is the `--stderr` file.
fn stderr_destination(cli: &Cli) -> Result<(Option<Endpoint>, Option<Outlet>, Option<OwnedFd>)> {
    let stderr_file = open_stderr(cli.stderr.as_ref().unwrap_or(&StderrTarget::Inherit))?;
    let stray = match (&cli.protocol, &stderr_file) {
        (Some(_), Some(file)) => {
            let file = file.try_clone().context("cannot set up stderr")?;
            Some(Outlet::new(file, STRAY_QUEUE, false))
        }
        _ => None,
    };
    let (destination, own) = match (cli.stderr_tail, stderr_file) {
        (Some(_), Some(file)) => {
            let file = Endpoint::inherited(file.into(), true).context("cannot set up stderr")?;
            (Some(file), None)
        }
        (Some(_), None) => {
            let own = io::stderr().as_fd().try_clone_to_owned();
            let own = own.context("cannot set up stderr")?;
            let own = Endpoint::inherited(own, true).context("cannot set up stderr")?;
            (Some(own), None)
        }
        (None, Some(file)) => (None, Some(file.into())),
        (None, None) => (None, None),
    };
    Ok((destination, stray, own))
}

/// The timeline's first lines: the command started as `pid`, and what is armed.
fn tell_started(timeline: &Timeline, config: &Settings, name: &str, pid: u32) {
    let started = Note::Started {
        name: name.to_string(),
        pid,
    };
    timeline.say(&started);
    let armed = Note::Armed {
        sequence: config.sequence.to_string(),
        timeout: config.timeout,
        idle_timeout: config.idle_timeout,
        output_idle_timeout: config.output_idle_timeout,
    };
    timeline.say(&armed);
}

/// Under --pty: agentpipe's stdin, if it is a terminal, in raw mode until the guard drops; and
/// agentpipe's own terminal (its stdin's, else its stdout's), whose size the command's follows.
fn own_terminal(
    input: Option<&Endpoint>,
    output: &Endpoint,
) -> Result<(Option<Arc<platform::RawMode>>, Option<OwnedFd>)> {
    let raw = match input.filter(|input| input.is_terminal()) {
        Some(input) => Some(Arc::new(platform::RawMode::set(input.fd()).context(
            "cannot put the terminal in raw mode for --pty; leave --pty out, or give agentpipe a \
             terminal it may set",
        )?)),
        None => None,
    };
    // A terminal stderr is taken to be the same terminal: agentpipe's lines then return the
    // carriage themselves (and harmlessly so after the terminal is restored).
    if raw.is_some() && io::stderr().is_terminal() {
        own_stderr().end_lines_with_crlf();
    }
    let window = match terminal([input, Some(output)]) {
        Some(own) => Some(own.try_clone_to_owned()?),
        None => None,
    };
    Ok((raw, window))
}

/// agentpipe's own terminal, whose size the command's follows under --pty: its stdin's, else its
/// stdout's.
fn terminal(ends: [Option<&Endpoint>; 2]) -> Option<BorrowedFd<'_>> {
    ends.into_iter()
        .flatten()
        .find(|end| end.is_terminal())
        .map(Endpoint::fd)
}

/// The file `--stderr` names (/dev/null for null); `None` for agentpipe's own stderr.
fn open_stderr(target: &StderrTarget) -> Result<Option<File>> {
    Ok(match target {
        StderrTarget::Inherit => None,
        StderrTarget::Null => Some(File::options().write(true).open("/dev/null")?),
        StderrTarget::File(path) => {
            // Opened without waiting, so that a FIFO nobody reads is an error, not a hang; the
            // command then gets the file as a blocking one.
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(nix::libc::O_NONBLOCK)
                .open(path)
                .with_context(|| {
                    format!(
                        "cannot open --stderr file '{}'; check the path, its permissions, and \
                         that a FIFO has a reader",
                        path.display()
                    )
                })?;
            platform::set_nonblocking(file.as_fd(), false)?;
            Some(file)
        }
    })
}
