//! Both ends going away mid-stream (the output's reader, the input's writer) and the child
//! killed mid-write.

use super::*;

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
            report.at("trigger").str() == "downstream-closed",
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
        report.at("trigger").str() == "downstream-closed",
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
    assert_eq!(
        report.at("bytes.to_child.relayed").number(),
        done.stdout.len() as f64,
        "{report}"
    );
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
