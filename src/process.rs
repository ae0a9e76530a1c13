//! The child process: how it is started, which processes its scope covers, how they are
//! signalled, and how its exit is observed without giving up its process id.

mod setup;
mod signal;
mod unseen;

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Command;

use nix::sys::signal::{Signal as NixSignal, kill};
use nix::unistd::Pid;

use crate::outcome::Exit;
use crate::outcome::ended::Ended;
use crate::platform::{self, Cgroup, ChildState, ChildStatus};
use crate::scope::{CgroupUsage, Look, Scope};
use crate::signals::Signal;
pub use setup::PtyOptions;

/// How to start the child.
#[derive(Debug)]
pub struct SpawnOptions {
    pub scope: Scope,
    /// Keep the child in agentpipe's process group, so that it can use the terminal.
    pub foreground: bool,
    /// Linux: have the kernel SIGKILL the child if the spawning thread dies. Only for a
    /// single-threaded caller: the death signal follows the thread that forked, not the process.
    pub parent_death_signal: bool,
    /// Signals to set back to ignored in the child: agentpipe catches them, but its parent had
    /// ignored them.
    pub keep_ignored: Vec<Signal>,
    /// The child's stdin, when it is not a pipe from agentpipe (`--foreground` on a terminal).
    pub stdin: Option<OwnedFd>,
    /// Pipe the child's stderr too (for a stderr relay), instead of what `command` says.
    pub pipe_stderr: bool,
    /// The child's stderr when it is not piped (a `--stderr` file), instead of what `command`
    /// says.
    pub stderr: Option<OwnedFd>,
    /// The signals agentpipe catches: set back to their default in the child before its signal
    /// mask is emptied, so that no handler of agentpipe's runs there.
    pub handled: Vec<Signal>,
    /// `command` is only a program and its arguments (the command line's): the platform's own
    /// spawn may start it, which reads nothing else of it (see `platform::spawn`).
    pub argv_only: bool,
    /// Run the child on a pseudo-terminal of its own (`--pty`) instead of pipes.
    pub pty: Option<PtyOptions>,
    /// `--scope group` on the command line: become the subreaper of the child's descendants, so
    /// that a process orphaned by the scope's SIGKILL (a nested agentpipe's command, whose
    /// supervisor was killed) comes to agentpipe and goes with the scope (decision (bv)).
    pub adopt_orphans: bool,
}

/// A started child whose stdin and stdout are pipes held by the caller.
///
/// The child is not reaped until [`ChildProcess::reap`]: while it is a zombie, neither its pid nor
/// its process-group id can be reused, so signalling them never reaches a stranger.
#[derive(Debug)]
pub struct ChildProcess {
    pid: Pid,
    /// The program's file name, for messages.
    name: String,
    /// The child's own process group, when it has one.
    group: Option<Pid>,
    scope: Scope,
    exit: Option<Exit>,
    reaped: bool,
    /// Linux: becomes readable when the child exits.
    pidfd: Option<OwnedFd>,
    /// `--scope cgroup`: the cgroup the child started in, removed once the child is reaped.
    cgroup: Option<Cgroup>,
    /// What the cgroup accounted for, read just before it was removed.
    usage: Option<CgroupUsage>,
    /// The other processes of the scope seen so far, with the signals they got.
    ended: std::cell::RefCell<Ended>,
    /// agentpipe adopts the orphans of the child's descendants (see
    /// [`SpawnOptions::adopt_orphans`]).
    adopts: bool,
    /// The orphans it had adopted when it first sent SIGKILL: they left on their own before (a
    /// daemon), and are not the scope's; every one adopted after is.
    adopted_before_kill: std::cell::RefCell<Option<Vec<Pid>>>,
    /// The program owns all its children (the command line): a look that cannot read /proc may
    /// reap any that exited, and ask the kernel whether any is left (see [`ChildProcess::unseen`]).
    owns_children: bool,
    /// The exited child was collected before its scope was empty, because no look could see
    /// the scope: the kernel then says whether its group is empty (see [`ChildProcess::unseen`]).
    collected: std::cell::Cell<bool>,
}

/// `--scope cgroup` where agentpipe cannot create a cgroup: the message says what to do.
#[derive(Debug)]
pub struct ScopeUnavailable(pub String);

impl fmt::Display for ScopeUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScopeUnavailable {}

/// The agentpipe ends of the child's stdin and stdout, both non-blocking; `None` once closed.
#[derive(Debug)]
pub struct ChildPipes {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    /// With [`SpawnOptions::pty`]: the master of the child's pseudo-terminal, of which `stdin`
    /// and `stdout` are two more descriptors rather than pipes.
    pub terminal: Option<OwnedFd>,
    /// Non-blocking too; only with [`SpawnOptions::pipe_stderr`], for the caller's stderr relay.
    pub stderr: Option<OwnedFd>,
}

impl ChildProcess {
    /// Starts `command` with piped stdin and stdout; its stderr is piped if the options say so,
    /// else whatever `command` says.
    pub fn spawn(
        command: &mut Command,
        options: &SpawnOptions,
    ) -> io::Result<(ChildProcess, ChildPipes)> {
        // Before the child's own descriptors, so that the reserve's numbers are low.
        platform::reserve_descriptors();
        let (stdio, pipes) = setup::stdio(options)?;
        // Its own process group (or session, with a terminal), unless it shares agentpipe's.
        let group = !options.foreground;
        let adopts = options.adopt_orphans && options.scope == Scope::Group;
        if options.scope == Scope::Tree || adopts {
            platform::become_subreaper()?;
        }
        let cgroup = match options.scope {
            Scope::Cgroup => Some(
                Cgroup::create().map_err(|message| io::Error::other(ScopeUnavailable(message)))?,
            ),
            _ => None,
        };
        let setup = setup::child_setup(options, group, cgroup.as_ref().map(Cgroup::procs_fd));
        let pid = setup::launch(command, options, stdio, setup)?;
        let scope = match options.scope {
            Scope::Group if !group => Scope::Child,
            scope => scope,
        };
        let program = std::path::Path::new(command.get_program());
        let name = program.file_name().unwrap_or(program.as_os_str());
        // Owned before anything else can fail: its drop ends the child.
        let process = ChildProcess {
            pid,
            name: name.to_string_lossy().into_owned(),
            group: group.then_some(pid),
            scope,
            exit: None,
            reaped: false,
            pidfd: platform::open_pidfd(pid),
            cgroup,
            usage: None,
            ended: Default::default(),
            adopts,
            adopted_before_kill: Default::default(),
            owns_children: options.adopt_orphans,
            collected: Default::default(),
        };
        // Grown by the relay once a stream flows through them (see relay::Pump).
        let ends = [&pipes.stdin, &pipes.stdout, &pipes.stderr, &pipes.terminal];
        for pipe in ends.into_iter().flatten() {
            platform::set_nonblocking(pipe.as_fd(), true)?;
        }
        Ok((process, pipes))
    }

    pub fn pid(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// What the out-of-memory path reaches without allocating: the child's pidfd, and its
    /// cgroup's `cgroup.kill` and directory, where they exist.
    pub fn last_resort(&self) -> (Option<RawFd>, Option<(RawFd, &std::path::Path)>) {
        let pidfd = self.pidfd.as_ref().map(AsRawFd::as_raw_fd);
        let cgroup = self
            .cgroup
            .as_ref()
            .map(|cgroup| (cgroup.kill_fd(), cgroup.dir()));
        (pidfd, cgroup)
    }

    /// How the child ended, once that is known.
    pub fn exit(&self) -> Option<Exit> {
        self.exit
    }

    /// A descriptor that becomes readable when the child exits, where the kernel has pidfds.
    /// Without one, the caller must call [`ChildProcess::check_exit`] on SIGCHLD or periodically.
    pub fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd
            .as_ref()
            .filter(|_| self.exit.is_none())
            .map(|fd| fd.as_fd())
    }

    /// Looks, without waiting, whether the child has exited. On Linux this leaves it unreaped;
    /// elsewhere it is reaped at once, and its group is no longer signalled after that.
    pub fn check_exit(&mut self) -> Option<Exit> {
        if self.exit.is_none()
            && !self.reaped
            && let Some(seen) = platform::check_exit(self.pid)
        {
            self.note(seen);
        }
        self.exit
    }

    /// The kernel said the child ended (its pidfd is readable) but no look could read how: its
    /// exit is unknown, and it is no longer waited for.
    pub fn ended_unread(&mut self) {
        self.exit.get_or_insert(Exit::Unknown);
    }

    /// The signal that stopped the child, if it stopped since the last call (consumes the report).
    pub fn check_stopped(&mut self) -> Option<Signal> {
        if self.reaped || self.collected.get() {
            return None;
        }
        match platform::check_stopped(self.pid)? {
            ChildStatus {
                status: ChildState::Stopped(signal),
                ..
            } => Signal::from_number(signal),
            seen => {
                self.note(seen);
                None
            }
        }
    }

    /// Records an exit that a look at the child found, and whether that look reaped it.
    fn note(&mut self, seen: ChildStatus) {
        if let Some(exit) = exit_of(seen.status) {
            (self.exit, self.reaped) = (Some(exit), seen.reaped);
        }
    }

    /// The live processes of the scope other than the child, or why they could not be seen.
    pub fn leftovers(&self) -> Look {
        if self.reaped {
            return Look::Seen(Vec::new());
        }
        let exited = self.exit.is_some();
        let listed = match &self.cgroup {
            Some(cgroup) => cgroup.members(self.pid, exited),
            None => platform::leftovers(self.scope, self.pid, self.group, exited),
        };
        let mut pids = match listed {
            Ok(pids) => pids,
            Err(why) => return self.unseen(why),
        };
        pids.extend(self.casualties());
        let ended = &mut *self.ended.borrow_mut();
        let new: Vec<Pid> = pids
            .iter()
            .copied()
            .filter(|pid| !ended.knows(pid.as_raw() as u32))
            .collect();
        ended.saw(platform::named(&new), None);
        Look::Seen(pids.into_iter().map(|pid| pid.as_raw() as u32).collect())
    }

    /// The live processes of the scope other than the child, named.
    fn members(&self) -> Vec<platform::Member> {
        match (&self.cgroup, self.scope) {
            (Some(cgroup), _) => {
                let pids = cgroup.members(self.pid, self.exit.is_some());
                platform::named(&pids.unwrap_or_default())
            }
            (None, Scope::Child) => Vec::new(),
            (None, scope) => {
                platform::members_named(scope, self.pid, self.group).unwrap_or_default()
            }
        }
    }

    /// Every process of the scope other than the child seen so far, with the last signal it got.
    pub fn ended(&self) -> Vec<crate::outcome::EndedProcess> {
        self.ended.borrow().list()
    }

    /// The orphans handed to agentpipe since its first SIGKILL: descendants whose parent that
    /// SIGKILL ended (see [`SpawnOptions::adopt_orphans`]).
    fn casualties(&self) -> Vec<Pid> {
        let before = self.adopted_before_kill.borrow();
        let Some(before) = before.as_ref() else {
            return Vec::new();
        };
        let mut adopted = platform::adopted(self.pid);
        adopted.retain(|pid| !before.contains(pid));
        adopted
    }

    /// SIGKILL to the casualties (their pids are safe: they are agentpipe's unreaped children),
    /// noting at the first SIGKILL which orphans were adopted before it.
    fn kill_casualties(&self) {
        self.adopted_before_kill
            .borrow_mut()
            .get_or_insert_with(|| platform::adopted(self.pid));
        for pid in self.casualties() {
            let _ = kill(pid, NixSignal::SIGKILL);
        }
    }

    /// `--scope cgroup`: the CPU time and peak memory of the cgroup's processes, final once the
    /// child is reaped.
    pub fn usage(&self) -> Option<CgroupUsage> {
        self.usage
            .or_else(|| self.cgroup.as_ref().map(Cgroup::usage))
    }

    /// The CPU time the scope's processes have used so far (`--scope cgroup`: all that ran in
    /// the cgroup), and how long they waited on a run queue for a CPU: what tells a command
    /// that still works from one that lingers.
    pub fn work(&self) -> (Option<std::time::Duration>, Option<std::time::Duration>) {
        if self.reaped {
            return (None, None);
        }
        let (cpu, waited) = platform::work(self.scope, self.pid, self.group);
        match &self.cgroup {
            Some(cgroup) => {
                let cpu = std::time::Duration::from_micros(cgroup.usage().cpu_usec);
                (Some(cpu), waited)
            }
            None => (cpu, waited),
        }
    }

    /// Reaps descendants handed to agentpipe as their subreaper (`--scope tree`) or as PID 1:
    /// orphans that exited. The child itself stays unreaped.
    pub fn reap_adopted(&self) {
        if self.scope == Scope::Tree || self.adopts || nix::unistd::getpid().as_raw() == 1 {
            platform::reap_adopted(self.pid);
        }
    }

    /// Collects the child's exit status, freeing its pid. Call once the scope is empty.
    pub fn reap(&mut self) -> io::Result<Exit> {
        if !self.reaped {
            // An exit read from the kernel is collected at once; an unknown one is not waited for.
            let flags = match self.exit {
                Some(Exit::Unknown) => nix::libc::WNOHANG,
                _ => 0,
            };
            let status = match self.collected.get() {
                true => ChildState::Gone,
                false => platform::wait_pid(self.pid, flags).unwrap_or(ChildState::Gone),
            };
            self.reaped = true;
            self.exit = self.exit.or(exit_of(status));
            if let Some(cgroup) = self.cgroup.take() {
                self.usage = Some(cgroup.usage());
            }
        }
        self.exit
            .ok_or_else(|| io::Error::other("child status unknown after reaping"))
    }
}

impl ChildProcess {
    /// Gives up on a child SIGKILL did not remove: closes what agentpipe holds of it (its
    /// pidfd; its cgroup, which stays where it is still populated a tenth of a second later)
    /// without waiting for it.
    pub fn abandon(mut self) {
        self.reaped = true;
    }
}

impl Drop for ChildProcess {
    /// A supervisor that bails out on an error still leaves no child behind.
    fn drop(&mut self) {
        if !self.reaped {
            self.signal_scope(Signal::KILL);
            let _ = self.reap();
        }
    }
}

/// The exit a status reports, if it reports one: a child collected elsewhere ended unknown.
pub(crate) fn exit_of(status: ChildState) -> Option<Exit> {
    match status {
        ChildState::Exited(code) => Some(Exit::Code(code)),
        ChildState::Killed(signal) => Some(Exit::Signal(Signal::raw(signal))),
        ChildState::Gone => Some(Exit::Unknown),
        ChildState::Stopped(_) => None,
    }
}
