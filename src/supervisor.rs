//! The supervisor: one poll(2) loop that relays both directions, watches the child, takes the
//! close sequence's steps on time and decides when everything is over.
//!
//! The command line runs it from the start with its own stdin and stdout; the library runs it
//! only for `close`, with no input and with the child's output discarded.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::process::{ChildPipes, ChildProcess, Exit};
use crate::relay::{Endpoint, Event, Pump};
use crate::sequence::{Action, Limit, Progress, Sequence, Step, Trigger, format_limit};
use crate::signals::SignalSource;
use crate::timeline::Timeline;

/// How long after SIGKILL a process may stay unreaped before agentpipe names it.
const UNKILLABLE_AFTER: Duration = Duration::from_secs(5);

/// How often the scope is looked at while processes other than the child remain in it: they are
/// not agentpipe's children, so nothing announces their exit.
const LEFTOVER_CHECK: Duration = Duration::from_millis(10);

/// The sequence and its triggers' settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub sequence: Sequence,
    /// The stdin step's wait when EOF starts the sequence; `None`: the step's own wait.
    pub eof_grace: Option<Limit>,
    /// Start the sequence this long after start.
    pub timeout: Option<Duration>,
    /// How long output from the child's descendants is still relayed after the child exits.
    pub drain: Limit,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sequence: Sequence::default(),
            eof_grace: None,
            timeout: None,
            drain: Some(Duration::from_secs(1)),
        }
    }
}

/// A step of the sequence that was taken, and when (since start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakenStep {
    pub index: usize,
    pub action: Action,
    pub at: Duration,
}

/// Everything that happened, for the exit status and the report.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub pid: Pid,
    pub exit: Exit,
    /// What started the sequence, if anything did.
    pub trigger: Option<Trigger>,
    pub steps: Vec<TakenStep>,
    /// SIGINT arrived before the child exited.
    pub interrupted: bool,
    /// The sequence reached SIGKILL.
    pub killed: bool,
    /// agentpipe gave up on a process that SIGKILL did not remove; it is left unreaped.
    pub abandoned: bool,
    /// Bytes written to the child's stdin, and dropped on the way there.
    pub to_child: u64,
    pub to_child_discarded: u64,
    /// Bytes written from the child's stdout, and dropped on the way from there.
    pub from_child: u64,
    pub from_child_discarded: u64,
    /// Descendants' output was still flowing when `--drain` ran out.
    pub drain_cut: bool,
    /// Processes found in the scope after the child exited (each once, in the order found).
    pub leftovers: Vec<Pid>,
    /// When the child exited, since start.
    pub exited_at: Option<Duration>,
}

/// The supervisor's state. See the module documentation.
pub struct Supervisor {
    child: ChildProcess,
    config: Config,
    /// agentpipe's input (none in the library) to the child's stdin.
    to_child: Pump,
    /// The child's stdout to agentpipe's output (none in the library: discarded).
    from_child: Pump,
    /// Close the child's stdin as soon as the input ended and was written (the command line);
    /// the library keeps it open until the sequence's `stdin` step.
    forward_eof: bool,
    signals: Option<SignalSource>,
    timeline: Timeline,
    trigger: Option<Trigger>,
    progress: Option<Progress>,
    steps: Vec<TakenStep>,
    timeout_at: Option<Instant>,
    drain_at: Option<Instant>,
    drain_cut: bool,
    interrupted: bool,
    abandoned: bool,
    unkillable_named: bool,
    leftovers: Vec<Pid>,
    leftovers_checked: Instant,
    /// Every pid ever found in `leftovers`, for the outcome.
    left_behind: Vec<Pid>,
    exited_at: Option<Instant>,
}

impl Supervisor {
    /// Takes charge of a started child and both directions of the relay.
    pub fn new(
        child: ChildProcess,
        pipes: ChildPipes,
        input: Option<Endpoint>,
        output: Option<Endpoint>,
        config: Config,
        timeline: Timeline,
    ) -> Supervisor {
        let forward_eof = input.is_some();
        let to_child = Pump::new(input, pipes.stdin.map(Endpoint::own));
        let timeout_at = config
            .timeout
            .and_then(|timeout| timeline.start().checked_add(timeout));
        Supervisor {
            to_child,
            from_child: Pump::new(pipes.stdout.map(Endpoint::own), output),
            child,
            config,
            forward_eof,
            signals: None,
            timeline,
            trigger: None,
            progress: None,
            steps: Vec::new(),
            timeout_at,
            drain_at: None,
            drain_cut: false,
            interrupted: false,
            abandoned: false,
            unkillable_named: false,
            leftovers: Vec::new(),
            leftovers_checked: Instant::now(),
            left_behind: Vec::new(),
            exited_at: None,
        }
    }

    /// Reacts to the signals agentpipe receives (the command line only: a library must not take
    /// over its host's signals).
    pub fn with_signals(mut self, signals: SignalSource) -> Supervisor {
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
        self.begin(Trigger::Close, 0, None);
        self.run()
    }

    fn finished(&self) -> bool {
        self.abandoned
            || (self.child.exit().is_some()
                && self.leftovers.is_empty()
                && self.from_child.source().is_none()
                && !self.from_child.wants_write())
    }

    /// One round: wait for the next event or deadline, then handle everything that is due.
    fn turn(&mut self) -> io::Result<()> {
        let mut fds = Vec::with_capacity(6);
        let mut slot = |fd: Option<BorrowedFd<'_>>, events: libc::c_short| {
            fd.map(|fd| {
                fds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events,
                    revents: 0,
                });
                fds.len() - 1
            })
        };
        let signal_slot = slot(self.signals.as_ref().map(SignalSource::fd), libc::POLLIN);
        let exit_slot = slot(self.child.exit_fd(), libc::POLLIN);
        let input_slot = slot(read_fd(&self.to_child), libc::POLLIN);
        let child_in_slot = slot(
            self.to_child.destination().map(Endpoint::fd),
            write_events(&self.to_child),
        );
        let child_out_slot = slot(read_fd(&self.from_child), libc::POLLIN);
        let output_slot = slot(
            self.from_child.destination().map(Endpoint::fd),
            write_events(&self.from_child),
        );

        let timeout = self
            .next_deadline()
            .map(|at| at.saturating_duration_since(Instant::now()));
        poll(&mut fds, timeout)?;
        let ready = |slot: Option<usize>| slot.is_some_and(|index| fds[index].revents != 0);
        let failed = |slot: Option<usize>| {
            slot.is_some_and(|index| fds[index].revents & (libc::POLLERR | libc::POLLHUP) != 0)
        };
        let (signalled, exited) = (ready(signal_slot), ready(exit_slot));
        let (input, child_in, child_out, output) = (
            ready(input_slot),
            ready(child_in_slot),
            ready(child_out_slot),
            ready(output_slot),
        );
        let (child_in_failed, output_failed) = (failed(child_in_slot), failed(output_slot));

        if signalled {
            self.handle_signals();
        }
        if exited || self.signals.is_some() && signalled || self.child.exit_fd().is_none() {
            self.check_child();
        }
        if child_out {
            self.read_child_output();
        }
        if output || self.from_child.can_write_now() {
            self.write_output(output_failed);
        }
        if input {
            self.read_input();
        }
        if child_in || self.to_child.can_write_now() {
            self.write_child_input(child_in_failed);
        }
        self.forward_ends();
        self.take_due_steps();
        Ok(())
    }

    /// The earliest instant at which something is due without any descriptor becoming ready.
    fn next_deadline(&self) -> Option<Instant> {
        let step = self
            .progress
            .as_ref()
            .and_then(|progress| progress.deadline);
        let unkillable = self
            .progress
            .as_ref()
            .and_then(|progress| progress.killed_at)
            .filter(|_| !self.unkillable_named)
            .map(|killed| killed + UNKILLABLE_AFTER);
        let timeout = self.timeout_at;
        let drain = self.drain_at.filter(|_| !self.drain_cut);
        // Without a pidfd or SIGCHLD, or with processes that are not agentpipe's children, the
        // only way to learn that they are gone is to look.
        let blind =
            self.child.exit().is_none() && self.child.exit_fd().is_none() && self.signals.is_none();
        let check = (blind || !self.leftovers.is_empty()).then(|| Instant::now() + LEFTOVER_CHECK);
        [step, unkillable, timeout, drain, check]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_signals(&mut self) {
        let Some(source) = &mut self.signals else {
            return;
        };
        for signal in source.pending() {
            match signal {
                Signal::SIGCHLD => {
                    self.check_stopped();
                    self.child.reap_adopted();
                }
                Signal::SIGINT | Signal::SIGTERM | Signal::SIGHUP => self.interrupt(signal),
                Signal::SIGTSTP => self.suspend(),
                Signal::SIGCONT => self.child.signal_group(Signal::SIGCONT),
                forwarded => {
                    self.timeline.say(format_args!(
                        "forwarding {} to the child",
                        forwarded.as_str()
                    ));
                    self.child.signal_child(forwarded);
                }
            }
        }
    }

    /// INT, TERM or HUP: starts the sequence, or skips to its next step.
    fn interrupt(&mut self, signal: Signal) {
        if signal == Signal::SIGINT && self.child.exit().is_none() {
            self.interrupted = true;
        }
        if self.child.exit().is_some() && self.progress.is_none() {
            self.timeline.say(format_args!(
                "received {}: no longer waiting for the output to drain",
                signal.as_str()
            ));
            self.drain_at = Some(Instant::now());
            return;
        }
        let Some(progress) = &self.progress else {
            self.timeline
                .say(format_args!("received {}", signal.as_str()));
            self.begin(Trigger::Signal(signal), 0, None);
            return;
        };
        let next = progress.step + 1;
        if next < self.config.sequence.steps().len() {
            self.timeline.say(format_args!(
                "received {}: skipping to the next step",
                signal.as_str()
            ));
            self.take(next, None);
        } else if self.unkillable_named {
            self.timeline.warn(format_args!(
                "received {}: exiting without the unkillable process",
                signal.as_str()
            ));
            self.abandoned = true;
        } else {
            self.timeline.say(format_args!(
                "received {}: SIGKILL already sent, waiting for the processes to go",
                signal.as_str()
            ));
        }
    }

    /// Ctrl-Z: stops the child's group, then agentpipe itself; `fg` continues both (SIGCONT).
    fn suspend(&mut self) {
        self.timeline
            .say(format_args!("suspending the child's group and agentpipe"));
        self.child.signal_group(Signal::SIGTSTP);
        let _ = nix::sys::signal::raise(Signal::SIGSTOP);
    }

    fn check_stopped(&mut self) {
        if let Some(signal @ (Signal::SIGTTIN | Signal::SIGTTOU)) = self.child.check_stopped() {
            self.timeline.warn(format_args!(
                "the child (pid {}) was stopped by {} because it tried to use the terminal from its own \
                 process group; run it with --foreground, or keep it off the terminal (ssh: -o BatchMode=yes)",
                self.child.pid(),
                signal.as_str()
            ));
        }
    }

    fn check_child(&mut self) {
        if self.child.exit().is_none() {
            if let Some(exit) = self.child.check_exit() {
                self.child_exited(exit);
            }
        } else if !self.leftovers.is_empty() && self.leftovers_checked.elapsed() >= LEFTOVER_CHECK {
            self.leftovers_checked = Instant::now();
            self.refresh_leftovers();
            if self.leftovers.is_empty() {
                self.timeline
                    .say(format_args!("no process is left in the scope"));
                self.progress = None;
            }
        }
    }

    fn child_exited(&mut self, exit: Exit) {
        let now = Instant::now();
        let step = match self.steps.last() {
            Some(step) => format!(" after step {} ({})", step.index + 1, step.action),
            None => String::new(),
        };
        self.timeline.say(format_args!(
            "the child (pid {}) {exit}{step}",
            self.child.pid()
        ));
        let discarded = self.to_child.shut();
        if discarded > 0 {
            self.timeline.say(format_args!(
                "discarded {discarded} bytes of input the child did not read"
            ));
        }
        self.from_child.mark_owed();
        self.timeout_at = None;
        self.drain_at = self.config.drain.and_then(|drain| now.checked_add(drain));
        self.exited_at = Some(now);
        self.refresh_leftovers();
        self.leftovers_checked = now;
        if self.leftovers.is_empty() {
            self.progress = None;
            return;
        }
        let pids: Vec<String> = self.leftovers.iter().map(Pid::to_string).collect();
        self.timeline
            .say(format_args!("still in the scope: pid {}", pids.join(", ")));
        if self.trigger.is_none() {
            self.trigger = Some(Trigger::ChildExit);
        }
        let from = self
            .progress
            .as_ref()
            .map_or(0, |progress| progress.step + 1);
        let signal_step = self.config.sequence.signal_step(from);
        let already_signalled = self.progress.as_ref().is_some_and(|progress| {
            matches!(
                self.config.sequence.steps()[progress.step].action,
                Action::Signal(_) | Action::Kill
            )
        });
        if !already_signalled {
            self.take(signal_step, None);
        }
    }

    /// Lists the scope's processes left after the child exited, remembering every one seen.
    fn refresh_leftovers(&mut self) {
        self.leftovers = self.child.leftovers();
        for &pid in &self.leftovers {
            if !self.left_behind.contains(&pid) {
                self.left_behind.push(pid);
            }
        }
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
        if self.child.exit().is_none() && self.progress.is_none() {
            self.begin(Trigger::DownstreamClosed, 0, None);
        }
    }

    fn read_input(&mut self) {
        match self.to_child.fill() {
            Event::SourceEnded => self.input_ended(),
            Event::DestinationClosed => self.child_stdin_closed(),
            Event::Progress => {}
        }
    }

    fn input_ended(&mut self) {
        self.to_child.close_source();
        self.timeline.say(format_args!("end of input"));
        if self.child.exit().is_some() || self.progress.is_some() {
            return;
        }
        let stdin_step = self.config.sequence.stdin_step();
        let wait = self
            .config
            .eof_grace
            .unwrap_or(self.config.sequence.steps()[stdin_step].wait);
        if wait.is_none() {
            self.timeline.say(format_args!(
                "--eof-grace is inf: the child runs on until it exits"
            ));
        } else {
            self.begin(Trigger::Eof, stdin_step, Some(wait));
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

    /// Passes an ended source on as the end of the destination, once everything read is written.
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
        if self.drain_at.is_some_and(|at| Instant::now() >= at) && !self.drain_cut {
            self.drain_cut = true;
            self.from_child.limit_to_owed();
        }
        if self.from_child.budget_spent() && self.from_child.source().is_some() {
            self.timeline.say(format_args!(
                "drain over: closing the child's stdout, which a descendant still holds"
            ));
            self.from_child.close_source();
        }
    }

    /// Takes every step, timeout and check that is due.
    fn take_due_steps(&mut self) {
        let now = Instant::now();
        if self.timeout_at.is_some_and(|at| now >= at) {
            self.timeline.say(format_args!("--timeout elapsed"));
            match &self.progress {
                None => self.begin(Trigger::Timeout, 0, None),
                Some(progress) => {
                    let step = self.config.sequence.signal_step(progress.step + 1);
                    self.take(step, None);
                }
            }
            self.timeout_at = None;
        }
        while let Some(progress) = &self.progress {
            match progress.deadline {
                Some(deadline)
                    if now >= deadline
                        && progress.step + 1 < self.config.sequence.steps().len() =>
                {
                    self.take(progress.step + 1, None)
                }
                _ => break,
            }
        }
        let killed_at = self
            .progress
            .as_ref()
            .and_then(|progress| progress.killed_at);
        if killed_at.is_some_and(|at| now >= at + UNKILLABLE_AFTER) && !self.unkillable_named {
            self.unkillable_named = true;
            let mut pids = self.child.leftovers();
            if self.child.exit().is_none() {
                pids.insert(0, self.child.pid());
            }
            let pids: Vec<String> = pids.iter().map(Pid::to_string).collect();
            self.timeline.warn(format_args!(
                "pid {} still not gone {}s after SIGKILL (uninterruptible sleep?); interrupt once more to exit without it",
                pids.join(", "),
                UNKILLABLE_AFTER.as_secs()
            ));
        }
    }

    /// Starts the sequence at `step`, with `wait` instead of the step's own wait if given.
    fn begin(&mut self, trigger: Trigger, step: usize, wait: Option<Limit>) {
        self.trigger = Some(trigger);
        self.timeline.say(format_args!(
            "close sequence: {} (started by {trigger})",
            self.config.sequence
        ));
        self.take(step, wait);
    }

    /// Takes step `index`: its action now, then its wait.
    fn take(&mut self, index: usize, wait: Option<Limit>) {
        let now = Instant::now();
        let step: Step = self.config.sequence.steps()[index];
        let wait = wait.unwrap_or(step.wait);
        let done = match step.action {
            Action::Wait => "waiting for the child to exit".to_string(),
            Action::CloseStdin => self.close_child_stdin(),
            Action::Signal(signal) => {
                self.child.signal_scope(signal);
                if signal != Signal::SIGCONT {
                    self.child.signal_scope(Signal::SIGCONT);
                }
                format!(
                    "sent {} and SIGCONT to the {}",
                    signal.as_str(),
                    self.scope_name()
                )
            }
            Action::Kill => {
                self.child.signal_scope(Signal::SIGKILL);
                format!("sent SIGKILL to the {}", self.scope_name())
            }
        };
        let mut progress = Progress::at(index, wait, now);
        if step.action == Action::Kill {
            progress.killed_at = Some(now);
        }
        self.steps.push(TakenStep {
            index,
            action: step.action,
            at: now - self.timeline.start(),
        });
        let next = self.describe_next(index, &progress, wait);
        self.timeline.say(format_args!(
            "step {} ({}): {done}; {next}",
            index + 1,
            step.action
        ));
        self.progress = Some(progress);
    }

    /// Closes the child's stdin: after writing what was read when the input ended, at once
    /// (discarding it) when anything else started the sequence.
    /// A stdin step reached after the child's stdin was already closed still waits its grace:
    /// the child may be finishing what the EOF asked of it.
    fn close_child_stdin(&mut self) -> String {
        self.to_child.close_source();
        if self.to_child.destination().is_none() {
            return "the child's stdin is already closed".to_string();
        }
        if self.trigger == Some(Trigger::Eof) {
            return "closing the child's stdin once the input read is written".to_string();
        }
        let discarded = self.to_child.buffered();
        self.to_child.close_destination();
        format!("closed the child's stdin ({discarded} bytes of input discarded)")
    }

    /// What comes after step `index`, and when: the second half of a timeline line.
    fn describe_next(&self, index: usize, progress: &Progress, wait: Limit) -> String {
        let steps = self.config.sequence.steps();
        let Some(next) = steps.get(index + 1) else {
            return "waiting until the processes are gone".to_string();
        };
        let next = describe_action(next.action);
        let to_kill = steps.len() - 1 - index;
        let skip = match to_kill {
            1 => "interrupt to skip ahead".to_string(),
            n => format!("interrupt to skip ahead ({n} interrupts reach SIGKILL)"),
        };
        match (progress.deadline, wait) {
            (_, Some(Duration::ZERO)) => format!("{next} next"),
            (Some(deadline), wait) => format!(
                "{next} in {} (at {}) unless it exits; {skip}",
                format_limit(wait),
                self.timeline.offset(deadline)
            ),
            (None, _) => format!("{next} only when interrupted; {skip}"),
        }
    }

    fn scope_name(&self) -> &'static str {
        match self.child.scope() {
            crate::process::Scope::Child => "child",
            crate::process::Scope::Group => "child's process group",
            crate::process::Scope::Tree => "child and its descendants",
        }
    }

    fn finish(mut self) -> io::Result<Outcome> {
        self.child.reap_adopted();
        let exit = if self.abandoned {
            self.child
                .exit()
                .unwrap_or(Exit::Signal(Signal::SIGKILL as i32))
        } else {
            self.child.reap()?
        };
        let outcome = Outcome {
            pid: self.child.pid(),
            exit,
            trigger: self.trigger,
            killed: self.steps.iter().any(|step| step.action == Action::Kill),
            steps: std::mem::take(&mut self.steps),
            interrupted: self.interrupted,
            abandoned: self.abandoned,
            to_child: self.to_child.relayed,
            to_child_discarded: self.to_child.discarded,
            from_child: self.from_child.relayed,
            from_child_discarded: self.from_child.discarded,
            drain_cut: self.drain_cut && self.from_child.budget_spent(),
            leftovers: std::mem::take(&mut self.left_behind),
            exited_at: self.exited_at.map(|at| at - self.timeline.start()),
        };
        if self.abandoned {
            std::mem::forget(self.child);
        }
        self.timeline.say(format_args!(
            "done: the child {}; {} bytes in, {} out, {} + {} discarded",
            outcome.exit,
            outcome.to_child,
            outcome.from_child,
            outcome.to_child_discarded,
            outcome.from_child_discarded
        ));
        Ok(outcome)
    }
}

/// A step's action as a timeline line names it.
fn describe_action(action: Action) -> String {
    match action {
        Action::Wait => "waiting".to_string(),
        Action::CloseStdin => "closing stdin".to_string(),
        Action::Signal(signal) => signal.as_str().to_string(),
        Action::Kill => "SIGKILL".to_string(),
    }
}

fn read_fd(pump: &Pump) -> Option<BorrowedFd<'_>> {
    pump.source()
        .filter(|_| pump.wants_read())
        .map(Endpoint::fd)
}

/// A destination is always polled, for POLLOUT when there is something to write, and otherwise
/// for nothing: POLLERR and POLLHUP are reported anyway and tell that its reader went away.
fn write_events(pump: &Pump) -> libc::c_short {
    if pump.wants_write() { libc::POLLOUT } else { 0 }
}

/// poll(2) with a timeout rounded up to the next millisecond, so that a deadline is never
/// reported early; EINTR is a normal return.
fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<()> {
    let millis = match timeout {
        None => -1,
        Some(timeout) => timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
    };
    // SAFETY: `fds` is a valid array of pollfd for its length.
    let result = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
    if result < 0 && Errno::last() != Errno::EINTR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
