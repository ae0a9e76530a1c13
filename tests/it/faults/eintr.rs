//! EINTR everywhere: signals during every blocking call, in the binary and in the library.

use super::*;

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
    // Written whole: a report cut short is no JSON, and Report::read fails on it.
    let report = read_report(&run.sandbox);
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
