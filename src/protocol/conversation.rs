//! Which requests wait for their response, each way: a response is paired with its request by
//! id (a request of the child's is answered toward it, and the other way round), which gives its
//! latency and the method it answers; MCP's progress notifications restart a request's clock.

use std::time::{Duration, Instant};

use super::message::PROGRESS;
use super::{Kind, Message};
use crate::direction::Direction;
use crate::outcome::Unanswered;

/// The most requests followed at once: a peer that never answers costs bounded memory. Those
/// beyond are not paired.
const MAX_PENDING: usize = 1024;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Conversation {
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct Pending {
    id: String,
    method: String,
    /// Which way the request went.
    dir: Direction,
    sent: Instant,
    /// When it last showed life: sent, or a progress notification about it.
    clock: Instant,
    token: Option<String>,
}

/// What a response was, in the conversation: its request's method and how long it took.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    pub method: Option<String>,
    pub latency: Option<Duration>,
}

impl Conversation {
    /// Takes in `message`, sent `dir` at `now`.
    pub fn observe(&mut self, dir: Direction, message: &Message<'_>, now: Instant) -> Observed {
        let mut observed = Observed::default();
        match (message.kind(), &message.id) {
            (Kind::Request, Some(id)) if self.pending.len() < MAX_PENDING => {
                self.pending.push(Pending {
                    id: (*id).to_owned(),
                    method: message.method.as_deref().unwrap_or_default().to_owned(),
                    dir,
                    sent: now,
                    clock: now,
                    token: message.progress_token.map(str::to_owned),
                });
            }
            (Kind::Response | Kind::Error, Some(id)) => {
                let found = self
                    .pending
                    .iter()
                    .position(|p| p.dir != dir && p.id == *id);
                if let Some(request) = found.map(|at| self.pending.remove(at)) {
                    observed.method = Some(request.method);
                    observed.latency = Some(now.saturating_duration_since(request.sent));
                }
            }
            (Kind::Notification, _) if message.method.as_deref() == Some(PROGRESS) => {
                let token = message.progress_token;
                for request in &mut self.pending {
                    if request.dir != dir && token.is_some() && request.token.as_deref() == token {
                        request.clock = now;
                    }
                }
            }
            _ => {}
        }
        observed
    }

    /// When the request that has waited longest last showed life.
    pub fn oldest_since(&self) -> Option<Instant> {
        self.pending.iter().map(|request| request.clock).min()
    }

    /// The request that has waited longest since it last showed life: since when, and its
    /// description (`request 3 tools/call to the child`).
    pub fn oldest(&self) -> Option<(Instant, String)> {
        let oldest = self.pending.iter().min_by_key(|request| request.clock)?;
        Some((
            oldest.clock,
            describe(&oldest.id, &oldest.method, oldest.dir),
        ))
    }

    /// Every request still without a response, in the order sent, times counted from `start`.
    pub fn unanswered(&self, start: Instant) -> Vec<Unanswered> {
        self.pending
            .iter()
            .map(|request| Unanswered {
                id: request.id.clone(),
                method: request.method.clone(),
                to_child: request.dir == Direction::ToChild,
                since: request.sent.saturating_duration_since(start),
            })
            .collect()
    }
}

/// `request 3 (tools/call) to the child`.
pub(crate) fn describe(id: &str, method: &str, dir: Direction) -> String {
    format!("request {id} {method} {}", dir.words())
}
