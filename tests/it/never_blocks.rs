//! agentpipe never blocks on a descriptor it inherited, whatever else uses the same file: a
//! terminal, pipe, FIFO or socket read by a competing process, a terminal whose reader stalls,
//! a pipe whose other writer takes the room agentpipe was told about. In each case the timeout
//! and the interrupts still act in time.
//!
//! The races are real (poll says ready, the competitor takes the bytes or the room first), so
//! each run provokes many of them, and each case runs several times.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::robust::set_nonblocking;
use nix::sys::signal::Signal;

/// Runs per case: each run holds well over a hundred races.
const RUNS: usize = 5;

/// `--timeout` of the runs, with no grace, so that agentpipe ends soon after it.
const TIMEOUT: f64 = 0.3;

/// How long after its timeout agentpipe may take to end before it counts as blocked.
const SLACK: f64 = 2.0;

/// The kinds of inherited input a competitor may read from.
#[derive(Clone, Copy, Debug)]
enum Input {
    Terminal,
    Pipe,
    Fifo,
    Socket,
}

/// agentpipe's stdin (a descriptor of `kind`), a competitor reading the same file, and the
/// test's own writing end.
fn shared_input(kind: Input, sandbox: &Sandbox) -> (File, File) {
    match kind {
        Input::Terminal => {
            let (master, slave) = open_raw_pty();
            (slave, master)
        }
        Input::Pipe => {
            let (reader, writer) = pipe();
            (reader, writer)
        }
        Input::Fifo => {
            let path = sandbox.path("fifo");
            nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
                .expect("mkfifo");
            // Opened for reading without waiting for a writer, then for writing.
            let reader = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(nix::libc::O_NONBLOCK)
                .open(&path)
                .expect("open the FIFO");
            let writer = File::options()
                .write(true)
                .open(&path)
                .expect("FIFO writer");
            // The reader agentpipe and the competitor inherit must be blocking, as a shell
            // would give it: a second description, opened now that a writer exists.
            let blocking = File::open(&path).expect("open the FIFO again");
            drop(reader);
            (blocking, writer)
        }
        Input::Socket => {
            let (ours, theirs) = UnixStream::pair().expect("socketpair");
            (
                File::from(OwnedFd::from(theirs)),
                File::from(OwnedFd::from(ours)),
            )
        }
    }
}

/// Waits for `run` until `limit` after its start; `false` if it is still running then.
fn ends_within(run: &mut Run, limit: f64) -> bool {
    let deadline = run.started + Duration::from_secs_f64(limit);
    while Instant::now() < deadline {
        if run.try_status().is_some() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    run.try_status().is_some()
}

fn stop(mut competitor: Child) {
    let _ = competitor.kill();
    let _ = competitor.wait();
}

/// One run: agentpipe reads `kind` while a `cat` reads it too, and the test types a byte every
/// 2 ms until the timeout is near. Returns whether agentpipe failed to end in time (blocked in a
/// read); it is then unblocked by more input so that the run can end.
fn competing_reader_run(kind: Input) -> bool {
    let sandbox = Sandbox::new("never-blocks-read");
    let (shared, mut ours) = shared_input(kind, &sandbox);
    let competitor = sandbox
        .command("cat")
        .stdin(shared.try_clone().unwrap())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the competing reader");
    let timeout = TIMEOUT.to_string();
    let mut command = sandbox.agentpipe(&["--timeout", &timeout, "--grace", "0s"], ["sleep", "30"]);
    command.stdin(shared);
    let mut run = Run::start(sandbox, command);
    set_nonblocking(ours.as_fd());
    while run.started.elapsed().as_secs_f64() < TIMEOUT * 0.9 {
        let _ = ours.write(b"k");
        thread::sleep(Duration::from_millis(2));
    }
    let blocked = !ends_within(&mut run, TIMEOUT + SLACK);
    if blocked {
        let _ = ours.write(b"unblock");
    }
    let done = run.finish();
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    stop(competitor);
    blocked
}

fn competing_reader(kind: Input) {
    let blocked = (0..RUNS).filter(|_| competing_reader_run(kind)).count();
    assert_eq!(
        blocked, 0,
        "{kind:?} read by a competitor: agentpipe missed its --timeout in {blocked} of {RUNS} runs"
    );
}

#[test]
fn a_terminal_read_by_another_process_never_blocks_agentpipe() {
    competing_reader(Input::Terminal);
}

#[test]
fn a_pipe_read_by_another_process_never_blocks_agentpipe() {
    competing_reader(Input::Pipe);
}

#[test]
fn a_fifo_read_by_another_process_never_blocks_agentpipe() {
    competing_reader(Input::Fifo);
}

#[test]
fn a_socket_read_by_another_process_never_blocks_agentpipe() {
    competing_reader(Input::Socket);
}

/// Waits until agentpipe's `-v` timeline holds `count` lines containing `needle`, for at most
/// `limit` seconds; whether it did.
fn timeline_shows(run: &Run, needle: &str, count: usize, limit: f64) -> bool {
    let deadline = Instant::now() + Duration::from_secs_f64(limit);
    loop {
        if run.stderr_text().matches(needle).count() >= count {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// One run: agentpipe writes the child's endless output to `stdout` (whose reader, the test,
/// reads a page every 2 ms until the timeout is near and then stalls), while `competitor` (if
/// any) writes into the same file; a terminal's output is also stopped and started around each
/// read (as Ctrl-S and Ctrl-Q do) and left stopped. The timeout must still be acted on in time,
/// and so must three interrupts. Returns whether agentpipe missed either (blocked in a write);
/// the reader then resumes so that the run can end.
fn stalled_writer_run(
    stdout: File,
    mut reader: File,
    competitor: Option<Child>,
    terminal: Option<&File>,
) -> bool {
    use nix::sys::termios::{FlowArg, tcflow};
    let flow = |action| {
        if let Some(terminal) = terminal {
            tcflow(terminal, action).expect("tcflow");
        }
    };
    let sandbox = Sandbox::new("never-blocks-write");
    let timeout = TIMEOUT.to_string();
    let mut command = sandbox.agentpipe(
        &[
            "-v",
            "--timeout",
            &timeout,
            "--grace",
            "0s",
            "--drain",
            "0s",
        ],
        ["sh", "-c", "trap '' TERM; exec cat /dev/zero"],
    );
    command.stdout(stdout);
    let mut run = Run::start(sandbox, command);
    set_nonblocking(reader.as_fd());
    let mut sink = vec![0u8; 4096];
    while run.started.elapsed().as_secs_f64() < TIMEOUT * 0.9 {
        flow(FlowArg::TCOON);
        let _ = std::io::Read::read(&mut reader, &mut sink);
        flow(FlowArg::TCOOFF);
        thread::sleep(Duration::from_millis(2));
    }
    // The reader stalls from now on.
    let limit = TIMEOUT + SLACK - run.started.elapsed().as_secs_f64();
    let mut blocked = !timeline_shows(&run, "--timeout elapsed", 1, limit);
    for _ in 0..3 {
        run.signal(Signal::SIGINT);
        thread::sleep(Duration::from_millis(20));
    }
    blocked |= !timeline_shows(&run, "received SIGINT", 3, SLACK);
    flow(FlowArg::TCOON);
    let mut sink = vec![0u8; 1 << 16];
    while run.try_status().is_none() {
        let _ = std::io::Read::read(&mut reader, &mut sink);
    }
    let done = run.finish();
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    if let Some(competitor) = competitor {
        stop(competitor);
    }
    blocked
}

#[test]
fn a_terminal_whose_reader_stalls_never_blocks_agentpipe() {
    let blocked = (0..RUNS)
        .filter(|_| {
            let (master, slave) = open_raw_pty();
            let terminal = slave.try_clone().unwrap();
            stalled_writer_run(slave, master, None, Some(&terminal))
        })
        .count();
    assert_eq!(
        blocked, 0,
        "a stalled terminal: agentpipe missed its timeout or interrupts in {blocked} of {RUNS} runs"
    );
}

#[test]
fn a_pipe_whose_other_writer_takes_the_room_never_blocks_agentpipe() {
    let blocked = (0..RUNS)
        .filter(|_| {
            let (reader, writer) = pipe();
            let sandbox = Sandbox::new("never-blocks-competing-writer");
            let competitor = sandbox
                .command("cat")
                .arg("/dev/zero")
                .stdout(writer.try_clone().unwrap())
                .spawn()
                .expect("start the competing writer");
            stalled_writer_run(writer, reader, Some(competitor), None)
        })
        .count();
    assert_eq!(
        blocked, 0,
        "a pipe with a competing writer: agentpipe missed its timeout or interrupts in {blocked} of {RUNS} runs"
    );
}

/// After the command exited, output owed to a reader that never reads cannot hold agentpipe:
/// the first interrupt stops reading more, the second drops what is queued.
#[test]
fn two_interrupts_end_a_wait_for_output_owed_to_a_stalled_reader() {
    let sandbox = Sandbox::new("stalled-reader-drain");
    let command = sandbox.agentpipe(
        &["--drain", "inf", "--eof-grace", "inf", "-v"],
        // The pipes fill up; the command gives up writing after 300 ms and exits.
        sh("pidfile child; timeout 0.3 head -c 16777216 /dev/zero; exit 0"),
    );
    // agentpipe's stdout is a pipe the test never reads.
    let mut run = Run::start_raw_stdout(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    run.sandbox.wait_gone(child, LIMIT);
    run.wait_stderr("exited with code 0");
    assert!(
        run.try_status().is_none(),
        "agentpipe ended with its output owed"
    );
    run.signal(Signal::SIGTERM);
    run.wait_stderr("reading no more output");
    let second = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(0);
    assert_within(
        done.since(second),
        0.0,
        1.5,
        "the end after the second interrupt",
    );
    assert!(done.stderr.contains("dropped"), "{}", done.stderr);
    drop(run.raw_stdout.take());
}
