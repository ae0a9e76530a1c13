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
/// Measured (docs/decisions.md, decision (bb)): idle agents use nothing (sleep, python or node
/// blocked on a read: 0 s in 5 s), a shell polling with `sleep 0.05` 0.02-0.03 s per second, a
/// node timer every 10 ms 0.012; `sort -R` of 600000 lines 1.98 s per second alone and 0.16
/// while sixteen busy loops share the machine's two cores.
pub(crate) const BUSY: (u32, u32) = (1, 10);

/// The share of a period the scope must have *wanted* the CPU (used it, or waited on a run
/// queue for it) to count as working, whatever it got: half. On a loaded machine, or at a low
/// priority, a working stage may get less than a tenth of a CPU, but it wants it all the time;
/// a shell polling with `sleep 0.05` wanted 0.02 s per second here (4.5 ms used and 38 ms
/// waited in 2 s, at a load average of 9 on 2 cores).
pub(crate) const WANTED: (u32, u32) = (1, 2);

/// What was seen of the command's work during the current grace period.
#[derive(Clone, Copy, Debug)]
pub(super) struct Work {
    /// When the period began.
    since: Instant,
    /// The scope's CPU time then, if it could be read.
    cpu: Option<Duration>,
    /// The time its processes had waited on a run queue then, if it could be read.
    waited: Option<Duration>,
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
    /// Time spent waiting for a CPU during it, when it could be read.
    pub waited: Option<Duration>,
}

impl Work {
    /// A first period beginning at `now`; its CPU time comes with the first answer.
    pub fn new(now: Instant) -> Work {
        Work {
            since: now,
            cpu: None,
            waited: None,
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

    /// The answer to a look at `now`, with the scope's CPU time and run-queue wait (`None`:
    /// unknown). Returns
    /// what the period showed when the command was working (a new period then begins), `None`
    /// when it was quiet; the first answer, to the look at the end of input, only sets the
    /// starting point.
    pub fn looked(
        &mut self,
        cpu: Option<Duration>,
        waited: Option<Duration>,
        now: Instant,
    ) -> Option<Busy> {
        if !self.asked {
            (self.cpu, self.waited) = (cpu, waited);
            return None;
        }
        let over = now.saturating_duration_since(self.since);
        let since = |before: Option<Duration>, after: Option<Duration>| match (before, after) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        let (used, wait) = (since(self.cpu, cpu), since(self.waited, waited));
        let at_least = |time: Option<Duration>, (share, of): (u32, u32)| {
            time.is_some_and(|time| !over.is_zero() && time * of >= over * share)
        };
        let wanted = used.map(|used| used + wait.unwrap_or_default());
        let working = at_least(used, BUSY) || at_least(wanted, WANTED) || self.output;
        let busy = working.then_some(Busy {
            cpu: used,
            over,
            output: self.output,
            waited: wait,
        });
        *self = Work {
            since: now,
            cpu,
            waited,
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
    pub(super) fn work_looked(
        &mut self,
        cpu: Option<Duration>,
        waited: Option<Duration>,
        now: Instant,
    ) {
        let (Some(work), Phase::Step { index, .. }) = (self.work.as_mut(), self.phase) else {
            return;
        };
        let ending = work.asked();
        match work.looked(cpu, waited, now) {
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
