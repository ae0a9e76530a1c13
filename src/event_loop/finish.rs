//! The end of a run: the child reaped (unless agentpipe gave up on it), and what happened
//! gathered into the [`Outcome`].

use std::io;

use super::EventLoop;
use crate::machine::note::Note;
#[cfg(feature = "json")]
use crate::machine::note::Said;
#[cfg(feature = "json")]
use crate::outcome::Unanswered;
use crate::outcome::{Exit, Outcome};
#[cfg(feature = "json")]
use crate::protocol::describe;
#[cfg(feature = "json")]
use crate::trace::Direction;

impl EventLoop {
    /// With a protocol: the stray output and the requests still waiting, said at the end; the
    /// requests, for the outcome.
    #[cfg(feature = "json")]
    fn protocol_end(&mut self) -> Vec<Unanswered> {
        let stray = self.duplex.stray_total();
        if stray > 0 {
            self.warn(Note::Protocol(Said::StrayTotal(stray)));
        }
        let unanswered = self.duplex.unanswered(self.timeline.start());
        if !unanswered.is_empty() {
            let requests = unanswered.iter().map(|request| {
                let dir = match request.to_child {
                    true => Direction::ToChild,
                    false => Direction::FromChild,
                };
                describe(&request.id, &request.method, dir)
            });
            self.tell(Note::Protocol(Said::Unanswered(requests.collect())));
        }
        unanswered
    }

    pub(crate) fn finish(mut self) -> io::Result<Outcome> {
        // Orphans are reaped for the command line only: a library's host may be PID 1 with
        // children of its own.
        if self.signals.is_some() {
            self.child.reap_adopted();
        }
        let abandoned = self.machine.abandoned();
        let exit = if abandoned {
            self.child.exit().unwrap_or(Exit::Unknown)
        } else {
            self.child.reap()?
        };
        #[cfg(feature = "json")]
        let unanswered = self.protocol_end();
        #[cfg(not(feature = "json"))]
        let unanswered = Vec::new();
        let stderr = self.stderr.finish();
        let stderr_cut = stderr.as_ref().is_some_and(|stderr| stderr.cut);
        let (to_child, from_child) = self.duplex.bytes();
        let outcome = Outcome {
            pid: self.child.pid(),
            exit,
            trigger: self.machine.trigger(),
            killed: self
                .machine
                .steps()
                .iter()
                .any(|s| s.action == crate::sequence::Action::Kill),
            steps: self.machine.steps().to_vec(),
            commands: std::mem::take(&mut self.runs).into_records(),
            interrupted: self.machine.interrupted(),
            abandoned,
            scope_unchecked: self.machine.unchecked(),
            to_child,
            from_child,
            drain_cut: self.machine.drain_cut() && (self.duplex.drain_spent() || stderr_cut),
            stderr: stderr.as_ref().map(|stderr| stderr.bytes),
            stderr_tail: stderr.map(|stderr| stderr.tail).unwrap_or_default(),
            leftovers: self.machine.left_behind().to_vec(),
            ended: self.child.ended(),
            exited_at: self.machine.exited_at(),
            cgroup: self.child.usage(),
            quiet_since: self.machine.quiet_since(),
            unanswered,
        };
        for note in Note::closing(&outcome) {
            self.tell(note);
        }
        self.timeline.finish();
        if abandoned {
            self.child.abandon();
        }
        Ok(outcome)
    }
}
