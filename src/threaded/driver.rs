//! The driver: what the pumps and the waiters saw, taken from one channel, turned into the
//! machine's inputs, and its orders into calls; the channel's `recv_timeout` is the wait until
//! the machine's next deadline.

use std::io;
use std::os::windows::io::AsRawHandle;
use std::process::{Child, ChildStderr};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use super::pump::{Pump, Sink, Way};
use super::tail::Tail;
use super::{Event, Tell};
use crate::config::Settings;
use crate::hook::Runs;
use crate::machine::note::Note;
use crate::machine::{Input, Machine, Order, Target};
use crate::outcome::ended::Ended;
use crate::outcome::{Exit, Outcome};
use crate::platform::{self, Contained};
use crate::scope::{Look, Unseen};
use crate::sequence::Action;
use crate::signals::Signal;

/// How often a close of the child's stdin that raced with a write is asked for again.
const RETRY_CLOSE: Duration = Duration::from_millis(50);

/// How often a running step's command is looked at: no event announces its exit here.
const CHECK_RUN: Duration = Duration::from_millis(20);

/// The pumps of a run: to the child's stdin, from its stdout, from its stderr.
#[derive(Default)]
pub(crate) struct Pumps {
    pub to_child: Option<Pump>,
    pub from_child: Option<Pump>,
    pub stderr: Option<Pump>,
    /// The front end reads the stderr tail from here once the run is over.
    pub stderr_tail: Option<Box<dyn FnOnce() -> Vec<u8> + Send>>,
}

impl Pumps {
    /// Relays the child's stderr into `tail` from a thread of its own, and keeps the way to read
    /// the tail's end once the run is over: the command line and the library stream alike.
    pub(crate) fn relay_stderr(
        &mut self,
        pipe: ChildStderr,
        tail: Tail,
        events: Sender<Event>,
    ) -> io::Result<()> {
        let kept = tail.kept();
        let sink = Sink {
            handle: None,
            writer: Box::new(tail),
            trace: None,
        };
        self.stderr = Some(Pump::start(Way::Stderr, Box::new(pipe), sink, events)?);
        self.stderr_tail = Some(kept);
        Ok(())
    }
}

/// The run's state. See the module documentation.
pub(crate) struct Driver {
    machine: Machine,
    child: Child,
    contained: Contained,
    events: Receiver<Event>,
    pumps: Pumps,
    /// Which pumps' sources are still open (the output owed to agentpipe's reader).
    open: [bool; 2],
    /// The sink of `from_child` is agentpipe's own stdout, whose reader going away is a trigger.
    output_is_ours: bool,
    /// agentpipe's input is a pipe or a console, whose end means the controller is done.
    input_hangs_up: bool,
    /// The close of the child's stdin waits for a pending write.
    closing_stdin: bool,
    dropped_output: bool,
    exit: Option<Exit>,
    /// The job's processes other than the child, as seen when looked at or signalled.
    ended: Ended,
    runs: Runs,
    tell: Tell,
}

impl Driver {
    /// Takes charge of a started child; `events` is the channel `sender` feeds, which the
    /// pumps were given too.
    #[allow(clippy::too_many_arguments)] // the run's parts, each given once
    pub fn new(
        child: Child,
        contained: Contained,
        (sender, events): (Sender<Event>, Receiver<Event>),
        pumps: Pumps,
        config: Settings,
        start: Instant,
        name: String,
        tell: Tell,
    ) -> std::io::Result<Driver> {
        let target = Target {
            pid: child.id(),
            name,
            scope: contained.scope(),
            stdin_owned: true,
        };
        // The process handle stays open with the `Child`, which outlives the waiter's use.
        let process = child.as_raw_handle() as usize;
        thread::Builder::new()
            .name("agentpipe exit".into())
            .spawn(move || {
                platform::wait_handle(process as _, None);
                let _ = sender.send(Event::Exited);
            })?;
        let open = [pumps.from_child.is_some(), pumps.stderr.is_some()];
        Ok(Driver {
            machine: Machine::new(config, target, start),
            child,
            contained,
            events,
            pumps,
            open,
            output_is_ours: false,
            input_hangs_up: true,
            closing_stdin: false,
            dropped_output: false,
            exit: None,
            ended: Ended::default(),
            runs: Runs::default(),
            tell,
        })
    }

    /// The command line's: the child's stdout goes to agentpipe's own, whose reader going away
    /// is a trigger; `hangs_up` says whether the end of agentpipe's input is a controller's.
    pub fn relaying(mut self, hangs_up: bool) -> Driver {
        self.output_is_ours = true;
        self.input_hangs_up = hangs_up;
        self
    }

    /// Gives the machine `input` now.
    pub fn input(&mut self, input: Input) {
        let orders = self.machine.handle(input, Instant::now());
        self.carry_out(orders);
    }

    /// Runs until the child and its job are gone and the output is drained.
    pub fn run(mut self) -> Outcome {
        while !self.finished() {
            let orders = self.machine.tick(Instant::now());
            self.carry_out(orders);
            if self.finished() {
                break;
            }
            let retry = self.closing_stdin.then(|| Instant::now() + RETRY_CLOSE);
            let run = self.runs.running().then(|| Instant::now() + CHECK_RUN);
            let deadline = [self.machine.deadline(), retry, run]
                .into_iter()
                .flatten()
                .min();
            let event = match deadline {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match self.events.recv_timeout(wait) {
                        Ok(event) => Some(event),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                None => match self.events.recv() {
                    Ok(event) => Some(event),
                    Err(_) => break,
                },
            };
            if let Some(event) = event {
                self.handle(event);
            }
            self.housekeeping();
        }
        self.finish()
    }

    fn finished(&self) -> bool {
        let drained = self.dropped_output || self.machine.drain_cut() || self.open == [false; 2];
        self.machine.abandoned() || (self.machine.settled() && drained)
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Moved(way) => {
                // Told again from here, so that no later move is lost for the idle timers.
                let pump = match way {
                    Way::ToChild => &self.pumps.to_child,
                    Way::FromChild => &self.pumps.from_child,
                    Way::Stderr => &self.pumps.stderr,
                };
                if let Some(pump) = pump {
                    pump.moved_seen();
                }
                if self.machine.watches_idle() {
                    self.machine.moved(way == Way::FromChild, Instant::now());
                }
            }
            Event::SinkGone(Way::FromChild) if self.output_is_ours => {
                self.tell(Note::ClosedOutput);
                self.input(Input::OutputClosed);
            }
            Event::SinkGone(Way::ToChild) => self.tell(Note::ChildClosedStdin { discarded: 0 }),
            Event::SourceEnded(Way::ToChild) if self.output_is_ours => {
                self.tell(Note::EndOfInput);
                let hangup = self.input_hangs_up;
                if !hangup {
                    // The pump closed the child's stdin at the end of the file.
                    self.tell(Note::ForwardedEof);
                }
                self.input(Input::Eof { hangup });
            }
            Event::SinkGone(_) | Event::SourceEnded(Way::ToChild) => {}
            Event::SourceEnded(Way::FromChild) => {
                self.open[0] = false;
                self.tell(Note::ChildOutputEnded);
            }
            Event::SourceEnded(Way::Stderr) => self.open[1] = false,
            Event::Exited => {
                let code = self.child.try_wait().ok().flatten().and_then(|s| s.code());
                let exit = code.map_or(Exit::Unknown, Exit::Code);
                self.exit = Some(exit);
                let left = self.look(None);
                self.input(Input::ChildExited { exit, left });
            }
            Event::Input(input) => self.input(input),
        }
    }

    /// What no event announces: a close of the child's stdin that raced with a write, the
    /// command of a `run` step exiting.
    fn housekeeping(&mut self) {
        if self.closing_stdin
            && let Some(pump) = &self.pumps.to_child
        {
            pump.retry_close();
            self.closing_stdin = !pump.sink_closed();
        }
        if let Some(note) = self.runs.check() {
            self.tell(note);
        }
    }

    fn carry_out(&mut self, orders: Vec<Order>) {
        for order in orders {
            match order {
                Order::CloseStdin { .. } => {
                    if let Some(pump) = &self.pumps.to_child {
                        pump.close_sink();
                        self.closing_stdin = !pump.sink_closed();
                        self.tell(Note::ClosedChildStdin { discarded: 0 });
                    }
                }
                // Pipes only: the stdin step closed the pipe already.
                Order::HangUp => {}
                // Nothing is stopped by a terminal here: SIGCONT has nothing to wake, and is not sent.
                Order::Signal(Signal::CONT) => {}
                Order::Signal(signal) => {
                    // Listed before they are signalled: a KILL ends the job and its list.
                    self.look(Some(signal));
                    if let Err(error) = self.contained.signal(signal.number()) {
                        self.warn(Note::SignalFailed {
                            signal,
                            error: error.to_string(),
                        });
                    }
                }
                Order::CutDrain => {}
                Order::DropOutput => self.dropped_output = true,
                Order::LookAtScope => {
                    let left = self.look(None);
                    self.input(Input::ScopeLooked(left));
                }
                Order::LookAtWork => {
                    let cpu = self.contained.cpu_time();
                    self.input(Input::WorkLooked { cpu, waited: None });
                }
                Order::NameSurvivors => {
                    let left = self.look(None).pids().to_vec();
                    let note = self.machine.survivors(left);
                    self.warn(note);
                }
                order @ (Order::Run { .. } | Order::EndRun) => {
                    if let Some(note) = self.runs.carry_out(order, self.child.id()) {
                        self.tell(note);
                    }
                }
                // Only with --protocol, which this front end refuses.
                Order::SendShutdown | Order::SendExit | Order::Send { .. } => {}
                Order::Tell(note) => self.tell(note),
                Order::Warn(note) => self.warn(note),
            }
        }
    }

    /// The job's processes other than the child, noted for the report with `signal` if they
    /// are about to get one. A job the system would not list is unseen, never empty (decision
    /// (by)): the machine then takes its steps as if processes were left.
    fn look(&mut self, signal: Option<Signal>) -> Look {
        match self.contained.members() {
            Ok(members) => {
                let pids = members.iter().map(|member| member.pid).collect();
                self.ended.saw(members, signal);
                Look::Seen(pids)
            }
            Err(error) => Look::Unseen(Unseen::Error(error.raw_os_error().unwrap_or(0))),
        }
    }

    fn tell(&mut self, note: Note) {
        (self.tell)(&note, false);
    }

    fn warn(&mut self, note: Note) {
        (self.tell)(&note, true);
    }

    fn finish(mut self) -> Outcome {
        let abandoned = self.machine.abandoned();
        if !abandoned {
            let _ = self.child.wait();
        }
        let exit = self.exit.unwrap_or(Exit::Unknown);
        let bytes = |pump: &Option<Pump>| pump.as_ref().map(Pump::bytes).unwrap_or_default();
        let stderr = self.pumps.stderr.as_ref().map(Pump::bytes);
        let stderr_tail = self
            .pumps
            .stderr_tail
            .take()
            .map(|tail| tail())
            .unwrap_or_default();
        let steps = self.machine.steps().to_vec();
        let outcome = Outcome {
            pid: self.child.id(),
            exit,
            trigger: self.machine.trigger(),
            killed: steps.iter().any(|step| step.action == Action::Kill),
            steps,
            commands: std::mem::take(&mut self.runs).into_records(),
            interrupted: self.machine.interrupted(),
            abandoned,
            scope_unchecked: self.machine.unchecked(),
            to_child: bytes(&self.pumps.to_child),
            from_child: bytes(&self.pumps.from_child),
            drain_cut: self.machine.drain_cut() && self.open != [false; 2],
            stderr,
            stderr_tail,
            leftovers: self.machine.left_behind().to_vec(),
            exited_at: self.machine.exited_at(),
            cgroup: None,
            quiet_since: self.machine.quiet_since(),
            unanswered: Vec::new(),
            ended: self.ended.list(),
        };
        for note in Note::closing(&outcome) {
            self.tell(note);
        }
        outcome
    }
}
