//! The `-v` timeline and the warnings on agentpipe's own stderr, each line stamped with the time
//! since agentpipe started, and the trace they are told to as well. The event loop writes to it
//! while it runs.
//!
//! Nothing here ever blocks: lines go through agentpipe's stderr outlet, which holds back what a
//! slow reader does not take yet and drops (counting them) the lines that do not fit; one line at
//! the end says how many were dropped, when it can be written.

use std::io::IsTerminal;
#[cfg(agentpipe_poll)]
use std::os::fd::OwnedFd;
#[cfg(agentpipe_poll)]
use std::sync::Arc;
use std::time::Instant;

use crate::machine::note::Note;
use crate::outlet::own_stderr;
use crate::trace::{self, Recorder};

/// Writes `agentpipe [+1.002s]: ...` lines, measured from agentpipe's start, and tells every
/// note to the trace, if there is one.
#[derive(Clone, Debug)]
pub struct Timeline {
    start: Instant,
    verbose: bool,
    quiet: bool,
    trace: Option<Recorder>,
}

impl Timeline {
    pub fn new(start: Instant, verbose: bool) -> Timeline {
        Timeline {
            start,
            verbose,
            quiet: false,
            trace: None,
        }
    }

    /// `-q`: warnings are not shown either.
    pub fn quiet(mut self, quiet: bool) -> Timeline {
        self.quiet = quiet;
        self
    }

    /// Every note is recorded in `trace` too, whether it is shown or not.
    pub fn traced(mut self, trace: Option<Recorder>) -> Timeline {
        self.trace = trace;
        self
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn trace(&self) -> Option<&Recorder> {
        self.trace.as_ref()
    }

    /// A timeline line, shown with `-v` only.
    pub fn say(&self, note: &Note) {
        self.tell(note, self.verbose);
    }

    /// A line shown unless `-q` was given: something the person must act on.
    pub fn warn(&self, note: &Note) {
        self.tell(note, !self.quiet);
    }

    fn tell(&self, note: &Note, shown: bool) {
        let now = Instant::now();
        // A text trace on stderr writes the very line the timeline would: once is enough.
        let traced = self
            .trace
            .as_ref()
            .is_some_and(|trace| trace.note(now, note) && trace.replaces_timeline());
        if shown && !traced {
            // With -v, a timeline line; otherwise a plain `agentpipe: ...` line.
            let line = if self.verbose {
                trace::line(now.saturating_duration_since(self.start), note)
            } else {
                format!("agentpipe: {note}\n")
            };
            own_stderr().push(line.as_bytes());
        }
    }

    /// An interrupt or Ctrl-Z came: if stderr is a terminal, it echoed `^C` or `^Z` where the
    /// next line would start, which then starts on a line of its own.
    pub fn interrupted(&self) {
        if std::io::stderr().is_terminal() {
            own_stderr().line_open(true);
        }
    }

    /// agentpipe's own stderr, to wait for (POLLOUT) while lines wait for it.
    #[cfg(agentpipe_poll)]
    pub fn own_stderr_waiting(&self) -> Option<Arc<OwnedFd>> {
        own_stderr().waiting()
    }

    /// The trace's descriptor, to wait for while records wait for it.
    #[cfg(agentpipe_poll)]
    pub fn trace_waiting(&self) -> Option<Arc<OwnedFd>> {
        self.trace.as_ref().and_then(Recorder::waiting)
    }

    /// When the trace's records written behind are due: [`Timeline::flush`] then.
    #[cfg(agentpipe_poll)]
    pub fn due(&self) -> Option<Instant> {
        self.trace.as_ref().and_then(Recorder::due)
    }

    /// Writes what waits, as far as each destination takes it now.
    #[cfg(agentpipe_poll)]
    pub fn flush(&self) {
        own_stderr().flush();
        if let Some(trace) = &self.trace {
            trace.flush();
        }
    }

    /// At the end of the run: how many lines were dropped, if any were, the trace's last
    /// records, then what waits on stderr, waiting a little for a reader that still reads.
    pub fn finish(&self) {
        let dropped = own_stderr().take_dropped();
        if dropped > 0 {
            self.tell(&Note::LinesDropped(dropped), true);
        }
        if let Some(code) = self.trace.as_ref().and_then(Recorder::finish) {
            self.tell(&Note::TraceFailed(code), !self.quiet);
        }
        own_stderr().drain();
    }
}
