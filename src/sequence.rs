//! The close sequence: a list of steps that ends a child gracefully first and forcefully last.
//!
//! A [`Sequence`] is pure data, with the one definition of each step's name; the state machine
//! (`machine`) walks it, and the event loop carries out what the machine orders.

mod parse;

use std::fmt;
use std::time::Duration;

pub use crate::duration::Limit;
use crate::duration::format_limit;
use crate::signals::Signal;

/// What a step does before it waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Nothing: the child may exit on its own while its stdin stays open.
    Wait,
    /// Close the child's stdin once the bytes already read for it are written.
    CloseStdin,
    /// Run a command through `sh -c`, outside the scope: the way to stop an agent through a side
    /// channel. The number is its place in [`Sequence::commands`].
    Run(usize),
    /// Send this signal, then SIGCONT so that a stopped process can act on it.
    Signal(Signal),
    /// Send SIGKILL and wait until the scope is gone.
    Kill,
    /// Send the LSP `shutdown` request as agentpipe, then `exit` once it is answered
    /// (`--protocol lsp`), and wait for the server to end.
    Shutdown,
    /// Write a message to the child's stdin as a frame of `--protocol`, as agentpipe, then wait.
    /// The number is its place in [`Sequence::messages`].
    Send(usize),
}

/// One step: an action, then a wait that ends early when no process of the scope is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Step {
    /// What it does.
    pub action: Action,
    /// How long it waits at most for the scope to be gone; `None`: without limit (`KILL`).
    pub wait: Limit,
}

/// A validated close sequence: it always ends with exactly one `KILL` step, and it always has a
/// `stdin` step (one is inserted before the first signal when the list names none), so that an EOF
/// trigger has a step to start at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    steps: Vec<Step>,
    /// The commands of the `run` steps, in order.
    commands: Vec<String>,
    /// The messages of the `send` steps, in order.
    messages: Vec<String>,
    /// Stated as a list (`--sequence`), not by the step flags: messages then name its steps,
    /// not flags that `--sequence` refuses.
    listed: bool,
}

impl Default for Sequence {
    /// The design's default: `wait 0s, stdin 1s, TERM 1s, KILL`.
    fn default() -> Self {
        Sequence::standard(
            Some(Duration::ZERO),
            Some(Duration::from_secs(1)),
            Signal::TERM,
            Some(Duration::from_secs(1)),
        )
    }
}

impl Sequence {
    /// The four-step sequence that the step flags (`--wait`, `--grace`, `--signal`,
    /// `--term-grace`) describe.
    pub fn standard(wait: Limit, grace: Limit, signal: Signal, term_grace: Limit) -> Sequence {
        let step = |action, wait| Step { action, wait };
        let mut steps = vec![step(Action::Wait, wait), step(Action::CloseStdin, grace)];
        // `--signal KILL` makes the stop signal the last step itself.
        if signal != Signal::KILL {
            steps.push(step(Action::Signal(signal), term_grace));
        }
        steps.push(step(Action::Kill, None));
        Sequence {
            steps,
            commands: Vec::new(),
            messages: Vec::new(),
            listed: false,
        }
    }

    /// Whether the sequence was stated as a list (`--sequence`) rather than by the step flags.
    pub(crate) fn listed(&self) -> bool {
        self.listed
    }

    /// Adds a `run "command" wait` step before the first signal step (`--stop-command`).
    pub fn run_before_signal(mut self, command: String, wait: Limit) -> Sequence {
        let at = self.signal_step(0);
        self.steps.insert(
            at,
            Step {
                action: Action::Run(self.commands.len()),
                wait,
            },
        );
        self.commands.push(command);
        self
    }

    /// The steps, in order; the last is always `KILL`.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The commands of the `run` steps: `Action::Run(n)` runs `commands()[n]`.
    pub fn commands(&self) -> &[String] {
        &self.commands
    }

    /// The messages of the `send` steps: `Action::Send(n)` writes `messages()[n]`.
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// Whether a step writes to the child's stdin (`shutdown`, `send`): the end of the input
    /// then leaves it open for the sequence to close.
    pub fn speaks(&self) -> bool {
        let speaks = |step: &Step| matches!(step.action, Action::Shutdown | Action::Send(_));
        self.steps.iter().any(speaks)
    }

    /// Adds a `shutdown` step before the `stdin` step (`--protocol lsp`), unless there is one.
    pub fn shutdown_first(mut self, wait: Limit) -> Sequence {
        if !self
            .steps
            .iter()
            .any(|step| step.action == Action::Shutdown)
        {
            let at = self.stdin_step();
            let action = Action::Shutdown;
            self.steps.insert(at, Step { action, wait });
        }
        self
    }

    /// Where an EOF trigger starts: the `stdin` step, or the `shutdown` and `send` steps right
    /// before it (the server is asked to end before its stdin closes).
    pub fn eof_step(&self) -> usize {
        let mut at = self.stdin_step();
        while at > 0
            && matches!(
                self.steps[at - 1].action,
                Action::Shutdown | Action::Send(_)
            )
        {
            at -= 1;
        }
        at
    }

    /// The `stdin` step.
    pub fn stdin_step(&self) -> usize {
        self.steps
            .iter()
            .position(|step| step.action == Action::CloseStdin)
            .unwrap_or(0)
    }

    /// The first signal step at or after `from` (the `KILL` step when no other is left).
    pub fn signal_step(&self, from: usize) -> usize {
        (from..self.steps.len())
            .find(|&index| matches!(self.steps[index].action, Action::Signal(_) | Action::Kill))
            .unwrap_or(self.steps.len() - 1)
    }
}

impl Action {
    /// The report's name for the kind of step: `wait`, `stdin`, `run`, `signal` or `kill`.
    pub fn kind(self) -> &'static str {
        match self {
            Action::Wait => "wait",
            Action::CloseStdin => "stdin",
            Action::Run(_) => "run",
            Action::Signal(_) => "signal",
            Action::Kill => "kill",
            Action::Shutdown => "shutdown",
            Action::Send(_) => "send",
        }
    }

    /// The signals the step sends to the scope, in order: a stop signal is followed by SIGCONT
    /// so that a stopped process acts on it.
    pub fn signals(self) -> Vec<Signal> {
        match self {
            Action::Wait
            | Action::CloseStdin
            | Action::Run(_)
            | Action::Shutdown
            | Action::Send(_) => Vec::new(),
            Action::Signal(Signal::CONT) => vec![Signal::CONT],
            Action::Signal(signal) => vec![signal, Signal::CONT],
            Action::Kill => vec![Signal::KILL],
        }
    }
}

impl fmt::Display for Action {
    /// The step's name in the `--sequence` syntax (a `run` step without its command).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Wait => f.write_str("wait"),
            Action::CloseStdin => f.write_str("stdin"),
            Action::Run(_) => f.write_str("run"),
            Action::Signal(signal) => f.write_str(signal.name()),
            Action::Kill => f.write_str("KILL"),
            Action::Shutdown => f.write_str("shutdown"),
            Action::Send(_) => f.write_str("send"),
        }
    }
}

impl fmt::Display for Sequence {
    /// The `--sequence` syntax, which reads back as the same sequence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, step) in self.steps.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", step.action)?;
            match step.action {
                Action::Run(command) => write!(f, " {}", parse::quote(&self.commands[command]))?,
                // JSON reads best in single quotes, taken as they are.
                Action::Send(message) => match &self.messages[message] {
                    message if !message.contains('\'') => write!(f, " '{message}'")?,
                    message => write!(f, " {}", parse::quote(message))?,
                },
                _ => {}
            }
            if step.action != Action::Kill {
                write!(f, " {}", format_limit(step.wait))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_reads_back_as_itself() {
        let sequence =
            Sequence::parse("wait 250us, stdin 1.0005s, INT 2s, TERM 1m30s, KILL").expect("valid");
        let shown = sequence.to_string();
        assert_eq!(shown, "wait 250us, stdin 1s500us, INT 2s, TERM 1m30s, KILL");
        assert_eq!(Sequence::parse(&shown), Ok(sequence));
    }

    #[test]
    fn run_steps_keep_their_command_and_read_back() {
        let text = r#"stdin 5s, run "docker exec ctr pkill -INT -x 'a, b'" 5s, TERM 2s, KILL"#;
        let sequence = Sequence::parse(text).expect("valid");
        assert_eq!(
            sequence.commands(),
            ["docker exec ctr pkill -INT -x 'a, b'"]
        );
        assert_eq!(sequence.steps()[1].action, Action::Run(0));
        assert_eq!(sequence.to_string(), text);
        assert_eq!(Sequence::parse(&sequence.to_string()), Ok(sequence));
        let quoted = Sequence::parse(r#"run "say \"hi\" \\o/" 1s, KILL"#).expect("valid");
        assert_eq!(quoted.commands(), [r#"say "hi" \o/"#]);
        assert_eq!(Sequence::parse(&quoted.to_string()), Ok(quoted));
    }

    #[test]
    fn send_steps_keep_their_message_read_back_and_start_an_eof_before_stdin() {
        let text = r#"wait 1s, send '{"jsonrpc":"2.0","method":"exit"}' 2s, stdin 1s, KILL"#;
        let sequence = Sequence::parse(text).expect("valid");
        assert_eq!(
            sequence.messages(),
            [r#"{"jsonrpc":"2.0","method":"exit"}"#]
        );
        assert_eq!(sequence.steps()[1].action, Action::Send(0));
        assert_eq!(sequence.steps()[1].action.kind(), "send");
        assert_eq!(sequence.to_string(), text);
        assert_eq!(Sequence::parse(&sequence.to_string()), Ok(sequence.clone()));
        assert!(sequence.speaks());
        assert_eq!(sequence.eof_step(), 1, "the send step right before stdin");
        // With a quote of its own, the message reads back in double quotes.
        let quoted = Sequence::parse(r#"send "{\"a\":\"it's\"}" 1s, KILL"#).expect("valid");
        assert_eq!(quoted.messages(), [r#"{"a":"it's"}"#]);
        assert_eq!(Sequence::parse(&quoted.to_string()), Ok(quoted));
        let broken = Sequence::parse("send '{\"a\":\r\n1}' 1s, KILL").expect("valid");
        assert_eq!(broken.messages(), [r#"{"a":  1}"#], "one line");
        let error = Sequence::parse("send, KILL").unwrap_err().to_string();
        assert!(error.contains("needs a message"), "{error}");
        assert!(!Sequence::parse("TERM 1s, KILL").unwrap().speaks());
    }

    #[test]
    fn stop_command_goes_before_the_stop_signal() {
        let sequence = Sequence::default().run_before_signal("pkill -INT agent".into(), None);
        assert_eq!(
            sequence.to_string(),
            r#"wait 0s, stdin 1s, run "pkill -INT agent" inf, TERM 1s, KILL"#
        );
    }
}
