//! Taking the sequence's steps: each one's action, its wait, and what the timeline says of it.

use std::time::Instant;

use super::{Machine, Phase};
use crate::duration::Limit;
use crate::machine::Order;
use crate::note::{Next, Note};
use crate::outcome::{TakenStep, Trigger};
use crate::sequence::Action;

impl Machine {
    /// Whether step `index` sends a signal.
    pub(super) fn signalled(&self, index: usize) -> bool {
        !self.config.sequence.steps()[index]
            .action
            .signals()
            .is_empty()
    }

    /// Starts the sequence at `step`, with `wait` instead of the step's own wait if given.
    pub(super) fn begin(
        &mut self,
        trigger: Trigger,
        step: usize,
        wait: Option<Limit>,
        now: Instant,
    ) {
        self.trigger = Some(trigger);
        self.idle.disarm();
        self.orders.push(Order::Tell(Note::SequenceStarted {
            sequence: self.config.sequence.to_string(),
            trigger,
        }));
        self.take(step, wait, now);
    }

    /// Moves to `phase`, ending the command of a `run` step being left: it is bounded by its
    /// step.
    pub(super) fn enter(&mut self, phase: Phase) {
        if let Phase::Step { index, .. } = self.phase
            && let Action::Run(_) = self.config.sequence.steps()[index].action
        {
            self.orders.push(Order::EndRun);
        }
        self.phase = phase;
    }

    /// Takes step `index`: its action now, then its wait.
    pub(super) fn take(&mut self, index: usize, wait: Option<Limit>, now: Instant) {
        let steps = self.config.sequence.steps();
        let (step, count) = (steps[index], steps.len());
        let following = steps.get(index + 1).map(|next| next.action);
        let wait = wait.unwrap_or(step.wait);
        let deadline = wait.and_then(|wait| now.checked_add(wait));
        self.enter(if step.action == Action::Kill {
            Phase::Killed {
                at: now,
                named: false,
            }
        } else {
            Phase::Step { index, deadline }
        });
        let trigger = self.trigger.unwrap_or(Trigger::Close);
        match step.action {
            Action::Wait => {}
            Action::CloseStdin => self.orders.push(Order::CloseStdin {
                flush: trigger == Trigger::Eof,
            }),
            Action::Run(command) => self.orders.push(Order::Run {
                command: self.config.sequence.commands()[command].clone(),
                step: index + 1,
                trigger,
            }),
            Action::Signal(_) | Action::Kill => self
                .orders
                .extend(step.action.signals().into_iter().map(Order::Signal)),
        }
        self.steps.push(TakenStep {
            index,
            action: step.action,
            at: now - self.start,
        });
        let next = following.map(|action| Next {
            action,
            wait,
            at: deadline.map(|deadline| deadline - self.start),
            interrupts_to_kill: count - 1 - index,
        });
        self.orders.push(Order::Tell(Note::StepTaken {
            number: index + 1,
            action: step.action,
            scope: self.scope,
            next,
        }));
    }
}
