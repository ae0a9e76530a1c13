//! The rules about messages (`--protocol`): `--response-timeout`, naming a request that waited
//! long when the sequence starts, and the LSP shutdown step's exchange.

use std::time::{Duration, Instant};

use super::{Machine, Phase};
use crate::machine::note::{Note, Said};
use crate::machine::{Awaiting, Order};
use crate::outcome::Trigger;
use crate::sequence::Action;

/// A request that has waited this long when the sequence starts is named in the timeline.
pub(crate) const LONG_WAIT: Duration = Duration::from_secs(3);

impl Machine {
    /// The request that has waited longest is now `awaiting`.
    pub(super) fn awaiting(&mut self, awaiting: Option<Awaiting>) {
        self.awaiting = awaiting;
    }

    /// When `--response-timeout` is due: it starts the sequence, so only while none runs.
    pub(super) fn response_due(&self) -> Option<Instant> {
        let timeout = self.config.response_timeout?;
        let awaiting = self
            .awaiting
            .as_ref()
            .filter(|_| self.phase == Phase::Running)?;
        awaiting.since.checked_add(timeout)
    }

    /// Starts the sequence if a request has waited `--response-timeout` at `now`, naming it in
    /// a line said even without `-v`.
    pub(super) fn check_response(&mut self, now: Instant) {
        let (Some(due), Some(after)) = (self.response_due(), self.config.response_timeout) else {
            return;
        };
        if now >= due {
            let request = self.awaiting.take().expect("due").request;
            let said = Said::ResponseTimeout { request, after };
            self.orders.push(Order::Warn(Note::Protocol(said)));
            self.begin(Trigger::ResponseTimeout, 0, None, now);
        }
    }

    /// As the sequence starts: names the request that has waited long for its response.
    pub(super) fn tell_waiting(&mut self, now: Instant) {
        if let Some(awaiting) = &self.awaiting {
            let waited = now.saturating_duration_since(awaiting.since);
            if waited >= LONG_WAIT {
                let request = awaiting.request.clone();
                let said = Said::Waiting { request, waited };
                self.orders.push(Order::Tell(Note::Protocol(said)));
            }
        }
    }

    /// The shutdown step's action: the request, unless the client sent `shutdown` or `exit`
    /// itself (the step then has nothing to wait for: its wait becomes zero).
    pub(super) fn shutdown(&mut self) -> Option<Duration> {
        if self.client_shut {
            let said = Note::Protocol(Said::ShutdownByClient);
            self.orders.push(Order::Tell(said));
            return Some(Duration::ZERO);
        }
        self.orders.push(Order::SendShutdown);
        None
    }

    /// The answer to agentpipe's `shutdown` came: during the shutdown step, `exit` follows, and
    /// the step waits on for the server to end.
    pub(super) fn shutdown_answered(&mut self) {
        if let Phase::Step { index, .. } = self.phase
            && self.config.sequence.steps()[index].action == Action::Shutdown
        {
            self.orders.push(Order::SendExit);
            self.orders
                .push(Order::Tell(Note::Protocol(Said::ExitSent)));
        }
    }
}
