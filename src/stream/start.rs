//! What every front end of the library shares: how a stream's child is started (its own process
//! group, an empty signal mask, a pidfd, the stderr relay, the trace), and the event loop that
//! closes it. The blocking [`Stream`](super::Stream) and the tokio one differ only in how they
//! wait.

use std::io;
use std::os::fd::OwnedFd;
use std::process::Command;
use std::time::{Instant, SystemTime};

use super::StreamOptions;
use crate::config::{Config, Settings};
use crate::event_loop::EventLoop;
use crate::machine::note::Note;
use crate::process::{ChildPipes, ChildProcess, SpawnOptions};
use crate::scope::Scope;
use crate::signals::{self, Signal};
use crate::stderr::StderrRelay;
use crate::timeline::Timeline;
use crate::trace::Recorder;

/// A stream's child, just started, with what the stream holds of it until it is closed.
pub(crate) struct Started {
    /// Its drop ends the child: a front end that fails to set up leaves nothing behind.
    pub child: ChildProcess,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    /// The child's stderr, copied by a thread of its own until the close hands it to the loop.
    pub stderr: StderrRelay,
    pub trace: Option<Recorder>,
    /// With a protocol ([`StreamOptions::protocol`]): the messages each way.
    #[cfg(feature = "json")]
    pub messages: Option<std::sync::Mutex<super::messages::Messages>>,
}

impl Started {
    /// Starts `command` as [`Stream::spawn_with`](super::Stream::spawn_with) documents. The
    /// idle timeouts of `options` are the front end's.
    pub fn spawn(command: &mut Command, options: StreamOptions) -> io::Result<Started> {
        if signals::is_ignored(Signal::CHLD) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "SIGCHLD is ignored in this program, so its children are reaped by the kernel; \
                 restore its default action before starting a stream",
            ));
        }
        let spawn_options = SpawnOptions {
            scope: options.scope.unwrap_or(Scope::Group),
            foreground: false,
            parent_death_signal: false,
            adopt_orphans: false,
            keep_ignored: Vec::new(),
            stdin: None,
            pipe_stderr: options.pipes_stderr(),
            stderr: None,
            handled: Vec::new(),
            argv_only: false,
            pty: None,
        };
        // The trace's times count from here.
        let trace = options
            .trace
            .map(|trace| Recorder::new(trace, Instant::now(), SystemTime::now()));
        #[cfg(feature = "json")]
        let messages = options.protocol.map(|protocol| {
            let messages = super::messages::Messages::new(protocol, trace.clone(), Instant::now());
            std::sync::Mutex::new(messages)
        });
        let (child, pipes) = ChildProcess::spawn(command, &spawn_options)?;
        let mut started = Started {
            child,
            stdin: pipes.stdin,
            stdout: pipes.stdout,
            stderr: StderrRelay::Untouched,
            trace,
            #[cfg(feature = "json")]
            messages,
        };
        if let Some(source) = pipes.stderr {
            started.stderr = StderrRelay::to_receiver(source, options.stderr, options.stderr_tail)?;
        }
        if let Some(recorder) = &started.trace {
            let name = command.get_program().to_string_lossy().to_string();
            let pid = started.child.pid();
            recorder.note(Instant::now(), &Note::Started { name, pid });
        }
        Ok(started)
    }
}

/// The loop that runs the close sequence of `config` on a stream's child, its pipes given back
/// (`None` for one already closed); nothing of the child's output goes anywhere but the trace.
pub(crate) fn closing_loop(
    child: ChildProcess,
    pipes: ChildPipes,
    stderr: StderrRelay,
    trace: Option<Recorder>,
    config: &Config,
) -> EventLoop {
    // A library says nothing on its host's stderr.
    let timeline = Timeline::new(Instant::now(), false)
        .quiet(true)
        .traced(trace);
    EventLoop::new(child, pipes, None, None, Settings::from(config), timeline).with_stderr(stderr)
}
