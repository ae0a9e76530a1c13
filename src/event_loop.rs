//! The event loop: one poll(2) over the relay's descriptors, the child's exit and the signals
//! received, turning readiness into the state machine's inputs and its orders into calls.
//!
//! The command line runs it from the start with its own stdin and stdout; the library runs it
//! only for `close`, with no input and with the child's output discarded.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::machine::{Config, Input, Machine, Order};
use crate::outcome::{Bytes, Exit, Outcome};
use crate::process::{ChildPipes, ChildProcess};
use crate::relay::{Endpoint, Event, Pump};
use crate::signals::{Role, Signal, SignalSource};
use crate::timeline::Timeline;

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
    /// Close the child's stdin as soon as the input ended and was written (the command line);
    /// the library keeps it open until the sequence's `stdin` step.
    forward_eof: bool,
    signals: Option<SignalSource>,
    timeline: Timeline,
}

/// What one poll reported, by descriptor.
#[derive(Default)]
struct Ready {
    signals: bool,
    exited: bool,
    input: bool,
    child_in: bool,
    child_in_failed: bool,
    child_out: bool,
    output: bool,
    output_failed: bool,
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
        let pid = child.pid().as_raw() as u32;
        let machine = Machine::new(config, pid, child.scope(), timeline.start());
        EventLoop {
            forward_eof: input.is_some(),
            to_child: Pump::new(input, pipes.stdin.map(Endpoint::own)),
            from_child: Pump::new(pipes.stdout.map(Endpoint::own), output),
            child,
            machine,
            signals: None,
            timeline,
        }
    }

    /// Reacts to the signals agentpipe receives (the command line only: a library must not take
    /// over its host's signals).
    pub fn with_signals(mut self, signals: SignalSource) -> EventLoop {
        self.signals = Some(signals);
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
                && !self.from_child.wants_write())
    }

    /// One round: wait for the next event or deadline, then handle everything that is due.
    fn turn(&mut self) -> io::Result<()> {
        let ready = self.poll()?;
        if ready.signals {
            self.handle_signals();
        }
        if ready.exited || ready.signals || self.child.exit_fd().is_none() {
            self.check_child();
        }
        if ready.child_out {
            self.read_child_output();
        }
        if ready.output || self.from_child.can_write_now() {
            self.write_output(ready.output_failed);
        }
        if ready.input {
            self.read_input();
        }
        if ready.child_in || self.to_child.can_write_now() {
            self.write_child_input(ready.child_in_failed);
        }
        let orders = self.machine.tick(Instant::now());
        self.carry_out(orders);
        self.forward_ends();
        Ok(())
    }

    /// Waits in poll(2) for any descriptor that matters now, or the next deadline.
    fn poll(&self) -> io::Result<Ready> {
        fn read(pump: &Pump) -> Option<BorrowedFd<'_>> {
            pump.source()
                .filter(|_| pump.wants_read())
                .map(Endpoint::fd)
        }
        // A destination is always polled, for POLLOUT when there is something to write, and
        // otherwise for nothing: POLLERR and POLLHUP are reported anyway and tell that its
        // reader went away.
        fn write(pump: &Pump) -> Option<(BorrowedFd<'_>, PollFlags)> {
            let events = if pump.wants_write() {
                PollFlags::POLLOUT
            } else {
                PollFlags::empty()
            };
            pump.destination().map(|end| (end.fd(), events))
        }
        let wanted: [Option<(BorrowedFd<'_>, PollFlags)>; 6] = [
            self.signals.as_ref().map(|s| (s.fd(), PollFlags::POLLIN)),
            self.child.exit_fd().map(|fd| (fd, PollFlags::POLLIN)),
            read(&self.to_child).map(|fd| (fd, PollFlags::POLLIN)),
            write(&self.to_child),
            read(&self.from_child).map(|fd| (fd, PollFlags::POLLIN)),
            write(&self.from_child),
        ];
        let mut fds: Vec<PollFd<'_>> = wanted
            .iter()
            .flatten()
            .map(|(fd, events)| PollFd::new(fd.as_fd(), *events))
            .collect();
        match nix::poll::poll(&mut fds, self.poll_timeout()) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
        let mut results = fds
            .iter()
            .map(|fd| fd.revents().unwrap_or(PollFlags::empty()));
        let mut next = |slot: &Option<(BorrowedFd<'_>, PollFlags)>| {
            slot.map_or(PollFlags::empty(), |_| {
                results.next().unwrap_or(PollFlags::empty())
            })
        };
        let got: Vec<PollFlags> = wanted.iter().map(&mut next).collect();
        let failed = |flags: PollFlags| flags.intersects(PollFlags::POLLERR | PollFlags::POLLHUP);
        Ok(Ready {
            signals: !got[0].is_empty(),
            exited: !got[1].is_empty(),
            input: !got[2].is_empty(),
            child_in: !got[3].is_empty(),
            child_in_failed: failed(got[3]),
            child_out: !got[4].is_empty(),
            output: !got[5].is_empty(),
            output_failed: failed(got[5]),
        })
    }

    /// Until the machine's next deadline, rounded up to the next millisecond so that a deadline
    /// is never reported early; a blind check where nothing announces the child's exit.
    fn poll_timeout(&self) -> PollTimeout {
        let blind =
            !self.machine.exited() && self.child.exit_fd().is_none() && self.signals.is_none();
        let now = Instant::now();
        let check = blind.then(|| now + BLIND_CHECK);
        let Some(at) = [self.machine.deadline(), check].into_iter().flatten().min() else {
            return PollTimeout::NONE;
        };
        let millis = at
            .saturating_duration_since(now)
            .as_nanos()
            .div_ceil(1_000_000);
        PollTimeout::try_from(millis.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
    }

    fn input(&mut self, input: Input) {
        let orders = self.machine.handle(input, Instant::now());
        self.carry_out(orders);
    }

    fn carry_out(&mut self, orders: Vec<Order>) {
        for order in orders {
            match order {
                Order::CloseStdin { flush } => self.close_child_stdin(flush),
                Order::Signal(signal) => {
                    if let Some(signal) = signal.to_nix() {
                        self.child.signal_scope(signal);
                    }
                }
                Order::CutDrain => self.from_child.limit_to_owed(),
                Order::LookAtScope => {
                    let left = self.left();
                    self.input(Input::ScopeLooked(left));
                }
                Order::NameSurvivors => self.name_survivors(),
                Order::GiveUp => {}
                Order::Tell(note) => self.timeline.say(format_args!("{note}")),
                Order::Warn(note) => self.timeline.warn(format_args!("{note}")),
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
                Role::Trigger => self.input(Input::Interrupt(signal)),
                Role::Suspend => {
                    self.timeline
                        .say(format_args!("suspending the child's group and agentpipe"));
                    self.signal_group(Signal::TSTP);
                    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
                }
                Role::Resume => self.signal_group(Signal::CONT),
                Role::Forward => {
                    self.timeline
                        .say(format_args!("forwarding {signal} to the child"));
                    if let Some(signal) = signal.to_nix() {
                        self.child.signal_child(signal);
                    }
                }
            }
        }
    }

    fn signal_group(&self, signal: Signal) {
        if let Some(signal) = signal.to_nix() {
            self.child.signal_group(signal);
        }
    }

    fn check_stopped(&mut self) {
        use nix::sys::signal::Signal::{SIGTTIN, SIGTTOU};
        if let Some(signal @ (SIGTTIN | SIGTTOU)) = self.child.check_stopped() {
            self.timeline.warn(format_args!(
                "the child (pid {}) was stopped by {} because it tried to use the terminal from its own \
                 process group; run it with --foreground, or keep it off the terminal (ssh: -o BatchMode=yes)",
                self.child.pid(),
                signal.as_str()
            ));
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
            self.timeline.say(format_args!(
                "discarded {discarded} bytes of input the child did not read"
            ));
        }
        self.from_child.mark_owed();
        let left = self.left();
        self.input(Input::ChildExited { exit, left });
    }

    /// The live processes of the scope other than the child, by pid.
    fn left(&self) -> Vec<u32> {
        let pids = self.child.leftovers();
        pids.iter().map(|pid| pid.as_raw() as u32).collect()
    }

    fn name_survivors(&mut self) {
        let mut pids = self.left();
        if !self.machine.exited() {
            pids.insert(0, self.child.pid().as_raw() as u32);
        }
        self.timeline.warn(format_args!(
            "pid {} still not gone {}s after SIGKILL (uninterruptible sleep?); interrupt once more to exit without it",
            crate::machine::list(&pids),
            crate::machine::UNKILLABLE_AFTER.as_secs()
        ));
    }

    fn read_child_output(&mut self) {
        let event = self.from_child.fill();
        if self.from_child.destination().is_none() {
            self.from_child.discard_buffer();
        }
        match event {
            Event::SourceEnded => {
                self.timeline.say(format_args!("the child's output ended"));
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
        self.timeline.say(format_args!(
            "the output's reader went away; closed the child's stdout ({discarded} bytes discarded)"
        ));
        self.input(Input::OutputClosed);
    }

    fn read_input(&mut self) {
        match self.to_child.fill() {
            Event::SourceEnded => {
                self.to_child.close_source();
                self.timeline.say(format_args!("end of input"));
                self.input(Input::Eof);
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
        self.timeline.say(format_args!(
            "the child closed its stdin; stopped reading input ({discarded} bytes discarded)"
        ));
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
        self.timeline.say(format_args!(
            "closed the child's stdin ({discarded} bytes of input discarded)"
        ));
    }

    /// Passes an ended source on as the end of the destination, once everything read is
    /// written; ends a drained source whose budget is spent.
    fn forward_ends(&mut self) {
        if self.from_child.source().is_none()
            && self.from_child.buffered() == 0
            && self.from_child.destination().is_some()
        {
            self.from_child.close_destination();
            self.timeline.say(format_args!("closed agentpipe's output"));
        }
        if self.forward_eof
            && self.to_child.source().is_none()
            && self.to_child.buffered() == 0
            && self.to_child.destination().is_some()
        {
            self.to_child.close_destination();
            self.timeline.say(format_args!("closed the child's stdin"));
        }
        if self.from_child.budget_spent() && self.from_child.source().is_some() {
            self.timeline.say(format_args!(
                "drain over: closing the child's stdout, which a descendant still holds"
            ));
            self.from_child.close_source();
        }
    }

    fn finish(mut self) -> io::Result<Outcome> {
        self.child.reap_adopted();
        let abandoned = self.machine.abandoned();
        let exit = if abandoned {
            self.child
                .exit()
                .unwrap_or(Exit::Signal(nix::libc::SIGKILL))
        } else {
            self.child.reap()?
        };
        let outcome = Outcome {
            pid: self.child.pid().as_raw() as u32,
            exit,
            trigger: self.machine.trigger(),
            killed: self
                .machine
                .steps()
                .iter()
                .any(|s| s.action == crate::Action::Kill),
            steps: self.machine.steps().to_vec(),
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
            drain_cut: self.machine.drain_cut() && self.from_child.budget_spent(),
            leftovers: self.machine.left_behind().to_vec(),
            exited_at: self.machine.exited_at(),
        };
        if abandoned {
            std::mem::forget(self.child);
        }
        self.timeline.say(format_args!(
            "done: the child {}; {} bytes in, {} out, {} + {} discarded",
            outcome.exit,
            outcome.to_child.relayed,
            outcome.from_child.relayed,
            outcome.to_child.discarded,
            outcome.from_child.discarded
        ));
        Ok(outcome)
    }
}
