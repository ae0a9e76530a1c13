//! How the child is set up: its stdin, stdout and stderr (pipes, or a pseudo-terminal of its
//! own), what it does between its start and exec, and which spawn starts it.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::unistd::Pid;

use super::{ChildPipes, SpawnOptions};
use crate::platform::{self, ChildSetup, WindowSize};
use crate::signals::Signal;

/// The pseudo-terminal a child runs on: the terminal is its stdin, stdout and controlling
/// terminal, in a session of its own of which it is the leader (so that job control, a shell's
/// included, works as on a real terminal).
#[derive(Debug, Default)]
pub struct PtyOptions {
    /// Its window size at the start (agentpipe's own terminal's).
    pub size: Option<WindowSize>,
    /// Its stderr is the terminal too, as a terminal program expects, unless the stderr is piped
    /// or `command` says otherwise.
    pub stderr: bool,
}

/// The descriptors the child gets as its 0, 1 and 2 (`None`: its stderr is what `command`
/// says), and agentpipe's ends of them.
pub(super) fn stdio(options: &SpawnOptions) -> io::Result<([Option<OwnedFd>; 3], ChildPipes)> {
    let mut ours = ChildPipes {
        stdin: None,
        stdout: None,
        terminal: None,
        stderr: None,
    };
    let mut child = match &options.pty {
        Some(pty) => {
            let (master, slave) = platform::open_pty()?;
            if let Some(size) = pty.size {
                platform::set_window_size(master.as_fd(), size)?;
            }
            ours.stdin = Some(master.try_clone()?);
            ours.stdout = Some(master.try_clone()?);
            ours.terminal = Some(master);
            let stderr = match pty.stderr {
                true => Some(slave.try_clone()?),
                false => None,
            };
            [Some(slave.try_clone()?), Some(slave), stderr]
        }
        None => {
            let stdin = match &options.stdin {
                Some(stdin) => stdin.try_clone()?,
                None => {
                    let (read, write) = io::pipe()?;
                    ours.stdin = Some(write.into());
                    read.into()
                }
            };
            let (read, write) = io::pipe()?;
            ours.stdout = Some(read.into());
            [Some(stdin), Some(write.into()), None]
        }
    };
    if options.pipe_stderr {
        let (read, write) = io::pipe()?;
        ours.stderr = Some(read.into());
        child[2] = Some(write.into());
    } else if let Some(file) = &options.stderr {
        child[2] = Some(file.try_clone()?);
    }
    Ok((child, ours))
}

/// What the child does between its start and exec: its cgroup (`cgroup.procs`, `procs`), its
/// session or process group, its signals' dispositions and mask, the parent-death signal.
pub(super) fn child_setup(
    options: &SpawnOptions,
    group: bool,
    procs: Option<std::os::fd::RawFd>,
) -> ChildSetup {
    let ignored: Vec<i32> = options.keep_ignored.iter().map(|s| s.number()).collect();
    let default = options
        .handled
        .iter()
        .chain([&Signal::PIPE])
        .map(|signal| signal.number())
        .filter(|number| !ignored.contains(number))
        .collect();
    ChildSetup {
        cgroup_procs: procs,
        session: options.pty.is_some(),
        process_group: group,
        default,
        ignored,
        death_signal: options.parent_death_signal.then(nix::unistd::getpid),
    }
}

/// Starts the child: with the platform's own spawn where it has one and `command` is only a
/// program and its arguments ([`SpawnOptions::argv_only`]), else with the standard library's,
/// which honours everything `command` says and forks to run `setup` before exec.
pub(super) fn launch(
    command: &mut Command,
    options: &SpawnOptions,
    stdio: [Option<OwnedFd>; 3],
    setup: ChildSetup,
) -> io::Result<Pid> {
    if options.argv_only {
        let fds = stdio.each_ref().map(|fd| fd.as_ref().map(AsFd::as_fd));
        if let Some(pid) = platform::spawn(command, fds, &setup)? {
            return Ok(pid);
        }
    }
    let [stdin, stdout, stderr] = stdio;
    let set_stderr = stderr.is_some();
    command.stdin(stdin.map_or_else(Stdio::null, Stdio::from));
    command.stdout(stdout.map_or_else(Stdio::null, Stdio::from));
    if let Some(stderr) = stderr {
        command.stderr(stderr);
    }
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls.
    unsafe {
        command.pre_exec(move || setup.apply());
    }
    let spawned = command.spawn();
    // `command` holds the child's ends, of which agentpipe may keep no copy: a pipe or terminal
    // would never see its end.
    command.stdin(Stdio::null()).stdout(Stdio::null());
    if set_stderr {
        command.stderr(Stdio::null());
    }
    Ok(Pid::from_raw(spawned?.id() as i32))
}
