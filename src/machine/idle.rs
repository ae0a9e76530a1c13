//! The idle triggers: no byte moved either way (`--idle-timeout`), or no output
//! (`--output-idle-timeout`), for their duration.

use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::outcome::Trigger;

/// One idle trigger: how long quiet may last, and when bytes last moved.
#[derive(Clone, Copy, Debug)]
struct Quiet {
    limit: Duration,
    since: Instant,
}

impl Quiet {
    fn new(limit: Option<Duration>, start: Instant) -> Option<Quiet> {
        limit.map(|limit| Quiet {
            limit,
            since: start,
        })
    }

    fn due(self) -> Option<Instant> {
        self.since.checked_add(self.limit)
    }
}

/// Both idle triggers, each disabled when not configured.
#[derive(Clone, Copy, Debug)]
pub(super) struct Idle {
    both: Option<Quiet>,
    output: Option<Quiet>,
}

impl Idle {
    pub fn new(config: &Settings, start: Instant) -> Idle {
        Idle {
            both: Quiet::new(config.idle_timeout, start),
            output: Quiet::new(config.output_idle_timeout, start),
        }
    }

    /// Whether any idle trigger is armed: only then is activity worth telling.
    pub fn armed(&self) -> bool {
        self.both.is_some() || self.output.is_some()
    }

    /// Bytes moved at `now` (or waited for a reader that does not take them, which is no
    /// idleness either), out of the child if `output`.
    pub fn moved(&mut self, output: bool, now: Instant) {
        let quiet = [Some(&mut self.both), output.then_some(&mut self.output)];
        for quiet in quiet.into_iter().flatten().flatten() {
            quiet.since = quiet.since.max(now); // a thread's report may be older than the last
        }
    }

    /// When the first idle trigger is due.
    pub fn due(&self) -> Option<Instant> {
        [self.both, self.output]
            .into_iter()
            .flatten()
            .filter_map(Quiet::due)
            .min()
    }

    /// The trigger that is due at `now`, and since when its direction was quiet; disarms both.
    pub fn expired(&mut self, now: Instant) -> Option<(Trigger, Instant)> {
        let found = [
            (self.both, Trigger::IdleTimeout),
            (self.output, Trigger::OutputIdleTimeout),
        ]
        .into_iter()
        .filter_map(|(quiet, trigger)| Some((quiet?, trigger)))
        .find(|(quiet, _)| quiet.due().is_some_and(|due| now >= due))
        .map(|(quiet, trigger)| (trigger, quiet.since));
        if found.is_some() {
            (self.both, self.output) = (None, None);
        }
        found
    }

    /// Disarms both: once the sequence runs, or the child is gone, quiet means nothing.
    pub fn disarm(&mut self) {
        (self.both, self.output) = (None, None);
    }
}
