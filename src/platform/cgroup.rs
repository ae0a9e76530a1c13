//! Linux, cgroup v2: `--scope cgroup`. The command starts in a new cgroup, a child of
//! agentpipe's own, so that its scope is exactly the cgroup's processes: the kernel counts them
//! (`cgroup.events`, `populated`), kills them all at once, forks included (`cgroup.kill`), and
//! accounts for their CPU time and memory (`cpu.stat`, `memory.peak`).
//!
//! agentpipe does not move itself or enable controllers: the new cgroup gets the controllers
//! that agentpipe's cgroup already enables for its children. A cgroup that holds processes
//! (agentpipe's does) cannot enable controllers for its children (the "no internal processes"
//! rule), so `memory.peak` is there only where agentpipe's cgroup is a root (as in a container)
//! or enables the memory controller; `cpu.stat` is always there.

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::libc;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::unistd::{AccessFlags, Pid, access, getpid};

use super::linux::reserve::{gone_or_unseen, proc_shows_self, unseen, with_reserve};
use super::linux::{pause_a_millisecond, pidfd_open};
use super::signal_pidfd;
use crate::scope::{CgroupUsage, Unseen};

/// `--scope cgroup` is possible where the kernel has cgroup v2 with `cgroup.kill`: see
/// [`Cgroup::create`].
pub const HAS_CGROUP: bool = true;

/// How many times the cgroup's processes are listed before the kernel's count is believed over
/// an empty listing (a process forked while the list was read, by one that exited).
const LISTINGS: usize = 100;

/// A cgroup agentpipe created for its command, removed when dropped (once empty).
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
    /// Its path in the hierarchy, as /proc/PID/cgroup gives it.
    path: String,
    /// Its `cgroup.procs`, opened for the child to write itself into before exec.
    procs: OwnedFd,
    /// Its `cgroup.kill` and `cgroup.events`, held open from the start: ending the cgroup and
    /// asking the kernel whether it is empty need no new descriptor (none may be left), and
    /// the out-of-memory path writes to `cgroup.kill` without allocating.
    kill: OwnedFd,
    events: OwnedFd,
}

impl Cgroup {
    /// Creates a cgroup below agentpipe's own. The error is one line that says what to do.
    pub fn create() -> Result<Cgroup, String> {
        let advice = "run agentpipe in a cgroup delegated to it (systemd-run --user --scope -p \
                      Delegate=yes agentpipe ...), or use --scope tree";
        if let Err(why) = proc_shows_self() {
            return Err(format!(
                "--scope cgroup cannot find agentpipe's cgroup: {}; mount /proc, or use --scope \
                 group",
                why.reason()
            ));
        }
        let (parent, own) = own_cgroup().ok_or_else(|| {
            "--scope cgroup needs cgroup v2, and no cgroup2 file system holding agentpipe's \
             cgroup is mounted; mount one, or use --scope tree"
                .to_string()
        })?;
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "agentpipe-{}-{}",
            getpid(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = parent.join(&name);
        // Moving the child in needs write access to the common parent's cgroup.procs too.
        let writable = |path: &Path| {
            access(path, AccessFlags::W_OK)
                .map_err(|errno| format!("{}: {}", path.display(), errno.desc()))
        };
        let created = writable(&parent.join("cgroup.procs"))
            .and_then(|()| fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display())));
        if let Err(why) = created {
            return Err(format!(
                "--scope cgroup cannot create a cgroup ({why}); {advice}"
            ));
        }
        if !dir.join("cgroup.kill").exists() {
            let _ = fs::remove_dir(&dir);
            return Err(
                "--scope cgroup needs cgroup.kill (Linux 5.14 or later); use --scope tree".into(),
            );
        }
        let file = |name: &str, flags: OFlag| {
            open(&dir.join(name), flags | OFlag::O_CLOEXEC, Mode::empty()).map_err(|errno| {
                let _ = fs::remove_dir(&dir);
                format!(
                    "--scope cgroup cannot open {}/{name}: {}; {advice}",
                    dir.display(),
                    errno.desc()
                )
            })
        };
        let procs = file("cgroup.procs", OFlag::O_WRONLY)?;
        let kill = file("cgroup.kill", OFlag::O_WRONLY)?;
        let events = file("cgroup.events", OFlag::O_RDONLY)?;
        let path = format!("{}/{name}", own.trim_end_matches('/'));
        Ok(Cgroup {
            dir,
            path,
            procs,
            kill,
            events,
        })
    }

    /// The descriptor [`enter_cgroup`] writes to, in the child before exec.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_fd().as_raw_fd()
    }

    /// Kills every process of the cgroup and of the cgroups below it, at once: the kernel also
    /// kills what they fork meanwhile.
    pub fn kill(&self) {
        kill_cgroup(self.kill.as_raw_fd());
    }

    /// The descriptor of `cgroup.kill`, for the out-of-memory path (see [`kill_cgroup`]).
    pub fn kill_fd(&self) -> RawFd {
        self.kill.as_raw_fd()
    }

    /// Its directory, for the out-of-memory path (see [`remove_killed_cgroup`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sends `signal` to each process of the cgroup (and below), through a pidfd opened before
    /// checking that the pid is still a member. `Err`: they could not all be listed.
    pub fn signal(&self, signal: Signal) -> Result<(), Unseen> {
        with_reserve(|| {
            for pid in self.listed("cgroup.procs")? {
                let pidfd = match pidfd_open(pid) {
                    Ok(pidfd) => pidfd,
                    Err(errno @ (Errno::EMFILE | Errno::ENFILE)) => return Err(unseen(errno)),
                    Err(_) => continue,
                };
                if self.holds(pid) {
                    signal_pidfd(pidfd.as_fd(), signal);
                }
            }
            Ok(())
        })
    }

    /// Whether `pid` is in the cgroup or below it now: from /proc/PID/cgroup, or where /proc
    /// cannot tell, from the cgroup's own list.
    pub fn holds(&self, pid: Pid) -> bool {
        let text = proc_shows_self().and_then(|()| {
            fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .map_err(|e| gone_or_unseen(&e).err().unwrap_or(Unseen::NoProc))
        });
        match text {
            Ok(text) => text
                .lines()
                .filter_map(|line| line.strip_prefix("0::"))
                .any(|path| path == self.path || path.starts_with(&format!("{}/", self.path))),
            Err(_) => {
                with_reserve(|| self.listed("cgroup.procs")).is_ok_and(|pids| pids.contains(&pid))
            }
        }
    }

    /// The processes in the cgroup other than `child`. Never empty while the kernel counts a
    /// live process in it and `child` has exited: a listing that finds nothing is repeated.
    /// `Err`: the cgroup could not be listed, and the kernel says it is not empty either.
    pub fn members(&self, child: Pid, child_exited: bool) -> Result<Vec<Pid>, Unseen> {
        let listed = with_reserve(|| {
            for _ in 0..LISTINGS {
                let mut pids = self.listed("cgroup.procs")?;
                pids.retain(|&pid| pid != child);
                if !pids.is_empty() || !child_exited || !self.populated()? {
                    return Ok(pids);
                }
            }
            // The kernel counts a process no listing caught: its threads stand for it, or the
            // child's pid does, so that the scope is not taken for empty.
            let threads = self.listed("cgroup.threads")?;
            Ok(if threads.is_empty() {
                vec![child]
            } else {
                threads
            })
        });
        match listed {
            Err(_) if child_exited && self.populated() == Ok(false) => Ok(Vec::new()),
            listed => listed,
        }
    }

    /// Whether a live process is in the cgroup or below it (`populated 1` in `cgroup.events`),
    /// read again from the start of the descriptor held open.
    fn populated(&self) -> Result<bool, Unseen> {
        let mut buffer = [0u8; 256];
        // SAFETY: pread into a local buffer of the length given, from a descriptor we hold.
        let read = unsafe {
            libc::pread(
                self.events.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                0,
            )
        };
        let Ok(length) = usize::try_from(read) else {
            return Err(unseen(Errno::last()));
        };
        let events = String::from_utf8_lossy(&buffer[..length]);
        Ok(events.lines().any(|line| line == "populated 1"))
    }

    /// The CPU time and peak memory of everything that ran in the cgroup.
    pub fn usage(&self) -> CgroupUsage {
        let stat = fs::read_to_string(self.dir.join("cpu.stat")).unwrap_or_default();
        let field = |name: &str| {
            stat.lines()
                .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .find_map(|value| value.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let memory_peak = fs::read_to_string(self.dir.join("memory.peak"))
            .ok()
            .and_then(|text| text.trim().parse().ok());
        CgroupUsage {
            cpu_usec: field("usage_usec"),
            user_usec: field("user_usec"),
            system_usec: field("system_usec"),
            memory_peak,
        }
    }

    /// The pids (or thread ids) in `file` of the cgroup and every cgroup below it; `Err` when
    /// one could not be read (a cgroup removed meanwhile is empty).
    fn listed(&self, file: &str) -> Result<Vec<Pid>, Unseen> {
        let mut pids = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            let text = match fs::read_to_string(dir.join(file)) {
                Ok(text) => text,
                Err(error) => {
                    gone_or_unseen(&error)?;
                    continue;
                }
            };
            pids.extend(
                text.split_whitespace()
                    .filter_map(|pid| pid.parse().ok())
                    .map(Pid::from_raw),
            );
            dirs.extend(subdirectories(&dir)?);
        }
        Ok(pids)
    }
}

impl Drop for Cgroup {
    /// Removes the cgroup, and those a command left below it, deepest first. A cgroup just
    /// killed (a supervisor bailing out on an error kills its scope and drops it at once) stays
    /// populated until its processes are gone: each is given a tenth of a second in all, and
    /// one still populated after that stays (rmdir fails with EBUSY).
    fn drop(&mut self) {
        fn remove(dir: &Path, until: Instant) {
            for below in subdirectories(dir).unwrap_or_default() {
                remove(&below, until);
            }
            while let Err(error) = fs::remove_dir(dir) {
                if error.raw_os_error() != Some(libc::EBUSY) || Instant::now() >= until {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        remove(&self.dir, Instant::now() + Duration::from_millis(100));
    }
}

/// Runs in the child before exec: moves it into the cgroup whose `cgroup.procs` is `procs`
/// ("0" names the writer). Only async-signal-safe calls, no allocation.
pub fn enter_cgroup(procs: RawFd) -> io::Result<()> {
    // SAFETY: writes one byte from a static buffer to a descriptor the parent opened.
    let written = unsafe { libc::write(procs, b"0".as_ptr().cast(), 1) };
    if written == 1 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes "1" to the `cgroup.kill` that `kill` is open on: every process of the cgroup and below
/// is killed. Async-signal-safe, no allocation (the out-of-memory path calls it).
pub fn kill_cgroup(kill: RawFd) {
    // SAFETY: writes one byte from a static buffer to a descriptor the caller holds.
    unsafe { libc::write(kill, b"1".as_ptr().cast(), 1) };
}

/// Removes the cgroup at `dir` once [`kill_cgroup`] emptied it, waiting a millisecond at a time
/// and at most a tenth of a second. Async-signal-safe, no allocation.
pub fn remove_killed_cgroup(dir: &std::ffi::CStr) {
    for _ in 0..100 {
        // SAFETY: rmdir reads a NUL-terminated path the caller holds.
        if unsafe { libc::rmdir(dir.as_ptr()) } == 0 || Errno::last() != Errno::EBUSY {
            return;
        }
        pause_a_millisecond();
    }
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>, Unseen> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => return gone_or_unseen(&error).map(|()| Vec::new()),
    };
    let dirs = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path());
    Ok(dirs.collect())
}

/// agentpipe's cgroup: its directory, where a cgroup2 file system that holds it is mounted
/// (anywhere: /sys/fs/cgroup, or /sys/fs/cgroup/unified beside cgroup v1), and its path in the
/// hierarchy.
fn own_cgroup() -> Option<(PathBuf, String)> {
    let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = cgroups.lines().find_map(|line| line.strip_prefix("0::"))?;
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - TYPE SOURCE SUPEROPTIONS"
        let (mount, kind) = line.split_once(" - ")?;
        if kind.split(' ').next() != Some("cgroup2") {
            return None;
        }
        let fields: Vec<&str> = mount.split(' ').collect();
        let (root, point) = (unescape(fields.get(3)?), unescape(fields.get(4)?));
        let below = own.strip_prefix(root.trim_end_matches('/'))?;
        let dir = Path::new(&point).join(below.trim_start_matches('/'));
        dir.is_dir().then(|| (dir, own.to_string()))
    })
}

/// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let octal = bytes
            .get(index + 1..index + 4)
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok());
        match (bytes[index], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                index += 4;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
