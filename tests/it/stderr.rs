//! The child's stderr through agentpipe: the library's receiver and tail (`StreamOptions`), and
//! `--stderr-tail` on the command line, both drained after the child exits within the drain
//! bound, never waiting for a descendant that holds the pipe.

use std::io::{self, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use agentpipe::{Config, Exit, Stream, StreamOptions};

/// A receiver that collects what it gets, for the test to look at.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<u8>>>);

impl Write for Collector {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Collector {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

/// Lets the child exit on its own (a long first step), with `drain`.
fn patient(drain: Duration) -> Config {
    Config::new()
        .sequence("wait 10s, stdin 1s, TERM 1s, KILL".parse().unwrap())
        .drain(Some(drain))
}

/// `sh -c SCRIPT` with the sandbox's `$D`, the prelude and the tag.
fn shell(sandbox: &Sandbox, script: &str) -> Command {
    let argv = sh(script);
    let mut command = sandbox.command(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// Closes `stream` on another thread, failing the test if that takes longer than [`LIMIT`];
/// returns the outcome and how long the close took.
fn close(stream: Stream, config: Config) -> (agentpipe::Outcome, Duration) {
    let started = Instant::now();
    let closing = thread::spawn(move || stream.close(&config).expect("close"));
    wait_until("close to return", LIMIT, || {
        closing.is_finished().then_some(())
    });
    (closing.join().expect("close panicked"), started.elapsed())
}

#[test]
fn the_library_receiver_gets_every_byte_and_the_outcome_keeps_the_tail() {
    let sandbox = Sandbox::new("stderr-every-byte");
    let data = binary_data(300 << 10);
    std::fs::write(sandbox.path("sent"), &data).unwrap();
    let receiver = Collector::default();
    let options = StreamOptions::new()
        .stderr(receiver.clone())
        .stderr_tail(1000);
    let mut command = shell(&sandbox, "cat \"$D/sent\" >&2; exit 5");
    let stream = Stream::spawn_with(&mut command, options).expect("spawn");
    let (outcome, _) = close(stream, patient(Duration::from_secs(1)));
    assert_eq!(outcome.exit, Exit::Code(5));
    let got = receiver.bytes();
    assert_eq!(got.len(), data.len(), "bytes lost or added");
    assert!(got == data, "the bytes differ");
    assert!(
        outcome.stderr_tail == data[data.len() - 1000..],
        "the tail differs"
    );
    let bytes = outcome.stderr.expect("stderr passed through the stream");
    assert_eq!((bytes.relayed, bytes.discarded), (data.len() as u64, 0));
    assert!(!outcome.drain_cut);
}

#[test]
fn a_tail_without_a_receiver_keeps_the_last_bytes_and_drops_the_rest() {
    let sandbox = Sandbox::new("stderr-tail-only");
    let options = StreamOptions::new().stderr_tail(16);
    let mut command = shell(
        &sandbox,
        "echo 'starting up'; echo 'error: no such model' >&2",
    );
    let mut stream = Stream::spawn_with(&mut command, options).expect("spawn");
    let mut output = String::new();
    io::Read::read_to_string(&mut stream, &mut output).unwrap();
    assert_eq!(output, "starting up\n", "stdout is untouched");
    let (outcome, _) = close(stream, patient(Duration::from_secs(1)));
    assert_eq!(outcome.stderr_tail, b": no such model\n");
    let bytes = outcome.stderr.expect("stderr passed through the stream");
    assert_eq!((bytes.relayed, bytes.discarded), (0, 21));
}

#[test]
fn without_options_the_childs_stderr_is_untouched() {
    let sandbox = Sandbox::new("stderr-untouched");
    let mut command = shell(&sandbox, "echo ignored >&2");
    command.stderr(std::process::Stdio::null());
    let stream = Stream::spawn(&mut command).expect("spawn");
    let (outcome, _) = close(stream, patient(Duration::from_secs(1)));
    assert_eq!(outcome.stderr, None);
    assert!(outcome.stderr_tail.is_empty());
}

/// Shell lines that start a process that leaves the child's process group (so that no signal of
/// the sequence reaches it), holds the child's stderr and writes `tick` to it every 50 ms
/// (until the pipe's end is closed: SIGPIPE); its stdout goes to /dev/null, and its pid to
/// `$D/grandchild.pid`.
// The first tick is written before the pid file, so a test that waited for the file knows it is
// in the pipe.
const TICKING_GRANDCHILD: &str = "setsid sh -c 'echo tick >&2; echo $$ > \"$D/grandchild.pid\"; \
     while :; do sleep 0.05; echo tick >&2; done' >/dev/null &\n\
     while [ ! -s \"$D/grandchild.pid\" ]; do sleep 0.01; done";

#[test]
fn a_grandchild_holding_the_librarys_stderr_is_bounded_by_the_drain() {
    let sandbox = Sandbox::new("stderr-library-drain");
    let receiver = Collector::default();
    let options = StreamOptions::new()
        .stderr(receiver.clone())
        .stderr_tail(64);
    let script = format!("echo before >&2\n{TICKING_GRANDCHILD}\nexit 0");
    let mut command = shell(&sandbox, &script);
    let stream = Stream::spawn_with(&mut command, options).expect("spawn");
    sandbox.wait_pid("grandchild");
    let (outcome, took) = close(stream, patient(Duration::from_millis(300)));
    assert_due(took, 0.3, "close with a grandchild holding stderr");
    assert_eq!(outcome.exit, Exit::Code(0));
    assert!(outcome.drain_cut, "the drain was cut");
    let got = String::from_utf8(receiver.bytes()).unwrap();
    assert!(got.starts_with("before\ntick\n"), "receiver got {got:?}");
    assert!(outcome.stderr_tail.ends_with(b"tick\n"));
}

/// 1000 bytes of text without anything JSON escapes.
fn thousand_bytes() -> String {
    (0..1000)
        .map(|i| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[i * 7 % 36]))
        .collect()
}

/// Runs a child that writes [`thousand_bytes`] to its stderr and exits 3, through agentpipe
/// with `--stderr-tail 100` and `options`; returns what agentpipe wrote on its stderr, the
/// report, the data, and the run (which keeps the sandbox).
fn failing_child(sandbox: Sandbox, options: &[&str]) -> (String, Report, String, Run) {
    let data = thousand_bytes();
    std::fs::write(sandbox.path("err"), &data).unwrap();
    let report = sandbox.path_str("report.json");
    let mut all = vec!["--stderr-tail", "100", "--report", &report];
    all.extend(options);
    let command = sandbox.agentpipe(&all, sh("cat \"$D/err\" >&2; exit 3"));
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(3);
    let report = Report::read(run.sandbox.path("report.json"));
    (done.stderr, report, data, run)
}

#[test]
fn the_report_has_the_last_bytes_and_agentpipes_stderr_all_of_them() {
    let (stderr, report, data, _run) = failing_child(Sandbox::new("stderr-tail-cli"), &[]);
    assert_eq!(stderr, data, "the bytes reach agentpipe's stderr intact");
    let tail = &data[900..];
    assert_eq!(report.at("stderr_tail").str(), tail, "{report}");
    assert_eq!(report.keys("bytes.stderr"), ["relayed", "discarded"]);
    assert_eq!(
        report.at("bytes.stderr.relayed").number(),
        1000.0,
        "{report}"
    );
    assert_eq!(
        report.at("bytes.stderr.discarded").number(),
        0.0,
        "{report}"
    );
}

#[test]
fn with_a_stderr_file_the_bytes_go_to_the_file() {
    let sandbox = Sandbox::new("stderr-tail-file");
    let log = sandbox.path("errors.log");
    std::fs::write(&log, "earlier\n").unwrap();
    let options = ["--stderr", log.to_str().unwrap()];
    let (stderr, report, data, _run) = failing_child(sandbox, &options);
    assert_eq!(stderr, "", "nothing on agentpipe's stderr");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged, format!("earlier\n{data}"), "appended to the file");
    assert_eq!(report.at("stderr_tail").str(), &data[900..], "{report}");
}

#[test]
fn without_the_flag_the_report_has_no_tail() {
    let mut run = Run::agentpipe("stderr-no-tail", &["--report", "-"], sh("echo oops >&2"));
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert!(done.stderr.starts_with("oops\n"), "{}", done.stderr);
    let report = Report::on_stderr(&done.stderr);
    assert_eq!(report.at("bytes.stderr"), &Value::Null, "{report}");
    assert_eq!(report.at("stderr_tail"), &Value::Null, "{report}");
}

#[test]
fn a_grandchild_holding_stderr_is_bounded_by_drain() {
    let script = format!("echo before >&2\n{TICKING_GRANDCHILD}\nexit 0");
    let mut run = Run::agentpipe(
        "stderr-cli-drain",
        &[
            "--stderr-tail",
            "1k",
            "--drain",
            "300ms",
            "--report",
            "-",
            "-v",
        ],
        sh(&script),
    );
    run.sandbox.wait_pid("grandchild");
    let exited = Instant::now();
    let done = run.finish();
    done.assert_code(0);
    assert!(
        done.since(exited) < Duration::from_secs(3),
        "bounded by the drain"
    );
    // agentpipe's own -v lines may come between the command's lines on the same stderr.
    let before = done.stderr.find("before\n").expect(&done.stderr);
    assert!(done.stderr[before..].contains("tick\n"), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("drain over: closing the child's stderr"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains(r#""cut":true"#), "{}", done.stderr);
    assert!(done.stderr.contains(r#"tick\n"}"#), "{}", done.stderr);
}

#[test]
fn a_full_stderr_pipe_is_waited_for_intact_and_never_made_non_blocking() {
    let sandbox = Sandbox::new("stderr-full-pipe");
    // More than the pipe holds even after agentpipe grew it for the stream (1 MiB).
    let data = binary_data(1536 << 10);
    std::fs::write(sandbox.path("sent"), &data).unwrap();
    let (reader, writer) = pipe();
    // A copy sharing the open file description, as a shell would hold.
    let copy = writer.try_clone().unwrap();
    let mut command = sandbox.agentpipe(
        &["--stderr-tail", "64"],
        sh("cat \"$D/sent\" >&2; echo done"),
    );
    command.stderr(writer);
    let mut run = Run::start(sandbox, command);
    // Nothing reads agentpipe's stderr yet: the pipe fills, and agentpipe waits for room.
    wait_until("agentpipe's stderr pipe to be full", LIMIT, || {
        let mut probe = libc_pollfd(&copy);
        // SAFETY: poll on one valid pollfd, without waiting.
        let ready = unsafe { nix::libc::poll(&mut probe, 1, 0) };
        (ready == 0).then_some(())
    });
    assert!(
        !is_nonblocking(&copy),
        "agentpipe set O_NONBLOCK on its stderr"
    );
    drop(copy);
    let got = Capture::start("stderr", reader);
    run.wait_stdout("done");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert!(got.wait_end(LIMIT), "agentpipe's stderr did not end");
    assert!(got.bytes() == data, "the bytes differ");
}

/// A pollfd asking whether `file` has room for a write.
fn libc_pollfd(file: &std::fs::File) -> nix::libc::pollfd {
    nix::libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(file),
        events: nix::libc::POLLOUT,
        revents: 0,
    }
}
