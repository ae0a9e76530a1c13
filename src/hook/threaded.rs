//! The command of a `run` step on Windows: `cmd /c COMMAND`, outside the job, its output on
//! agentpipe's stderr (never its stdout), killed when its step ends.

use std::io;
use std::process::{Child, Command, Stdio};

use super::HookEnv;
use crate::outcome::Exit;

/// A started `run` command.
#[derive(Debug)]
pub(super) struct Hook {
    child: Child,
}

impl Hook {
    /// Starts `command` with stdin from NUL and its output on agentpipe's stderr.
    pub fn start(command: &str, env: &HookEnv, _parent_death_signal: bool) -> io::Result<Hook> {
        let child = Command::new("cmd")
            .arg("/c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(io::stderr())
            .env("AGENTPIPE_PID", env.pid.to_string())
            .env("AGENTPIPE_TRIGGER", env.trigger.name())
            .env("AGENTPIPE_STEP", env.step.to_string())
            .spawn()?;
        Ok(Hook { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the command ended, if it has.
    pub fn check(&mut self) -> Option<Exit> {
        let status = self.child.try_wait().ok()??;
        Some(status.code().map_or(Exit::Unknown, Exit::Code))
    }

    /// Kills the command, and waits for it.
    pub fn end(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
