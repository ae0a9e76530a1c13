//! Quiet time after the end of input: the `stdin` step that the end of input started waits
//! for the command to go quiet, not merely for its grace to pass.
//!
//! The end of input means the controller is done, not that the command is hung: a pipeline
//! stage that works after its input ended (`sort`, a compressor, a compiler) is not lingering.
//! So at the end of each grace period the machine orders a look at the CPU time the scope has
//! used ([`Order::LookAtWork`](super::Order::LookAtWork)); when it used at least [`BUSY`] of
//! the period, or wrote output, the wait starts again. One look per period, and only during
//! this step: nothing wakes an idle agentpipe.

use std::time::{Duration, Instant};

use super::{Cause, Machine, Order, Phase};
use crate::machine::note::Note;

/// The share of a grace period the scope must spend on the CPU to count as working: a tenth.
/// Measured (docs/decisions.md, decision (av)): idle agents use nothing (sleep, python or node
/// blocked on a read: 0 s in 5 s), a shell polling with `sleep 0.05` 0.02-0.03 s per second, a
/// node timer every 10 ms 0.012; `sort -R` of 600000 lines 1.98 s per second alone and 0.16
/// while sixteen busy loops share the machine's two cores.
pub(crate) const BUSY: (u32, u32) = (1, 10);

/// A process runnable at the look (running, or waiting for a CPU) counts as working too: on a
/// loaded machine, or at a low priority, a stage may get less than a tenth of a CPU while it
/// works, and it must not be taken for idle for that.
///
/// What was seen of the command's work during the current grace period.
#[derive(Clone, Copy, Debug)]
pub(super) struct Work {
    /// When the period began.
    since: Instant,
    /// The scope's CPU time then, if it could be read.
    cpu: Option<Duration>,
    /// Whether the command wrote output during the period.
    output: bool,
    /// Whether the look at the period's end was ordered and not answered yet.
    asked: bool,
    /// Whether the timeline was told that the command is still working: it is said once.
    pub told: bool,
}

/// What a look at the end of a period found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Busy {
    /// CPU time used during the period, when it could be read.
    pub cpu: Option<Duration>,
    /// How long the period lasted.
    pub over: Duration,
    /// Whether the command wrote output during it.
    pub output: bool,
    /// Whether one of its processes was runnable at the look.
    pub runnable: bool,
}

impl Work {
    /// A first period beginning at `now`; its CPU time comes with the first answer.
    pub fn new(now: Instant) -> Work {
        Work {
            since: now,
            cpu: None,
            output: false,
            asked: false,
            told: false,
        }
    }

    pub fn wrote_output(&mut self) {
        self.output = true;
    }

    /// Orders the look at the period's end, once. `false` when it was ordered and not
    /// answered: the front end cannot look, and the wait is over.
    pub fn ask(&mut self) -> bool {
        !std::mem::replace(&mut self.asked, true)
    }

    /// Whether the look at the period's end is awaited (else an answer is the starting point).
    pub fn asked(&self) -> bool {
        self.asked
    }

    /// The answer to a look at `now`, with the scope's CPU time (`None`: unknown). Returns
    /// what the period showed when the command was working (a new period then begins), `None`
    /// when it was quiet; the first answer, to the look at the end of input, only sets the
    /// starting point.
    pub fn looked(&mut self, cpu: Option<Duration>, runnable: bool, now: Instant) -> Option<Busy> {
        if !self.asked {
            self.cpu = cpu;
            return None;
        }
        let over = now.saturating_duration_since(self.since);
        let used = match (self.cpu, cpu) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        let (share, of) = BUSY;
        let cpu_busy = used.is_some_and(|used| !over.is_zero() && used * of >= over * share);
        let busy = (cpu_busy || runnable || self.output).then_some(Busy {
            cpu: used,
            over,
            output: self.output,
            runnable,
        });
        *self = Work {
            since: now,
            cpu,
            output: false,
            asked: false,
            told: self.told,
        };
        busy
    }
}

impl Machine {
    /// The answer to [`Order::LookAtWork`]: at the end of a grace period, a command that
    /// worked gets another one, and one that was quiet the next step.
    pub(super) fn work_looked(&mut self, cpu: Option<Duration>, runnable: bool, now: Instant) {
        let (Some(work), Phase::Step { index, .. }) = (self.work.as_mut(), self.phase) else {
            return;
        };
        let ending = work.asked();
        match work.looked(cpu, runnable, now) {
            Some(busy) => {
                let wait = self.steps.last().and_then(|step| step.wait);
                let deadline = wait.and_then(|wait| now.checked_add(wait));
                self.phase = Phase::Step { index, deadline };
                if !std::mem::replace(&mut work.told, true) {
                    self.orders.push(Order::Tell(Note::StillWorking(busy)));
                }
            }
            None if ending => {
                let cause = match work.told {
                    true => Cause::Quiet(now - self.start),
                    false => Cause::Waited,
                };
                self.take(index + 1, None, cause, now);
            }
            None => {}
        }
    }
}
