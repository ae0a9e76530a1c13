//! The settings of a supervised run: its close sequence and what starts it.

use std::time::Duration;

use crate::sequence::{Limit, Sequence};

/// The sequence and its triggers' settings.
#[derive(Clone, Debug)]
pub struct Config {
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

impl Default for Config {
    fn default() -> Self {
        Config {
            sequence: Sequence::default(),
            eof_grace: None,
            timeout: None,
            idle_timeout: None,
            output_idle_timeout: None,
            response_timeout: None,
            drain: Some(Duration::from_secs(1)),
        }
    }
}
