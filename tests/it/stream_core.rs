//! The stream core (`agentpipe::Stream`) under property tests: random write and read chunkings
//! pass exactly the bytes written, and a close at a random point (from another thread, while
//! reads and writes are pending) always returns, with the child reaped and nothing left.

use std::io::{self, Read, Write};
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::robust::Watchdog;
use agentpipe::{Config, Exit, Stream};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};

/// How long one case may run before its processes are killed and it fails.
const CASE_LIMIT: Duration = Duration::from_secs(30);

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A close sequence short enough for hundreds of cases, with every kind of step.
fn quick() -> Config {
    Config::new().sequence("wait 0s, stdin 30ms, TERM 30ms, KILL".parse().unwrap())
}

/// Starts `argv` as a stream, tagged with the sandbox's tag, stderr discarded.
fn spawn(sandbox: &Sandbox, argv: &[&str]) -> (Stream, i32) {
    let mut command = sandbox.command(argv[0]);
    command.args(&argv[1..]).stderr(Stdio::null());
    let stream = Stream::spawn(&mut command).expect("spawn the stream");
    let pid = stream.id().expect("a running child has a pid") as i32;
    (stream, pid)
}

/// Asserts that `pid` was reaped (not a zombie of this process) and that no process of the
/// sandbox is alive.
fn assert_reaped(sandbox: &Sandbox, pid: i32) {
    if let Some(stat) = stat(pid) {
        assert!(
            !(stat.state == 'Z' && stat.ppid == std::process::id() as i32),
            "pid {pid} is a zombie left unreaped by close"
        );
    }
    sandbox.assert_nothing_left();
}

/// Writes `data` in chunks of the sizes given (cycling), counting progress; stops at the first
/// error. Returns how many bytes were written, and the error if any.
fn write_chunks(
    mut stream: &Stream,
    data: &[u8],
    sizes: &[usize],
    progress: &AtomicUsize,
) -> (usize, Option<io::Error>) {
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at == data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        match stream.write(&data[at..end]) {
            Ok(0) => return (at, Some(io::ErrorKind::WriteZero.into())),
            Ok(count) => {
                at += count;
                progress.store(at, Ordering::SeqCst);
            }
            Err(error) => return (at, Some(error)),
        }
    }
    (at, None)
}

/// Reads to the end in reads of the sizes given (cycling); stops at EOF or the first error.
fn read_chunks(mut stream: &Stream, sizes: &[usize]) -> (Vec<u8>, Option<io::Error>) {
    let mut got = Vec::new();
    let mut buffer = vec![0; sizes.iter().copied().max().unwrap_or(1)];
    for &size in sizes.iter().cycle() {
        match stream.read(&mut buffer[..size]) {
            Ok(0) => return (got, None),
            Ok(count) => {
                assert!(count <= size, "read {count} bytes into {size}");
                got.extend_from_slice(&buffer[..count]);
            }
            Err(error) => return (got, Some(error)),
        }
    }
    unreachable!("cycle never ends")
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![1usize..16, 1usize..4096, 4096usize..300_000],
        1..8,
    )
}

fn data_length() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..64, 0usize..70_000, 0usize..1_200_000]
}

/// Runs `test` on `cases` values of `strategy`, failing with the minimal failing value.
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(config(cases));
    if let Err(error) = runner.run(&strategy, test) {
        panic!("{error}");
    }
}

/// Through `cat`: whatever the chunkings on both sides, the bytes read are exactly the bytes
/// written, then EOF; close returns the child's exit with the child reaped.
#[test]
fn random_chunkings_pass_exactly_the_bytes_written() {
    let checked = AtomicUsize::new(0);
    let strategy = (data_length(), any::<u64>(), chunk_sizes(), chunk_sizes());
    check(96, strategy, |(length, seed, writes, reads)| {
        let sandbox = Sandbox::new("chunks");
        let _watchdog = Watchdog::arm("stream case", &[&sandbox.tag], CASE_LIMIT);
        let data = seeded_data(length, seed | 1);
        let (stream, pid) = spawn(&sandbox, &["cat"]);
        let progress = AtomicUsize::new(0);
        let (written, (got, read_error)) = thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let result = write_chunks(&stream, &data, &writes, &progress);
                stream.close_stdin();
                result
            });
            let reader = scope.spawn(|| read_chunks(&stream, &reads));
            (writer.join().unwrap(), reader.join().unwrap())
        });
        prop_assert!(written.1.is_none(), "write failed: {:?}", written.1);
        prop_assert!(read_error.is_none(), "read failed: {:?}", read_error);
        prop_assert_eq!(got.len(), data.len());
        prop_assert!(got == data, "the bytes differ");
        let outcome = stream.close(&Config::default()).expect("close");
        prop_assert_eq!(outcome.exit, Exit::Code(0));
        prop_assert_eq!(outcome.pid, pid as u32);
        assert_reaped(&sandbox, pid);
        checked.fetch_add(data.len(), Ordering::Relaxed);
        Ok(())
    });
    eprintln!(
        "random chunkings: 96 streams, {} bytes written and read back intact",
        checked.load(Ordering::Relaxed)
    );
}

/// Children that end in every way there is: echoing, never writing, exiting early, flooding
/// without reading, ignoring EOF and TERM.
const CHILDREN: &[&[&str]] = &[
    &["cat"],
    &["sh", "-c", "cat >/dev/null"],
    &["head", "-c", "1000"],
    &["true"],
    &["sh", "-c", "exec yes"],
    &["sh", "-c", "trap '' TERM; cat; exec sleep 1000"],
    &["sh", "-c", "trap '' TERM; exec sleep 1000"],
];

/// A close from another thread at a random point, while a writer and a reader are busy or
/// blocked: it returns within its sequence, unblocks both (later calls fail with
/// ConnectionAborted), what was read is a prefix of what the child was given (for `cat`), and
/// the child is reaped with nothing left.
#[test]
fn close_at_a_random_point_returns_with_the_child_reaped() {
    let checked = AtomicUsize::new(0);
    let strategy = (
        0..CHILDREN.len(),
        data_length(),
        any::<u64>(),
        chunk_sizes(),
        chunk_sizes(),
        0.0f64..1.2,
    );
    check(
        160,
        strategy,
        |(child, length, seed, writes, reads, close_at)| {
            let sandbox = Sandbox::new("close-anywhere");
            let _watchdog = Watchdog::arm("stream case", &[&sandbox.tag], CASE_LIMIT);
            let argv = CHILDREN[child];
            let data = seeded_data(length, seed | 1);
            let (stream, pid) = spawn(&sandbox, argv);
            let closer = stream.closer();
            let progress = AtomicUsize::new(0);
            let writer_done = AtomicBool::new(false);
            let target = (data.len() as f64 * close_at) as usize;
            let closed_in = Mutex::new(Duration::ZERO);
            let (written, (got, _)) = thread::scope(|scope| {
                let writer = scope.spawn(|| {
                    let result = write_chunks(&stream, &data, &writes, &progress);
                    writer_done.store(true, Ordering::SeqCst);
                    result
                });
                let reader = scope.spawn(|| read_chunks(&stream, &reads));
                // The close point: `target` bytes written, or the writer done or stalled (a child
                // that does not read).
                let mut last = (0, Instant::now());
                while progress.load(Ordering::SeqCst) < target
                    && !writer_done.load(Ordering::SeqCst)
                {
                    let now = progress.load(Ordering::SeqCst);
                    if now != last.0 {
                        last = (now, Instant::now());
                    } else if last.1.elapsed() > Duration::from_millis(50) {
                        break;
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                let start = Instant::now();
                // Two closes at once, from two threads: both return the one outcome.
                let other = stream.closer();
                let racing = scope.spawn(move || other.close(&quick()));
                let outcome = closer.close(&quick());
                *closed_in.lock().unwrap() = start.elapsed();
                let outcome = outcome.expect("close");
                let raced = racing.join().unwrap().expect("the racing close");
                assert_eq!(outcome.pid, pid as u32);
                assert_eq!(raced.exit, outcome.exit);
                assert_eq!(raced.steps, outcome.steps);
                (writer.join().unwrap(), reader.join().unwrap())
            });
            // wait 0s + stdin 30ms + TERM 30ms + KILL: well within a second, even loaded.
            let closed_in = *closed_in.lock().unwrap();
            prop_assert!(
                closed_in < Duration::from_secs(5),
                "close took {:?}",
                closed_in
            );
            if argv == ["cat"] {
                prop_assert!(got.len() <= written.0, "read more than was written");
                prop_assert!(got == data[..got.len()], "what was read is not a prefix");
                checked.fetch_add(got.len(), Ordering::Relaxed);
            }
            if argv[0] == "head" {
                prop_assert!(got == data[..got.len()], "what was read is not a prefix");
            }
            // After the close, every read and write fails with ConnectionAborted.
            let mut buffer = [0; 16];
            let kind = |result: io::Result<usize>| result.map_err(|error| error.kind());
            prop_assert_eq!(
                kind((&stream).read(&mut buffer)),
                Err(io::ErrorKind::ConnectionAborted)
            );
            prop_assert_eq!(
                kind((&stream).write(b"x")),
                Err(io::ErrorKind::ConnectionAborted)
            );
            // A second close gives the first one's result, at once.
            let again = stream.close(&Config::default()).expect("second close");
            prop_assert_eq!(again.pid, pid as u32);
            assert_reaped(&sandbox, pid);
            Ok(())
        },
    );
    eprintln!(
        "close anywhere: 160 closes, {} bytes read back and checked as a prefix",
        checked.load(Ordering::Relaxed)
    );
}

/// Dropping a stream mid-stream, without closing it and with bytes in flight both ways, runs
/// the default sequence: the child is reaped and nothing is left.
#[test]
fn dropping_a_stream_mid_stream_reaps_the_child() {
    check(24, (0usize..200_000, any::<bool>()), |(length, echo)| {
        let sandbox = Sandbox::new("drop");
        let _watchdog = Watchdog::arm("stream case", &[&sandbox.tag], CASE_LIMIT);
        let argv: &[&str] = if echo {
            &["cat"]
        } else {
            &["sh", "-c", "cat >/dev/null"]
        };
        let (mut stream, pid) = spawn(&sandbox, argv);
        // No more than the pipes hold, unread: the child may be blocked writing its output.
        stream.write_all(&binary_data(length.min(60_000))).unwrap();
        drop(stream);
        assert_reaped(&sandbox, pid);
        Ok(())
    });
}

#[test]
fn dropping_an_unclosed_stream_runs_the_default_sequence_and_reaps_the_child() {
    let sandbox = Sandbox::new("plain-drop");
    let _watchdog = Watchdog::arm("stream case", &[&sandbox.tag], CASE_LIMIT);
    let (mut stream, pid) = spawn(&sandbox, &["sh", "-c", "trap '' TERM; cat"]);
    stream.write_all(b"ping\n").unwrap();
    let mut line = [0; 5];
    stream.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"ping\n");
    let start = Instant::now();
    drop(stream);
    // The stdin step ends cat at once: the drop does not wait out the grace.
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_reaped(&sandbox, pid);
}
