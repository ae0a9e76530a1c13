//! The command of a `run` step on Unix: `sh -c COMMAND` in a process group of its own, which
//! the sequence's signals never reach; its leader is kept unreaped (a zombie) until its group was
//! sent SIGKILL, so that the group id cannot be reused in between and whatever the command left
//! in its group goes with it.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal as NixSignal, killpg};
use nix::unistd::Pid;

use super::HookEnv;
use crate::outcome::Exit;
use crate::platform;
use crate::process::exit_of;

/// A started `run` command.
#[derive(Debug)]
pub(super) struct Hook {
    child: Child,
    pid: Pid,
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
            // calls (prctl, getppid, getpid, kill).
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
