//! The settings of a close: the library's [`Config`], and the [`Settings`] of a whole run that
//! the state machine reads, which the command line fills from its flags.

use std::time::Duration;

use crate::sequence::{Limit, Sequence};

/// How a [`Stream`](crate::Stream) is closed: the sequence, a bound on its graceful steps, and
/// how long the output of the child's descendants is still read after the child exits.
///
/// ```
/// use std::time::Duration;
/// use agentpipe::Config;
///
/// let config = Config::new()
///     .sequence("stdin 5s, INT 2s, KILL".parse()?)
///     .drain(Some(Duration::from_millis(200)));
/// assert_eq!(config.sequence.to_string(), "stdin 5s, INT 2s, KILL");
/// # Ok::<(), agentpipe::ParseError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The close sequence: `wait 0s, stdin 1s, TERM 1s, KILL` by default.
    pub sequence: Sequence,
    /// Bounds the graceful steps: this long after the close starts, the sequence skips to its
    /// first signal step not yet taken, as `--timeout` does while a sequence runs (`wait 30s,
    /// stdin 30s, TERM 2s, KILL` with a timeout of 5 s signals TERM after 5 s at the latest).
    /// `None` (the default): each step waits its own time.
    pub timeout: Option<Duration>,
    /// How long output from the child's descendants (which may hold its stdout or stderr open)
    /// is still read after the child exits, before the pipes are closed: 1 s by default; `None`
    /// reads until they close it.
    pub drain: Limit,
}

impl Config {
    /// The default: `wait 0s, stdin 1s, TERM 1s, KILL`, and a drain of 1 s.
    pub fn new() -> Config {
        Config::default()
    }

    /// Closes with `sequence`.
    pub fn sequence(mut self, sequence: Sequence) -> Config {
        self.sequence = sequence;
        self
    }

    /// Skips to the first signal step not yet taken `timeout` after the close starts.
    pub fn timeout(mut self, timeout: Duration) -> Config {
        self.timeout = Some(timeout);
        self
    }

    /// Reads descendants' output for at most `drain` after the child exits.
    pub fn drain(mut self, drain: Limit) -> Config {
        self.drain = drain;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sequence: Sequence::default(),
            timeout: None,
            drain: Some(Duration::from_secs(1)),
        }
    }
}

/// Everything that starts and shapes a run's close sequence: a library [`Config`], and the
/// triggers only the command line has (its own input's end, the idle timeouts; `--timeout`
/// counts from the start, where the library's counts from the close).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub sequence: Sequence,
    /// The stdin step's wait when EOF starts the sequence; `None`: the step's own wait.
    pub eof_grace: Option<Limit>,
    /// Start the sequence this long after start.
    pub timeout: Option<Duration>,
    /// Start the sequence when no byte has moved either way for this long.
    pub idle_timeout: Option<Duration>,
    /// Start the sequence when the child has written nothing for this long.
    pub output_idle_timeout: Option<Duration>,
    /// With a protocol: start the sequence when a request has had no response for this long.
    pub response_timeout: Option<Duration>,
    /// How long output from the child's descendants is still relayed after the child exits.
    pub drain: Limit,
}

impl From<&Config> for Settings {
    /// A library close: the caller's close (or the stream's own watchdog) is the only trigger,
    /// and the machine starts with the close.
    fn from(config: &Config) -> Settings {
        Settings {
            sequence: config.sequence.clone(),
            eof_grace: None,
            timeout: config.timeout,
            idle_timeout: None,
            output_idle_timeout: None,
            response_timeout: None,
            drain: config.drain,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from(&Config::default())
    }
}
