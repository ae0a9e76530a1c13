//! The commands of `run` steps: each outside the scope, bounded by its step and never left
//! behind, and the record of how each went, kept the same way by both front ends. Starting one
//! is the front end's: `sh -c COMMAND` in a process group of its own on Unix (`group.rs`),
//! `cmd /c COMMAND` on Windows (`threaded.rs`).

#[cfg(agentpipe_poll)]
mod group;
#[cfg(agentpipe_threads)]
mod threaded;

use crate::machine::Order;
use crate::machine::note::Note;
use crate::outcome::{CommandRun, Trigger};
#[cfg(agentpipe_poll)]
use group::Hook;
#[cfg(agentpipe_threads)]
use threaded::Hook;

/// What the environment tells the command: the supervised child, what started the sequence,
/// and which step runs it.
pub(crate) struct HookEnv {
    pub pid: u32,
    pub trigger: Trigger,
    pub step: usize,
}

/// The `run` steps' commands of one run: the one running now, and how each went.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    current: Option<Hook>,
    records: Vec<CommandRun>,
    /// The command line's: a SIGKILLed agentpipe takes the command with it (Unix: a parent-death
    /// signal; on Windows the command is not in the job, and this changes nothing).
    pub parent_death_signal: bool,
}

impl Runs {
    /// Starts the command of step `env.step` (the machine has ended the previous step's).
    fn start(&mut self, command: &str, env: &HookEnv) -> Note {
        let mut record = CommandRun {
            index: env.step - 1,
            pid: None,
            exit: None,
            error: None,
            ended: false,
        };
        let note = match Hook::start(command, env, self.parent_death_signal) {
            Ok(hook) => {
                record.pid = Some(hook.pid());
                let pid = hook.pid();
                self.current = Some(hook);
                Note::RunStarted {
                    command: command.to_string(),
                    pid,
                }
            }
            Err(error) => {
                record.error = Some(error.to_string());
                Note::RunFailed {
                    command: command.to_string(),
                    error: error.to_string(),
                }
            }
        };
        self.records.push(record);
        note
    }

    /// Carries out [`Order::Run`] (starts the step's command, for the child `pid`) and
    /// [`Order::EndRun`]; the line to tell, if there is one. Other orders are not its own.
    pub fn carry_out(&mut self, order: Order, pid: u32) -> Option<Note> {
        match order {
            Order::Run {
                command,
                step,
                trigger,
            } => Some(self.start(&command, &HookEnv { pid, trigger, step })),
            Order::EndRun => self.end(),
            _ => None,
        }
    }

    /// Whether a command runs, whose exit must be looked for.
    pub fn running(&self) -> bool {
        self.current.is_some()
    }

    /// The exit of the running command, if it came.
    pub fn check(&mut self) -> Option<Note> {
        let exit = self.current.as_mut()?.check()?;
        let pid = self.current.take().map_or(0, |hook| hook.pid());
        if let Some(record) = self.records.last_mut() {
            record.exit = Some(exit);
        }
        Some(Note::RunExited { pid, exit })
    }

    /// Kills the running command, if any: its step ended.
    pub fn end(&mut self) -> Option<Note> {
        let hook = self.current.take()?;
        let pid = hook.pid();
        hook.end();
        if let Some(record) = self.records.last_mut() {
            record.ended = true;
        }
        Some(Note::RunEnded { pid })
    }

    pub fn into_records(mut self) -> Vec<CommandRun> {
        self.end();
        self.records
    }
}
