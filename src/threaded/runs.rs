//! The commands of `run` steps on Windows: `cmd /c COMMAND`, outside the job, with the same
//! environment as on Unix, its output on agentpipe's stderr (never its stdout), ended with its
//! step.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::machine::note::Note;
use crate::outcome::{CommandRun, Exit, Trigger};

/// How often a running step's command is looked at: no event announces its exit here.
const CHECK: Duration = Duration::from_millis(20);

/// The command of the current `run` step, and the record of every one started.
#[derive(Default)]
pub(crate) struct Runs {
    current: Option<Child>,
    records: Vec<CommandRun>,
}

impl Runs {
    /// Starts `command` for step number `step` (from 1) of the sequence about child `pid`.
    pub fn start(&mut self, command: &str, pid: u32, trigger: Trigger, step: usize) -> Note {
        let mut record = CommandRun {
            index: step - 1,
            pid: None,
            exit: None,
            error: None,
            ended: false,
        };
        let started = Command::new("cmd")
            .arg("/c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(std::io::stderr())
            .env("AGENTPIPE_PID", pid.to_string())
            .env("AGENTPIPE_TRIGGER", trigger.name())
            .env("AGENTPIPE_STEP", step.to_string())
            .spawn();
        let note = match started {
            Ok(child) => {
                record.pid = Some(child.id());
                let pid = child.id();
                self.current = Some(child);
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

    /// When to look at the running command next.
    pub fn check_at(&self) -> Option<Instant> {
        self.current.as_ref().map(|_| Instant::now() + CHECK)
    }

    /// Whether the running command exited, said once.
    pub fn check(&mut self) -> Option<Note> {
        let status = self.current.as_mut()?.try_wait().ok()??;
        let pid = self.current.take().map_or(0, |child| child.id());
        let exit = status.code().map_or(Exit::Unknown, Exit::Code);
        if let Some(record) = self.records.last_mut() {
            record.exit = Some(exit);
        }
        Some(Note::RunExited { pid, exit })
    }

    /// Ends the running command, if there is one: its step is over.
    pub fn end(&mut self) -> Option<Note> {
        let mut child = self.current.take()?;
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
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
