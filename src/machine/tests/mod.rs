//! The close sequence's rules, one test each (agentpipe(1), CLOSE SEQUENCE), run against the
//! state machine with a fake clock: no process, no sleep. `sequence` holds the steps and the
//! interrupts, `triggers` the triggers that came later (file EOF, idle, parent exit, run steps).

mod fail_closed;
mod replies;
mod sequence;
mod triggers;
mod work;

use std::time::{Duration, Instant};

use super::*;
use crate::scope::Scope;
use crate::sequence::Sequence;

const S: u64 = 1000;

/// A machine and a fake clock, in milliseconds since start.
struct Clock {
    machine: Machine,
    start: Instant,
    now: u64,
}

impl Clock {
    fn new(config: Settings) -> Clock {
        let start = Instant::now();
        Clock {
            machine: Machine::new(config, target(), start),
            start,
            now: 0,
        }
    }

    fn default() -> Clock {
        Clock::new(Settings::default())
    }

    fn with_sequence(text: &str) -> Clock {
        Clock::new(Settings {
            sequence: Sequence::parse(text).expect("valid sequence"),
            ..Settings::default()
        })
    }

    fn instant(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// Hands `input` to the machine at `ms`, after every deadline before it.
    fn at(&mut self, ms: u64, input: Input) -> Vec<Order> {
        let mut orders = self.until(ms);
        orders.extend(self.machine.handle(input, self.instant(ms)));
        orders
    }

    /// Lets time pass to `ms`, waking the machine at each deadline as the loop does.
    fn until(&mut self, ms: u64) -> Vec<Order> {
        let mut orders = Vec::new();
        while let Some(due) = self.machine.deadline() {
            if due > self.instant(ms) {
                break;
            }
            let due_ms = (due - self.start).as_millis() as u64;
            assert!(
                due_ms >= self.now,
                "a deadline in the past: {due_ms} < {}",
                self.now
            );
            self.now = due_ms;
            orders.extend(self.machine.tick(due));
        }
        self.now = ms;
        orders
    }

    /// The steps taken so far: (step number from 1, ms since start).
    fn steps(&self) -> Vec<(usize, u64)> {
        let steps = self.machine.steps().iter();
        steps
            .map(|step| (step.index + 1, step.at.as_millis() as u64))
            .collect()
    }
}

fn target() -> Target {
    Target {
        pid: 42,
        name: "agent".into(),
        scope: Scope::Group,
        stdin_owned: true,
    }
}

/// The signals among `orders`, in order.
fn signals(orders: &[Order]) -> Vec<Signal> {
    orders
        .iter()
        .filter_map(|order| match order {
            Order::Signal(signal) => Some(*signal),
            _ => None,
        })
        .collect()
}

/// The lines that say a signal was sent, among `orders`.
/// The lines said of signals sent, with the platform's name for the group scope written as
/// Unix's (the job on Windows), so that one expected text serves both.
fn sent(orders: &[Order]) -> Vec<String> {
    let unix = |line: String| line.replace(crate::platform::GROUP_NOUN, "process group");
    orders
        .iter()
        .filter_map(|order| match order {
            Order::Warn(note @ Note::Sent { .. }) => Some(unix(note.to_string())),
            _ => None,
        })
        .collect()
}

fn has(orders: &[Order], wanted: &Order) -> bool {
    orders.contains(wanted)
}

fn exited(code: i32, left: &[u32]) -> Input {
    Input::ChildExited {
        exit: Exit::Code(code),
        left: crate::scope::Look::Seen(left.to_vec()),
    }
}
