//! The relay: bytes both ways, backpressure, half-closes, draining, stderr and the kinds of
//! descriptors agentpipe may be given.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use nix::libc;
use nix::sys::signal::Signal;

#[test]
fn a_partial_line_passes_at_once_both_ways() {
    let mut run = Run::agentpipe("partial", &[], ["cat"]);
    run.write(b"no newline yet");
    // Still open on both sides: nothing may wait for a newline or a full buffer.
    run.wait_stdout("no newline yet");
    run.write(b", now\n");
    run.wait_stdout("no newline yet, now\n");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout, b"no newline yet, now\n");
}

#[test]
fn thirty_two_mib_of_binary_data_pass_intact_both_ways() {
    let data = Arc::new(binary_data(32 << 20));
    let mut run = Run::agentpipe("32mib", &[], ["cat"]);
    let mut stdin = run.take_stdin();
    let input = Arc::clone(&data);
    let writer = thread::spawn(move || stdin.write_all(&input));
    let done = run.finish_within(Duration::from_secs(30));
    done.assert_code(0);
    writer.join().unwrap().expect("write 32 MiB");
    assert_eq!(done.stdout.len(), data.len(), "byte count");
    let first_difference = done
        .stdout
        .iter()
        .zip(data.iter())
        .position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "the bytes differ");
}

/// Pipes both ways: messages are copied, a stream spliced, and each switch keeps every byte in
/// order (messages, then a stream, then messages again, each direction crossing both ways).
#[test]
fn messages_a_stream_and_messages_again_pass_intact_across_copy_and_splice() {
    let mut run = Run::agentpipe("switch", &[], ["cat"]);
    let mut expected = Vec::new();
    let message = |run: &mut Run, expected: &mut Vec<u8>, n: usize| {
        let line = format!("message {n:04}\n");
        run.write(line.as_bytes());
        expected.extend_from_slice(line.as_bytes());
        run.wait_stdout(&line); // one round trip each: no two messages share a transfer
    };
    for n in 0..20 {
        message(&mut run, &mut expected, n);
    }
    let stream: Vec<u8> = binary_data(2 << 20).iter().map(|b| b'a' + b % 26).collect();
    run.write(&stream);
    expected.extend_from_slice(&stream);
    for n in 20..40 {
        message(&mut run, &mut expected, n);
    }
    run.close_stdin();
    let done = run.finish_within(Duration::from_secs(30));
    done.assert_code(0);
    assert_eq!(done.stdout.len(), expected.len(), "byte count");
    let first_difference = done.stdout.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "the bytes differ");
}

#[test]
fn a_child_that_does_not_read_stops_agentpipe_reading_and_unwritten_input_is_discarded() {
    let mut run = Run::agentpipe(
        "backpressure",
        &["-v", "--grace", "200ms", "--term-grace", "200ms"],
        sh("pidfile child\nspin"),
    );
    run.sandbox.wait_pid("child");
    let accepted = Arc::new(AtomicU64::new(0));
    let mut stdin = run.take_stdin();
    let counter = Arc::clone(&accepted);
    // Blocks once agentpipe stops reading; fails with EPIPE once agentpipe closes its stdin.
    let writer = thread::spawn(move || {
        let chunk = vec![0x5a; 64 * 1024];
        while stdin.write_all(&chunk).is_ok() {
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
    });
    // Wait for the writer to stall: nothing accepted for 300 ms.
    let mut last = (0, Instant::now());
    wait_until("the writer to stall", LIMIT, || {
        let now = accepted.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        }
        (now > 0 && last.1.elapsed() > Duration::from_millis(300)).then_some(())
    });
    let stalled_at = accepted.load(Ordering::SeqCst);
    assert!(
        stalled_at <= 16 << 20,
        "agentpipe took {stalled_at} bytes the child never read"
    );
    let rss_kib = fs::read_to_string(format!("/proc/{}/status", run.pid()))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmRSS");
    assert!(rss_kib < 32 * 1024, "agentpipe's RSS is {rss_kib} KiB");

    run.signal(Signal::SIGTERM);
    let done = run.finish();
    writer.join().unwrap();
    done.assert_signal(Signal::SIGTERM);
    // Input read but never written to the child is discarded, and counted in the timeline.
    let counted = done
        .stderr
        .lines()
        .filter(|line| line.contains("discarded"))
        .flat_map(|line| line.split(|c: char| !c.is_ascii_digit()))
        .filter_map(|number| number.parse::<u64>().ok())
        .any(|number| number > 0);
    assert!(counted, "no count of discarded input in:\n{}", done.stderr);
}

#[test]
fn a_full_stdout_does_not_stall_the_sequence() {
    let sandbox = Sandbox::new("full-stdout");
    let (reader, writer) = pipe();
    let mut command = sandbox.agentpipe(
        &["--grace", "200ms", "--term-grace", "20s"],
        sh(&format!("{EXIT_ON_TERM}\npidfile child\nyes flood")),
    );
    let probe = writer.try_clone().unwrap();
    command.stdout(writer);
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    // (`yes` is the writer, not the shell: a shell blocked in a write would not run its trap.)
    // Nobody reads agentpipe's stdout: wait until it has no room left.
    wait_until("agentpipe's stdout to fill", LIMIT, || {
        let mut poll = libc::pollfd {
            fd: probe.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd, without waiting.
        let ready = unsafe { libc::poll(&mut poll, 1, 0) };
        (ready == 0).then_some(())
    });
    drop(probe);
    let sent = run.signal(Signal::SIGTERM);
    run.sandbox.wait_log("TERM");
    assert_due(sent.elapsed(), 0.2, "TERM while agentpipe's stdout is full");
    // What the child wrote before it exited is still owed: read it.
    let output = Capture::start("stdout", reader);
    let done = run.finish();
    done.assert_code(7);
    assert!(output.wait_end(LIMIT), "stdout did not end");
    assert!(output.text().starts_with("flood\nflood\n"));
}

#[test]
fn inherited_pipes_never_become_non_blocking() {
    let sandbox = Sandbox::new("no-nonblock");
    let (stdin_reader, mut stdin_writer) = pipe();
    let (mut stdout_reader, stdout_writer) = pipe();
    // Copies of agentpipe's descriptors sharing their open file descriptions, as a shell would.
    let stdin_copy = stdin_reader.try_clone().unwrap();
    let stdout_copy = stdout_writer.try_clone().unwrap();
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    command.stdin(stdin_reader).stdout(stdout_writer);
    let mut run = Run::start(sandbox, command);
    stdin_writer.write_all(b"ping\n").unwrap();
    let mut line = [0; 5];
    stdout_reader.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"ping\n");
    assert!(
        !is_nonblocking(&stdin_copy),
        "agentpipe set O_NONBLOCK on its stdin"
    );
    assert!(
        !is_nonblocking(&stdout_copy),
        "agentpipe set O_NONBLOCK on its stdout"
    );
    drop(stdin_writer);
    drop(stdin_copy);
    let done = run.finish();
    done.assert_code(0);
    assert!(
        !is_nonblocking(&stdout_copy),
        "agentpipe left O_NONBLOCK on its stdout"
    );
}

#[test]
fn a_terminal_as_stdin_works_and_stays_blocking() {
    let sandbox = Sandbox::new("tty-stdin");
    let (mut master, slave) = open_pty();
    let slave_copy = slave.try_clone().unwrap();
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    command.stdin(slave);
    let mut run = Run::start(sandbox, command);
    master.write_all(b"typed line\n").unwrap();
    run.wait_stdout("typed line\n");
    assert!(
        !is_nonblocking(&slave_copy),
        "agentpipe set O_NONBLOCK on a terminal"
    );
    // Ctrl-D at the start of a line: end of input.
    master.write_all(&[4]).unwrap();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout, b"typed line\n");
}

#[test]
fn a_terminal_as_stdout_gets_the_output() {
    let sandbox = Sandbox::new("tty-stdout");
    let (master, slave) = open_pty();
    let mut command = sandbox.agentpipe(&[], ["printf", "to the terminal\\n"]);
    command.stdout(slave);
    let mut run = Run::start(sandbox, command);
    let output = Capture::start("terminal", master);
    let done = run.finish();
    done.assert_code(0);
    // The terminal's own output processing turns \n into \r\n.
    output.wait_for("to the terminal\r\n");
}

#[test]
fn stdin_from_a_file_and_stdout_appended_to_a_file() {
    let sandbox = Sandbox::new("files");
    let data = binary_data(300_000);
    fs::write(sandbox.path("input"), &data).unwrap();
    fs::write(sandbox.path("output"), b"before\n").unwrap();
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    command
        .stdin(File::open(sandbox.path("input")).unwrap())
        .stdout(
            OpenOptions::new()
                .append(true)
                .open(sandbox.path("output"))
                .unwrap(),
        );
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(0);
    let output = fs::read(run.sandbox.path("output")).unwrap();
    let mut expected = b"before\n".to_vec();
    expected.extend_from_slice(&data);
    assert!(
        output == expected,
        "output file: {} bytes, expected {}",
        output.len(),
        expected.len()
    );
}

#[test]
fn child_stdout_eof_closes_agentpipes_stdout_and_agentpipe_waits_for_the_child() {
    let mut run = Run::agentpipe(
        "stdout-eof",
        &[],
        sh("echo last words\nexec >&-\nIFS= read -r line\nlog \"$line\"\nexit 3"),
    );
    let stdout = run.stdout.clone().unwrap();
    assert!(stdout.wait_end(LIMIT), "agentpipe's stdout did not end");
    assert_eq!(stdout.bytes(), b"last words\n");
    // The child is blocked reading its stdin: agentpipe must still be relaying to it.
    assert!(
        run.try_status().is_none(),
        "agentpipe exited with the child alive"
    );
    run.write(b"after the half-close\n");
    let done = run.finish();
    done.assert_code(3);
    assert_eq!(run.sandbox.log(), ["after the half-close"]);
}

#[test]
fn a_socket_stdout_is_shut_down_when_the_childs_output_ends() {
    let sandbox = Sandbox::new("socket-shutdown");
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    // A copy that stays open in the parent, as ssh or rsync keep theirs.
    let kept = theirs.try_clone().unwrap();
    let mut command = sandbox.agentpipe(
        &[],
        sh("echo last words\nexec >&-\nIFS= read -r line\nexit 3"),
    );
    command.stdout(OwnedFd::from(theirs));
    let mut run = Run::start(sandbox, command);
    ours.set_read_timeout(Some(LIMIT)).unwrap();
    let mut received = Vec::new();
    ours.read_to_end(&mut received)
        .expect("EOF on the socket (shutdown) while a copy of it is still open");
    assert_eq!(received, b"last words\n");
    assert!(
        run.try_status().is_none(),
        "agentpipe exited with the child alive"
    );
    run.write(b"go\n");
    let done = run.finish();
    done.assert_code(3);
    drop(kept);
}

#[test]
fn one_socket_as_stdin_and_stdout_carries_both_ways_and_both_half_closes() {
    let sandbox = Sandbox::new("socket-both");
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    command
        .stdin(OwnedFd::from(theirs.try_clone().unwrap()))
        .stdout(OwnedFd::from(theirs));
    let mut run = Run::start(sandbox, command);
    ours.set_read_timeout(Some(LIMIT)).unwrap();
    ours.write_all(b"over the socket\n").unwrap();
    let mut echoed = [0; 16];
    ours.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"over the socket\n");
    ours.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    ours.read_to_end(&mut rest).expect("EOF back after our EOF");
    assert!(rest.is_empty(), "{rest:?}");
    let done = run.finish();
    done.assert_code(0);
}

#[test]
fn when_the_child_closes_its_stdin_agentpipe_closes_its_own() {
    let mut run = Run::agentpipe(
        "child-closes-stdin",
        &["--grace", "200ms"],
        sh(&format!("{EXIT_ON_TERM}\nexec <&-\npidfile child\nspin")),
    );
    run.sandbox.wait_pid("child");
    let mut stdin = run.take_stdin();
    // agentpipe closes its stdin on its own: our writes then fail with EPIPE.
    wait_until("EPIPE on agentpipe's stdin", LIMIT, || {
        match stdin.write_all(b"x") {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Some(()),
            Err(error) => panic!("unexpected error: {error}"),
            Ok(()) => None,
        }
    });
    assert!(
        run.try_status().is_none(),
        "agentpipe exited with the child alive"
    );
    assert!(run.sandbox.log().is_empty(), "{:?}", run.sandbox.log());
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
}

/// Reads agentpipe's stdout only once the child has exited, through a pipe too small to take
/// the output: what the child wrote is then still queued in its stdout pipe when it exits.
fn output_queued_at_exit(options: &[&str], script: &str) -> (Finished, Vec<u8>) {
    let sandbox = Sandbox::new("queued");
    let (reader, writer) = pipe();
    // SAFETY: F_SETPIPE_SZ on a pipe this test owns.
    let size = unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    assert!(size >= 4096, "F_SETPIPE_SZ");
    let mut command = sandbox.agentpipe(options, sh(script));
    command.stdout(writer);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    run.sandbox.wait_gone(child, LIMIT);
    let output = Capture::start("stdout", reader);
    let done = run.finish();
    assert!(output.wait_end(LIMIT), "stdout did not end");
    (done, output.bytes())
}

#[test]
fn output_queued_when_the_child_exits_is_delivered_whatever_the_drain() {
    let (done, output) = output_queued_at_exit(
        &["--drain", "0"],
        "pidfile child\nyes 0123456789abcdef | head -c 60000\nexit 5",
    );
    done.assert_code(5);
    let expected: Vec<u8> = b"0123456789abcdef\n"
        .iter()
        .copied()
        .cycle()
        .take(60_000)
        .collect();
    assert_eq!(output.len(), expected.len(), "byte count");
    assert!(output == expected, "the bytes differ");
}

/// A child that exits at once, leaving a grandchild outside the scope that writes to the
/// child's stdout forever.
fn drained(options: &[&str]) -> (Run, Finished, i32) {
    let mut options = options.to_vec();
    options.extend(["--scope", "child"]);
    let mut run = Run::agentpipe(
        "drain",
        &options,
        sh(&format!(
            "{}\nexit 0",
            background("while :; do echo tick; sleep 0.02; done")
        )),
    );
    let grandchild = run.sandbox.wait_pid("grandchild");
    // agentpipe's stdin stays open all along: it must not wait for its EOF.
    let done = run.finish();
    (run, done, grandchild)
}

#[test]
fn output_after_the_child_exits_is_relayed_at_most_drain() {
    let (run, done, grandchild) = drained(&["--drain", "500ms"]);
    done.assert_code(0);
    assert_within(done.elapsed(), 0.45, 2.0, "exit after --drain 500ms");
    assert!(
        done.stdout_text().contains("tick\n"),
        "{:?}",
        done.stdout_text()
    );
    // The grandchild holding the pipe then gets EPIPE (SIGPIPE), as in a plain pipeline.
    run.sandbox.wait_gone(grandchild, Duration::from_secs(3));
}

#[test]
fn drain_is_one_second_by_default() {
    let (_run, done, _grandchild) = drained(&[]);
    done.assert_code(0);
    assert_within(done.elapsed(), 0.95, 2.5, "exit after the default drain");
}

#[test]
fn stderr_is_inherited_by_default() {
    let mut run = Run::agentpipe(
        "stderr-inherit",
        &[],
        sh("echo to stderr >&2; echo to stdout"),
    );
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stderr, "to stderr\n");
    assert_eq!(done.stdout, b"to stdout\n");
}

#[test]
fn stderr_null_discards_the_childs_stderr_but_not_agentpipes_messages() {
    let mut run = Run::agentpipe(
        "stderr-null",
        &["-v", "--stderr", "null"],
        sh("echo to stderr >&2; echo to stdout"),
    );
    let done = run.finish();
    done.assert_code(0);
    assert!(!done.stderr.contains("to stderr"), "{}", done.stderr);
    assert!(
        done.stderr.contains("agentpipe ["),
        "no timeline: {}",
        done.stderr
    );
    assert_eq!(done.stdout, b"to stdout\n");
}

#[test]
fn stderr_path_appends_the_childs_stderr_to_the_file() {
    let sandbox = Sandbox::new("stderr-file");
    let path = sandbox.path_str("stderr");
    fs::write(&path, "already there\n").unwrap();
    let command = sandbox.agentpipe(
        &["-v", "--stderr", &path],
        sh("echo to stderr >&2; echo to stdout"),
    );
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "already there\nto stderr\n"
    );
    assert!(!done.stderr.contains("to stderr"), "{}", done.stderr);
    assert!(
        done.stderr.contains("agentpipe ["),
        "no timeline: {}",
        done.stderr
    );
}

/// agentpipe started with descriptor `fd` closed.
fn with_closed(fd: i32, script: &str) -> (Run, Finished) {
    let sandbox = Sandbox::new("closed-std-fd");
    let mut command = sandbox.agentpipe(&["-v"], sh(script));
    close_fds(&mut command, &[fd]);
    if fd == 1 {
        command.stdout(Stdio::null());
    }
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    (run, done)
}

#[test]
fn a_closed_stdin_at_start_is_dev_null() {
    let (_run, done) = with_closed(0, "cat; echo end of input");
    done.assert_code(0);
    assert_eq!(done.stdout, b"end of input\n");
    assert!(!done.stderr.contains("agentpipe: "), "{}", done.stderr);
}

#[test]
fn a_closed_stdout_at_start_is_dev_null() {
    let (run, done) = with_closed(1, "echo lost && log written");
    done.assert_code(0);
    assert_eq!(run.sandbox.log(), ["written"]);
    assert!(!done.stderr.contains("agentpipe: "), "{}", done.stderr);
}

#[test]
fn a_closed_stderr_at_start_is_dev_null() {
    let (run, done) = with_closed(2, "readlink /proc/self/fd/2 > \"$D/fd\"; echo fine");
    done.assert_code(0);
    assert_eq!(done.stdout, b"fine\n");
    // The child inherits agentpipe's stderr, which must be /dev/null, not one of agentpipe's
    // own descriptors that landed on 2.
    assert_eq!(
        fs::read_to_string(run.sandbox.path("fd")).unwrap(),
        "/dev/null\n"
    );
}

#[test]
fn a_pipeline_stage_with_eof_grace_inf_is_never_killed_after_eof() {
    let sandbox = Sandbox::new("pipeline");
    let mut command = sandbox.command("sh");
    command.env("AGENTPIPE", BIN).arg("-c").arg(
        "printf 'a\\nb\\n' | \"$AGENTPIPE\" --grace 100ms --term-grace 100ms --eof-grace inf -- \
         sh -c 'trap \"echo TERM >> $D/log\" TERM; tr a-z A-Z; sleep 0.8; echo done' | cat",
    );
    let mut run = Run::start(sandbox, command);
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout, b"A\nB\ndone\n");
    assert!(run.sandbox.log().is_empty(), "{:?}", run.sandbox.log());
}

#[test]
fn a_message_socket_as_stdin_or_stdout_is_refused_at_start_with_one_line() {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    for (kind, name) in [
        (SockType::SeqPacket, "SOCK_SEQPACKET"),
        (SockType::Datagram, "SOCK_DGRAM"),
    ] {
        for stdin in [true, false] {
            let (ours, theirs) =
                socketpair(AddressFamily::Unix, kind, None, SockFlag::SOCK_CLOEXEC).unwrap();
            let sandbox = Sandbox::new("message-socket");
            let mut command = sandbox.agentpipe(&[], sh("pidfile child; exec cat"));
            if stdin {
                command.stdin(File::from(theirs));
            } else {
                command.stdout(File::from(theirs));
            }
            let mut run = Run::start(sandbox, command);
            let done = run.finish();
            done.assert_code(125);
            done.assert_one_error_line();
            let side = if stdin { "stdin" } else { "stdout" };
            assert!(
                done.stderr.contains(&format!("{side} is a {name} socket")),
                "{}",
                done.stderr
            );
            assert!(
                !run.sandbox.path("child.pid").exists(),
                "the command started"
            );
            drop(ours);
        }
    }
}
