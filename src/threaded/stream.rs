//! The library's stream core on Windows: the child in a Job Object, its stdin and stdout each
//! copied by a pump to or from a handoff that the caller's writes and reads use, so that a close
//! from any thread unblocks them at once.

use std::io::{self, Read, Write};
use std::os::windows::io::AsRawHandle;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use super::StreamOptions;
use super::driver::{Driver, Pumps};
use super::handle::{Stream, shared};
use super::handoff::Handoff;
use super::pump::{Pump, Sink, Way};
use super::tail::Tail;
use super::{Event, lock};
use crate::config::{Config, Settings};
use crate::machine::Input;
use crate::machine::note::Note;
use crate::outcome::{Outcome, Trigger};
use crate::platform::{self, Contained};
use crate::scope::Scope;
use crate::timeline::Timeline;
use crate::trace::Recorder;

pub(super) struct Inner {
    pid: u32,
    running: Mutex<Option<Running>>,
    stdin: Handoff,
    stdout: Handoff,
    outcome: Mutex<Option<Result<Outcome, Arc<io::Error>>>>,
}

/// What the close hands to the driver.
struct Running {
    child: Child,
    contained: Contained,
    pumps: Pumps,
    channel: (Sender<Event>, Receiver<Event>),
    name: String,
    trace: Option<Recorder>,
}

impl Stream {
    /// Starts `command` in a Job Object with piped stdin and stdout (its stderr is as `command`
    /// says: inherited by default).
    pub fn spawn(command: &mut Command) -> io::Result<Stream> {
        Stream::spawn_with(command, StreamOptions::default())
    }

    /// Starts `command` as [`Stream::spawn`] does, with `options`.
    pub fn spawn_with(command: &mut Command, options: StreamOptions) -> io::Result<Stream> {
        refuse_unix_only(&options)?;
        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        if options.pipes_stderr() {
            command.stderr(Stdio::piped());
        }
        let scope = options.scope.unwrap_or(Scope::Group);
        // The trace's times count from here.
        let trace = options
            .trace
            .map(|trace| Recorder::new(trace, Instant::now(), SystemTime::now()));
        let (mut child, contained) = platform::spawn_contained(command, scope)?;
        let (sender, events) = mpsc::channel();
        let (stdin, stdout) = (Handoff::default(), Handoff::default());
        let mut pumps = Pumps::default();
        if let Some(pipe) = child.stdin.take() {
            let sink = Sink {
                handle: Some(pipe.as_raw_handle()),
                writer: Box::new(pipe),
                trace: trace.clone(),
            };
            let source = Box::new(stdin.clone());
            pumps.to_child = Some(Pump::start(Way::ToChild, source, sink, sender.clone())?);
        }
        if let Some(pipe) = child.stdout.take() {
            let sink = Sink {
                handle: None,
                writer: Box::new(Ended(stdout.clone())),
                trace: trace.clone(),
            };
            pumps.from_child = Some(Pump::start(
                Way::FromChild,
                Box::new(pipe),
                sink,
                sender.clone(),
            )?);
        }
        if let Some(pipe) = child.stderr.take() {
            let tail = Tail::new(options.stderr, options.stderr_tail);
            pumps.relay_stderr(pipe, tail, sender.clone())?;
        }
        let name = command.get_program().to_string_lossy().to_string();
        if let Some(recorder) = &trace {
            let (name, pid) = (name.clone(), child.id());
            recorder.note(Instant::now(), &Note::Started { name, pid });
        }
        let inner = Inner {
            pid: child.id(),
            running: Mutex::new(Some(Running {
                child,
                contained,
                pumps,
                channel: (sender, events),
                name,
                trace,
            })),
            stdin,
            stdout,
            outcome: Mutex::new(None),
        };
        Ok(Stream {
            inner: Arc::new(inner),
        })
    }
}

impl Inner {
    pub(super) fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }

    pub(super) fn close_stdin(&self) {
        // The pump writes what it was handed, then closes the pipe.
        self.stdin.end();
    }

    pub(super) fn read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        self.stdout.receive(buffer)
    }

    pub(super) fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        self.stdin.hand(bytes)
    }

    pub(super) fn close(&self, config: &Config) -> io::Result<Outcome> {
        let mut outcome = lock(&self.outcome);
        if outcome.is_none() {
            // This unblocks pending reads and writes; the child's output is discarded from here.
            self.stdin.close();
            self.stdout.close();
            let result = self.supervise(config).map_err(Arc::new);
            *outcome = Some(result);
        }
        shared(outcome.as_ref().expect("set above"))
    }

    fn supervise(&self, config: &Config) -> io::Result<Outcome> {
        let running = lock(&self.running)
            .take()
            .ok_or_else(|| io::Error::other("the stream is already closed"))?;
        let Running {
            child,
            contained,
            pumps,
            channel,
            name,
            trace,
        } = running;
        // A library says nothing on its host's stderr: its notes go to the trace alone.
        let timeline = Timeline::new(Instant::now(), false)
            .quiet(true)
            .traced(trace);
        let told = timeline.clone();
        let tell = Box::new(move |note: &Note, _| told.say(note));
        let settings = Settings::from(config);
        let mut driver = Driver::new(
            child,
            contained,
            channel,
            pumps,
            settings,
            Instant::now(),
            name,
            tell,
        )?;
        driver.input(Input::Close(Trigger::Close));
        let outcome = driver.run();
        timeline.finish();
        Ok(outcome)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if lock(&self.running).is_some() {
            let _ = self.close(&Config::default());
        }
    }
}

/// The stdout pump's sink: the handoff, ended (reads return 0) when the pump's source ends.
struct Ended(Handoff);

impl Write for Ended {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.hand(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The options the threaded stream does not carry out yet, refused at the spawn rather than
/// ignored.
fn refuse_unix_only(options: &StreamOptions) -> io::Result<()> {
    let refused = |what: &str| {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{what} is not available in the Windows stream yet; leave it out"),
        ))
    };
    if options.idle_timeout.is_some() || options.output_idle_timeout.is_some() {
        return refused("an idle timeout");
    }
    if options.response_limit().is_some() {
        return refused("a response timeout");
    }
    #[cfg(feature = "json")]
    if options.protocol.is_some() {
        return refused("a protocol");
    }
    Ok(())
}
