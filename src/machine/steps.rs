//! Taking the sequence's steps: each one's action, its wait, and what the timeline says of it.

use std::time::Instant;

use super::note::{Next, Note};
use super::{Cause, Machine, Phase};
use crate::duration::Limit;
use crate::machine::Order;
use crate::outcome::{TakenStep, Trigger};
use crate::sequence::Action;
use crate::signals::Signal;

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
        self.tell_waiting(now);
        self.take(step, wait, Cause::Trigger, now);
    }

    /// Moves to `phase`, ending the command of a `run` step being left: it is bounded by its
    /// step; a `stdin` step left for another step hangs the child's terminal up, if it has one.
    pub(super) fn enter(&mut self, phase: Phase) {
        if let Phase::Step { index, .. } = self.phase {
            match self.config.sequence.steps()[index].action {
                Action::Run(_) => self.orders.push(Order::EndRun),
                Action::CloseStdin
                    if matches!(phase, Phase::Step { .. } | Phase::Killed { .. }) =>
                {
                    self.orders.push(Order::HangUp);
                }
                _ => {}
            }
        }
        self.phase = phase;
        self.work = None;
    }

    /// Takes step `index`: its action now, then its wait.
    pub(super) fn take(&mut self, index: usize, wait: Option<Limit>, cause: Cause, now: Instant) {
        self.waited_at = None;
        let steps = self.config.sequence.steps();
        let (step, count) = (steps[index], steps.len());
        let following = steps.get(index + 1).map(|next| next.action);
        let nothing_to_do = match step.action {
            Action::Shutdown => self.shutdown().map(Some),
            _ => None,
        };
        let wait = nothing_to_do.or(wait).unwrap_or(step.wait);
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
            Action::Signal(signal) => self.send(signal, index, cause),
            Action::Kill => self.send(Signal::KILL, index, cause),
            Action::Shutdown => {} // ordered above, before the wait was known
            Action::Send(message) => self.orders.push(Order::Send {
                message: self.config.sequence.messages()[message].clone(),
            }),
        }
        self.steps.push(TakenStep {
            index,
            action: step.action,
            at: now - self.start,
            wait,
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
            scope: self.target.scope,
            stdin_owned: self.target.stdin_owned,
            next,
        }));
    }

    /// Sends step `index`'s signals, and says so even without `-v`: a drastic step is never
    /// silent.
    fn send(&mut self, signal: Signal, index: usize, cause: Cause) {
        let action = self.config.sequence.steps()[index].action;
        self.orders
            .extend(action.signals().into_iter().map(Order::Signal));
        self.orders.push(Order::Warn(Note::Sent {
            signal,
            target: self.target.clone(),
            trigger: self.trigger.unwrap_or(Trigger::Close),
            cause,
            previous: self.steps.last().copied(),
            listed: self.config.sequence.listed(),
            left: match cause {
                Cause::Left => self.left.clone(),
                _ => Vec::new(),
            },
        }));
    }
}
