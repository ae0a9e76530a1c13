//! The library's idle and response timeouts: the stream has no event loop before `close`, so a
//! thread of its own waits until a timeout is due, sleeping until then (no periodic wake-up),
//! and closes the stream when no byte moved meanwhile, or when the oldest request waiting is
//! still without its response.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::Inner;
use crate::config::Config;
use crate::outcome::Trigger;

/// When bytes last moved, for the watchdog; and whether it may stop watching.
#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug)]
struct State {
    /// Last read from or write to the child.
    either: Instant,
    /// Last read from the child.
    output: Instant,
    /// With a protocol: when the request waiting longest for its response last showed life.
    awaiting: Option<Instant>,
    /// The stream is closing or gone: nothing to watch.
    over: bool,
}

/// The limits a watchdog enforces.
#[derive(Clone, Copy, Debug)]
pub(super) struct Watchdog {
    pub idle: Option<Duration>,
    pub output_idle: Option<Duration>,
    pub response: Option<Duration>,
}

impl Activity {
    pub fn new() -> Activity {
        let now = Instant::now();
        Activity {
            state: Mutex::new(State {
                either: now,
                output: now,
                awaiting: None,
                over: false,
            }),
            wake: Condvar::new(),
        }
    }

    /// Bytes moved now, out of the child if `output`.
    pub fn moved(&self, output: bool) {
        let mut state = self.state();
        state.either = Instant::now();
        if output {
            state.output = state.either;
        }
    }

    /// The request waiting longest for its response, as the messages now say: the watchdog
    /// looks again when that changed.
    pub fn awaiting(&self, since: Option<Instant>) {
        let mut state = self.state();
        if state.awaiting != since {
            state.awaiting = since;
            self.wake.notify_all();
        }
    }

    /// The stream is closing or gone: the watchdog stops.
    pub fn end(&self) {
        self.state().over = true;
        self.wake.notify_all();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Watchdog {
    /// Whether any limit is set.
    pub fn armed(self) -> bool {
        self.idle.is_some() || self.output_idle.is_some() || self.response.is_some()
    }

    /// Watches `activity` from a thread of its own; closes `stream` when a limit passes.
    pub fn start(self, activity: Arc<Activity>, stream: Weak<Inner>) -> std::io::Result<()> {
        thread::Builder::new()
            .name("agentpipe-idle".into())
            .spawn(move || {
                if let Some(trigger) = self.wait(&activity)
                    && let Some(stream) = stream.upgrade()
                {
                    let _ = stream.close_for(&Config::default(), trigger);
                }
            })
            .map(drop)
    }

    /// Sleeps until a limit passes with no activity (its trigger), or the stream ends (`None`).
    fn wait(self, activity: &Activity) -> Option<Trigger> {
        let mut state = activity.state();
        loop {
            if state.over {
                return None;
            }
            let due = [
                (self.idle, Some(state.either), Trigger::IdleTimeout),
                (
                    self.output_idle,
                    Some(state.output),
                    Trigger::OutputIdleTimeout,
                ),
                (self.response, state.awaiting, Trigger::ResponseTimeout),
            ]
            .into_iter()
            .filter_map(|(limit, since, trigger)| Some((since?.checked_add(limit?)?, trigger)))
            .min_by_key(|(due, _)| *due);
            let now = Instant::now();
            state = match due {
                Some((due, trigger)) if now >= due => return Some(trigger),
                // Nothing due yet (no request waiting): until the messages say otherwise.
                None => activity
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some((due, _)) => {
                    let waited = activity.wake.wait_timeout(state, due - now);
                    waited.unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
    }
}
