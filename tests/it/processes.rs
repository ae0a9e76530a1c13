//! Processes and signals: process groups, scopes, leftovers, what the child inherits, which
//! signals are forwarded, job control and the parent-death signal.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use crate::common::*;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Children whose grandchild traps TERM, logging `gc-TERM`, its stdout on /dev/null.
const GRANDCHILD_EXITS_ON_TERM: &str = "exec >/dev/null\ntrap \"log gc-TERM; exit 0\" TERM\nspin";

#[test]
fn the_child_has_its_own_process_group_and_ctrl_c_reaches_only_agentpipe() {
    let sandbox = Sandbox::new("own-group");
    let mut command = sandbox.agentpipe(
        &["--grace", "200ms"],
        eof_logger(&format!("{EXIT_ON_TERM}\ntrap 'log INT' INT")),
    );
    command.process_group(0);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    let child_group = stat(child).unwrap().pgrp;
    assert_eq!(child_group, child, "the child leads its own group");
    assert_eq!(stat(run.pid()).unwrap().pgrp, run.pid());
    // Ctrl-C on a terminal: SIGINT to agentpipe's (foreground) process group.
    killpg(Pid::from_raw(run.pid()), Signal::SIGINT).unwrap();
    let done = run.finish();
    done.assert_signal(Signal::SIGINT);
    assert_eq!(
        run.sandbox.log(),
        ["EOF", "TERM"],
        "the child got no SIGINT"
    );
}

#[test]
fn foreground_keeps_the_child_in_agentpipes_group_where_it_gets_ctrl_c() {
    let sandbox = Sandbox::new("foreground");
    let mut command = sandbox.agentpipe(
        &["--foreground"],
        sh("trap 'log INT; sleep 0.3; exit 0' INT\npidfile child\nspin"),
    );
    command.process_group(0);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    assert_eq!(
        stat(child).unwrap().pgrp,
        run.pid(),
        "the child is in agentpipe's group"
    );
    killpg(Pid::from_raw(run.pid()), Signal::SIGINT).unwrap();
    let done = run.finish();
    // agentpipe got the SIGINT too, before the child exited.
    done.assert_signal(Signal::SIGINT);
    assert_eq!(run.sandbox.log(), ["INT"]);
}

/// A child that traps TERM (logs `child-TERM`, exits 3) with a grandchild in its group that
/// traps TERM too (`gc-TERM`); both ignore EOF.
fn child_and_grandchild(name: &str, options: &[&str]) -> (Run, Finished, i32) {
    let mut run = Run::agentpipe(
        name,
        options,
        sh(&format!(
            "trap 'log child-TERM; exit 3' TERM\n{}\npidfile child\nspin",
            background(GRANDCHILD_EXITS_ON_TERM)
        )),
    );
    run.sandbox.wait_pid("child");
    let grandchild = run.sandbox.wait_pid("grandchild");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(3);
    (run, done, grandchild)
}

#[test]
fn scope_group_signals_reach_the_whole_group_and_nothing_is_left() {
    let (run, _done, grandchild) = child_and_grandchild("scope-group", &["--grace", "200ms"]);
    let mut log = run.sandbox.log();
    log.sort();
    assert_eq!(log, ["child-TERM", "gc-TERM"]);
    run.sandbox.assert_gone(&[grandchild]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn scope_child_signals_reach_the_child_alone() {
    let (run, _done, grandchild) =
        child_and_grandchild("scope-child", &["--grace", "200ms", "--scope", "child"]);
    assert_eq!(run.sandbox.log(), ["child-TERM"]);
    assert!(
        run.sandbox.live(grandchild),
        "the grandchild is out of scope"
    );
}

#[test]
fn foreground_implies_scope_child() {
    let (run, _done, grandchild) =
        child_and_grandchild("foreground-scope", &["--grace", "200ms", "--foreground"]);
    assert_eq!(run.sandbox.log(), ["child-TERM"]);
    assert!(
        run.sandbox.live(grandchild),
        "the grandchild is out of scope"
    );
}

#[test]
fn processes_left_in_the_group_get_the_stop_signal_then_sigkill_after_term_grace() {
    // The grandchild ignores TERM and holds the child's stdout.
    let mut run = Run::agentpipe(
        "leftovers",
        &["--term-grace", "500ms", "--drain", "20s"],
        sh(&format!(
            "{}\necho child done\nexit 4",
            background("trap \"log gc-TERM\" TERM\nspin")
        )),
    );
    let grandchild = run.sandbox.wait_pid("grandchild");
    let done = run.finish();
    done.assert_code(4);
    assert_eq!(done.stdout, b"child done\n");
    assert_within(done.elapsed(), 0.5, 2.5, "exit after --term-grace");
    assert_eq!(run.sandbox.log(), ["gc-TERM"]);
    run.sandbox.assert_gone(&[grandchild]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn a_stopped_leftover_gets_sigcont_with_the_stop_signal() {
    let mut run = Run::agentpipe(
        "stopped-leftover",
        &["--term-grace", "20s"],
        sh("pidfile child\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\nexit 4"),
    );
    let child = run.sandbox.wait_pid("child");
    // A stopped process left in the child's group. Its parent is this test, so the group does
    // not become orphaned when the child exits (the kernel would then send it SIGHUP and
    // SIGCONT itself).
    let mut leftover = run.sandbox.command("sh");
    leftover
        .args(["-c", ". \"$D/prelude\"\ntrap 'log leftover-TERM; exit 0' TERM\npidfile leftover\nkill -STOP $$\nspin"])
        .process_group(child)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut leftover = leftover.spawn().unwrap();
    let pid = run.sandbox.wait_pid("leftover");
    wait_state(pid, "stopped", |state| state == 'T');
    File::create(run.sandbox.path("go")).unwrap();
    let go = Instant::now();
    let done = run.finish();
    done.assert_code(4);
    // TERM alone would stay pending in the stopped process until SIGKILL, 20 s later.
    assert_within(
        done.since(go),
        0.0,
        2.0,
        "exit once the leftover acted on TERM",
    );
    assert_eq!(run.sandbox.log(), ["leftover-TERM"]);
    let status = leftover.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the leftover's trap ended it");
}

#[test]
fn a_grandchild_holding_stdout_open_is_ended_with_the_group() {
    let mut run = Run::agentpipe(
        "grandchild-holds-stdout",
        &["--drain", "20s"],
        sh("sleep 30 &\necho $! > \"$D/grandchild.pid\"\necho bye\nexit 0"),
    );
    let grandchild = run.sandbox.wait_pid("grandchild");
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout, b"bye\n");
    // Neither the grandchild's 30 s nor the 20 s drain.
    assert_within(done.elapsed(), 0.0, 2.0, "exit");
    run.sandbox.assert_gone(&[grandchild]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn a_term_ignoring_shell_whose_background_child_holds_the_pipes_is_killed() {
    let mut run = Run::agentpipe(
        "term-ignoring-shell",
        &["--grace", "200ms", "--term-grace", "300ms"],
        sh("trap '' TERM\nsleep 30 &\necho $! > \"$D/grandchild.pid\"\npidfile child\nwait"),
    );
    let child = run.sandbox.wait_pid("child");
    let grandchild = run.sandbox.wait_pid("grandchild");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    assert_due(done.since(eof), 0.5, "SIGKILL after grace and term grace");
    run.sandbox.assert_gone(&[child, grandchild]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn the_child_starts_with_an_empty_mask_default_sigpipe_and_the_parents_ignored_signals() {
    let sandbox = Sandbox::new("signal-state");
    let mut command = sandbox.agentpipe(&[], ["cat", "/proc/self/status"]);
    ignore_signals(
        &mut command,
        &[
            Signal::SIGUSR1,
            Signal::SIGHUP,
            Signal::SIGINT,
            Signal::SIGPIPE,
        ],
    );
    block_signals(
        &mut command,
        &[Signal::SIGUSR2, Signal::SIGALRM, Signal::SIGTERM],
    );
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    let status = done.stdout_text();
    assert_eq!(
        signal_mask(&status, "SigBlk"),
        0,
        "blocked signals in:\n{status}"
    );
    let ignored = signal_mask(&status, "SigIgn");
    // What this test process ignores is ignored in agentpipe's parent too.
    let ours = signal_mask(&fs::read_to_string("/proc/self/status").unwrap(), "SigIgn");
    let expected =
        (ours | mask_bit(Signal::SIGUSR1) | mask_bit(Signal::SIGHUP) | mask_bit(Signal::SIGINT))
            & !mask_bit(Signal::SIGPIPE);
    assert_eq!(
        ignored, expected,
        "SigIgn {ignored:#x}: expected {expected:#x}, the signals ignored by agentpipe's parent \
         (USR1, HUP, INT...) and SIGPIPE at its default"
    );
}

#[test]
fn a_signal_ignored_at_start_is_no_trigger() {
    let sandbox = Sandbox::new("ignored-hup");
    // The child echoes its stdin through a background cat, so that its USR2 trap runs at once.
    let mut command = sandbox.agentpipe(
        &[],
        sh(
            "trap 'log USR2' USR2\npidfile child\nexec 3<&0\ncat <&3 &\nexec 3<&-\n\
            while ! wait; do :; done\nlog EOF\nexit 5",
        ),
    );
    ignore_signals(&mut command, &[Signal::SIGHUP]);
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGHUP);
    // USR2 is forwarded after agentpipe has seen the HUP (signals are taken in number order).
    run.signal(Signal::SIGUSR2);
    run.sandbox.wait_log("USR2");
    // Had the HUP started the sequence, the child's stdin would be closed by now.
    run.write(b"ping\n");
    run.wait_stdout("ping\n");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(5);
    assert_eq!(run.sandbox.log(), ["USR2", "EOF"]);
}

#[test]
fn usr1_usr2_winch_and_quit_are_forwarded_to_the_child_only() {
    let names = ["USR1", "USR2", "WINCH", "QUIT"];
    let traps = |who: &str, quote: char| -> String {
        names
            .iter()
            .map(|name| format!("trap {quote}log {who}-{name}{quote} {name}\n"))
            .collect()
    };
    let mut run = Run::agentpipe(
        "forwarded",
        &["--grace", "200ms"],
        sh(&format!(
            "{}trap 'log child-TERM; exit 0' TERM\n{}\npidfile child\nspin",
            traps("child", '\''),
            background(&format!("{}{GRANDCHILD_EXITS_ON_TERM}", traps("gc", '"')))
        )),
    );
    run.sandbox.wait_pid("child");
    run.sandbox.wait_pid("grandchild");
    for (signal, name) in [
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGQUIT,
    ]
    .into_iter()
    .zip(names)
    {
        run.signal(signal);
        run.sandbox.wait_log(&format!("child-{name}"));
    }
    assert!(
        run.try_status().is_none(),
        "a forwarded signal ended agentpipe"
    );
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    // None of them started the sequence: TERM came a grace after EOF.
    assert_due(done.since(eof), 0.2, "TERM after EOF");
    let log = run.sandbox.log();
    let grandchild: Vec<&String> = log.iter().filter(|line| line.starts_with("gc-")).collect();
    assert_eq!(
        grandchild,
        ["gc-TERM"],
        "the grandchild got forwarded signals: {log:?}"
    );
    let child: Vec<&String> = log
        .iter()
        .filter(|line| line.starts_with("child-"))
        .collect();
    assert_eq!(
        child,
        [
            "child-USR1",
            "child-USR2",
            "child-WINCH",
            "child-QUIT",
            "child-TERM"
        ]
    );
}

#[test]
fn ctrl_z_suspends_the_childs_group_and_agentpipe_and_sigcont_resumes_both() {
    let mut run = Run::agentpipe("ctrl-z", &[], sh("pidfile child\nexec cat"));
    let child = run.sandbox.wait_pid("child");
    run.write(b"before\n");
    run.wait_stdout("before\n");
    run.signal(Signal::SIGTSTP);
    wait_state(run.pid(), "stopped", |state| state == 'T');
    wait_state(child, "stopped", |state| state == 'T');
    // `fg`: SIGCONT to agentpipe's group, which does not hold the child.
    run.signal(Signal::SIGCONT);
    wait_state(run.pid(), "running", |state| state != 'T');
    wait_state(child, "running", |state| state != 'T');
    run.write(b"after\n");
    run.wait_stdout("before\nafter\n");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
}

#[test]
fn a_child_stopped_by_sigttin_gets_a_one_line_message_suggesting_foreground() {
    let sandbox = Sandbox::new("sigttin");
    let (_master, slave) = open_pty();
    let mut command = sandbox.agentpipe(
        &["--grace", "100ms"],
        sh("pidfile child\nread line < /dev/tty\necho \"got $line\""),
    );
    controlling_tty(&mut command, &slave);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    wait_state(child, "stopped", |state| state == 'T');
    run.wait_stderr("--foreground");
    let message: Vec<String> = run
        .stderr_text()
        .lines()
        .filter(|line| line.contains("--foreground"))
        .map(str::to_string)
        .collect();
    assert_eq!(message.len(), 1, "{message:?}");
    assert!(message[0].starts_with("agentpipe"), "{message:?}");
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_signal(Signal::SIGTERM);
}

#[test]
fn a_foreground_child_can_read_the_terminal() {
    let sandbox = Sandbox::new("foreground-tty");
    let (mut master, slave) = open_pty();
    let mut command = sandbox.agentpipe(
        &["--foreground"],
        sh("read line < /dev/tty\necho \"got $line\""),
    );
    controlling_tty(&mut command, &slave);
    let mut run = Run::start(sandbox, command);
    master.write_all(b"typed\n").unwrap();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout, b"got typed\n");
}

#[test]
fn killing_agentpipe_kills_the_child_through_the_parent_death_signal() {
    let run = Run::agentpipe(
        "pdeathsig",
        &[],
        sh(&format!(
            "trap '' TERM INT HUP\n{}\npidfile child\nspin",
            background("while :; do echo tick; sleep 0.02; done")
        )),
    );
    let child = run.sandbox.wait_pid("child");
    let grandchild = run.sandbox.wait_pid("grandchild");
    run.wait_stdout("tick");
    run.signal(Signal::SIGKILL);
    run.sandbox.wait_gone(child, Duration::from_secs(3));
    // The grandchild writing to the child's stdout gets EPIPE (SIGPIPE) once nobody reads it.
    run.sandbox.wait_gone(grandchild, Duration::from_secs(3));
}

#[test]
fn the_child_inherits_exactly_agentpipes_inherited_descriptors() {
    let sandbox = Sandbox::new("descriptors");
    let extra = File::create(sandbox.path("fd5")).unwrap();
    let mut command = sandbox.agentpipe(&["--grace", "100ms"], sh("pidfile child\nexec sleep 30"));
    pass_fd(&mut command, OwnedFd::from(extra), 5);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    // Once in its nanosleep, the dynamic loader and locale set-up have closed what they opened.
    wait_until("the child to sleep", LIMIT, || {
        let wchan = fs::read_to_string(format!("/proc/{child}/wchan")).ok()?;
        wchan.contains("nanosleep").then_some(())
    });
    let mut fds: Vec<i32> = fs::read_dir(format!("/proc/{child}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort();
    // agentpipe inherited 0, 1, 2, 5, and whatever this test process inherited itself.
    let mut expected = vec![0, 1, 2, 5];
    expected.extend(inherited_fds().into_iter().filter(|&fd| fd > 2 && fd != 5));
    expected.sort();
    expected.dedup();
    let target = |pid: i32, fd: i32| {
        fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .unwrap_or_else(|error| error.to_string().into())
    };
    let described: Vec<String> = fds
        .iter()
        .map(|&fd| format!("{fd} -> {}", target(child, fd).display()))
        .collect();
    assert_eq!(fds, expected, "the child's descriptors: {described:?}");
    assert_eq!(target(child, 5), run.sandbox.path("fd5"));
    assert_eq!(
        target(child, 2),
        target(run.pid(), 2),
        "stderr is agentpipe's"
    );
    for fd in [0, 1] {
        let pipe = target(child, fd);
        assert!(
            pipe.to_string_lossy().starts_with("pipe:"),
            "fd {fd}: {pipe:?}"
        );
    }
    run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGTERM);
}

#[test]
fn scope_tree_ends_descendants_that_left_the_group() {
    let mut run = Run::agentpipe(
        "scope-tree",
        &["--scope", "tree"],
        sh(
            "setsid sh -c '. \"$D/prelude\"\nexec >/dev/null\necho $$ > \"$D/grandchild.pid\"\n\
            trap \"log gc-TERM; exit 0\" TERM\nspin' 2>/dev/null &\n\
            while [ ! -s \"$D/grandchild.pid\" ]; do sleep 0.01; done\nexit 0",
        ),
    );
    let done = run.finish();
    done.assert_code(0);
    let grandchild = run.sandbox.wait_pid("grandchild");
    assert_eq!(run.sandbox.log(), ["gc-TERM"]);
    run.sandbox.assert_gone(&[grandchild]);
}
