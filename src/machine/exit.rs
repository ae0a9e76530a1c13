//! The child's exit and what its scope still holds after it: the half of the sequence that
//! goes on once the command itself is gone.

use std::time::Instant;

use super::note::Note;
use super::{Cause, Drain, Machine, Order, Phase, UNKILLABLE_AFTER, UNSEEN_AFTER_KILL};
use crate::outcome::{Exit, Trigger};
use crate::scope::Look;
use crate::signals::Signal;

impl Machine {
    /// The line that carries out [`Order::NameSurvivors`]: `left` as a look found it now (the
    /// scope's processes other than the child), the child first while it has not exited.
    pub fn survivors(&self, mut left: Vec<u32>) -> Note {
        if !self.exited() {
            left.insert(0, self.target.pid);
        }
        Note::Unkillable {
            pids: left,
            after: UNKILLABLE_AFTER,
        }
    }

    pub(super) fn child_exited(&mut self, exit: Exit, left: Look, now: Instant) {
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
        if !self.scope_left() {
            if self.phase != Phase::Abandoned {
                self.enter(Phase::Over);
            }
            return;
        }
        if let Phase::Killed { .. } = self.phase {
            return; // SIGKILL reached them with the child: they are only being reaped
        }
        if self.unseen.is_none() {
            self.orders
                .push(Order::Tell(Note::StillInScope(self.left.clone())));
        }
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

    pub(super) fn scope_looked(&mut self, left: Look, now: Instant) {
        self.note_left(left);
        if self.settled() || self.exited.is_none() {
            return;
        }
        if !self.scope_left() {
            self.orders.push(Order::Tell(Note::ScopeEmpty));
            self.enter(Phase::Over);
        } else if let Phase::Killed { at, .. } = self.phase {
            // What no look can see after SIGKILL and its wait is given up on, said: processes
            // may remain (what could be signalled was).
            if let Some(why) = self.unseen.filter(|_| now >= at + UNSEEN_AFTER_KILL) {
                self.unchecked = Some(why);
                self.warn_unseen(why, true);
                return self.enter(Phase::Over);
            }
            // Whatever is still there after SIGKILL was started since (a fork racing the
            // signal): it gets SIGKILL too, at every look, until the scope is empty.
            self.orders.push(Order::Signal(Signal::KILL));
        }
    }

    fn warn_unseen(&mut self, why: crate::scope::Unseen, after_kill: bool) {
        let target = self.target.clone();
        self.orders.push(Order::Warn(Note::ScopeUnseen {
            target,
            why,
            after_kill,
        }));
    }

    /// Whether processes may be left in the scope: some were seen, or it could not be seen.
    pub(super) fn scope_left(&self) -> bool {
        !self.left.is_empty() || self.unseen.is_some()
    }

    /// Records the processes left in the scope, or that it could not be seen (said once, even
    /// without `-v`, and only once the child exited: before, nothing is decided on a look).
    /// Those found once SIGKILL was sent are dying, not left behind: the report does not name
    /// them.
    pub(super) fn note_left(&mut self, look: Look) {
        let left = match look {
            Look::Seen(pids) => {
                self.unseen = None;
                pids
            }
            Look::Unseen(why) => {
                if self.unseen.is_none() && !self.unseen_said {
                    self.unseen_said = true;
                    self.warn_unseen(why, false);
                }
                self.unseen = Some(why);
                return;
            }
        };
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
