//! The command line's supervision on Windows: the command in a Job Object, agentpipe's stdin and
//! stdout relayed by a thread each, Ctrl-C / Ctrl-Break / the console closed as interrupts, the
//! parent's process handle waited on, all driving the same machine as on Unix.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::windows::io::AsRawHandle;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::program::{Supervised, say};
use super::{Cli, StderrTarget};
use crate::config::Settings;
use crate::exit_status::Status;
use crate::machine::Input;
use crate::machine::note::Note;
use crate::platform;
use crate::report::Start;
use crate::scope::Scope;
use crate::signals::Signal;
use crate::threaded::{Driver, Event, Pump, Pumps, Sink, Tail, Tell, Way};
use crate::timeline::Timeline;

/// Nothing to prepare: a closed standard handle reads as an error, which ends the relay.
pub(super) fn prepare() {}

/// Starts the command and supervises it to the end. `pid` is the command's, once it started.
pub(super) fn supervise(
    cli: &Cli,
    config: &Settings,
    scope: Scope,
    start: Start,
    pid: &mut Option<u32>,
) -> Result<Supervised> {
    refuse_unix_only(cli)?;
    let (sender, events) = mpsc::channel();
    let interrupts = sender.clone();
    platform::on_console_events(move |ctrl_c| {
        let signal = if ctrl_c { Signal::INT } else { Signal::TERM };
        let _ = interrupts.send(Event::Input(Input::Interrupt(signal)));
    })
    .context("cannot catch console events")?;
    // Watched from the start: a parent that exits while the command starts still counts.
    if cli.end_with_parent {
        watch_parent(sender.clone()).context("cannot watch agentpipe's parent")?;
    }
    let timeline = Timeline::new(start.instant, cli.verbose)
        .quiet(cli.quiet)
        .traced(super::destination::trace(cli, start)?);
    let mut tell = tell(timeline.clone());

    let mut command = Command::new(&cli.command[0]);
    command
        .args(&cli.command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let stderr = stderr_sink(cli, &mut command)?;
    let name = cli.command[0].to_string_lossy().to_string();
    let (mut child, contained) = match platform::spawn_contained(&mut command, scope) {
        Ok(started) => started,
        Err(error) => {
            let message = explain(&name, &error);
            say(&format!("agentpipe: {message}"));
            return Ok(Supervised::NotStarted {
                status: Status::of_spawn_error(&error),
                error: message,
            });
        }
    };
    *pid = Some(child.id());
    tell(
        &Note::Started {
            name: name.clone(),
            pid: child.id(),
        },
        false,
    );
    let armed = Note::Armed {
        sequence: config.sequence.to_string(),
        timeout: config.timeout,
        idle_timeout: config.idle_timeout,
        output_idle_timeout: config.output_idle_timeout,
    };
    tell(&armed, false);

    let mut pumps = Pumps::default();
    let stdin = child.stdin.take().expect("piped");
    let sink = Sink {
        handle: Some(stdin.as_raw_handle()),
        writer: Box::new(stdin),
        trace: timeline.trace().cloned(),
    };
    let input = Box::new(io::stdin());
    pumps.to_child = Some(Pump::start(Way::ToChild, input, sink, sender.clone())?);
    let stdout = child.stdout.take().expect("piped");
    let sink = Sink {
        handle: Some(io::stdout().as_raw_handle()),
        writer: Box::new(io::stdout()),
        trace: timeline.trace().cloned(),
    };
    pumps.from_child = Some(Pump::start(
        Way::FromChild,
        Box::new(stdout),
        sink,
        sender.clone(),
    )?);
    if let (Some(pipe), Some(tail)) = (child.stderr.take(), stderr) {
        pumps.relay_stderr(pipe, tail, sender.clone())?;
    }
    let hangs_up = !platform::is_disk_file(io::stdin().as_raw_handle());
    let driver = Driver::new(
        child,
        contained,
        (sender, events),
        pumps,
        config.clone(),
        start.instant,
        name,
        tell,
    )
    .context("supervising the command failed")?;
    let outcome = driver.relaying(hangs_up).run();
    timeline.finish();
    Ok(Supervised::Ended(Box::new(outcome)))
}

/// The flags that need what only Unix has, refused in one line before anything starts.
fn refuse_unix_only(cli: &Cli) -> Result<()> {
    if cli.pty {
        bail!("--pty needs a Unix pseudo-terminal; on Windows leave it out");
    }
    if cli.foreground {
        bail!("--foreground needs a Unix terminal's process groups; on Windows leave it out");
    }
    if !cli.forward.is_empty() {
        bail!(
            "--forward needs Unix signals; on Windows leave it out (Ctrl-C and Ctrl-Break start the close sequence)"
        );
    }
    if cli.protocol.is_some() {
        bail!("--protocol is not available on Windows yet; leave it out");
    }
    Ok(())
}

/// Sends `ParentExited` when agentpipe's parent process ends.
fn watch_parent(events: Sender<Event>) -> io::Result<()> {
    let parent = platform::parent_process()?;
    thread::Builder::new()
        .name("agentpipe parent".into())
        .spawn(move || {
            platform::wait_handle(parent.as_raw_handle(), None);
            let _ = events.send(Event::Input(Input::ParentExited));
        })?;
    Ok(())
}

/// The driver's notes to the timeline: the `-v` lines and the warnings on agentpipe's own
/// stderr, which never block, and every note to the trace.
fn tell(timeline: Timeline) -> Tell {
    Box::new(move |note: &Note, warning: bool| match warning {
        true => timeline.warn(note),
        false => timeline.say(note),
    })
}

/// Where the command's stderr goes: its own handle (`--stderr` alone), or through agentpipe
/// (`--stderr-tail`), to the `--stderr` file or agentpipe's stderr, keeping the tail.
fn stderr_sink(cli: &Cli, command: &mut Command) -> Result<Option<Tail>> {
    let file = match cli.stderr.as_ref().unwrap_or(&StderrTarget::Inherit) {
        StderrTarget::Inherit => None,
        StderrTarget::Null => Some(File::options().write(true).open("NUL")?),
        StderrTarget::File(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| {
                    format!(
                        "cannot open --stderr file '{}'; check the path and its permissions",
                        path.display()
                    )
                })?,
        ),
    };
    Ok(match (cli.stderr_tail, file) {
        (Some(size), file) => {
            command.stderr(Stdio::piped());
            let receiver: Box<dyn Write + Send> = match file {
                Some(file) => Box::new(file),
                None => Box::new(io::stderr()),
            };
            Some(Tail::new(Some(receiver), size))
        }
        (None, Some(file)) => {
            command.stderr(file);
            None
        }
        (None, None) => None,
    })
}

/// One line for the failure to start `name`.
fn explain(name: &str, error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => {
            format!("cannot run '{name}': not found; check the command name and PATH")
        }
        io::ErrorKind::PermissionDenied => {
            format!(
                "cannot run '{name}': permission denied; check that it is a program you may run"
            )
        }
        io::ErrorKind::Unsupported => error.to_string(),
        _ => format!("cannot run '{name}': {error}"),
    }
}
