//! What agentpipe tells a person: the `-v` timeline and its warnings, on agentpipe's own stderr.

use std::fmt;
use std::io::Write;
use std::time::Instant;

/// Writes `agentpipe [+1.002s]: ...` lines, measured from agentpipe's start.
#[derive(Clone, Debug)]
pub struct Timeline {
    start: Instant,
    verbose: bool,
}

impl Timeline {
    pub fn new(start: Instant, verbose: bool) -> Timeline {
        Timeline { start, verbose }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// `+1.002s`: the time of `instant` since start, as the timeline shows it.
    pub fn offset(&self, instant: Instant) -> String {
        format!(
            "+{:.3}s",
            instant.saturating_duration_since(self.start).as_secs_f64()
        )
    }

    /// A timeline line, shown with `-v` only.
    pub fn say(&self, message: fmt::Arguments<'_>) {
        if self.verbose {
            self.write(message);
        }
    }

    /// A line shown whatever the verbosity: something the person must act on.
    pub fn warn(&self, message: fmt::Arguments<'_>) {
        self.write(message);
    }

    fn write(&self, message: fmt::Arguments<'_>) {
        let offset = self.offset(Instant::now());
        // A full or closed stderr must not stop the supervisor: the message is dropped.
        let _ = writeln!(std::io::stderr(), "agentpipe [{offset}]: {message}");
    }
}
