//! The command of a `run` step: `sh -c COMMAND` outside the scope, bounded by its step and never
//! left behind.
//!
//! It runs in a process group of its own, which the sequence's signals never reach; its leader
//! is kept unreaped (a zombie) until its group was sent SIGKILL, so that the group id cannot be
//! reused in between and whatever the command left in its group goes with it.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal as NixSignal, killpg};
use nix::unistd::Pid;

use crate::machine::note::Note;
use crate::outcome::{CommandRun, Exit, Trigger};
use crate::platform;
use crate::process::exit_of;

/// A started `run` command.
#[derive(Debug)]
pub(crate) struct Hook {
    child: Child,
    pid: Pid,
}

/// What the environment tells the command: the supervised child, what started the sequence,
/// and which step runs it.
pub(crate) struct HookEnv {
    pub pid: u32,
    pub trigger: Trigger,
    pub step: usize,
}

impl Hook {
    /// Starts `command` with stdin from /dev/null and its output on agentpipe's stderr, never
    /// in the relayed output.
    pub fn start(command: &str, env: &HookEnv, parent_death_signal: bool) -> io::Result<Hook> {
        let stderr = io::stderr().as_fd().try_clone_to_owned()?;
        let mut shell = Command::new("/bin/sh");
        shell
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stderr))
            .stderr(Stdio::inherit())
            .env("AGENTPIPE_PID", env.pid.to_string())
            .env("AGENTPIPE_TRIGGER", env.trigger.name())
            .env("AGENTPIPE_STEP", env.step.to_string())
            .process_group(0);
        if parent_death_signal {
            let parent = nix::unistd::getpid();
            // SAFETY: the closure runs between fork and exec and makes only async-signal-safe
            // calls (prctl, getppid, raise).
            unsafe {
                shell.pre_exec(move || {
                    platform::arm_parent_death_signal(parent);
                    Ok(())
                });
            }
        }
        let child = shell.spawn()?;
        let pid = Pid::from_raw(child.id() as i32);
        platform::spare(pid);
        Ok(Hook { child, pid })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the command ended, if it has: then its group is killed and it is reaped.
    pub fn check(&mut self) -> Option<Exit> {
        let exit = exit_of(platform::check_exit(self.pid)?.status)?;
        self.reap();
        Some(exit)
    }

    /// Kills the command and its group, and reaps it.
    pub fn end(mut self) {
        self.reap();
    }

    fn reap(&mut self) {
        let _ = killpg(self.pid, NixSignal::SIGKILL);
        let _ = self.child.wait();
        platform::unspare(self.pid);
    }
}

/// The `run` steps' commands of one run: the one running now, and how each went.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    current: Option<Hook>,
    records: Vec<CommandRun>,
    /// The command line's: a SIGKILLed agentpipe takes the command with it.
    pub parent_death_signal: bool,
}

impl Runs {
    /// Starts the command of step `env.step` (the machine has ended the previous step's).
    pub fn start(&mut self, command: &str, env: &HookEnv) -> Note {
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
