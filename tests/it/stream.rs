//! The library: `agentpipe::Stream`, a child seen as a byte stream whose close always leaves
//! it (and its process group) terminated and reaped.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use agentpipe::{Config, Exit, Scope, Stream, StreamOptions, Trigger};

/// A sequence short enough for tests.
fn config(sequence: &str) -> Config {
    Config::new().sequence(sequence.parse().expect("valid sequence"))
}

/// Runs `work` on another thread and fails the test if it does not return within [`LIMIT`].
fn within<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(work());
    });
    match receiver.recv_timeout(LIMIT) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not return within {LIMIT:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// `command` of `sandbox` as a stream, its stderr on /dev/null.
fn spawn(mut command: Command) -> (Stream, i32) {
    command.stderr(Stdio::null());
    let stream = Stream::spawn(&mut command).expect("spawn the stream");
    let pid = stream.id().expect("a pid") as i32;
    (stream, pid)
}

/// The kernel thread id of the calling thread.
fn thread_id() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// Waits until thread `tid` of this process sleeps (blocked in a system call).
fn wait_blocked(tid: i32) {
    wait_until(&format!("thread {tid} to block"), LIMIT, || {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
        let state = stat[stat.rfind(')')? + 1..]
            .split_whitespace()
            .next()?
            .to_string();
        (state == "S").then_some(())
    });
}

/// Asserts that `pid` was reaped: no process, not even a zombie.
fn assert_reaped(pid: i32) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still exists: {:?}",
        stat(pid)
    );
}

#[test]
fn write_read_and_close_pass_exact_bytes() {
    let sandbox = Sandbox::new("stream-bytes");
    let (stream, pid) = spawn(sandbox.command("cat"));
    let data = binary_data(1 << 20);
    let input = data.clone();
    let (output, outcome) = within("write, read and close", move || {
        let output = thread::scope(|scope| {
            let writer = scope.spawn(|| {
                (&stream).write_all(&input)?;
                stream.close_stdin();
                io::Result::Ok(())
            });
            let mut output = Vec::new();
            (&stream).read_to_end(&mut output).expect("read to the end");
            writer.join().unwrap().expect("write everything");
            output
        });
        (output, stream.close(&config("stdin 1s, TERM 1s, KILL")))
    });
    assert!(
        output == data,
        "{} bytes back, expected {}",
        output.len(),
        data.len()
    );
    let outcome = outcome.expect("close");
    assert_eq!(outcome.exit, Exit::Code(0));
    assert_reaped(pid);
}

#[test]
fn close_from_another_thread_unblocks_a_pending_read() {
    let sandbox = Sandbox::new("stream-read");
    let mut command = sandbox.command("sleep");
    command.arg("30");
    let (mut stream, pid) = spawn(command);
    let closer = stream.closer();
    let (tid_sender, tid_receiver) = mpsc::channel();
    let reader = thread::spawn(move || {
        tid_sender.send(thread_id()).unwrap();
        let result = stream.read(&mut [0; 64]);
        (result, stream)
    });
    wait_blocked(tid_receiver.recv().unwrap());
    let start = Instant::now();
    let again = closer.clone();
    let outcome = within("close", move || {
        closer.close(&config("stdin 100ms, TERM 2s, KILL"))
    })
    .expect("close");
    let (result, _stream) = within("the pending read", move || reader.join().unwrap());
    let error = result.expect_err("the read was unblocked with an error");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted, "{error}");
    // sleep ignores EOF and ends on TERM, 100 ms later.
    assert_eq!(outcome.exit, Exit::Signal(agentpipe::Signal::TERM));
    assert_due(start.elapsed(), 0.1, "close");
    assert_reaped(pid);
    let second = within("a second close", move || again.close(&Config::default()))
        .expect("a second close returns the first one's outcome");
    assert_eq!(second.exit, outcome.exit);
}

#[test]
fn close_from_another_thread_unblocks_a_pending_write() {
    let sandbox = Sandbox::new("stream-write");
    let mut command = sandbox.command("sleep");
    command.arg("30");
    let (mut stream, pid) = spawn(command);
    let closer = stream.closer();
    let (tid_sender, tid_receiver) = mpsc::channel();
    // sleep reads nothing: the pipe fills and the write blocks.
    let writer = thread::spawn(move || {
        tid_sender.send(thread_id()).unwrap();
        let chunk = vec![0; 1 << 20];
        let result = loop {
            if let Err(error) = stream.write_all(&chunk) {
                break error;
            }
        };
        (result, stream)
    });
    wait_blocked(tid_receiver.recv().unwrap());
    let outcome = within("close", move || {
        closer.close(&config("stdin 100ms, TERM 2s, KILL"))
    })
    .expect("close");
    let (error, _stream) = within("the pending write", move || writer.join().unwrap());
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted, "{error}");
    assert_eq!(outcome.exit, Exit::Signal(agentpipe::Signal::TERM));
    assert_reaped(pid);
}

#[test]
fn close_returns_with_the_child_and_its_group_gone() {
    let sandbox = Sandbox::new("stream-group");
    let script =
        sh("trap '' TERM\nsleep 30 &\necho $! > \"$D/grandchild.pid\"\npidfile child\nwait");
    let mut command = sandbox.command(&script[0]);
    command.args(&script[1..]);
    let (stream, pid) = spawn(command);
    let grandchild = sandbox.wait_pid("grandchild");
    sandbox.wait_pid("child");
    let start = Instant::now();
    let outcome = within("close", move || {
        stream.close(&config("stdin 100ms, TERM 200ms, KILL"))
    })
    .expect("close");
    assert_eq!(outcome.exit, Exit::Signal(agentpipe::Signal::KILL));
    assert!(outcome.killed, "the KILL step was taken");
    assert_due(start.elapsed(), 0.3, "close of a TERM-ignoring group");
    assert_reaped(pid);
    sandbox.assert_gone(&[grandchild]);
    sandbox.assert_nothing_left();
}

#[test]
fn the_scope_option_chooses_which_processes_the_sequence_ends() {
    // (scope, whether a helper left in the child's group outlives the close)
    for (scope, survives) in [(Scope::Child, true), (Scope::Group, false)] {
        let sandbox = Sandbox::new("stream-scope");
        let script = sh("sleep 30 >/dev/null &\necho $! > \"$D/helper.pid\"\npidfile child\nwait");
        let mut command = sandbox.command(&script[0]);
        command.args(&script[1..]).stderr(Stdio::null());
        let options = StreamOptions::new().scope(scope);
        let stream = Stream::spawn_with(&mut command, options).expect("spawn the stream");
        let pid = stream.id().expect("a pid") as i32;
        let helper = sandbox.wait_pid("helper");
        sandbox.wait_pid("child");
        let outcome = within("close", move || {
            stream.close(&config("stdin 100ms, TERM 5s, KILL"))
        })
        .expect("close");
        assert_eq!(
            outcome.exit,
            Exit::Signal(agentpipe::Signal::TERM),
            "{scope:?}"
        );
        assert!(!outcome.killed, "{scope:?}: TERM was enough");
        assert_reaped(pid);
        assert_eq!(sandbox.live(helper), survives, "{scope:?}: the helper");
    }
}

#[test]
fn a_cgroup_scope_ends_a_process_that_left_the_group_and_reports_its_usage() {
    let sandbox = Sandbox::new("stream-cgroup");
    let script = "setsid sleep 30 >/dev/null 2>&1 </dev/null &\n\
                  echo $! > \"$D/escaped.pid\"\npidfile child\nexec sleep 30";
    let script = sh(script);
    let mut command = sandbox.command(&script[0]);
    command.args(&script[1..]).stderr(Stdio::null());
    let options = StreamOptions::new().scope(Scope::Cgroup);
    let stream = Stream::spawn_with(&mut command, options).expect("spawn in a cgroup");
    let pid = stream.id().expect("a pid") as i32;
    let escaped = sandbox.wait_pid("escaped");
    sandbox.wait_pid("child");
    let outcome = within("close", move || {
        stream.close(&config("stdin 100ms, TERM 5s, KILL"))
    })
    .expect("close");
    assert_eq!(outcome.exit, Exit::Signal(agentpipe::Signal::TERM));
    assert!(outcome.cgroup.is_some(), "the cgroup's usage: {outcome:?}");
    assert_reaped(pid);
    sandbox.assert_gone(&[escaped]);
    sandbox.assert_nothing_left();
}

#[test]
fn a_timeout_bounds_the_graceful_steps_of_a_close() {
    let sandbox = Sandbox::new("stream-timeout");
    let mut command = sandbox.command("sleep");
    command.arg("30");
    let (stream, pid) = spawn(command);
    let config = Config::new()
        .sequence("wait 30s, stdin 30s, TERM 5s, KILL".parse().unwrap())
        .timeout(Duration::from_millis(300));
    let start = Instant::now();
    let outcome = within("close", move || stream.close(&config)).expect("close");
    assert_within(
        start.elapsed(),
        0.3,
        3.0,
        "TERM at the timeout, not after 60 s",
    );
    assert_eq!(outcome.exit, Exit::Signal(agentpipe::Signal::TERM));
    let actions: Vec<String> = outcome
        .steps
        .iter()
        .map(|step| step.action.to_string())
        .collect();
    assert_eq!(
        actions.last().map(String::as_str),
        Some("TERM"),
        "{actions:?}"
    );
    assert_reaped(pid);
}

#[test]
fn dropping_a_stream_ends_its_child() {
    let sandbox = Sandbox::new("stream-drop");
    let (stream, pid) = spawn(sandbox.command("cat"));
    within("drop", move || drop(stream));
    assert_reaped(pid);
}

/// The drop blocks (see `Stream`'s docs): when it returns, even a child that ignores its stdin's
/// end and SIGTERM is gone, after the default sequence's two waits.
#[test]
fn dropping_a_stream_runs_the_whole_default_sequence_before_returning() {
    let sandbox = Sandbox::new("stream-drop-stubborn");
    let script =
        sh("trap '' TERM\nsleep 30 >/dev/null &\necho $! > \"$D/helper.pid\"\npidfile child\nwait");
    let mut command = sandbox.command(&script[0]);
    command.args(&script[1..]);
    let (stream, pid) = spawn(command);
    let helper = sandbox.wait_pid("helper");
    sandbox.wait_pid("child");
    let start = Instant::now();
    within("drop", move || drop(stream));
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1900),
        "drop returned after {elapsed:?}"
    );
    assert_reaped(pid);
    sandbox.assert_gone(&[helper]);
    sandbox.assert_nothing_left();
}

#[test]
fn close_stdin_does_not_wait_for_a_pending_write() {
    let sandbox = Sandbox::new("stream-close-stdin");
    // A child that never reads: the pipe fills and the write blocks.
    let script = sh("pidfile child\nexec sleep 3");
    let mut command = sandbox.command(&script[0]);
    command.args(&script[1..]);
    let (stream, pid) = spawn(command);
    sandbox.wait_pid("child");
    let stream = std::sync::Arc::new(stream);
    let (tid_sender, tid_receiver) = mpsc::channel();
    let writer = thread::spawn({
        let stream = std::sync::Arc::clone(&stream);
        move || {
            tid_sender.send(thread_id()).unwrap();
            (&*stream).write_all(&vec![0; 4 << 20])
        }
    });
    wait_blocked(tid_receiver.recv().unwrap());
    let start = Instant::now();
    stream.close_stdin();
    let closing = start.elapsed();
    let written = within("the pending write", move || writer.join().unwrap());
    let outcome = stream
        .closer()
        .close(&config("stdin 100ms, TERM 2s, KILL"))
        .expect("close");
    assert_reaped(pid);
    sandbox.assert_nothing_left();
    assert!(
        closing < std::time::Duration::from_millis(500),
        "close_stdin took {closing:?} behind a pending write"
    );
    let error = written.expect_err("the pending write failed");
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
        ),
        "{error}"
    );
    assert_eq!(outcome.exit, Exit::Signal(agentpipe::Signal::TERM));
}

#[test]
fn an_idle_timeout_closes_a_library_stream_by_itself_and_activity_postpones_it() {
    let sandbox = Sandbox::new("stream-idle");
    let mut command = sandbox.command("sh");
    command.args([
        "-c",
        "pidfile() { echo $$ > \"$D/$1.pid\"; }; pidfile child; exec cat",
    ]);
    let options = StreamOptions::new().idle_timeout(Duration::from_millis(400));
    let stream = Stream::spawn_with(&mut command, options).expect("spawn");
    let child = sandbox.wait_pid("child");
    // Bytes every 100 ms for a second: never idle for 400 ms.
    let started = Instant::now();
    let mut buffer = [0; 1];
    let mut last = started;
    while started.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(100));
        (&stream).write_all(b"x").expect("write while active");
        (&stream)
            .read_exact(&mut buffer)
            .expect("read while active");
        last = Instant::now();
    }
    // Then a read that waits: the timeout unblocks it and closes the stream.
    let error = (&stream)
        .read(&mut buffer)
        .expect_err("closed while reading");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
    assert_within(
        last.elapsed(),
        0.35,
        3.0,
        "the idle timeout after the last byte",
    );
    let outcome = stream
        .close(&Config::default())
        .expect("the idle close's outcome");
    assert_eq!(outcome.trigger, Some(Trigger::IdleTimeout));
    sandbox.wait_gone(child, LIMIT);
}
