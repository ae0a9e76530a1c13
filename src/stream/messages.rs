//! A stream's messages (`StreamOptions::protocol`): what is read from and written to the child,
//! watched as frames, so that the trace records messages instead of chunks and the outcome
//! names the requests left unanswered. The bytes themselves are the caller's: a library read
//! returns whatever the child wrote, frames or not.

use std::sync::Mutex;
use std::time::Instant;

use crate::duplex::Talk;
use crate::outcome::{Outcome, Unanswered};
use crate::protocol::{Protocol, Watch};
use crate::trace::{Direction, Recorder};

/// See the module documentation.
pub(crate) struct Messages {
    /// Toward the child, from the child.
    watches: [Watch; 2],
    talk: Talk,
    start: Instant,
}

impl Messages {
    pub fn new(protocol: Protocol, trace: Option<Recorder>, start: Instant) -> Messages {
        Messages {
            watches: [Watch::new(protocol, false), Watch::new(protocol, false)],
            talk: Talk::new(protocol, None, trace),
            start,
        }
    }

    /// Takes in bytes that moved `direction`; returns when the request waiting longest for its
    /// response last showed life, if one waits.
    pub fn moved(&mut self, direction: Direction, bytes: &[u8]) -> Option<Instant> {
        let (watch, talk) = (&mut self.watches[direction as usize], &mut self.talk);
        // What the machine would be told: a library's close has its own triggers.
        let (now, mut unused) = (Instant::now(), Vec::new());
        watch.feed(
            bytes,
            |_| {},
            |frame| talk.frame(direction, frame, now, &mut unused),
        );
        talk.oldest_since()
    }

    pub fn unanswered(&self) -> Vec<Unanswered> {
        self.talk.unanswered(self.start)
    }
}

/// Bytes that moved `direction`, for a front end's messages if it has any: `None` without them;
/// else (its trace then has them as messages, not as a chunk) when the request waiting longest
/// for its response last showed life, if one waits.
pub(crate) fn moved(
    messages: &Option<Mutex<Messages>>,
    direction: Direction,
    bytes: &[u8],
) -> Option<Option<Instant>> {
    let mut messages = messages
        .as_ref()?
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Some(messages.moved(direction, bytes))
}

/// The outcome of a close, with the requests a front end's messages left unanswered.
pub(crate) fn with_unanswered(mut outcome: Outcome, messages: &Option<Mutex<Messages>>) -> Outcome {
    if let Some(messages) = messages {
        let messages = messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        outcome.unanswered = messages.unanswered();
    }
    outcome
}
