//! The relay's two directions between agentpipe and the child: agentpipe's input to the child's
//! stdin, and the child's stdout to agentpipe's output.
//!
//! It moves bytes and reports what that showed (an end of input, a reader gone) as notes for the
//! timeline and inputs for the state machine; the event loop passes them on and carries out
//! what the machine orders back.

#[cfg(feature = "json")]
mod helper;
#[cfg(feature = "json")]
mod talk;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
#[cfg(feature = "json")]
use std::os::unix::net::UnixDatagram;
#[cfg(feature = "json")]
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::machine::Input;
use crate::machine::note::Note;
use crate::outcome::Bytes;
use crate::poller::{Readiness, Want};
use crate::relay::{Endpoint, Event, Pump};
use crate::trace::{Direction, Recorder, Tap};
#[cfg(feature = "json")]
use helper::{Helper, Shared};
#[cfg(feature = "json")]
pub(crate) use talk::Talk;

/// What a move of the relay showed.
#[derive(Debug)]
pub(crate) enum Seen {
    Tell(Note),
    /// Said even without `-v`.
    Warn(Note),
    Input(Input),
}

/// Both directions. See the module documentation.
pub(crate) struct Duplex {
    /// agentpipe's input (none in the library) to the child's stdin.
    to_child: Pump,
    /// The child's stdout to agentpipe's output (none in the library: discarded).
    from_child: Pump,
    /// Close the child's stdin as soon as the input ended and was written (the command line);
    /// the library keeps it open until the sequence's `stdin` step.
    forward_eof: bool,
    /// With a protocol: the messages each way, shared with the directions' threads.
    #[cfg(feature = "json")]
    talk: Option<Arc<Mutex<Shared>>>,
    /// With a protocol: each direction's thread, by [`Direction::index`], started at its first
    /// stream (see `duplex/helper.rs`).
    #[cfg(feature = "json")]
    helpers: [Option<Helper>; 2],
    /// The socket the threads ring when they give a pump back or saw something for the loop:
    /// the loop's end, and theirs.
    #[cfg(feature = "json")]
    wake: Option<(UnixDatagram, UnixDatagram)>,
    /// The master of the child's pseudo-terminal, if it runs on one: held open until the child
    /// exited or the terminal is hung up, so that the end of its output (EIO on the master once
    /// no process holds the terminal) does not hang the terminal up under a command still
    /// exiting.
    terminal: Option<OwnedFd>,
    seen: Vec<Seen>,
}

/// The relay's descriptors, as the event loop's wait names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// agentpipe's input.
    Input,
    ChildStdin,
    ChildStdout,
    /// agentpipe's output.
    Output,
    /// The ring of the directions' threads (with a protocol).
    Helpers,
}

impl Duplex {
    /// The relay between the child's `stdin` and `stdout` pipes (or two descriptors of the
    /// master `terminal` of its pseudo-terminal) and agentpipe's `input` and `output`, recorded
    /// in `trace` if there is one.
    pub fn new(
        [stdin, stdout]: [Option<OwnedFd>; 2],
        terminal: Option<OwnedFd>,
        input: Option<Endpoint>,
        output: Option<Endpoint>,
        trace: Option<&Recorder>,
    ) -> Duplex {
        let forward_eof = input.is_some();
        let child_end = if terminal.is_some() {
            Endpoint::terminal
        } else {
            Endpoint::own
        };
        let mut to_child = Pump::new(input, stdin.map(child_end));
        let mut from_child = Pump::new(stdout.map(child_end), output);
        if let Some(trace) = trace {
            to_child.set_tap(Tap::new(trace.clone(), Direction::ToChild));
            from_child.set_tap(Tap::new(trace.clone(), Direction::FromChild));
        }
        Duplex {
            to_child,
            from_child,
            forward_eof,
            #[cfg(feature = "json")]
            talk: None,
            #[cfg(feature = "json")]
            helpers: [None, None],
            #[cfg(feature = "json")]
            wake: None,
            terminal,
            seen: Vec::new(),
        }
    }

    /// What each descriptor waits for now.
    /// What each descriptor waits for now (a lent direction's pump has none: its thread waits).
    pub fn wants(&self) -> [(End, Want<'_>); 5] {
        #[cfg(feature = "json")]
        let helpers = self
            .wake
            .as_ref()
            .map(|(ring, _)| (ring.as_fd(), crate::poller::Interest::Read));
        #[cfg(not(feature = "json"))]
        let helpers = None;
        [
            (End::Input, self.to_child.source_want()),
            (End::ChildStdin, self.to_child.destination_want()),
            (End::ChildStdout, self.from_child.source_want()),
            (End::Output, self.from_child.destination_want()),
            (End::Helpers, helpers),
        ]
    }

    /// Moves what the descriptors' readiness (`ready` of each [`End`]) allows.
    pub fn turn(&mut self, ready: impl Fn(End) -> Readiness) -> Vec<Seen> {
        #[cfg(feature = "json")]
        self.answer_ring(ready(End::Helpers).ready);
        if ready(End::ChildStdout).ready {
            self.read_child_output();
        }
        let output = ready(End::Output);
        if output.ready || self.from_child.can_write_now() {
            self.write_output(output.failed);
        }
        if ready(End::Input).ready {
            self.read_input();
        }
        let child_stdin = ready(End::ChildStdin);
        if child_stdin.ready || self.to_child.can_write_now() {
            self.write_child_input(child_stdin.failed);
        }
        #[cfg(feature = "json")]
        self.lend_streams();
        std::mem::take(&mut self.seen)
    }

    /// Takes back the pumps lent to their threads, waiting for them with `recall` (before the
    /// loop acts on a direction), else only those given back.
    fn take_back(&mut self, recall: bool) {
        #[cfg(feature = "json")]
        self.take_back_lent(recall);
        #[cfg(not(feature = "json"))]
        let _ = recall;
    }

    /// Bytes relayed so far each way: to the child, from it.
    pub fn counts(&self) -> (u64, u64) {
        (self.to_child.relayed, self.from_child.relayed)
    }

    /// Whether bytes moved since the counts were `before`, or wait for a destination that does
    /// not take them (neither is idleness), each way: when (`now`, or when a lent direction's
    /// thread last moved some), with `true` for out of the child.
    pub fn activity(&self, before: (u64, u64), now: Instant) -> [Option<(bool, Instant)>; 2] {
        let busy = |pump: &Pump, before: u64| pump.relayed != before || pump.wants_write();
        let at = [
            busy(&self.to_child, before.0).then_some(now),
            busy(&self.from_child, before.1).then_some(now),
        ];
        #[cfg(feature = "json")]
        let at = self.lent_activity(at, now);
        [at[0].map(|at| (false, at)), at[1].map(|at| (true, at))]
    }

    /// Whether the child's output is all relayed (or dropped), and not lent to a thread.
    pub fn drained(&self) -> bool {
        #[cfg(feature = "json")]
        if self.lent(Direction::FromChild) {
            return false;
        }
        self.from_child.drained()
    }

    /// The bytes moved each way: to the child, from it.
    pub fn bytes(&self) -> (Bytes, Bytes) {
        let bytes = |pump: &Pump| Bytes {
            relayed: pump.relayed,
            discarded: pump.discarded,
        };
        (bytes(&self.to_child), bytes(&self.from_child))
    }

    /// Whether the drain's budget of the child's stdout was spent.
    pub fn drain_spent(&self) -> bool {
        self.from_child.budget_spent()
    }

    /// The child exited: input it did not read is dropped, and what its stdout holds now is
    /// owed to agentpipe's output.
    pub fn child_exited(&mut self) -> Vec<Seen> {
        self.take_back(true);
        let discarded = self.to_child.shut();
        if discarded > 0 {
            self.tell(Note::InputDiscarded(discarded));
        }
        self.from_child.mark_owed();
        self.terminal = None; // the output's own descriptor of the master keeps it open
        std::mem::take(&mut self.seen)
    }

    /// Relays no more of the child's output than what was queued when it exited.
    pub fn cut_drain(&mut self) {
        self.take_back(true);
        self.from_child.limit_to_owed();
    }

    /// Drops the output queued for a reader that does not take it, counted as discarded.
    pub fn drop_output(&mut self) -> Note {
        self.take_back(true);
        let queued = self.from_child.source().map_or(0, Endpoint::queued);
        self.from_child.discarded += queued;
        let discarded = self.from_child.shut() + queued as usize;
        Note::OutputDropped { discarded }
    }

    /// The stdin step: after the input's end, the child's stdin closes once what was read is
    /// written (see `forward_ends`); after any other trigger, at once.
    /// A stdin step reached after the child's stdin was already closed still waits its grace:
    /// the child may be finishing what the EOF asked of it.
    pub fn close_child_stdin(&mut self, flush: bool) -> Vec<Seen> {
        self.take_back(true);
        self.to_child.close_source();
        self.forward_eof = true; // held back for a shutdown step, if there was one: no more
        if !flush && let Some(destination) = self.to_child.destination() {
            let terminal = destination.is_master();
            let discarded = self.to_child.buffered();
            self.to_child.close_destination();
            self.tell(match terminal {
                true => Note::SentTerminalEof { discarded },
                false => Note::ClosedChildStdin { discarded },
            });
        }
        std::mem::take(&mut self.seen)
    }

    /// The end of the stdin step on a pseudo-terminal: agentpipe closes its master, which hangs
    /// the terminal up (the kernel sends SIGHUP to the command's session) and ends its output.
    /// Pipes have nothing more to close.
    pub fn hang_up(&mut self) -> Vec<Seen> {
        self.take_back(true);
        if self.terminal.take().is_some() {
            let unread = self.from_child.source().map_or(0, Endpoint::queued);
            self.from_child.discarded += unread;
            let discarded = self.to_child.shut();
            self.from_child.close_source();
            self.tell(Note::HungUp { discarded, unread });
        }
        std::mem::take(&mut self.seen)
    }

    /// The master of the child's pseudo-terminal, until it is hung up.
    pub fn terminal(&self) -> Option<BorrowedFd<'_>> {
        self.terminal.as_ref().map(AsFd::as_fd)
    }

    /// Passes an ended source on as the end of the destination, once everything read is
    /// written; ends a drained source whose budget is spent.
    pub fn forward_ends(&mut self) -> Vec<Seen> {
        if self.from_child.forward_end() {
            self.tell(Note::ClosedOutput);
        }
        let terminal = self.to_child.destination().is_some_and(Endpoint::is_master);
        if self.forward_eof && self.to_child.forward_end() {
            self.tell(match terminal {
                true => Note::SentTerminalEof { discarded: 0 },
                false => Note::ForwardedEof,
            });
        }
        if self.from_child.stop_if_spent() {
            self.tell(Note::DrainOver);
        }
        std::mem::take(&mut self.seen)
    }

    fn tell(&mut self, note: Note) {
        self.seen.push(Seen::Tell(note));
    }

    /// Reads what the source of `dir` has; with a protocol, through its watch.
    fn fill(&mut self, dir: Direction) -> Event {
        #[cfg(feature = "json")]
        if let Some(event) = self.fill_watched(dir) {
            return event;
        }
        dir.pick(&mut self.to_child, &mut self.from_child).fill()
    }

    fn read_child_output(&mut self) {
        let event = self.fill(Direction::FromChild);
        self.child_output_event(event);
    }

    /// What a read of the child's output showed.
    fn child_output_event(&mut self, event: Event) {
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
        self.seen.push(Seen::Input(Input::OutputClosed));
    }

    fn read_input(&mut self) {
        let event = self.fill(Direction::ToChild);
        self.input_event(event);
    }

    /// What a read of agentpipe's input showed.
    fn input_event(&mut self, event: Event) {
        match event {
            Event::SourceEnded => {
                let source = self.to_child.source();
                let hangup = source.is_some_and(Endpoint::ends_with_hangup);
                self.to_child.close_source();
                self.tell(Note::EndOfInput);
                self.seen.push(Seen::Input(Input::Eof { hangup }));
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
}
