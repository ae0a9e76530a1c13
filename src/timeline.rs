//! The `-v` timeline and the warnings on agentpipe's own stderr, each line stamped with the time
//! since agentpipe started. The event loop writes to it while it runs; the report, written once
//! the run is over, only reads when the run started ([`Start`]).

use std::cell::Cell;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{Instant, SystemTime};

/// When agentpipe started: the instant every offset counts from, and the wall-clock time the
/// report gives.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    pub instant: Instant,
    pub time: SystemTime,
}

impl Start {
    pub fn now() -> Start {
        Start {
            instant: Instant::now(),
            time: SystemTime::now(),
        }
    }
}

/// Writes `agentpipe [+1.002s]: ...` lines, measured from agentpipe's start.
#[derive(Clone, Debug)]
pub struct Timeline {
    start: Instant,
    verbose: bool,
    quiet: bool,
    /// The terminal echoed `^C` without a newline: the next line starts on a line of its own.
    after_echo: Cell<bool>,
}

impl Timeline {
    pub fn new(start: Instant, verbose: bool) -> Timeline {
        Timeline {
            start,
            verbose,
            quiet: false,
            after_echo: Cell::new(false),
        }
    }

    /// `-q`: warnings are not shown either.
    pub fn quiet(mut self, quiet: bool) -> Timeline {
        self.quiet = quiet;
        self
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

    /// A line shown unless `-q` was given: something the person must act on.
    pub fn warn(&self, message: fmt::Arguments<'_>) {
        if !self.quiet {
            self.write(message);
        }
    }

    /// An interrupt came: if stderr is a terminal, it echoed `^C` where the next line would
    /// start.
    pub fn interrupted(&self) {
        if std::io::stderr().is_terminal() {
            self.after_echo.set(true);
        }
    }

    /// A timeline line with `-v`; otherwise a plain `agentpipe: ...` line.
    fn write(&self, message: fmt::Arguments<'_>) {
        let newline = if self.after_echo.take() { "\n" } else { "" };
        // A full or closed stderr must not stop the supervisor: the message is dropped.
        let _ = if self.verbose {
            let offset = self.offset(Instant::now());
            writeln!(
                std::io::stderr(),
                "{newline}agentpipe [{offset}]: {message}"
            )
        } else {
            writeln!(std::io::stderr(), "{newline}agentpipe: {message}")
        };
    }
}
