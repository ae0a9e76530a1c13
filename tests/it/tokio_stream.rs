//! The tokio stream (`agentpipe::tokio::Stream`, feature `tokio`): the blocking stream's rules on
//! a runtime, with real children, and what only an async front end has to get right: a close
//! that never blocks the runtime, a cancelled close, a dropped stream, and `tokio::process`
//! children in the same program.

use std::future::Future;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use agentpipe::tokio::Stream;
use agentpipe::{Config, Exit, Signal, StreamOptions, Trace, TraceFormat};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A sequence short enough for tests.
fn config(sequence: &str) -> Config {
    Config::new().sequence(sequence.parse().expect("valid sequence"))
}

/// Runs `test` on a new current-thread runtime (one thread for everything), failing after
/// [`LIMIT`]. The runtime is shut down on return.
fn on_one_thread<F: Future>(test: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime
        .block_on(async { tokio::time::timeout(LIMIT, test).await })
        .unwrap_or_else(|_| panic!("the test did not finish within {LIMIT:?}"))
}

/// `argv` of `sandbox` as a stream, its stderr on /dev/null; its pid.
fn spawn(sandbox: &Sandbox, argv: &[String]) -> (Stream, i32) {
    let mut command = sandbox.command(&argv[0]);
    command.args(&argv[1..]).stderr(Stdio::null());
    let stream = Stream::spawn(&mut command).expect("spawn the stream");
    let pid = stream.pid() as i32;
    (stream, pid)
}

/// Waits, without blocking the runtime, until `pid` is reaped: no process, not even a zombie.
async fn reaped(pid: i32) {
    let path = format!("/proc/{pid}");
    while Path::new(&path).exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits, without blocking the runtime, until `$D/log` holds `line`.
async fn logged(sandbox: &Sandbox, line: &str) {
    while !sandbox.log().iter().any(|logged| logged == line) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn halves_owned_by_two_tasks_pass_exact_bytes_and_shutdown_is_eof() {
    let sandbox = Sandbox::new("tokio-bytes");
    let data = seeded_data(4 << 20, 18);
    let (output, outcome, pid) = on_one_thread(async {
        let (stream, pid) = spawn(&sandbox, &["cat".to_string()]);
        let (mut read, mut write) = stream.into_split();
        let input = data.clone();
        let writer = tokio::spawn(async move {
            write.write_all(&input).await.expect("write everything");
            write.shutdown().await.expect("shutdown");
            let late = write.write(b"late").await;
            (write, late)
        });
        let reader = tokio::spawn(async move {
            let mut output = Vec::new();
            read.read_to_end(&mut output).await.expect("read to EOF");
            (read, output)
        });
        let (write, late) = writer.await.unwrap();
        let error = late.expect_err("a write after shutdown fails");
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
        let (read, output) = reader.await.unwrap();
        let stream = read.reunite(write).expect("halves of one stream");
        (
            output,
            stream.close(&config("stdin 1s, TERM 1s, KILL")).await,
            pid,
        )
    });
    assert!(
        output == data,
        "{} bytes back of {}",
        output.len(),
        data.len()
    );
    let outcome = outcome.expect("close");
    assert_eq!(
        outcome.exit,
        Exit::Code(0),
        "cat ends at the EOF of shutdown"
    );
    assert_eq!(
        outcome.steps.len(),
        1,
        "no step beyond the first: {outcome:?}"
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "{pid} not reaped"
    );
}

#[test]
fn halves_of_two_streams_do_not_reunite() {
    let sandbox = Sandbox::new("tokio-reunite");
    on_one_thread(async {
        let (first, _) = spawn(&sandbox, &["cat".to_string()]);
        let (second, _) = spawn(&sandbox, &["cat".to_string()]);
        let (read, _) = first.into_split();
        let (_, write) = second.into_split();
        let agentpipe::tokio::ReuniteError(read, write) =
            read.reunite(write).expect_err("two streams");
        assert_ne!(read.pid(), write.pid());
    });
    wait_until("both children to end", LIMIT, || {
        sandbox.live_processes().is_empty().then_some(())
    });
}

#[test]
fn an_eof_ignoring_child_gets_the_stop_signal_after_the_stdin_step() {
    let sandbox = Sandbox::new("tokio-eof");
    let (outcome, elapsed, pid) = on_one_thread(async {
        let (stream, pid) = spawn(&sandbox, &eof_logger(EXIT_ON_TERM));
        sandbox.wait_pid("child");
        let start = Instant::now();
        let outcome = stream.close(&config("stdin 300ms, TERM 2s, KILL")).await;
        (outcome.expect("close"), start.elapsed(), pid)
    });
    assert_eq!(outcome.exit, Exit::Code(7), "the TERM trap's exit");
    assert_eq!(sandbox.log(), ["EOF", "TERM"]);
    assert_due(elapsed, 0.3, "TERM after the stdin step's wait");
    assert!(!outcome.killed);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "{pid} not reaped"
    );
}

#[test]
fn a_term_ignoring_child_is_killed_while_the_one_thread_runs_other_tasks() {
    let sandbox = Sandbox::new("tokio-term");
    let ticks = Arc::new(AtomicUsize::new(0));
    let (outcome, elapsed) = on_one_thread(async {
        let (stream, _) = spawn(&sandbox, &eof_logger(IGNORE_TERM));
        let ticker = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        sandbox.wait_pid("child"); // blocks the thread, before the close only
        let start = Instant::now();
        let outcome = stream.close(&config("stdin 200ms, TERM 600ms, KILL")).await;
        let elapsed = start.elapsed();
        ticker.abort();
        (outcome.expect("close"), elapsed)
    });
    assert_eq!(outcome.exit, Exit::Signal(Signal::KILL));
    assert!(outcome.killed, "the KILL step was taken");
    assert_eq!(sandbox.log(), ["EOF", "TERM"]);
    assert_due(elapsed, 0.8, "KILL after both waits");
    // 80 ticks are due in 0.8 s; a close that blocked the thread would leave none.
    let ticks = ticks.load(Ordering::SeqCst);
    assert!(
        ticks >= 20,
        "only {ticks} ticks of 10 ms during {elapsed:?} of close"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn a_grandchild_holding_the_pipe_is_ended_with_the_group() {
    let sandbox = Sandbox::new("tokio-grandchild");
    let script = sh(&format!(
        "{}\npidfile child\ncat >/dev/null\nexit 0",
        background("trap \"log GTERM; exit 0\" TERM; spin")
    ));
    let (outcome, elapsed, grandchild) = on_one_thread(async {
        let (stream, _) = spawn(&sandbox, &script);
        let grandchild = sandbox.wait_pid("grandchild");
        sandbox.wait_pid("child");
        let start = Instant::now();
        let outcome = stream.close(&config("stdin 2s, TERM 2s, KILL")).await;
        (outcome.expect("close"), start.elapsed(), grandchild)
    });
    assert_eq!(outcome.exit, Exit::Code(0), "the child ended at EOF");
    // The grandchild, and the sleeps of its loop.
    assert!(
        outcome.leftovers.contains(&(grandchild as u32)),
        "{outcome:?}"
    );
    assert_eq!(
        sandbox.log(),
        ["GTERM"],
        "the grandchild got the stop signal"
    );
    assert_within(elapsed, 0.0, 1.5, "a close that waits for no grace");
    sandbox.assert_gone(&[grandchild]);
    sandbox.assert_nothing_left();
}

#[test]
fn a_flood_of_output_during_the_close_is_drained_and_the_close_ends() {
    let sandbox = Sandbox::new("tokio-flood");
    let script = sh("pidfile child\nexec yes flood");
    let (outcome, before) = on_one_thread(async {
        let (mut stream, _) = spawn(&sandbox, &script);
        let mut before = vec![0; 1 << 20];
        stream
            .read_exact(&mut before)
            .await
            .expect("a mebibyte of it");
        let outcome = stream.close(&config("stdin 200ms, TERM 2s, KILL")).await;
        (outcome.expect("close"), before)
    });
    assert!(before.chunks(6).all(|line| b"flood\n".starts_with(line)));
    assert_eq!(outcome.exit, Exit::Signal(Signal::TERM));
    assert!(
        outcome.from_child.discarded > 1 << 20,
        "the output went on during the close: {:?}",
        outcome.from_child
    );
    sandbox.assert_nothing_left();
}

#[test]
fn the_options_stderr_tail_and_trace_are_the_blocking_streams() {
    let sandbox = Sandbox::new("tokio-options");
    let path = sandbox.path("trace.jsonl");
    let trace = Trace::create(&path).unwrap().format(TraceFormat::JsonLines);
    let options = StreamOptions::new().stderr_tail(64).trace(trace);
    let script = sh("read line; echo \"got $line\"; echo 'no such model' >&2; cat >/dev/null");
    let outcome = on_one_thread(async {
        let mut command = sandbox.command(&script[0]);
        command.args(&script[1..]);
        let mut stream = Stream::spawn_with(&mut command, options).expect("spawn");
        stream.write_all(b"hello\n").await.expect("write");
        let mut answer = [0; 10];
        stream.read_exact(&mut answer).await.expect("read");
        assert_eq!(&answer, b"got hello\n");
        stream.close(&Config::default()).await.expect("close")
    });
    assert_eq!(outcome.exit, Exit::Code(0));
    assert_eq!(outcome.stderr_tail, b"no such model\n");
    let trace = std::fs::read_to_string(&path).expect("the trace");
    for record in [
        r#""dir":"to_child","len":6,"text":"hello\n""#,
        r#""dir":"from_child","len":10,"text":"got hello\n""#,
        r#""event":"child_exited""#,
    ] {
        assert!(
            trace.contains(record),
            "{record} not in the trace:\n{trace}"
        );
    }
}

#[test]
fn a_protocol_traces_messages_and_names_the_unanswered_request() {
    let sandbox = Sandbox::new("tokio-protocol");
    let path = sandbox.path("trace.jsonl");
    let trace = Trace::create(&path).unwrap().format(TraceFormat::JsonLines);
    let options = StreamOptions::new()
        .protocol(agentpipe::Protocol::Mcp)
        .trace(trace);
    // Answers the first request only.
    let script = sh(r#"read line; echo '{"jsonrpc":"2.0","id":1,"result":{}}'; cat >/dev/null"#);
    let outcome = on_one_thread(async {
        let mut command = sandbox.command(&script[0]);
        command.args(&script[1..]);
        let mut stream = Stream::spawn_with(&mut command, options).expect("spawn");
        let requests = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\
                        {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\"}\n";
        stream.write_all(requests.as_bytes()).await.expect("write");
        let mut answer = vec![0; 37];
        stream.read_exact(&mut answer).await.expect("read");
        stream.close(&Config::default()).await.expect("close")
    });
    assert_eq!(outcome.unanswered.len(), 1, "{:?}", outcome.unanswered);
    assert_eq!(outcome.unanswered[0].id, "2");
    let trace = std::fs::read_to_string(&path).expect("the trace");
    assert!(
        trace.contains(
            r#""event":"message","dir":"from_child","kind":"response","id":1,"method":"ping""#
        ),
        "{trace}"
    );
    assert!(!trace.contains(r#""event":"data""#), "{trace}");
}

#[test]
fn idle_and_response_timeouts_are_refused_and_start_nothing() {
    let sandbox = Sandbox::new("tokio-idle");
    let script = sh("pidfile child\nexec sleep 30");
    on_one_thread(async {
        let mut command = sandbox.command(&script[0]);
        command.args(&script[1..]);
        let options = StreamOptions::new().idle_timeout(Duration::from_secs(1));
        let error = Stream::spawn_with(&mut command, options).expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::Unsupported, "{error}");
        // A response timeout needs the same watchdog thread.
        let options = StreamOptions::new()
            .protocol(agentpipe::Protocol::Mcp)
            .response_timeout(Duration::from_secs(1));
        let error = Stream::spawn_with(&mut command, options).expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::Unsupported, "{error}");
        assert!(error.to_string().contains("response"), "{error}");
    });
    assert!(!sandbox.path("child.pid").exists(), "a child was started");
}

#[test]
fn a_missing_program_is_not_found() {
    on_one_thread(async {
        let error = Stream::spawn(&mut Command::new("/nonexistent/agentpipe-no-such-program"))
            .expect_err("no such program");
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
    });
}

#[test]
fn outside_a_runtime_spawn_fails_and_starts_nothing() {
    let sandbox = Sandbox::new("tokio-no-runtime");
    let script = sh("pidfile child\nexec sleep 30");
    let mut command = sandbox.command(&script[0]);
    command.args(&script[1..]);
    let error = Stream::spawn(&mut command).expect_err("no runtime");
    assert!(error.to_string().contains("runtime"), "{error}");
    assert!(!sandbox.path("child.pid").exists(), "a child was started");
}

#[test]
fn a_hundred_streams_on_one_thread() {
    let sandbox = Sandbox::new("tokio-hundred");
    let outcomes = on_one_thread(async {
        let mut tasks = Vec::new();
        for index in 0..100 {
            let (mut stream, pid) = spawn(&sandbox, &["cat".to_string()]);
            tasks.push(tokio::spawn(async move {
                let line = format!("stream {index}\n");
                stream.write_all(line.as_bytes()).await.expect("write");
                stream.shutdown().await.expect("shutdown");
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await.expect("read");
                assert_eq!(answer, line);
                (pid, stream.close(&config("stdin 2s, TERM 2s, KILL")).await)
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("a stream's task"));
        }
        outcomes
    });
    for (pid, outcome) in outcomes {
        assert_eq!(outcome.expect("close").exit, Exit::Code(0));
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} not reaped"
        );
    }
    sandbox.assert_nothing_left();
}

#[test]
fn a_cancelled_close_goes_on_to_the_end_of_its_sequence() {
    let sandbox = Sandbox::new("tokio-cancel");
    let (pid, cancelled_at) = on_one_thread(async {
        let (stream, pid) = spawn(&sandbox, &eof_logger(IGNORE_TERM));
        sandbox.wait_pid("child");
        let close = stream.close(&config("stdin 400ms, TERM 400ms, KILL"));
        let start = Instant::now();
        tokio::time::timeout(Duration::from_millis(50), close)
            .await
            .expect_err("the close is cancelled before its end");
        assert!(sandbox.live(pid), "the child is still in its sequence");
        (pid, start)
    });
    // The runtime is gone: a thread finishes the sequence, its TERM then its KILL.
    sandbox.wait_gone(pid, LIMIT);
    let gone = cancelled_at.elapsed();
    assert_eq!(sandbox.log(), ["EOF", "TERM"], "the sequence went on");
    assert_due(gone, 0.8, "the end of the cancelled sequence");
    wait_until("the child to be reaped", LIMIT, || {
        (!Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
}

#[test]
fn a_dropped_stream_returns_at_once_and_its_child_gets_the_default_sequence() {
    let sandbox = Sandbox::new("tokio-drop");
    let (dropping, gone) = on_one_thread(async {
        let (stream, pid) = spawn(&sandbox, &eof_logger(IGNORE_TERM));
        sandbox.wait_pid("child");
        let start = Instant::now();
        drop(stream);
        let dropping = start.elapsed();
        // The default sequence runs as a task of this runtime: EOF at once, TERM after 1 s,
        // KILL after 2 s.
        logged(&sandbox, "EOF").await;
        reaped(pid).await;
        (dropping, start.elapsed())
    });
    assert!(
        dropping < Duration::from_millis(500),
        "drop took {dropping:?}"
    );
    assert_eq!(sandbox.log(), ["EOF", "TERM"]);
    assert_due(gone, 2.0, "KILL of the default sequence");
}

#[test]
fn a_stream_dropped_as_its_runtime_shuts_down_is_ended_by_a_thread() {
    let sandbox = Sandbox::new("tokio-drop-shutdown");
    let start = Instant::now();
    let pid = on_one_thread(async {
        let (stream, pid) = spawn(&sandbox, &eof_logger(IGNORE_TERM));
        sandbox.wait_pid("child");
        // Dropped with the runtime: its background task is dropped at once, unfinished.
        tokio::spawn(async move {
            let _stream = stream;
            std::future::pending::<()>().await
        });
        pid
    });
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the shutdown waited"
    );
    sandbox.wait_gone(pid, LIMIT);
    assert_eq!(sandbox.log(), ["EOF", "TERM"]);
    assert_due(start.elapsed(), 2.0, "KILL of the default sequence");
}

#[test]
fn a_tokio_process_child_and_a_stream_are_each_reaped_by_their_owner() {
    let sandbox = Sandbox::new("tokio-beside");
    let (theirs, ours) = on_one_thread(async {
        // Theirs exits while our close runs, and another of theirs after it.
        let mut early = tokio::process::Command::new("sh")
            .args(["-c", "sleep 0.2; exit 3"])
            .spawn()
            .expect("a tokio child");
        let mut late = tokio::process::Command::new("sh")
            .args(["-c", "sleep 0.6; exit 4"])
            .spawn()
            .expect("a tokio child");
        let script = sh("pidfile child\ncat >/dev/null\nsleep 0.4\nexit 5");
        let (stream, _) = spawn(&sandbox, &script);
        let (early, ours, late) = tokio::join!(
            early.wait(),
            stream.close(&config("stdin 3s, TERM 3s, KILL")),
            late.wait()
        );
        let code = |status: std::io::Result<std::process::ExitStatus>| {
            status.expect("tokio reaped its own child").code()
        };
        ([code(early), code(late)], ours.expect("close").exit)
    });
    assert_eq!(theirs, [Some(3), Some(4)]);
    assert_eq!(ours, Exit::Code(5));
    sandbox.assert_nothing_left();
}
