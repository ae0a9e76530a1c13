//! The event loop: one wait over the relay's descriptors, the child's exit and the signals
//! received, turning readiness into the state machine's inputs and its orders into calls.
//!
//! The command line runs it from the start with its own stdin and stdout; the library runs it
//! only for `close`, with no input and with the child's output discarded.

mod finish;
mod orders;
mod token;

use token::Token;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
#[cfg(feature = "tokio")]
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::duplex::{Duplex, Seen};
use crate::hook::Runs;
use crate::machine::note::Note;
use crate::machine::{Input, Machine, Target};
use crate::outcome::{Outcome, Trigger};
#[cfg(feature = "json")]
use crate::outlet::Outlet;
use crate::platform::{self, RawMode};
use crate::poller::{Found, Interest, Poller, Wanted};
use crate::process::{ChildPipes, ChildProcess};
#[cfg(feature = "json")]
use crate::protocol::Protocol;
use crate::relay::Endpoint;
use crate::signals::{Arrived, Role, Signal, SignalSource};
use crate::stderr::StderrRelay;
use crate::timeline::Timeline;

/// How often the child is looked at where nothing announces its exit (no pidfd, no SIGCHLD).
const BLIND_CHECK: Duration = Duration::from_millis(10);

/// How a turn waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// In the loop's own wait, until a descriptor is ready or the next deadline.
    Block,
    /// Not at all: the caller waited already (see [`EventLoop::wanted_fds`]).
    #[cfg(feature = "tokio")]
    Look,
}

/// The loop's state. See the module documentation.
pub(crate) struct EventLoop {
    child: ChildProcess,
    machine: Machine,
    /// agentpipe's stdin and stdout (none in the library) to and from the child's.
    duplex: Duplex,
    /// The child's stderr, when it passes through agentpipe.
    stderr: StderrRelay,
    signals: Option<SignalSource>,
    /// Readable when agentpipe's parent exits (`--end-with-parent`).
    parent: Option<OwnedFd>,
    /// agentpipe's own terminal, whose window size the child's pseudo-terminal follows.
    window: Option<OwnedFd>,
    /// agentpipe's own terminal in raw mode (`--pty`): cooked while agentpipe is stopped.
    raw: Option<Arc<RawMode>>,
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
        config: Settings,
        timeline: Timeline,
    ) -> EventLoop {
        let target = Target {
            pid: child.pid(),
            name: child.name().to_string(),
            scope: child.scope(),
            stdin_owned: true,
        };
        let machine = Machine::new(config, target, timeline.start());
        let duplex = Duplex::new(
            [pipes.stdin, pipes.stdout],
            pipes.terminal,
            input,
            output,
            timeline.trace(),
        );
        EventLoop {
            duplex,
            stderr: StderrRelay::Untouched,
            child,
            machine,
            signals: None,
            parent: None,
            window: None,
            raw: None,
            runs: Runs::default(),
            timeline,
            poller: Poller::default(),
        }
    }

    /// The child's stdin is agentpipe's own terminal (`--foreground`), which the `stdin` step
    /// leaves open: the messages must not say it was closed.
    pub fn with_terminal_stdin(mut self) -> EventLoop {
        self.machine.stdin_is_terminal();
        self
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

    /// Gives the child's pseudo-terminal the window size of `terminal` (agentpipe's own) each
    /// time agentpipe gets SIGWINCH.
    pub fn with_window(mut self, terminal: OwnedFd) -> EventLoop {
        self.window = Some(terminal);
        self
    }

    /// Gives agentpipe's terminal its own settings back while agentpipe is stopped, and makes
    /// it raw again when it continues. The caller keeps the guard that restores it for good.
    pub fn with_raw_mode(mut self, raw: Arc<RawMode>) -> EventLoop {
        self.raw = Some(raw);
        self
    }

    /// Relays the child's stderr too (its pipe is the caller's, from [`ChildPipes::stderr`]):
    /// drained as its stdout is, and the run ends when both are.
    pub fn with_stderr(mut self, stderr: StderrRelay) -> EventLoop {
        self.stderr = stderr;
        self
    }

    /// Watches the messages of `protocol` both ways (`--protocol`); the child's stdout bytes
    /// that are no frame go to `stray` (`None`: agentpipe's own stderr).
    #[cfg(feature = "json")]
    pub fn with_protocol(mut self, protocol: Protocol, stray: Option<Outlet>) -> EventLoop {
        let hold_eof = self.machine.speaks();
        let trace = self.timeline.trace();
        self.duplex.speak(protocol, stray, trace, hold_eof);
        self
    }

    /// Relays until the child and its scope are gone and the output is drained.
    pub fn run(mut self) -> io::Result<Outcome> {
        while !self.finished() {
            self.turn(Wait::Block)?;
        }
        self.finish()
    }

    /// Runs the close sequence from its first step, `trigger` starting it, discarding the child's
    /// output meanwhile.
    pub fn close(mut self, trigger: Trigger) -> io::Result<Outcome> {
        self.begin_close(trigger);
        self.run()
    }

    /// Starts the close sequence, `trigger` starting it: its first orders are carried out now.
    pub fn begin_close(&mut self, trigger: Trigger) {
        self.input(Input::Close(trigger));
    }

    /// Whether the run is over: [`EventLoop::finish`] is what is left to do.
    pub fn finished(&self) -> bool {
        self.machine.abandoned()
            || (self.machine.settled() && self.duplex.drained() && self.stderr.drained())
    }

    /// One round: wait for the next event or deadline (or, with [`Wait::Look`], only look at
    /// what is ready now), then handle everything that is due.
    pub fn turn(&mut self, wait: Wait) -> io::Result<()> {
        let found = self.wait(wait)?;
        let due = self.timeline.due().is_some_and(|due| due <= Instant::now());
        if found.get(Token::OwnStderr).ready || found.get(Token::Trace).ready || due {
            self.timeline.flush();
        }
        let moved = self.duplex.counts();
        let signals = found.get(Token::Signals).ready;
        if signals {
            self.handle_signals();
        }
        let exited = found.get(Token::ChildExit).ready;
        if exited || signals || self.child.exit_fd().is_none() {
            self.check_child(exited);
        }
        if let Some(note) = self.runs.check() {
            self.tell(note);
        }
        if found.get(Token::Parent).ready {
            self.parent = None;
            self.input(Input::ParentExited);
        }
        let seen = self.duplex.turn(|end| found.get(end));
        self.pass_on(seen);
        self.stderr.turn(|end| found.get(end));
        if self.machine.watches_idle() {
            for (output, at) in self
                .duplex
                .activity(moved, Instant::now())
                .into_iter()
                .flatten()
            {
                self.machine.moved(output, at);
            }
        }
        let orders = self.machine.tick(Instant::now());
        self.carry_out(orders);
        let seen = self.duplex.forward_ends();
        self.pass_on(seen);
        if self.stderr.forward_ends() {
            self.tell(Note::StderrDrainOver);
        }
        Ok(())
    }

    /// Passes what the relay saw on: notes to the timeline, inputs to the machine.
    fn pass_on(&mut self, seen: Vec<Seen>) {
        for seen in seen {
            match seen {
                Seen::Tell(note) => self.tell(note),
                Seen::Warn(note) => self.warn(note),
                Seen::Input(input) => self.input(input),
            }
        }
    }

    /// Waits for any descriptor that matters now, or the next deadline (not at all with
    /// [`Wait::Look`]).
    fn wait(&mut self, wait: Wait) -> io::Result<Found<Token, { Token::COUNT }>> {
        // The poller is out of `self` for the wait, which borrows the descriptors from `self`;
        // a default one holds nothing (no descriptor, no allocation).
        let mut poller = std::mem::take(&mut self.poller);
        let found = self.wanted(|wanted, deadline| {
            let deadline = match wait {
                Wait::Block => deadline,
                #[cfg(feature = "tokio")]
                Wait::Look => Some(Instant::now()),
            };
            poller.wait(wanted, deadline)
        });
        self.poller = poller;
        found
    }

    /// What a front end that waits by itself (the tokio stream) waits for before a
    /// [`Wait::Look`] turn: a descriptor of the next turn ready, or the instant given.
    #[cfg(feature = "tokio")]
    pub fn wanted_fds(&self) -> (Vec<(RawFd, Interest)>, Option<Instant>) {
        self.wanted(|wanted, deadline| {
            let fds = wanted
                .fds()
                .map(|(fd, interest)| (fd.as_raw_fd(), interest));
            (fds.collect(), deadline)
        })
    }

    /// Hands `then` the descriptors that matter now, each in its slot, and the next deadline.
    fn wanted<T>(
        &self,
        then: impl FnOnce(Wanted<'_, Token, { Token::COUNT }>, Option<Instant>) -> T,
    ) -> T {
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
        let own_stderr = self.timeline.own_stderr_waiting();
        let trace = self.timeline.trace_waiting();
        let mut wanted = Wanted::new();
        let signals = self.signals.as_ref().map(|s| (s.fd(), Interest::Read));
        wanted.set(Token::Signals, signals);
        let exit = self.child.exit_fd().map(|fd| (fd, Interest::Read));
        wanted.set(Token::ChildExit, exit);
        let parent = self.parent.as_ref().map(|fd| (fd.as_fd(), Interest::Read));
        wanted.set(Token::Parent, parent);
        wanted.set(Token::OwnStderr, own_stderr.as_ref().map(waiting));
        wanted.set(Token::Trace, trace.as_ref().map(waiting));
        for (end, want) in self.duplex.wants() {
            wanted.set(end, want);
        }
        for (end, want) in self.stderr.wants() {
            wanted.set(end, want);
        }
        then(wanted, deadline)
    }

    fn handle_signals(&mut self) {
        let Some(source) = &mut self.signals else {
            return;
        };
        for Arrived {
            signal,
            role,
            commands,
        } in source.pending()
        {
            match role {
                Role::ChildChanged => {
                    self.check_stopped();
                    self.child.reap_adopted();
                }
                // The terminal sent it to the command too (--foreground): as a shell, agentpipe
                // waits for the command, and forwards nothing a second time.
                Role::Trigger if commands => {
                    self.timeline.interrupted();
                    self.tell(Note::CommandsSignal(signal));
                }
                Role::Forward if commands => {}
                Role::Trigger => {
                    if signal == Signal::INT {
                        self.timeline.interrupted();
                    }
                    self.input(Input::Interrupt(signal));
                }
                Role::Suspend => {
                    // The terminal echoed ^Z where the next line would start.
                    self.timeline.interrupted();
                    self.tell(Note::Suspending);
                    self.child.signal_group(Signal::TSTP);
                    if let Some(raw) = &self.raw {
                        raw.suspend();
                    }
                    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
                }
                Role::Resume => {
                    self.tell(Note::Resumed);
                    if let Some(raw) = &self.raw {
                        let _ = raw.resume();
                    }
                    self.child.signal_group(Signal::CONT);
                }
                Role::Forward if signal == Signal::WINCH && self.duplex.terminal().is_some() => {
                    self.follow_window();
                }
                Role::Forward => {
                    self.tell(Note::Forwarding(signal));
                    self.child.signal_child(signal);
                }
            }
        }
    }

    /// agentpipe's terminal was resized: the child's pseudo-terminal takes its size, and the
    /// kernel tells the terminal's foreground group (SIGWINCH) as a terminal emulator's would.
    fn follow_window(&self) {
        let size = self
            .window
            .as_ref()
            .and_then(|own| platform::window_size(own.as_fd()));
        if let (Some(size), Some(master)) = (size, self.duplex.terminal())
            && platform::set_window_size(master, size).is_ok()
        {
            self.tell(Note::Resized {
                rows: size.rows,
                columns: size.columns,
            });
        }
    }

    fn check_stopped(&mut self) {
        if let Some(signal @ (Signal::TTIN | Signal::TTOU)) = self.child.check_stopped() {
            let pid = self.child.pid();
            self.warn(Note::StoppedByTerminal { pid, signal });
        }
    }

    /// Looks at the child; `readable` when its exit descriptor said it ended, which a look that
    /// reads nothing cannot take back.
    fn check_child(&mut self, readable: bool) {
        if self.machine.exited() {
            return;
        }
        let read = self.child.check_exit();
        if read.is_none() && !readable {
            return;
        }
        if read.is_none() {
            self.child.ended_unread();
        }
        let seen = self.duplex.child_exited();
        self.pass_on(seen);
        self.stderr.mark_owed();
        let left = self.left();
        self.input(match read {
            Some(exit) => Input::ChildExited { exit, left },
            None => Input::ExitUnread { left },
        });
    }

    /// The live processes of the scope other than the child, by pid, or why they could not be
    /// seen.
    fn left(&self) -> crate::scope::Look {
        self.child.leftovers()
    }

    fn tell(&self, note: Note) {
        self.timeline.say(&note);
    }

    fn warn(&self, note: Note) {
        self.timeline.warn(&note);
    }
}

/// A descriptor agentpipe's own lines or the trace wait for.
fn waiting(fd: &Arc<OwnedFd>) -> (BorrowedFd<'_>, Interest) {
    (fd.as_fd(), Interest::Write)
}

#[cfg(test)]
mod tests;
