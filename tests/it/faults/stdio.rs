//! Unusual stdio: a child that closes and reopens its stdout, a terminal as stdin (and stdout),
//! one socket as both stdin and stdout.

use super::*;

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
    assert_eq!(report.at("trigger"), &Value::Null, "{report}");
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
