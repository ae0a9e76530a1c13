//! Windows: the child in a Job Object, its stop requests as console control events, and the
//! handles the front end waits on.
//!
//! The child is created suspended in a process group of its own, put in a job that ends every
//! process in it when its last handle closes (`KILL_ON_JOB_CLOSE`), then resumed: nothing it
//! starts escapes the job unless it asks for breakaway, and if agentpipe itself is killed the
//! kernel closes the handle and ends them all, which is stronger than Unix's parent-death
//! signal.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::os::windows::process::CommandExt;
use std::process::{Child, Command};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_MORE_DATA, FALSE, FILETIME, HANDLE, INVALID_HANDLE_VALUE, TRUE,
    WAIT_OBJECT_0,
};
use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_DISK, GetFileType};
use windows_sys::Win32::System::Console::{
    CTRL_BREAK_EVENT, CTRL_C_EVENT, GenerateConsoleCtrlEvent, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
    TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
use windows_sys::Win32::System::IO::CancelIoEx;
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_BASIC_PROCESS_ID_LIST,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectBasicAccountingInformation,
    JobObjectBasicProcessIdList, JobObjectExtendedLimitInformation, QueryInformationJobObject,
    SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED, GetCurrentProcessId, GetProcessTimes, OpenProcess,
    OpenThread, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, ResumeThread,
    THREAD_SUSPEND_RESUME, TerminateProcess, WaitForSingleObject,
};

use super::Member;
use crate::scope::Scope;

/// `--scope tree` is the job here.
pub const HAS_SUBREAPER: bool = true;
/// Nothing is stopped by a terminal: a stop signal is not followed by SIGCONT.
pub const SENDS_SIGCONT: bool = false;
/// What messages call the `group` scope, and `tree` too: the command's Job Object.
pub const GROUP_NOUN: &str = "job";
/// `tree` is the job, as `group` is.
pub const TREE_IS_GROUP: bool = true;
/// No cgroups: the job is the scope.
pub const HAS_CGROUP: bool = false;
/// The parent is watched through a handle on its process.
pub const HAS_PARENT_WATCH: bool = true;

/// What `--scope cgroup` is told here.
pub const NO_CGROUP: &str = "--scope cgroup needs Linux's cgroup v2; on Windows the command's \
                             Job Object already holds everything it starts: use --scope tree";

/// The exit code a process ended by KILL gets, so that scripts see 128 + 9 as on Unix.
pub const KILLED_CODE: u32 = 128 + 9;

/// The processes the close sequence ends: a Job Object (`group`, `tree`), or the child alone.
pub struct Contained {
    scope: Scope,
    /// `None` for the `child` scope.
    job: Option<OwnedHandle>,
    process: RawHandle,
    pid: u32,
}

// SAFETY: the raw process handle is owned by the `Child` that outlives every use (the front end
// keeps both together); handles may be used from any thread.
unsafe impl Send for Contained {}

/// Starts `command` suspended in a process group of its own, puts it in the scope's job, then
/// lets it run.
pub fn spawn_contained(command: &mut Command, scope: Scope) -> io::Result<(Child, Contained)> {
    if scope == Scope::Cgroup {
        return Err(io::Error::new(io::ErrorKind::Unsupported, NO_CGROUP));
    }
    let job = (scope != Scope::Child).then(new_job).transpose()?;
    command.creation_flags(CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP);
    let mut child = command.spawn()?;
    let contained = Contained {
        scope,
        job,
        process: child.as_raw_handle(),
        pid: child.id(),
    };
    let placed = match &contained.job {
        // SAFETY: both handles are open.
        Some(job) => {
            check(unsafe { AssignProcessToJobObject(job.as_raw_handle(), contained.process) })
        }
        None => Ok(()),
    };
    if let Err(error) = placed.and_then(|()| resume(contained.pid)) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    Ok((child, contained))
}

fn new_job() -> io::Result<OwnedHandle> {
    // SAFETY: an anonymous job with default security.
    let handle = unsafe { CreateJobObjectW(null(), null()) };
    if handle.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new handle, owned from here.
    let job = unsafe { OwnedHandle::from_raw_handle(handle) };
    // SAFETY: a zeroed structure is a valid one with no limits.
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { zeroed() };
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    // SAFETY: the structure and its size match the information class.
    check(unsafe {
        SetInformationJobObject(
            handle,
            JobObjectExtendedLimitInformation,
            (&raw const limits).cast(),
            size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    })?;
    Ok(job)
}

/// Resumes every thread of the suspended process `pid` (a new process has one).
fn resume(pid: u32) -> io::Result<()> {
    let snapshot = Snapshot::new(TH32CS_SNAPTHREAD)?;
    // SAFETY: a zeroed entry with its size set is what Thread32First takes.
    let mut entry: THREADENTRY32 = unsafe { zeroed() };
    entry.dwSize = size_of::<THREADENTRY32>() as u32;
    let mut more = unsafe { Thread32First(snapshot.0, &mut entry) } != FALSE;
    let mut resumed = false;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: a thread id from the snapshot; the handle is closed below.
            let thread = unsafe { OpenThread(THREAD_SUSPEND_RESUME, FALSE, entry.th32ThreadID) };
            if !thread.is_null() {
                // SAFETY: an open thread handle, closed once resumed.
                unsafe {
                    resumed |= ResumeThread(thread) != u32::MAX;
                    CloseHandle(thread);
                }
            }
        }
        // SAFETY: as above.
        more = unsafe { Thread32Next(snapshot.0, &mut entry) } != FALSE;
    }
    if resumed {
        Ok(())
    } else {
        Err(io::Error::other(
            "the command was created but its thread could not be resumed",
        ))
    }
}

impl Contained {
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Sends `signal` (by number, as `signals.rs` numbers them) to the scope: KILL ends the job
    /// (or the process) with status 137; TERM is a Ctrl-Break event and INT a Ctrl-C event to
    /// the child's process group.
    pub fn signal(&self, number: i32) -> io::Result<()> {
        // The machine follows a stop signal with SIGCONT, for a process stopped by a terminal:
        // nothing is stopped that way here.
        if number == super::SIGCONT {
            return Ok(());
        }
        if number == super::SIGKILL {
            // SAFETY: open handles.
            return check(unsafe {
                match &self.job {
                    Some(job) => TerminateJobObject(job.as_raw_handle(), KILLED_CODE),
                    None => TerminateProcess(self.process, KILLED_CODE),
                }
            });
        }
        let event = if number == super::SIGINT {
            CTRL_C_EVENT
        } else {
            CTRL_BREAK_EVENT
        };
        // SAFETY: plain call; the group id is the child's pid (CREATE_NEW_PROCESS_GROUP).
        check(unsafe { GenerateConsoleCtrlEvent(event, self.pid) })
    }

    /// The processes of the scope that are still alive, other than the child, from the job's own
    /// accounting, each with its start time and its program's name (for the report's `ended`);
    /// an error when the job could not be listed.
    pub fn members(&self) -> io::Result<Vec<Member>> {
        let pids = self.job_pids()?;
        if pids.is_empty() {
            return Ok(Vec::new());
        }
        let names = names();
        let member = |pid: u32| Member {
            pid,
            start: started_at(pid),
            name: names
                .iter()
                .find(|(listed, _)| *listed == pid)
                .map_or_else(String::new, |(_, name)| name.clone()),
        };
        Ok(pids.into_iter().map(member).collect())
    }

    /// The job's processes other than the child, by pid. A job holding more than the list has
    /// room for is asked again with four times the room (a full list is an error, not a short
    /// one), up to a million processes.
    fn job_pids(&self) -> io::Result<Vec<u32>> {
        let Some(job) = &self.job else {
            return Ok(Vec::new());
        };
        // The list's two 32-bit counts take the words before `offset` (one on a 64-bit system,
        // two on a 32-bit one), then each process one word.
        let offset = size_of::<JOBOBJECT_BASIC_PROCESS_ID_LIST>() / size_of::<usize>() - 1;
        let mut room = 1024;
        loop {
            let mut buffer = vec![0usize; offset + room];
            // SAFETY: the buffer is as large as its size says.
            let listed = unsafe {
                QueryInformationJobObject(
                    job.as_raw_handle(),
                    JobObjectBasicProcessIdList,
                    buffer.as_mut_ptr().cast(),
                    (buffer.len() * size_of::<usize>()) as u32,
                    null_mut(),
                )
            };
            if listed == FALSE {
                let error = io::Error::last_os_error();
                if error.raw_os_error() == Some(ERROR_MORE_DATA as i32) && room < 1 << 20 {
                    room *= 4;
                    continue;
                }
                return Err(error);
            }
            // SAFETY: the call filled the header at the buffer's start.
            let list = unsafe { &*buffer.as_ptr().cast::<JOBOBJECT_BASIC_PROCESS_ID_LIST>() };
            let count = (list.NumberOfProcessIdsInList as usize).min(room);
            let pids = buffer[offset..offset + count].iter().map(|&pid| pid as u32);
            return Ok(pids.filter(|&pid| pid != self.pid).collect());
        }
    }
}

/// Every process's pid and program name, from one Toolhelp snapshot.
fn names() -> Vec<(u32, String)> {
    let entries = processes().unwrap_or_default().into_iter();
    let named = entries.map(|entry| {
        let name = &entry.szExeFile;
        let length = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        (
            entry.th32ProcessID,
            String::from_utf16_lossy(&name[..length]),
        )
    });
    named.collect()
}

/// Every process in one Toolhelp snapshot.
fn processes() -> io::Result<Vec<PROCESSENTRY32W>> {
    let snapshot = Snapshot::new(TH32CS_SNAPPROCESS)?;
    // SAFETY: a zeroed entry with its size set is what Process32FirstW takes.
    let mut entry: PROCESSENTRY32W = unsafe { zeroed() };
    entry.dwSize = size_of::<PROCESSENTRY32W>() as u32;
    let mut entries = Vec::new();
    // SAFETY: the snapshot's handle is open; the entry is as above.
    let mut more = unsafe { Process32FirstW(snapshot.0, &mut entry) } != FALSE;
    while more {
        entries.push(entry);
        // SAFETY: as above.
        more = unsafe { Process32NextW(snapshot.0, &mut entry) } != FALSE;
    }
    Ok(entries)
}

/// When process `pid` was created (100 ns units since 1601), which with the pid names one
/// process for good; 0 when it cannot be read (it is gone).
fn started_at(pid: u32) -> u64 {
    // SAFETY: plain call; the handle is closed below.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid) };
    if process.is_null() {
        return 0;
    }
    // SAFETY: zeroed times are valid; the handle is open, then closed once.
    unsafe {
        let mut times: [FILETIME; 4] = zeroed();
        let [created, exited, kernel, user] = &mut times;
        let read = GetProcessTimes(process, created, exited, kernel, user);
        CloseHandle(process);
        if read == FALSE {
            return 0;
        }
        (u64::from(times[0].dwHighDateTime) << 32) | u64::from(times[0].dwLowDateTime)
    }
}

impl Contained {
    /// The CPU time the job's processes have used so far (user and kernel), from its own
    /// accounting; `None` for the `child` scope, which has no job.
    pub fn cpu_time(&self) -> Option<Duration> {
        let job = self.job.as_ref()?;
        // SAFETY: a zeroed structure of the size the information class fills.
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { zeroed() };
        // SAFETY: the structure and its size match the information class.
        let read = unsafe {
            QueryInformationJobObject(
                job.as_raw_handle(),
                JobObjectBasicAccountingInformation,
                (&raw mut info).cast(),
                size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                null_mut(),
            )
        };
        // Both in units of 100 ns.
        let ticks = info.TotalUserTime.saturating_add(info.TotalKernelTime);
        (read != FALSE).then(|| Duration::from_nanos(ticks.max(0) as u64 * 100))
    }
}

/// Waits up to `limit` for the process (or thread) `handle` to end; whether it did.
pub fn wait_handle(handle: RawHandle, limit: Option<Duration>) -> bool {
    let millis = limit.map_or(u32::MAX, |limit| {
        limit.as_millis().min(u32::MAX as u128 - 1) as u32
    });
    // SAFETY: a handle the caller keeps open.
    unsafe { WaitForSingleObject(handle as HANDLE, millis) == WAIT_OBJECT_0 }
}

/// A handle on agentpipe's parent process, to wait on (`--end-with-parent`).
pub fn parent_process() -> io::Result<OwnedHandle> {
    // SAFETY: plain call.
    let me = unsafe { GetCurrentProcessId() };
    let found = processes()?
        .into_iter()
        .find(|entry| entry.th32ProcessID == me);
    let Some(entry) = found else {
        return Err(io::Error::other(
            "agentpipe's own process is not in the process list",
        ));
    };
    // SAFETY: plain call; the handle is owned from here.
    let handle = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, FALSE, entry.th32ParentProcessID) };
    if handle.is_null() {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// Makes every read or write pending on `handle`, in any thread, return with an error: a relay
/// thread blocked on a pipe whose other end does not read then lets go of it.
pub fn cancel_io(handle: RawHandle) {
    // SAFETY: a handle the caller keeps open; failing means nothing was pending.
    unsafe { CancelIoEx(handle as HANDLE, null()) };
}

/// Console control events (Ctrl-C, Ctrl-Break, the console closed, logoff, shutdown) as agentpipe
/// receives them: `true` for Ctrl-C, `false` for the others, which stand for SIGTERM.
static CONSOLE_EVENTS: OnceLock<Box<dyn Fn(bool) + Send + Sync>> = OnceLock::new();

/// Calls `handler` for each console control event agentpipe receives, instead of dying of it.
pub fn on_console_events(handler: impl Fn(bool) + Send + Sync + 'static) -> io::Result<()> {
    unsafe extern "system" fn receive(event: u32) -> i32 {
        if let Some(handler) = CONSOLE_EVENTS.get() {
            handler(event == CTRL_C_EVENT);
        }
        TRUE
    }
    if CONSOLE_EVENTS.set(Box::new(handler)).is_err() {
        return Err(io::Error::other("console events already have a handler"));
    }
    // SAFETY: a handler that only calls a function stored for the program's life.
    check(unsafe { SetConsoleCtrlHandler(Some(receive), TRUE) })
}

/// Whether `handle` is a file on disk (whose end is only the data's end), not a pipe, a socket
/// or a console (whose end means the controller is done).
pub fn is_disk_file(handle: RawHandle) -> bool {
    // SAFETY: plain call on a handle the caller keeps open.
    unsafe { GetFileType(handle as HANDLE) == FILE_TYPE_DISK }
}

/// A Toolhelp snapshot, closed when dropped.
struct Snapshot(HANDLE);

impl Snapshot {
    fn new(what: u32) -> io::Result<Snapshot> {
        // SAFETY: plain call.
        let handle = unsafe { CreateToolhelp32Snapshot(what, 0) };
        if handle == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        Ok(Snapshot(handle))
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: the snapshot's own handle.
        unsafe { CloseHandle(self.0) };
    }
}

fn check(result: i32) -> io::Result<()> {
    if result == FALSE {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
