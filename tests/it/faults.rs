//! Signal storms and fault injection: a thousand signals at a relaying agentpipe, both ends
//! closing mid-stream, the child killed mid-write, a full disk behind `--stderr`, stdout and
//! `--report`, EINTR in every blocking call, a child that closes and reopens its stdout, a
//! terminal as stdin, and one socket as both stdin and stdout.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::robust::{Deadline, Watchdog, set_nonblocking};
use agentpipe::{Config, Exit, Stream};
use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Faults injected and signals sent, over every test of this file (printed by each test).
static FAULTS: AtomicUsize = AtomicUsize::new(0);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

fn fault() {
    FAULTS.fetch_add(1, Ordering::Relaxed);
}

fn tally(test: &str) {
    eprintln!(
        "{test}: {} faults injected, {} signals sent so far in this file",
        FAULTS.load(Ordering::Relaxed),
        SIGNALS.load(Ordering::Relaxed)
    );
}

/// Sends `signal` to `pid`, which the caller has not reaped yet (so the pid cannot have been
/// recycled: a zombie still holds it).
fn send(pid: i32, signal: Signal) {
    kill(Pid::from_raw(pid), signal).expect("signal an unreaped process");
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// How long any test of this file may run before its processes are killed and it fails.
const TEST_LIMIT: Duration = Duration::from_secs(90);

/// A watchdog over the processes of `run` (see [`Watchdog`]), named after the test.
fn watch(run: &Run) -> Watchdog {
    let test = thread::current().name().unwrap_or("faults").to_string();
    Watchdog::arm(&test, &[&run.sandbox.tag], TEST_LIMIT)
}

/// Asserts that agentpipe did not panic.
fn assert_no_panic(done: &Finished) {
    assert!(
        !done.stderr.contains("panicked") && done.status.code() != Some(101),
        "agentpipe panicked ({:?}):\n{}",
        done.status,
        done.stderr
    );
}

/// The steps of a `--report`, as (step number, action) in the order they were taken.
fn report_steps(report: &str) -> Vec<(u32, String)> {
    let mut steps = Vec::new();
    let Some(start) = report.find(r#""steps":["#) else {
        return steps;
    };
    let list = &report[start
        ..report[start..]
            .find(']')
            .map_or(report.len(), |end| start + end)];
    for item in list.split(r#"{"step":"#).skip(1) {
        let number: u32 = item.split(',').next().and_then(|n| n.parse().ok()).unwrap();
        let action = item
            .split(r#""action":""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        let action = match item.split(r#""signal":""#).nth(1) {
            Some(rest) if action == "signal" => rest.split('"').next().unwrap().to_string(),
            _ => action,
        };
        steps.push((number, action));
    }
    steps
}

fn read_report(sandbox: &Sandbox) -> String {
    fs::read_to_string(sandbox.path("report.json")).expect("the report")
}

/// A writer thread's result: bytes written, and how it ended.
type Written = (usize, io::Result<()>);

/// Writes `data` in 64 KiB chunks, chunk `k` only once `ready(k)` holds; counts progress.
fn write_paced(
    mut stdin: impl Write,
    data: &[u8],
    ready: impl Fn(usize) -> bool,
    progress: &AtomicUsize,
) -> Written {
    let mut at = 0;
    for (index, chunk) in data.chunks(64 * 1024).enumerate() {
        while !ready(index) {
            thread::sleep(Duration::from_micros(200));
        }
        if let Err(error) = stdin.write_all(chunk) {
            return (at, Err(error));
        }
        at += chunk.len();
        progress.store(at, Ordering::SeqCst);
    }
    (at, Ok(()))
}

// ---------------------------------------------------------------------------------------------
// Signal storms

/// Signals that are no trigger: forwarded to the child (which ignores them), caught and
/// harmless (CHLD, CONT), or ignored (PIPE, URG).
const HARMLESS: [Signal; 8] = [
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGQUIT,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGPIPE,
    Signal::SIGURG,
];

/// `agentpipe --report $D/report.json OPTIONS -- COMMAND` in a new sandbox, stdio piped and
/// collected.
fn start(name: &str, options: &[&str], command: Vec<String>) -> Run {
    let (sandbox, command) = reporting(name, options, command);
    Run::start(sandbox, command)
}

/// A new sandbox and `agentpipe --report $D/report.json OPTIONS -- COMMAND` in it.
fn reporting(name: &str, options: &[&str], command: Vec<String>) -> (Sandbox, Command) {
    let sandbox = Sandbox::new(name);
    let report = sandbox.path_str("report.json");
    let mut args = vec!["--report", &report];
    args.extend_from_slice(options);
    let command = sandbox.agentpipe(&args, command);
    (sandbox, command)
}

#[test]
fn a_storm_of_a_thousand_signals_leaves_the_relay_intact_and_the_sequence_as_it_was() {
    // The child ignores what is forwarded to it, so that only agentpipe's handling is tested.
    let mut run = start(
        "storm-relay",
        &[],
        sh("trap '' USR1 USR2 WINCH QUIT\nexec cat"),
    );
    let _watchdog = watch(&run);
    let pid = run.pid();
    let data = binary_data(32 << 20);
    let stdin = run.take_stdin();
    let sent_so_far = AtomicUsize::new(0);
    let progress = AtomicUsize::new(0);
    let chunks = data.len().div_ceil(64 * 1024);
    let written = thread::scope(|scope| {
        // The writer keeps pace with the storm: chunk k waits for k/chunks of the signals, so
        // the storm falls on a relay in full flow from its first signal to its last.
        let writer = scope.spawn(|| {
            write_paced(
                stdin,
                &data,
                |chunk| sent_so_far.load(Ordering::SeqCst) * chunks >= chunk * 1000,
                &progress,
            )
        });
        let mut sent = 0;
        while sent < 1000 {
            if sent % 100 == 50 {
                // Ctrl-Z and fg, in the middle of it: agentpipe stops the child's group and
                // itself, SIGCONT resumes both.
                send(pid, Signal::SIGTSTP);
                wait_state(pid, "stopped by SIGTSTP", |state| state == 'T');
                send(pid, Signal::SIGCONT);
                wait_state(pid, "continued", |state| state != 'T');
                sent += 2;
                sent_so_far.store(sent, Ordering::SeqCst);
                continue;
            }
            send(pid, HARMLESS[sent % HARMLESS.len()]);
            sent += 1;
            sent_so_far.store(sent, Ordering::SeqCst);
            if sent.is_multiple_of(4) {
                // Give the relay a moment between bursts; a storm, not a single burst.
                thread::sleep(Duration::from_micros(300));
            }
        }
        fault();
        writer.join().unwrap()
    });
    assert!(
        written.1.is_ok(),
        "writing to agentpipe failed: {:?}",
        written.1
    );
    let done = run.finish_within(Duration::from_secs(60));
    assert_no_panic(&done);
    done.assert_code(0);
    assert_eq!(done.stdout.len(), data.len(), "bytes lost or added");
    assert!(done.stdout == data, "the bytes differ");
    // Only the end of input started the sequence, at its stdin step, which the child's exit
    // ended.
    let report = read_report(&run.sandbox);
    assert!(report.contains(r#""trigger":"eof""#), "{report}");
    assert_eq!(
        report_steps(&report),
        [(2, "stdin".to_string())],
        "{report}"
    );
    run.sandbox.assert_nothing_left();
    tally("relay storm");
}

#[test]
fn a_storm_of_a_thousand_mixed_signals_with_interrupts_ends_exactly_as_the_sequence_says() {
    // A child that ignores every signal it can: only the KILL step ends it.
    let mut run = start(
        "storm-interrupts",
        &["--sequence", "wait 2s, stdin 2s, TERM 2s, KILL"],
        sh("trap '' INT TERM HUP USR1 USR2 WINCH QUIT\npidfile child\ncat\nexec sleep 1000"),
    );
    let _watchdog = watch(&run);
    let pid = run.pid();
    let child = run.sandbox.wait_pid("child");
    let data = binary_data(16 << 20);
    let stdin = run.take_stdin();
    let progress = AtomicUsize::new(0);
    let mut kinds = HARMLESS.to_vec();
    kinds.extend([Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP]);
    let started = thread::scope(|scope| {
        let writer = scope.spawn(|| write_paced(stdin, &data, |_| true, &progress));
        wait_until("the relay to start", LIMIT, || {
            (progress.load(Ordering::SeqCst) > 0).then_some(())
        });
        let started = Instant::now();
        // SIGINT first: agentpipe received it before the child exited, whatever follows.
        send(pid, Signal::SIGINT);
        for index in 1..1000 {
            send(pid, kinds[index % kinds.len()]);
        }
        fault();
        // The writer ends when agentpipe stops reading (EPIPE) or when it is done.
        let _ = writer.join().unwrap();
        started
    });
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_signal(Signal::SIGINT);
    // However the interrupts coalesced, every step was taken once, in order, and the waits
    // (6 s in all) are upper bounds that interrupts only shorten.
    assert_within(done.since(started), 0.0, 6.0 + 1.5, "the storm's end");
    let report = read_report(&run.sandbox);
    // Interrupts that arrive together count once, taken in signal-number order: the trigger is
    // one of them, not necessarily the first sent.
    assert!(
        ["SIGINT", "SIGTERM", "SIGHUP"]
            .iter()
            .any(|signal| report.contains(&format!(r#""trigger":"{signal}""#))),
        "{report}"
    );
    let expected: Vec<(u32, String)> = [(1, "wait"), (2, "stdin"), (3, "SIGTERM"), (4, "kill")]
        .map(|(n, a)| (n, a.to_string()))
        .to_vec();
    assert_eq!(report_steps(&report), expected, "{report}");
    assert!(
        report.contains(r#""exit":{"code":null,"signal":"SIGKILL","#),
        "{report}"
    );
    // What was relayed before the stdin step closed the child's input is intact.
    assert!(
        done.stdout.len() <= data.len() && done.stdout == data[..done.stdout.len()],
        "the relayed bytes are not a prefix of the input"
    );
    run.sandbox.assert_gone(&[child]);
    run.sandbox.assert_nothing_left();
    tally("interrupt storm");
}

// ---------------------------------------------------------------------------------------------
// The output's reader goes away

/// Kills (by pid) and reaps a helper process when dropped before it was waited for.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

const LINE: &[u8] = b"agentpipe-line\n";

#[test]
fn downstream_closing_mid_stream_ends_the_child_as_in_a_pipeline() {
    for cut in [0usize, 1, 4096, 65_536 + 7, 1 << 20, 16 << 20] {
        let sandbox = Sandbox::new("downstream");
        let report = sandbox.path_str("report.json");
        let command = sandbox.agentpipe(
            &["--report", &report],
            ["sh", "-c", "exec yes agentpipe-line"],
        );
        let mut run = Run::start_raw_stdout(sandbox, command);
        let _watchdog = watch(&run);
        let mut stdout = run.raw_stdout.take().unwrap();
        let mut got = vec![0; cut];
        stdout.read_exact(&mut got).unwrap();
        assert!(
            got.iter()
                .enumerate()
                .all(|(index, &byte)| byte == LINE[index % LINE.len()]),
            "the output is not yes's lines"
        );
        drop(stdout);
        fault();
        let done = run.finish();
        assert_no_panic(&done);
        // yes gets EPIPE/SIGPIPE as in a plain pipeline, and agentpipe dies by it too.
        done.assert_signal(Signal::SIGPIPE);
        let report = read_report(&run.sandbox);
        assert!(
            report.contains(r#""trigger":"downstream-closed""#),
            "{report}"
        );
        run.sandbox.assert_nothing_left();
    }
    tally("downstream closes");
}

/// `agentpipe --report $D/report.json OPTIONS -- COMMAND` with stdout left to the test.
fn start_raw(name: &str, options: &[&str], command: Vec<String>) -> Run {
    let (sandbox, command) = reporting(name, options, command);
    Run::start_raw_stdout(sandbox, command)
}

#[test]
fn downstream_closing_mid_stream_on_a_child_deaf_to_sigpipe_runs_the_sequence() {
    // The child ignores SIGPIPE and EPIPE and goes on writing: the sequence ends it.
    let mut run = start_raw(
        "downstream-deaf",
        &["--sequence", "wait 200ms, stdin 200ms, TERM 5s, KILL"],
        sh("trap '' PIPE\nwhile :; do echo agentpipe-line; done 2>/dev/null"),
    );
    let _watchdog = watch(&run);
    let mut stdout = run.raw_stdout.take().unwrap();
    let mut got = vec![0; 100_000];
    stdout.read_exact(&mut got).unwrap();
    drop(stdout);
    let closed = Instant::now();
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    // wait 200 ms, stdin 200 ms, then TERM ends the shell.
    done.assert_signal(Signal::SIGTERM);
    assert_due(done.since(closed), 0.4, "TERM after the output closed");
    let report = read_report(&run.sandbox);
    assert!(
        report.contains(r#""trigger":"downstream-closed""#),
        "{report}"
    );
    run.sandbox.assert_nothing_left();
    tally("downstream closes on a deaf child");
}

// ---------------------------------------------------------------------------------------------
// The input's writer goes away

#[test]
fn upstream_closing_mid_stream_delivers_exactly_what_was_sent() {
    let data = binary_data(3 << 20);
    for cut in [0usize, 1, 4095, 65_537, 1 << 20, 3 << 20] {
        let mut run = start("upstream", &[], vec!["cat".into()]);
        let _watchdog = watch(&run);
        run.write(&data[..cut]);
        run.close_stdin();
        fault();
        let done = run.finish();
        assert_no_panic(&done);
        done.assert_code(0);
        assert_eq!(done.stdout.len(), cut);
        assert!(done.stdout == data[..cut], "the bytes differ at cut {cut}");
    }
    tally("upstream closes");
}

#[test]
fn upstream_writer_killed_mid_write_ends_the_input_with_every_byte_it_wrote() {
    let sandbox = Sandbox::new("upstream-killed");
    let data = binary_data(64 << 20);
    fs::write(sandbox.path("big"), &data).unwrap();
    let mut upstream = sandbox.command("cat");
    upstream
        .arg(sandbox.path("big"))
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let mut upstream = Guard(upstream.spawn().expect("start the upstream cat"));
    let source = upstream.0.stdout.take().unwrap();
    let report = sandbox.path_str("report.json");
    let mut command = sandbox.agentpipe(&["--report", &report], ["cat"]);
    command.stdin(source);
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    // Kill the writer once a few MiB went through.
    let output = run.stdout.clone().unwrap();
    wait_until("4 MiB relayed", LIMIT, || {
        (output.bytes().len() >= 4 << 20).then_some(())
    });
    upstream.0.kill().unwrap();
    upstream.0.wait().unwrap();
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert!(
        done.stdout.len() < data.len(),
        "the writer finished before it was killed"
    );
    assert!(
        done.stdout == data[..done.stdout.len()],
        "the bytes are not a prefix of what was written"
    );
    let report = read_report(&run.sandbox);
    let relayed = format!(r#""to_child":{{"relayed":{},"#, done.stdout.len());
    assert!(report.contains(&relayed), "{relayed} not in {report}");
    tally("upstream killed");
}

// ---------------------------------------------------------------------------------------------
// The child killed

#[test]
fn child_killed_mid_write_ends_agentpipe_by_the_same_signal_with_a_prefix_delivered() {
    let mut run = start("child-killed", &[], sh("pidfile child\nexec cat"));
    let _watchdog = watch(&run);
    let child = run.sandbox.wait_pid("child");
    let data = binary_data(64 << 20);
    let stdin = run.take_stdin();
    let progress = AtomicUsize::new(0);
    let output = run.stdout.clone().unwrap();
    thread::scope(|scope| {
        let writer = scope.spawn(|| write_paced(stdin, &data, |_| true, &progress));
        wait_until("4 MiB relayed", LIMIT, || {
            (output.bytes().len() >= 4 << 20).then_some(())
        });
        // The child is alive: its stdin is still open and it was relaying a moment ago.
        send(child, Signal::SIGKILL);
        fault();
        let (_, result) = writer.join().unwrap();
        // agentpipe stopped reading its input: the writer saw EPIPE, or finished first.
        if let Err(error) = result {
            assert_eq!(error.kind(), io::ErrorKind::BrokenPipe, "{error}");
        }
    });
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_signal(Signal::SIGKILL);
    assert!(
        done.stdout == data[..done.stdout.len()],
        "the bytes are not a prefix of the input"
    );
    run.sandbox.assert_nothing_left();
    tally("child killed");
}

#[test]
fn output_queued_when_the_child_is_killed_is_delivered_whole() {
    let sandbox = Sandbox::new("killed-queued");
    let data = binary_data(150_000);
    fs::write(sandbox.path("data"), &data).unwrap();
    let command = sandbox.agentpipe(
        &[],
        sh("head -c 150000 \"$D/data\"\npidfile child\nexec sleep 1000"),
    );
    let mut run = Run::start_raw_stdout(sandbox, command);
    let _watchdog = watch(&run);
    // Nothing is read until the child wrote it all and is killed: the bytes sit in the pipes.
    let child = run.sandbox.wait_pid("child");
    send(child, Signal::SIGKILL);
    fault();
    let mut stdout = run.raw_stdout.take().unwrap();
    let mut got = Vec::new();
    stdout.read_to_end(&mut got).unwrap();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_signal(Signal::SIGKILL);
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the queued bytes differ");
    tally("child killed with output queued");
}

// ---------------------------------------------------------------------------------------------
// A full disk

#[test]
fn a_full_disk_behind_stderr_fails_the_childs_writes_only() {
    let mut run = start(
        "stderr-full",
        &["-v", "--stderr", "/dev/full"],
        sh("if echo to-stderr >&2; then echo stderr-wrote; else echo stderr-failed; fi\nexec cat"),
    );
    let _watchdog = watch(&run);
    run.wait_stdout("stderr-failed\n");
    fault();
    let data = binary_data(1 << 20);
    run.write(&data);
    run.close_stdin();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert!(done.stdout[b"stderr-failed\n".len()..] == data[..]);
    // agentpipe's own messages still reach its own stderr.
    assert!(done.stderr.contains("agentpipe ["), "{}", done.stderr);
    tally("stderr on /dev/full");
}

/// A 64 KiB tmpfs mounted in the sandbox, unmounted (lazily) when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: std::path::PathBuf) -> Option<SmallDisk> {
        fs::create_dir_all(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0755", "agentpipe-test"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_tmpfs_behind_stderr_fails_the_childs_writes_only() {
    let sandbox = Sandbox::new("stderr-tmpfs");
    let Some(disk) = SmallDisk::mount(sandbox.path("small")) else {
        eprintln!("skipped: cannot mount a tmpfs here (the /dev/full test covers a full disk)");
        return;
    };
    let log = disk.0.join("child.log");
    let data = binary_data(1 << 20);
    fs::write(sandbox.path("data"), &data).unwrap();
    let command = sandbox.agentpipe(
        &["-v", "--stderr", log.to_str().unwrap()],
        sh("head -c 1048576 \"$D/data\" >&2\necho \"head: $?\"\nexec cat"),
    );
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    run.wait_stdout("head: 1\n");
    fault();
    run.write(&data);
    run.close_stdin();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert!(done.stdout[b"head: 1\n".len()..] == data[..]);
    let logged = fs::metadata(&log).unwrap().len();
    assert!(logged <= 64 * 1024, "{logged} bytes on a 64 KiB disk");
    assert!(done.stderr.contains("agentpipe ["), "{}", done.stderr);
    drop(disk);
    tally("stderr on a full tmpfs");
}

#[test]
fn a_full_disk_as_stdout_is_a_closed_output() {
    let sandbox = Sandbox::new("stdout-full");
    let report = sandbox.path_str("report.json");
    let mut command = sandbox.agentpipe(&["--report", &report], ["sh", "-c", "exec yes"]);
    command.stdout(File::options().write(true).open("/dev/full").unwrap());
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_signal(Signal::SIGPIPE);
    let report = read_report(&run.sandbox);
    assert!(
        report.contains(r#""trigger":"downstream-closed""#),
        "{report}"
    );
    tally("stdout on /dev/full");
}

#[test]
fn a_full_disk_behind_report_is_said_and_the_status_stands() {
    let mut run = Run::agentpipe(
        "report-full",
        &["--report", "/dev/full"],
        ["sh", "-c", "exit 3"],
    );
    let _watchdog = watch(&run);
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(3);
    let lines = done.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", done.stderr);
    assert!(
        lines[0].starts_with("agentpipe: cannot write report"),
        "{}",
        done.stderr
    );
    tally("report on /dev/full");
}

// ---------------------------------------------------------------------------------------------
// EINTR everywhere

/// Signals that interrupt every blocking call of agentpipe (it catches them) and change
/// nothing: CHLD is checked, WINCH forwarded to a child that ignores it, CONT passed on. Before
/// agentpipe installs its handlers, their default action is to do nothing.
const INTERRUPTING: [Signal; 3] = [Signal::SIGCHLD, Signal::SIGWINCH, Signal::SIGCONT];

#[test]
fn signals_during_every_blocking_call_change_nothing() {
    let sandbox = Sandbox::new("eintr");
    let report = sandbox.path_str("report.json");
    let command = sandbox.agentpipe(
        &[
            "--report",
            &report,
            "--sequence",
            "stdin 300ms, TERM 300ms, KILL",
        ],
        sh("trap '' TERM\ncat\nexec sleep 1000"),
    );
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    let pid = run.pid();
    let stop = AtomicBool::new(false);
    let data = binary_data(8 << 20);
    let stdin = run.take_stdin();
    let progress = AtomicUsize::new(0);
    let eof = thread::scope(|scope| {
        // From the start (spawn, handler installation) to the end (reaping, the report), as
        // fast as the signals can be sent, until agentpipe is a zombie.
        let hose = scope.spawn(|| {
            let mut sent = 0usize;
            while !stop.load(Ordering::SeqCst) {
                send(pid, INTERRUPTING[sent % INTERRUPTING.len()]);
                sent += 1;
                if sent.is_multiple_of(8) {
                    thread::sleep(Duration::from_micros(50));
                }
            }
            sent
        });
        let (_, result) = write_paced(stdin, &data, |_| true, &progress);
        result.expect("write to agentpipe");
        let eof = Instant::now();
        wait_until("agentpipe to exit", LIMIT, || {
            stat(pid).is_none_or(|stat| stat.state == 'Z').then_some(())
        });
        stop.store(true, Ordering::SeqCst);
        let sent = hose.join().unwrap();
        assert!(sent > 1000, "only {sent} signals sent");
        eof
    });
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    // Every byte, the stdin step's 300 ms and the TERM step's 300 ms, then SIGKILL.
    done.assert_signal(Signal::SIGKILL);
    assert_eq!(done.stdout.len(), data.len());
    assert!(done.stdout == data, "the bytes differ");
    assert_due(done.since(eof), 0.6, "SIGKILL after EOF, 300 ms + 300 ms");
    let report = read_report(&run.sandbox);
    assert!(report.ends_with("}\n") || report.ends_with('}'), "{report}");
    let steps: Vec<String> = report_steps(&report).into_iter().map(|(_, a)| a).collect();
    assert_eq!(steps, ["stdin", "SIGTERM", "kill"], "{report}");
    run.sandbox.assert_nothing_left();
    tally("EINTR everywhere");
}

extern "C" fn interrupted(_: libc::c_int) {}

#[test]
fn the_library_retries_every_call_a_signal_interrupts() {
    // A handler without SA_RESTART: every blocking call of the thread it lands on fails with
    // EINTR, and the stream must retry.
    // SAFETY: installs a handler that does nothing, for a signal only this test sends, to its
    // own threads.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = interrupted as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
            0
        );
    }
    let sandbox = Sandbox::new("eintr-library");
    let _watchdog = Watchdog::arm("library EINTR", &[&sandbox.tag], TEST_LIMIT);
    let mut command = sandbox.command("cat");
    command.stderr(Stdio::null());
    let stream = Stream::spawn(&mut command).expect("spawn");
    let data = binary_data(16 << 20);
    let threads: [std::sync::atomic::AtomicU64; 3] = Default::default();
    let done = [
        AtomicBool::new(false),
        AtomicBool::new(false),
        AtomicBool::new(false),
    ];
    let stop = AtomicBool::new(false);
    let me = || {
        // SAFETY: pthread_self has no preconditions.
        unsafe { libc::pthread_self() as u64 }
    };
    threads[0].store(me(), Ordering::SeqCst);
    let (got, outcome, sent) = thread::scope(|scope| {
        let hose = scope.spawn(|| {
            let mut sent = 0usize;
            while !stop.load(Ordering::SeqCst) {
                for (thread, finished) in threads.iter().zip(&done) {
                    let id = thread.load(Ordering::SeqCst);
                    if id != 0 && !finished.load(Ordering::SeqCst) {
                        // SAFETY: the thread is not joined yet (see `stop`), so its id is valid.
                        unsafe { libc::pthread_kill(id as libc::pthread_t, libc::SIGUSR2) };
                        sent += 1;
                    }
                }
                thread::sleep(Duration::from_micros(100));
            }
            sent
        });
        let writer = scope.spawn(|| {
            threads[1].store(me(), Ordering::SeqCst);
            (&stream).write_all(&data).expect("write through EINTR");
            stream.close_stdin();
            done[1].store(true, Ordering::SeqCst);
        });
        let reader = scope.spawn(|| {
            threads[2].store(me(), Ordering::SeqCst);
            let mut got = Vec::new();
            (&stream).read_to_end(&mut got).expect("read through EINTR");
            done[2].store(true, Ordering::SeqCst);
            got
        });
        while !(done[1].load(Ordering::SeqCst) && done[2].load(Ordering::SeqCst)) {
            thread::sleep(Duration::from_millis(1));
        }
        // The close, on this thread, is interrupted too.
        let outcome = stream
            .closer()
            .close(&Config::new().sequence("stdin 1s, TERM 1s, KILL".parse().unwrap()));
        done[0].store(true, Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        let sent = hose.join().unwrap();
        writer.join().unwrap();
        (reader.join().unwrap(), outcome, sent)
    });
    SIGNALS.fetch_add(sent, Ordering::Relaxed);
    fault();
    assert!(sent > 100, "only {sent} signals sent");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the bytes differ");
    assert_eq!(outcome.expect("close").exit, Exit::Code(0));
    sandbox.assert_nothing_left();
    tally("EINTR in the library");
}

// ---------------------------------------------------------------------------------------------
// A child that closes and reopens its stdout

#[test]
fn a_child_that_moves_its_stdout_away_and_back_loses_nothing() {
    let mut run = start(
        "reopen-fd1",
        &[],
        sh("echo one\nexec 3>&1 1>&-\necho lost 2>/dev/null\nexec 1>&3 3>&-\necho two\nexec cat"),
    );
    let _watchdog = watch(&run);
    run.wait_stdout("two\n");
    fault();
    run.write(b"three\n");
    run.close_stdin();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "one\ntwo\nthree\n");
    tally("fd 1 closed and restored");
}

#[test]
fn a_child_that_closes_its_stdout_and_reopens_it_elsewhere_half_closes_and_is_waited_for() {
    let mut run = start(
        "reopen-fd1-file",
        &[],
        sh(
            "echo one\nexec 1>&-\nexec 1>\"$D/after\"\necho two\npidfile child\n\
            while [ ! -e \"$D/go\" ]; do sleep 0.01; done\nexit 3",
        ),
    );
    let _watchdog = watch(&run);
    let child = run.sandbox.wait_pid("child");
    // The child's stdout ended: agentpipe closes its own, and waits for the child.
    let output = run.stdout.clone().unwrap();
    assert!(output.wait_end(LIMIT), "agentpipe's stdout did not end");
    assert_eq!(output.text(), "one\n");
    assert!(
        run.try_status().is_none(),
        "agentpipe exited before its child"
    );
    assert!(run.sandbox.live(child));
    fault();
    fs::write(run.sandbox.path("go"), "").unwrap();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(3);
    assert_eq!(
        fs::read_to_string(run.sandbox.path("after")).unwrap(),
        "two\n"
    );
    // No trigger: the child ended on its own.
    let report = read_report(&run.sandbox);
    assert!(report.contains(r#""trigger":null"#), "{report}");
    tally("fd 1 closed and reopened on a file");
}

// ---------------------------------------------------------------------------------------------
// A terminal as stdin

#[test]
fn a_raw_terminal_as_stdin_relays_every_byte_and_its_hangup_is_the_end_of_input() {
    let (master, slave) = open_raw_pty();
    let sandbox = Sandbox::new("pty-stdin");
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    command.stdin(slave.try_clone().unwrap());
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    // Every byte value, through the line discipline in raw mode.
    let data = binary_data(256 * 1024);
    let output = run.stdout.clone().unwrap();
    // The master is the test's own: non-blocking, every write with a deadline.
    set_nonblocking(master.as_fd());
    Deadline::after(LIMIT)
        .write_all(master.as_fd(), &data)
        .expect("write to the terminal");
    wait_until("256 KiB relayed from the terminal", LIMIT, || {
        (output.bytes().len() >= data.len()).then_some(())
    });
    // Hang up: the terminal's master goes away.
    drop(master);
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert!(done.stdout == data, "the bytes differ");
    assert!(
        !is_nonblocking(&slave),
        "the terminal was left non-blocking"
    );
    tally("terminal hung up");
}

#[test]
fn one_raw_terminal_as_stdin_and_stdout_relays_both_ways_and_its_hangup_ends_the_run() {
    // An interactive session: agentpipe's stdin and stdout are the same terminal.
    let (master, slave) = open_raw_pty();
    let sandbox = Sandbox::new("pty-both");
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    command
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap());
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    let data = binary_data(64 * 1024);
    // The master is the test's own: non-blocking, every read and write with a deadline.
    set_nonblocking(master.as_fd());
    let got = thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let deadline = Deadline::after(LIMIT);
            for chunk in data.chunks(1024) {
                deadline
                    .write_all(master.as_fd(), chunk)
                    .expect("write to the terminal");
            }
        });
        let mut got = vec![0; data.len()];
        Deadline::after(LIMIT)
            .read_exact(master.as_fd(), &mut got)
            .expect("read the terminal");
        writer.join().unwrap();
        got
    });
    assert!(got == data, "the bytes differ");
    assert!(
        !is_nonblocking(&slave),
        "the terminal was left non-blocking"
    );
    drop(slave);
    let hangup = Instant::now();
    drop(master);
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    // The hangup is both the end of input and a closed output: cat ends on its EOF.
    done.assert_code(0);
    assert_within(done.since(hangup), 0.0, 1.5, "exit after the hangup");
    run.sandbox.assert_nothing_left();
    tally("terminal in and out hung up");
}

// ---------------------------------------------------------------------------------------------
// One socket as stdin and stdout

#[test]
fn one_socket_as_stdin_and_stdout_relays_both_ways_and_survives_its_peer_vanishing() {
    // Intact: 8 MiB each way, then both half-closes.
    let (mine, theirs) = UnixStream::pair().unwrap();
    let sandbox = Sandbox::new("socket");
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    command
        .stdin(OwnedFd::from(theirs.try_clone().unwrap()))
        .stdout(OwnedFd::from(theirs));
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    let data = binary_data(8 << 20);
    let got = thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut got = Vec::new();
            (&mine).read_to_end(&mut got).expect("read the socket");
            got
        });
        (&mine).write_all(&data).expect("write the socket");
        mine.shutdown(std::net::Shutdown::Write).unwrap();
        reader.join().unwrap()
    });
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the bytes differ");

    // The peer vanishes mid-stream, both ways at once.
    for cut in [1usize, 65_536, 1 << 20] {
        let (mine, theirs) = UnixStream::pair().unwrap();
        let sandbox = Sandbox::new("socket-vanish");
        let mut command = sandbox.agentpipe(&["--grace", "200ms"], ["cat"]);
        command
            .stdin(OwnedFd::from(theirs.try_clone().unwrap()))
            .stdout(OwnedFd::from(theirs));
        let mut run = Run::start(sandbox, command);
        let _watchdog = watch(&run);
        // Written from another thread: the echo comes back while the input is still going
        // in, and nothing here waits for both at once.
        let vanished = thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let _ = (&mine).write_all(&data[..cut]);
            });
            let mut echoed = vec![0; cut.min(4096)];
            (&mine).read_exact(&mut echoed).unwrap();
            assert!(echoed == data[..echoed.len()]);
            // Gone both ways at once, the writer maybe still writing.
            mine.shutdown(std::net::Shutdown::Both).unwrap();
            let vanished = Instant::now();
            writer.join().unwrap();
            vanished
        });
        drop(mine);
        fault();
        let done = run.finish();
        assert_no_panic(&done);
        // cat ends on EOF, or on SIGPIPE if it still had output: either way, promptly.
        assert!(
            done.status.code() == Some(0) || done.status.signal() == Some(libc::SIGPIPE),
            "{:?}: {}",
            done.status,
            done.stderr
        );
        assert_within(
            done.since(vanished),
            0.0,
            0.2 + 1.5,
            "exit after the peer vanished",
        );
        run.sandbox.assert_nothing_left();
    }
    tally("socket peer vanished");
}
