//! The child's exit and what its scope still holds after it: the half of the sequence that
//! goes on once the command itself is gone.

use std::time::Instant;

use super::note::Note;
use super::{Cause, Drain, Machine, Order, Phase};
use crate::outcome::{Exit, Trigger};
use crate::signals::Signal;

impl Machine {
    pub(super) fn child_exited(&mut self, exit: Exit, left: Vec<u32>, now: Instant) {
        if self.exited.is_some() {
            return;
        }
        let after = self.steps.last().map(|step| (step.index, step.action));
        self.orders.push(Order::Tell(Note::ChildExited {
            pid: self.target.pid,
            exit,
            after,
        }));
        self.exited = Some(now);
        self.timeout_at = None;
        self.idle.disarm();
        self.drain = Drain::Until(self.config.drain.and_then(|drain| now.checked_add(drain)));
        self.looked_at = Some(now);
        self.note_left(left);
        if self.left.is_empty() {
            if self.phase != Phase::Abandoned {
                self.enter(Phase::Over);
            }
            return;
        }
        if let Phase::Killed { .. } = self.phase {
            return; // SIGKILL reached them with the child: they are only being reaped
        }
        self.orders
            .push(Order::Tell(Note::StillInScope(self.left.clone())));
        if self.trigger.is_none() {
            self.trigger = Some(Trigger::ChildExit);
        }
        // What is left gets the signal steps not yet taken; a signal step already under way
        // goes on, its wait now counting for them.
        let from = match self.phase {
            Phase::Running => 0,
            Phase::Step { index, .. } if !self.signalled(index) => index + 1,
            _ => return,
        };
        let step = self.config.sequence.signal_step(from);
        self.take(step, None, Cause::Left, now);
    }

    pub(super) fn scope_looked(&mut self, left: Vec<u32>, _now: Instant) {
        self.note_left(left);
        if self.settled() || self.exited.is_none() {
            return;
        }
        if self.left.is_empty() {
            self.orders.push(Order::Tell(Note::ScopeEmpty));
            self.enter(Phase::Over);
        } else if let Phase::Killed { .. } = self.phase {
            // Whatever is still there after SIGKILL was started since (a fork racing the
            // signal): it gets SIGKILL too, at every look, until the scope is empty.
            self.orders.push(Order::Signal(Signal::KILL));
        }
    }

    /// Records the processes left in the scope. Those found once SIGKILL was sent are dying, not
    /// left behind: the report does not name them.
    pub(super) fn note_left(&mut self, left: Vec<u32>) {
        if !matches!(self.phase, Phase::Killed { .. }) {
            for &pid in &left {
                if !self.left_behind.contains(&pid) {
                    self.left_behind.push(pid);
                }
            }
        }
        self.left = left;
    }
}
