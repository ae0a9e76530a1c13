//! The event loop: one wait over the relay's descriptors, the child's exit and the signals
//! received, turning readiness into the state machine's inputs and its orders into calls.
//!
//! The command line runs it from the start with its own stdin and stdout; the library runs it
//! only for `close`, with no input and with the child's output discarded.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::hook::{HookEnv, Runs};
use crate::machine::{Input, Machine, Order, Target, UNKILLABLE_AFTER};
use crate::note::Note;
use crate::outcome::{Bytes, Exit, Outcome};
use crate::poller::{Interest, Poller, Readiness};
use crate::process::{ChildPipes, ChildProcess};
use crate::relay::{Endpoint, Event, Pump};
use crate::signals::{Role, Signal, SignalSource};
use crate::stderr::StderrRelay;
use crate::timeline::Timeline;
use crate::trace::{Direction, Tap};

/// How often the child is looked at where nothing announces its exit (no pidfd, no SIGCHLD).
const BLIND_CHECK: Duration = Duration::from_millis(10);

/// The loop's state. See the module documentation.
pub(crate) struct EventLoop {
    child: ChildProcess,
    machine: Machine,
    /// agentpipe's input (none in the library) to the child's stdin.
    to_child: Pump,
    /// The child's stdout to agentpipe's output (none in the library: discarded).
    from_child: Pump,
    /// The child's stderr, when it passes through agentpipe.
    stderr: StderrRelay,
    /// Close the child's stdin as soon as the input ended and was written (the command line);
    /// the library keeps it open until the sequence's `stdin` step.
    forward_eof: bool,
    signals: Option<SignalSource>,
    /// Readable when agentpipe's parent exits (`--end-with-parent`).
    parent: Option<OwnedFd>,
    /// The commands of `run` steps.
    runs: Runs,
    timeline: Timeline,
    poller: Poller,
}

impl EventLoop {
    /// Takes charge of a started child and both directions of the relay.
    pub fn new(
        child: ChildProcess,
        pipes: ChildPipes,
        input: Option<Endpoint>,
        output: Option<Endpoint>,
        config: Config,
        timeline: Timeline,
    ) -> EventLoop {
        let target = Target {
            pid: child.pid(),
            name: child.name().to_string(),
            scope: child.scope(),
        };
        let machine = Machine::new(config, target, timeline.start());
        let forward_eof = input.is_some();
        let mut to_child = Pump::new(input, pipes.stdin.map(Endpoint::own));
        let mut from_child = Pump::new(pipes.stdout.map(Endpoint::own), output);
        if let Some(trace) = timeline.trace() {
            to_child.set_tap(Tap::new(trace.clone(), Direction::ToChild));
            from_child.set_tap(Tap::new(trace.clone(), Direction::FromChild));
        }
        EventLoop {
            forward_eof,
            to_child,
            from_child,
            stderr: StderrRelay::Untouched,
            child,
            machine,
            signals: None,
            parent: None,
            runs: Runs::default(),
            timeline,
            poller: Poller::default(),
        }
    }

    /// Reacts to the signals agentpipe receives (the command line only: a library must not take
    /// over its host's signals).
    pub fn with_signals(mut self, signals: SignalSource) -> EventLoop {
        self.signals = Some(signals);
        self.runs.parent_death_signal = true;
        self
    }

    /// Starts the sequence when the process `parent` refers to (a pidfd) exits; at once when it
    /// is gone already (`None`).
    pub fn with_parent(mut self, parent: Option<OwnedFd>) -> EventLoop {
        match parent {
            Some(parent) => self.parent = Some(parent),
            None => self.input(Input::ParentExited),
        }
        self
    }

    /// Relays the child's stderr too (its pipe is the caller's, from [`ChildPipes::stderr`]):
    /// drained as its stdout is, and the run ends when both are.
    pub fn with_stderr(mut self, stderr: StderrRelay) -> EventLoop {
        self.stderr = stderr;
        self
    }

    /// Relays until the child and its scope are gone and the output is drained.
    pub fn run(mut self) -> io::Result<Outcome> {
        while !self.finished() {
            self.turn()?;
        }
        self.finish()
    }

    /// Runs the close sequence from its first step, discarding the child's output meanwhile.
    pub fn close(mut self) -> io::Result<Outcome> {
        self.input(Input::Close);
        self.run()
    }

    fn finished(&self) -> bool {
        self.machine.abandoned()
            || (self.machine.settled()
                && self.from_child.source().is_none()
                && !self.from_child.wants_write()
                && self.stderr.drained())
    }

    /// One round: wait for the next event or deadline, then handle everything that is due.
    fn turn(&mut self) -> io::Result<()> {
        let [
            signals,
            exited,
            parent,
            input,
            child_in,
            child_out,
            output,
            messages,
            trace,
            stderr @ ..,
        ] = self.wait()?;
        let due = self.timeline.due().is_some_and(|due| due <= Instant::now());
        if messages.ready || trace.ready || due {
            self.timeline.flush();
        }
        let moved = (self.to_child.relayed, self.from_child.relayed);
        if signals.ready {
            self.handle_signals();
        }
        if exited.ready || signals.ready || self.child.exit_fd().is_none() {
            self.check_child();
        }
        if let Some(note) = self.runs.check() {
            self.tell(note);
        }
        if parent.ready {
            self.parent = None;
            self.input(Input::ParentExited);
        }
        if child_out.ready {
            self.read_child_output();
        }
        if output.ready || self.from_child.can_write_now() {
            self.write_output(output.failed);
        }
        self.stderr.turn(stderr);
        if input.ready {
            self.read_input();
        }
        if child_in.ready || self.to_child.can_write_now() {
            self.write_child_input(child_in.failed);
        }
        if self.machine.watches_idle() {
            self.note_activity(moved);
        }
        let orders = self.machine.tick(Instant::now());
        self.carry_out(orders);
        self.forward_ends();
        Ok(())
    }

    /// Tells the machine whether bytes moved this turn (counts were `before`), or wait for a
    /// destination that does not take them: neither is idleness.
    fn note_activity(&mut self, before: (u64, u64)) {
        let busy = |pump: &Pump, before: u64| pump.relayed != before || pump.wants_write();
        let output = busy(&self.from_child, before.1);
        if output || busy(&self.to_child, before.0) {
            self.machine.moved(output, Instant::now());
        }
    }

    /// Waits for any descriptor that matters now, or the next deadline.
    fn wait(&mut self) -> io::Result<[Readiness; 12]> {
        // Where nothing announces an exit (no pidfd, no SIGCHLD), the child and a step's command
        // are looked at.
        let unseen = !self.machine.exited() && self.child.exit_fd().is_none();
        let blind = self.signals.is_none() && (unseen || self.runs.running());
        let check = blind.then(|| Instant::now() + BLIND_CHECK);
        let deadline = [self.machine.deadline(), check, self.timeline.due()]
            .into_iter()
            .flatten()
            .min();
        // agentpipe's own lines and the trace, while a slow reader holds them back.
        let [messages, trace] = self.timeline.waiting();
        self.poller.wait(
            [
                self.signals.as_ref().map(|s| (s.fd(), Interest::Read)),
                self.child.exit_fd().map(|fd| (fd, Interest::Read)),
                self.parent.as_ref().map(|fd| (fd.as_fd(), Interest::Read)),
                read(&self.to_child),
                write(&self.to_child),
                read(&self.from_child),
                write(&self.from_child),
                messages.as_ref().map(waiting),
                trace.as_ref().map(waiting),
                self.stderr.pump().and_then(read),
                self.stderr.pump().and_then(write),
                self.stderr.control().map(|fd| (fd, Interest::Read)),
            ],
            deadline,
        )
    }

    fn input(&mut self, input: Input) {
        let orders = self.machine.handle(input, Instant::now());
        self.carry_out(orders);
    }

    fn carry_out(&mut self, orders: Vec<Order>) {
        for order in orders {
            match order {
                Order::CloseStdin { flush } => self.close_child_stdin(flush),
                Order::Signal(signal) => self.child.signal_scope(signal),
                Order::CutDrain => {
                    self.from_child.limit_to_owed();
                    self.stderr.limit_to_owed();
                }
                Order::DropOutput => {
                    let queued = self.from_child.source().map_or(0, Endpoint::queued);
                    self.from_child.discarded += queued;
                    let discarded = self.from_child.shut() + queued as usize;
                    self.tell(Note::OutputDropped { discarded });
                }
                Order::LookAtScope => {
                    let left = self.left();
                    self.input(Input::ScopeLooked(left));
                }
                Order::NameSurvivors => {
                    let mut pids = self.left();
                    if !self.machine.exited() {
                        pids.insert(0, self.child.pid());
                    }
                    self.warn(Note::Unkillable {
                        pids,
                        after: UNKILLABLE_AFTER,
                    });
                }
                Order::Run {
                    command,
                    step,
                    trigger,
                } => {
                    let env = HookEnv {
                        pid: self.child.pid(),
                        trigger,
                        step,
                    };
                    let note = self.runs.start(&command, &env);
                    self.tell(note);
                }
                Order::EndRun => {
                    if let Some(note) = self.runs.end() {
                        self.tell(note);
                    }
                }
                Order::GiveUp => {}
                Order::Tell(note) => self.tell(note),
                Order::Warn(note) => self.warn(note),
            }
        }
    }

    fn handle_signals(&mut self) {
        let Some(source) = &mut self.signals else {
            return;
        };
        for (signal, role) in source.pending() {
            match role {
                Role::ChildChanged => {
                    self.check_stopped();
                    self.child.reap_adopted();
                }
                Role::Trigger => {
                    if signal == Signal::INT {
                        self.timeline.interrupted();
                    }
                    self.input(Input::Interrupt(signal));
                }
                Role::Suspend => {
                    self.tell(Note::Suspending);
                    self.child.signal_group(Signal::TSTP);
                    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
                }
                Role::Resume => {
                    self.tell(Note::Resumed);
                    self.child.signal_group(Signal::CONT);
                }
                Role::Forward => {
                    self.tell(Note::Forwarding(signal));
                    self.child.signal_child(signal);
                }
            }
        }
    }

    fn check_stopped(&mut self) {
        if let Some(signal @ (Signal::TTIN | Signal::TTOU)) = self.child.check_stopped() {
            let pid = self.child.pid();
            self.warn(Note::StoppedByTerminal { pid, signal });
        }
    }

    fn check_child(&mut self) {
        if self.machine.exited() {
            return;
        }
        if let Some(exit) = self.child.check_exit() {
            self.child_exited(exit);
        }
    }

    fn child_exited(&mut self, exit: Exit) {
        let discarded = self.to_child.shut();
        if discarded > 0 {
            self.tell(Note::InputDiscarded(discarded));
        }
        self.from_child.mark_owed();
        self.stderr.mark_owed();
        let left = self.left();
        self.input(Input::ChildExited { exit, left });
    }

    /// The live processes of the scope other than the child, by pid.
    fn left(&self) -> Vec<u32> {
        self.child.leftovers()
    }

    fn tell(&self, note: Note) {
        self.timeline.say(&note);
    }

    fn warn(&self, note: Note) {
        self.timeline.warn(&note);
    }

    fn read_child_output(&mut self) {
        let event = self.from_child.fill();
        if self.from_child.destination().is_none() {
            self.from_child.discard_buffer();
        }
        match event {
            Event::SourceEnded => {
                self.tell(Note::ChildOutputEnded);
                self.from_child.close_source();
            }
            Event::DestinationClosed => self.output_closed(),
            Event::Progress => {}
        }
    }

    fn write_output(&mut self, failed: bool) {
        if self.from_child.write_ready(failed) {
            self.output_closed();
        }
    }

    /// agentpipe's stdout reader went away: the child's stdout is closed as in a plain pipeline,
    /// and the sequence starts.
    fn output_closed(&mut self) {
        let discarded = self.from_child.shut();
        self.tell(Note::OutputReaderGone { discarded });
        self.input(Input::OutputClosed);
    }

    fn read_input(&mut self) {
        match self.to_child.fill() {
            Event::SourceEnded => {
                let hangup = self
                    .to_child
                    .source()
                    .is_some_and(Endpoint::ends_with_hangup);
                self.to_child.close_source();
                self.tell(Note::EndOfInput);
                self.input(Input::Eof { hangup });
            }
            Event::DestinationClosed => self.child_stdin_closed(),
            Event::Progress => {}
        }
    }

    fn write_child_input(&mut self, failed: bool) {
        if self.to_child.write_ready(failed) {
            self.child_stdin_closed();
        }
    }

    /// The child closed its stdin: agentpipe stops reading its own.
    fn child_stdin_closed(&mut self) {
        let discarded = self.to_child.shut();
        self.tell(Note::ChildClosedStdin { discarded });
    }

    /// The stdin step: after the input's end, the child's stdin closes once what was read is
    /// written (see `forward_ends`); after any other trigger, at once.
    /// A stdin step reached after the child's stdin was already closed still waits its grace:
    /// the child may be finishing what the EOF asked of it.
    fn close_child_stdin(&mut self, flush: bool) {
        self.to_child.close_source();
        if flush || self.to_child.destination().is_none() {
            return;
        }
        let discarded = self.to_child.buffered();
        self.to_child.close_destination();
        self.tell(Note::ClosedChildStdin { discarded });
    }

    /// Passes an ended source on as the end of the destination, once everything read is
    /// written; ends a drained source whose budget is spent.
    fn forward_ends(&mut self) {
        if self.from_child.source().is_none()
            && self.from_child.buffered() == 0
            && self.from_child.destination().is_some()
        {
            self.from_child.close_destination();
            self.tell(Note::ClosedOutput);
        }
        if self.forward_eof
            && self.to_child.source().is_none()
            && self.to_child.buffered() == 0
            && self.to_child.destination().is_some()
        {
            self.to_child.close_destination();
            self.tell(Note::ForwardedEof);
        }
        if self.from_child.budget_spent() && self.from_child.source().is_some() {
            self.tell(Note::DrainOver);
            self.from_child.close_source();
        }
        if self.stderr.forward_ends() {
            self.tell(Note::StderrDrainOver);
        }
    }

    fn finish(mut self) -> io::Result<Outcome> {
        self.child.reap_adopted();
        let abandoned = self.machine.abandoned();
        let exit = if abandoned {
            self.child.exit().unwrap_or(Exit::Unknown)
        } else {
            self.child.reap()?
        };
        let stderr = self.stderr.finish();
        let stderr_cut = stderr.as_ref().is_some_and(|stderr| stderr.cut);
        let outcome = Outcome {
            pid: self.child.pid(),
            exit,
            trigger: self.machine.trigger(),
            killed: self
                .machine
                .steps()
                .iter()
                .any(|s| s.action == crate::Action::Kill),
            steps: self.machine.steps().to_vec(),
            commands: std::mem::take(&mut self.runs).into_records(),
            interrupted: self.machine.interrupted(),
            abandoned,
            to_child: Bytes {
                relayed: self.to_child.relayed,
                discarded: self.to_child.discarded,
            },
            from_child: Bytes {
                relayed: self.from_child.relayed,
                discarded: self.from_child.discarded,
            },
            drain_cut: self.machine.drain_cut() && (self.from_child.budget_spent() || stderr_cut),
            stderr: stderr.as_ref().map(|stderr| stderr.bytes),
            stderr_tail: stderr.map(|stderr| stderr.tail).unwrap_or_default(),
            leftovers: self.machine.left_behind().to_vec(),
            exited_at: self.machine.exited_at(),
            quiet_since: self.machine.quiet_since(),
        };
        if let Some(bytes) = outcome.stderr {
            let kept = outcome.stderr_tail.len();
            self.tell(Note::StderrRelayed { bytes, kept });
        }
        self.tell(Note::Done {
            exit: outcome.exit,
            to_child: outcome.to_child,
            from_child: outcome.from_child,
        });
        self.timeline.finish();
        if abandoned {
            std::mem::forget(self.child);
        }
        Ok(outcome)
    }
}

/// What to wait for on a pump's source: readable, when it wants to read.
/// A descriptor agentpipe's own lines or the trace wait for.
fn waiting(fd: &Arc<OwnedFd>) -> (BorrowedFd<'_>, Interest) {
    (fd.as_fd(), Interest::Write)
}

fn read(pump: &Pump) -> Option<(BorrowedFd<'_>, Interest)> {
    let source = pump.source().filter(|_| pump.wants_read());
    source.map(|end| (end.fd(), Interest::Read))
}

/// What to wait for on a pump's destination: room, when it has bytes for it; else its end.
fn write(pump: &Pump) -> Option<(BorrowedFd<'_>, Interest)> {
    let interest = if pump.wants_write() {
        Interest::Write
    } else {
        Interest::Hangup
    };
    pump.destination().map(|end| (end.fd(), interest))
}
