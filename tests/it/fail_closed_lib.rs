//! Failing closed in the library: every exit recognised (a real-time signal, an exit another
//! part of the program collected), and a drop that leaves no child behind a hidden handle.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::common::*;
use agentpipe::{Config, Exit, Stream, StreamOptions};

/// Runs `work` on another thread and fails the test if it does not return within [`LIMIT`].
fn within<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("{what} did not return within {LIMIT:?}"))
}

fn spawn(mut command: Command, options: StreamOptions) -> (Stream, i32) {
    command.stderr(Stdio::null());
    let stream = Stream::spawn_with(&mut command, options).expect("spawn the stream");
    let pid = stream.id().expect("a pid") as i32;
    (stream, pid)
}

fn short() -> Config {
    Config::new().sequence("stdin 1s, TERM 1s, KILL".parse().expect("valid"))
}

#[test]
fn close_recognises_a_child_killed_by_a_real_time_signal() {
    let sandbox = Sandbox::new("lib-rt");
    let mut command = sandbox.command("sh");
    command.args(["-c", "kill -34 $$"]);
    let (stream, pid) = spawn(command, StreamOptions::new());
    wait_state(pid, "a zombie", |state| state == 'Z');
    let outcome = within("close", move || stream.close(&short())).expect("close");
    let signal = agentpipe::Signal::from_number(34).expect("a real-time signal");
    assert_eq!(outcome.exit, Exit::Signal(signal));
    assert!(stat(pid).is_none(), "the child was reaped");
}

#[test]
fn close_ends_when_the_host_collected_the_childs_exit_itself() {
    let sandbox = Sandbox::new("lib-reaped");
    let (stream, pid) = spawn(sandbox.command("true"), StreamOptions::new());
    wait_state(pid, "a zombie", |state| state == 'Z');
    // What a host's SIGCHLD handler calling waitpid(-1, WNOHANG) does.
    let pid_t = nix::unistd::Pid::from_raw(pid);
    nix::sys::wait::waitpid(pid_t, None).expect("the test collects the exit");
    let outcome = within("close", move || stream.close(&short())).expect("close");
    assert_eq!(outcome.exit, Exit::Unknown);
}

#[test]
fn dropping_a_stream_an_idle_timeout_is_closing_waits_until_the_child_is_gone() {
    let sandbox = Sandbox::new("lib-drop-idle");
    let mut command = sandbox.command("sh");
    let script = "trap '' TERM; pidfile child; cat >/dev/null; log eof; exec sleep 30";
    command.args(["-c", &format!(". \"$D/prelude\"\n{script}")]);
    let options = StreamOptions::new().idle_timeout(Duration::from_millis(100));
    let (stream, _) = spawn(command, options);
    let child = sandbox.wait_pid("child");
    // The idle timeout's close has closed the child's stdin: it is under way.
    sandbox.wait_log("eof");
    within("drop", move || drop(stream));
    assert!(
        !sandbox.live(child),
        "the TERM-ignoring child outlived the dropped stream"
    );
}
