//! The close sequence as a state machine: what each trigger, interrupt, exit and deadline means.
//!
//! It makes no system call and reads no clock: the event loop hands it [`Input`]s and the
//! current time, carries out the [`Order`]s it answers with, and wakes it again at
//! [`Machine::deadline`]. That is what lets every rule of the sequence be tested with a fake
//! clock (see `machine/tests/`), and what keeps the loop to plumbing.
//!
//! What it tells is a [`note::Note`], the vocabulary the event loop speaks too: it lives here
//! because its lines name the machine's [`Target`] and [`Cause`], and the machine speaks it.

mod exit;
mod idle;
mod messages;
pub(crate) mod note;
mod replies;
mod steps;
#[cfg(test)]
mod tests;
mod work;

use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::outcome::{Exit, TakenStep, Trigger};
use crate::scope::Unseen;
use note::{Note, Received};

use crate::signals::Signal;
use idle::Idle;
use work::Work;

pub(crate) use work::Busy;

pub(crate) use messages::{Awaiting, Cause, Input, Order, Target};

/// How long after SIGKILL a process may stay unreaped before agentpipe names it.
pub(crate) const UNKILLABLE_AFTER: Duration = Duration::from_secs(5);

/// How soon after a step its wait's end took, an interrupt still counts for that step instead of
/// skipping the next one: a supervisor's signal and the step's own deadline that land together
/// (nested agentpipes on the same schedule, 0.1 ms apart) are one reason to move on, not two.
/// Short enough that an interrupt sent in answer to the step (a script that saw the child react
/// to SIGTERM) still skips.
pub(crate) const INTERRUPT_MERGE: Duration = Duration::from_millis(2);

/// How often the scope is looked at while processes other than the child remain in it: they are
/// not agentpipe's children, so nothing announces their exit.
pub(crate) const LEFTOVER_CHECK: Duration = Duration::from_millis(10);

/// How long after SIGKILL a scope no look can see is still looked at, for the kernel to say it
/// is empty (a SIGKILLed process takes a moment to go), before the run ends with "processes may
/// remain".
pub(crate) const UNSEEN_AFTER_KILL: Duration = Duration::from_secs(1);

/// Where the sequence stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing has started the sequence, and the child runs.
    Running,
    /// Step `index` was taken; its wait ends at `deadline` (never, if `None`), unless the
    /// scope is gone first.
    Step {
        index: usize,
        deadline: Option<Instant>,
    },
    /// The last step, SIGKILL, was taken at `at`; the survivors were `named` after
    /// [`UNKILLABLE_AFTER`].
    Killed { at: Instant, named: bool },
    /// The child exited and no process is left in its scope: only the output may still drain.
    Over,
    /// agentpipe gave up on processes SIGKILL did not remove.
    Abandoned,
}

/// How long the child's output is still relayed after it exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Drain {
    /// The child has not exited.
    NotYet,
    /// Relayed until this instant (without limit if `None`).
    Until(Option<Instant>),
    /// Only what was queued when the child exited is still relayed.
    Cut,
}

/// The close sequence's state. See the module documentation.
#[derive(Debug)]
pub(crate) struct Machine {
    config: Settings,
    target: Target,
    start: Instant,
    phase: Phase,
    drain: Drain,
    timeout_at: Option<Instant>,
    idle: Idle,
    /// With an idle trigger: since when its direction was quiet.
    quiet_since: Option<Instant>,
    trigger: Option<Trigger>,
    steps: Vec<TakenStep>,
    /// When the child exited.
    exited: Option<Instant>,
    interrupted: bool,
    /// The processes other than the child alive in the scope at the last look, and when that was.
    left: Vec<u32>,
    looked_at: Option<Instant>,
    /// Every process ever found left in the scope, in the order found.
    left_behind: Vec<u32>,
    /// Why the last look could not see the scope, which then counts as not empty.
    unseen: Option<Unseen>,
    /// Whether the line saying so was given.
    unseen_said: bool,
    /// The run ended with a scope no look could see after SIGKILL: processes may remain.
    unchecked: Option<Unseen>,
    /// During the `stdin` step the end of input started: the command's work in the current
    /// grace period.
    work: Option<Work>,
    /// When the last step was taken because the previous one's wait ended, until an interrupt
    /// counts for it (see [`INTERRUPT_MERGE`]).
    waited_at: Option<Instant>,
    orders: Vec<Order>,
    /// With a protocol: the request that has waited longest for its response.
    awaiting: Option<Awaiting>,
    /// The client sent the LSP `shutdown` or `exit` itself.
    client_shut: bool,
}

impl Machine {
    /// A machine for the child `target`, started (and timed from) `start`.
    pub fn new(config: Settings, target: Target, start: Instant) -> Machine {
        let timeout_at = config
            .timeout
            .and_then(|timeout| start.checked_add(timeout));
        let idle = Idle::new(&config, start);
        Machine {
            idle,
            config,
            target,
            start,
            phase: Phase::Running,
            drain: Drain::NotYet,
            timeout_at,
            quiet_since: None,
            trigger: None,
            steps: Vec::new(),
            exited: None,
            interrupted: false,
            left: Vec::new(),
            looked_at: None,
            left_behind: Vec::new(),
            unseen: None,
            unseen_said: false,
            unchecked: None,
            work: None,
            waited_at: None,
            orders: Vec::new(),
            awaiting: None,
            client_shut: false,
        }
    }

    /// The child's stdin is not agentpipe's to close (see [`Target::stdin_owned`]).
    pub fn stdin_is_terminal(&mut self) {
        self.target.stdin_owned = false;
    }

    /// Takes in what the loop saw at `now`, and answers with what to do.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Order> {
        match input {
            Input::Eof { hangup } => self.input_ended(hangup, now),
            Input::ParentExited => {
                if self.phase == Phase::Running {
                    self.begin(Trigger::ParentExit, 0, None, now);
                }
            }
            Input::Interrupt(signal) => self.interrupt(signal, now),
            Input::OutputClosed => {
                if self.phase == Phase::Running {
                    self.begin(Trigger::DownstreamClosed, 0, None, now);
                }
            }
            Input::Close(trigger) => {
                if self.phase == Phase::Running {
                    self.begin(trigger, 0, None, now);
                }
            }
            Input::ChildExited { exit, left } => self.child_exited(exit, left, now),
            Input::ExitUnread { left } => self.child_exited(Exit::Unknown, left, now),
            Input::ScopeLooked(left) => self.scope_looked(left, now),
            Input::WorkLooked { cpu, waited } => self.work_looked(cpu, waited, now),
            Input::Awaiting(awaiting) => self.awaiting(awaiting),
            Input::ClientShutdown => self.client_shut = true,
            Input::ShutdownAnswered => self.shutdown_answered(),
        }
        self.tick(now)
    }

    /// Takes every step, timeout and check that is due at `now`.
    pub fn tick(&mut self, now: Instant) -> Vec<Order> {
        if self.timeout_at.is_some_and(|at| now >= at) {
            self.timeout_at = None;
            self.timed_out(now);
        }
        if let Some((trigger, since)) = self.idle.expired(now) {
            self.quiet_since = Some(since);
            self.begin(trigger, 0, None, now);
        }
        self.check_response(now);
        while let Phase::Step {
            index,
            deadline: Some(deadline),
        } = self.phase
            && now >= deadline
        {
            // Unless the front end did not answer the look, the answer decides.
            if let Some(work) = &mut self.work
                && work.ask()
            {
                self.orders.push(Order::LookAtWork);
                break;
            }
            // Only a wait that lasted counts: an interrupt that a zero wait's end follows at
            // once (the default `wait 0s`) is a person's, and skips as always.
            let waited = self.steps.last().and_then(|step| step.wait);
            self.take(index + 1, None, Cause::Waited, now);
            if waited.is_some_and(|wait| wait >= INTERRUPT_MERGE) {
                self.waited_at = Some(now);
            }
        }
        if let Phase::Killed { at, named: false } = self.phase
            && now >= at + UNKILLABLE_AFTER
        {
            self.phase = Phase::Killed { at, named: true };
            self.orders.push(Order::NameSurvivors);
        }
        if let Drain::Until(Some(until)) = self.drain
            && now >= until
        {
            self.drain = Drain::Cut;
            self.orders.push(Order::CutDrain);
        }
        if self.look_due().is_some_and(|due| now >= due) {
            self.looked_at = Some(now);
            self.orders.push(Order::LookAtScope);
        }
        std::mem::take(&mut self.orders)
    }

    /// The earliest instant at which something is due without any input.
    pub fn deadline(&self) -> Option<Instant> {
        let step = match self.phase {
            Phase::Step { deadline, .. } => deadline,
            Phase::Killed { at, named: false } => Some(at + UNKILLABLE_AFTER),
            _ => None,
        };
        let drain = match self.drain {
            Drain::Until(until) => until,
            _ => None,
        };
        [
            step,
            self.timeout_at,
            self.idle.due(),
            self.response_due(),
            drain,
            self.look_due(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether the child has exited and its scope is empty (or agentpipe gave up on it): the
    /// run is over once the output owed is written.
    pub fn settled(&self) -> bool {
        matches!(self.phase, Phase::Over | Phase::Abandoned)
    }

    pub fn abandoned(&self) -> bool {
        self.phase == Phase::Abandoned
    }

    /// Whether a step of the sequence writes to the child's stdin (`shutdown`, `send`).
    pub fn speaks(&self) -> bool {
        self.config.sequence.speaks()
    }

    /// Whether the child has exited.
    pub fn exited(&self) -> bool {
        self.exited.is_some()
    }

    /// Whether the drain was cut.
    pub fn drain_cut(&self) -> bool {
        self.drain == Drain::Cut
    }

    pub fn trigger(&self) -> Option<Trigger> {
        self.trigger
    }

    pub fn steps(&self) -> &[TakenStep] {
        &self.steps
    }

    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    pub fn left_behind(&self) -> &[u32] {
        &self.left_behind
    }

    /// Why the scope could not be checked empty at the end, if it could not.
    pub fn unchecked(&self) -> Option<Unseen> {
        self.unchecked
    }

    pub fn exited_at(&self) -> Option<Duration> {
        self.exited.map(|at| at - self.start)
    }

    fn look_due(&self) -> Option<Instant> {
        let watching = self.exited.is_some()
            && self.scope_left()
            && !matches!(self.phase, Phase::Over | Phase::Abandoned);
        watching.then(|| self.looked_at.unwrap_or(self.start) + LEFTOVER_CHECK)
    }

    /// Bytes moved at `now`, out of the child if `output` (or waited for a reader that does not
    /// take them): the idle triggers start counting again.
    pub fn moved(&mut self, output: bool, now: Instant) {
        self.idle.moved(output, now);
        if let Some(work) = self.work.as_mut().filter(|_| output) {
            work.wrote_output();
        }
    }

    /// Whether an idle trigger is armed, or the end of input's grace measures quiet time: only
    /// then is activity worth telling.
    pub fn watches_idle(&self) -> bool {
        self.idle.armed() || self.work.is_some()
    }

    pub fn quiet_since(&self) -> Option<Duration> {
        self.quiet_since.map(|since| since - self.start)
    }

    /// The end of agentpipe's input: a `hangup` (a pipe, socket or terminal: the controller is
    /// done) starts the sequence at its stdin step; the end of a file only means the data ended,
    /// unless --eof-grace says otherwise.
    fn input_ended(&mut self, hangup: bool, now: Instant) {
        if self.phase != Phase::Running {
            return; // the sequence runs, or the child is gone: the end changes nothing
        }
        let stdin_step = self.config.sequence.stdin_step();
        let eof_step = self.config.sequence.eof_step();
        let wait = match (self.config.eof_grace, hangup) {
            (Some(wait), _) => wait,
            (None, true) => self.config.sequence.steps()[stdin_step].wait,
            (None, false) => return self.orders.push(Order::Tell(Note::DataEnded)),
        };
        if wait.is_none() {
            self.orders.push(Order::Tell(Note::EofGraceInf));
            return;
        }
        // A shutdown step before the stdin step keeps its own wait, and measures no quiet time.
        let at_stdin = eof_step == stdin_step;
        self.begin(Trigger::Eof, eof_step, at_stdin.then_some(wait), now);
        // A zero grace measures nothing: the user asked for no wait.
        let measured = at_stdin && wait.is_some_and(|wait| !wait.is_zero());
        if measured && matches!(self.phase, Phase::Step { .. }) {
            self.work = Some(Work::new(now));
            self.orders.push(Order::LookAtWork);
        }
    }

    /// INT, TERM or HUP: starts the sequence, or skips to its next step.
    fn interrupt(&mut self, signal: Signal, now: Instant) {
        if signal == Signal::INT && self.exited.is_none() {
            self.interrupted = true;
        }
        let received = match self.phase {
            Phase::Running => {
                self.orders
                    .push(Order::Tell(Note::Received(signal, Received::Starts)));
                return self.begin(Trigger::Signal(signal), 0, None, now);
            }
            Phase::Step { .. } if self.merges(now) => {
                self.waited_at = None;
                Received::CountsForStep
            }
            Phase::Step { index, .. } => {
                self.orders
                    .push(Order::Tell(Note::Received(signal, Received::Skips)));
                return self.take(index + 1, None, Cause::Interrupt(signal), now);
            }
            // Only output is left: the first interrupt stops reading more, the next one drops
            // what is queued for a reader that does not take it.
            Phase::Over => match self.drain {
                Drain::Cut | Drain::NotYet => {
                    self.orders.push(Order::DropOutput);
                    Received::DropsOutput
                }
                Drain::Until(_) => {
                    self.drain = Drain::Until(Some(now));
                    Received::EndsDrain
                }
            },
            Phase::Killed { named: false, .. } => Received::AlreadyKilled,
            Phase::Killed { named: true, .. } => {
                // The event loop finishes without the survivors once the machine is abandoned.
                self.enter(Phase::Abandoned);
                return self
                    .orders
                    .push(Order::Warn(Note::Received(signal, Received::GivesUp)));
            }
            Phase::Abandoned => return,
        };
        self.orders
            .push(Order::Tell(Note::Received(signal, received)));
    }

    /// Whether an interrupt at `now` counts for the step its wait's end just took.
    fn merges(&self, now: Instant) -> bool {
        self.waited_at
            .is_some_and(|at| now.saturating_duration_since(at) < INTERRUPT_MERGE)
    }

    /// `--timeout`: starts the sequence, or jumps to its first signal step not yet taken.
    fn timed_out(&mut self, now: Instant) {
        self.orders.push(Order::Tell(Note::TimeoutElapsed));
        match self.phase {
            Phase::Running => self.begin(Trigger::Timeout, 0, None, now),
            Phase::Step { index, .. } => {
                let step = self.config.sequence.signal_step(index + 1);
                self.take(step, None, Cause::Timeout, now);
            }
            // SIGKILL is already sent: taking it again would only postpone naming survivors.
            Phase::Killed { .. } | Phase::Over | Phase::Abandoned => {}
        }
    }
}
