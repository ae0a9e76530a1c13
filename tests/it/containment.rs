//! Containment: no process outlives agentpipe, signals reach exactly the processes they should,
//! the child starts clean, job control works, and PID 1 duties are done.
//!
//! Every test uses real processes and checks by pid that nothing is left running. Descendants
//! write their pids to `$D/NAME.pid`; the tests synchronise on those files, on log lines written
//! by the processes' traps, on agentpipe's output and on process states read from /proc.
#![cfg(target_os = "linux")]

use std::fs::{self, File};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use crate::common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

/// Writes `$D/NAME.sh`: [`PRELUDE`] then `body`, for `sh "$D/NAME.sh"` in a child's script (the
/// descendants that setsid, double-fork or get orphaned need the prelude's functions too).
fn script(sandbox: &Sandbox, name: &str, body: &str) {
    fs::write(
        sandbox.path(&format!("{name}.sh")),
        format!("{PRELUDE}\n{body}\n"),
    )
    .expect("write a helper script");
}

/// Field NUMBER (as proc(5) numbers them, from 1) of `/proc/PID/stat`.
fn stat_field(pid: i32, number: usize) -> Option<i64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 (state).
    rest.split_whitespace().nth(number - 3)?.parse().ok()
}

fn session(pid: i32) -> i32 {
    stat_field(pid, 6).unwrap_or_else(|| panic!("pid {pid} has no session: gone")) as i32
}

/// One process for good: a pid and its start time, so that a recycled pid is not mistaken for it.
#[derive(Clone, Copy, Debug)]
struct Process {
    pid: i32,
    start: i64,
}

impl Process {
    fn of(pid: i32) -> Process {
        let start = stat_field(pid, 22).unwrap_or_else(|| panic!("pid {pid} is already gone"));
        Process { pid, start }
    }

    /// Whether this process still has an entry in /proc, running or as a zombie.
    fn exists(&self) -> bool {
        stat_field(self.pid, 22) == Some(self.start)
    }

    fn state(&self) -> Option<char> {
        stat(self.pid)
            .filter(|_| self.exists())
            .map(|stat| stat.state)
    }

    /// Waits until somebody reaped it (no zombie left either).
    fn wait_reaped(&self, what: &str) {
        wait_until(
            &format!("{what} (pid {}) to be reaped", self.pid),
            LIMIT,
            || (!self.exists()).then_some(()),
        );
    }
}

/// Waits until `pid`'s parent is `parent` (an orphan adopted by its subreaper or by PID 1).
fn wait_parent(pid: i32, parent: i32, what: &str) {
    wait_until(
        &format!("{what} (pid {pid}) to be adopted by pid {parent}"),
        LIMIT,
        || (stat(pid)?.ppid == parent).then_some(()),
    );
}

/// The processes whose parent is `parent`.
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|stat| stat.ppid == parent))
        .collect()
}

/// Waits for `parent` to have exactly one child, and returns it.
fn only_child(parent: i32) -> i32 {
    wait_until(
        &format!("pid {parent} to start a child"),
        LIMIT,
        || match children_of(parent)[..] {
            [child] => Some(child),
            _ => None,
        },
    )
}

/// Sends `signal` to `pid`.
fn send(pid: i32, signal: Signal) {
    kill(Pid::from_raw(pid), signal).unwrap_or_else(|error| panic!("kill {pid} {signal}: {error}"));
}

/// Waits until agentpipe has exited, without collecting its output (a test that checks what its
/// descendants do afterwards).
fn wait_exit(run: &mut Run) -> std::process::ExitStatus {
    wait_until("agentpipe to exit", LIMIT, || run.try_status())
}

/// Starts the command with every signal at its default action (the environment the tests run
/// in may ignore some), before any other set-up given for it.
fn reset_signals(command: &mut Command) {
    before_exec(command, || {
        for number in 1..32 {
            // SAFETY: signal(2) is async-signal-safe; KILL and STOP just fail.
            unsafe { nix::libc::signal(number, nix::libc::SIG_DFL) };
        }
        Ok(())
    });
}

/// Whether `text` names `pid` (as a number of its own, not part of a longer one).
fn mentions_pid(text: &str, pid: i32) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|number| number == pid.to_string())
}

/// Whether the -v timeline in `text` shows the close sequence starting or taking a step.
fn sequence_started(text: &str) -> bool {
    text.contains("close sequence") || text.contains("step ")
}

/// Whether the lines of `text` include one that holds every one of `words`.
fn has_line_with(text: &str, words: &[&str]) -> bool {
    text.lines()
        .any(|line| words.iter().all(|word| line.contains(word)))
}

// ---------------------------------------------------------------------------------------------
// 1. --scope tree: subreaper, descendants that left the group, everything ended before exit
// ---------------------------------------------------------------------------------------------

/// The issue's "done when": `agentpipe --scope tree -- sh -c '(setsid sh -c "trap \"\" TERM; exec
/// sleep 300" &); sleep 1'` leaves nothing behind and exits about --term-grace after the shell.
/// Here the shell ends when told to, rather than after a second.
#[test]
fn tree_scope_ends_a_setsid_escapee_ignoring_term_a_term_grace_after_the_shell() {
    let sandbox = Sandbox::new("tree-escapee");
    script(
        &sandbox,
        "escapee",
        "trap '' TERM\npidfile escapee\nexec sleep 300",
    );
    let command = sandbox.agentpipe(
        &["-v", "--scope", "tree", "--term-grace", "700ms"],
        sh("(setsid sh \"$D/escapee.sh\" &)\npidfile child\nread line\nexit 0"),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = run.sandbox.wait_pid("child");
    let escapee = run.sandbox.wait_pid("escapee");
    assert_ne!(
        session(escapee),
        session(child),
        "the escapee did not setsid"
    );
    // Its parent subshell exited: agentpipe, the subreaper, adopted it.
    wait_parent(escapee, agentpipe, "the escapee");

    run.write(b"go\n");
    let shell_told = Instant::now();
    let done = run.finish();
    done.assert_code(0);
    // The shell exits at once; the escapee ignores TERM and lasts until SIGKILL.
    assert_due(done.since(shell_told), 0.7, "exit after the shell's");
    run.sandbox.assert_gone(&[child, escapee]);
    run.sandbox.assert_nothing_left();
    assert!(
        mentions_pid(&done.stderr, escapee),
        "-v does not name the leftover {escapee}:\n{}",
        done.stderr
    );
}

/// A daemon that double-forked into its own session, ignoring TERM, gets the sequence's stop
/// signal and SIGCONT along with the child, then SIGKILL after --term-grace.
#[test]
fn tree_scope_signals_reach_a_double_forked_daemon_in_another_session() {
    let sandbox = Sandbox::new("tree-daemon");
    // fork (the subshell), setsid, fork again and let the middle process exit: a classic daemon,
    // not a session leader, orphaned, with its stdio detached from agentpipe's pipes.
    script(
        &sandbox,
        "launch",
        "sh \"$D/daemon.sh\" </dev/null >/dev/null 2>&1 &\nexit 0",
    );
    script(
        &sandbox,
        "daemon",
        "trap 'log daemon TERM' TERM\ntrap 'log daemon CONT' CONT\npidfile daemon\nspin",
    );
    let command = sandbox.agentpipe(
        &["--scope", "tree", "--grace", "100ms", "--term-grace", "1s"],
        sh(
            "trap 'log child TERM; exit 7' TERM\n(setsid sh \"$D/launch.sh\" &)\npidfile child\nspin",
        ),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = run.sandbox.wait_pid("child");
    let daemon = run.sandbox.wait_pid("daemon");
    wait_parent(daemon, agentpipe, "the daemon");
    assert_ne!(session(daemon), session(child));
    assert_ne!(
        stat(daemon).unwrap().pgrp,
        child,
        "the daemon is in the child's group"
    );
    assert_ne!(session(daemon), daemon, "the daemon is a session leader");

    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    // wait 0, stdin 100ms, TERM to the child (exits) and the daemon (does not), KILL 1 s later.
    assert_due(done.since(sent), 1.1, "SIGKILL for the daemon");
    let log = run.sandbox.log();
    for line in ["child TERM", "daemon TERM", "daemon CONT"] {
        assert!(log.iter().any(|l| l == line), "no {line:?} in {log:?}");
    }
    run.sandbox.assert_gone(&[child, daemon]);
    run.sandbox.assert_nothing_left();
}

/// A descendant in another session that is stopped when the child exits gets the stop signal
/// and SIGCONT, acts on it, and agentpipe exits as soon as it is gone (not after --term-grace).
#[test]
fn tree_scope_continues_a_stopped_leftover_so_it_acts_on_the_stop_signal() {
    let sandbox = Sandbox::new("tree-stopped");
    script(
        &sandbox,
        "escapee",
        "trap 'log escapee TERM; exit 0' TERM\npidfile escapee\nkill -STOP $$\nspin",
    );
    let command = sandbox.agentpipe(
        &["-v", "--scope", "tree", "--term-grace", "30s"],
        sh("(setsid sh \"$D/escapee.sh\" >/dev/null &)\npidfile child\ncat >/dev/null"),
    );
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    let escapee = run.sandbox.wait_pid("escapee");
    wait_state(escapee, "stopped", |state| state == 'T');

    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_within(done.since(eof), 0.0, 3.0, "exit once the leftover is gone");
    assert_eq!(run.sandbox.log(), ["escapee TERM"]);
    run.sandbox.assert_gone(&[child, escapee]);
    run.sandbox.assert_nothing_left();
}

/// Orphans handed to agentpipe as their subreaper are reaped when they exit, while the child
/// runs on, not left as zombies until the end.
#[test]
fn tree_scope_reaps_adopted_orphans_as_they_exit() {
    let sandbox = Sandbox::new("tree-reap");
    script(
        &sandbox,
        "orphan",
        "pidfile orphan$1\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\nexit 0",
    );
    let command = sandbox.agentpipe(
        &["--scope", "tree"],
        sh(
            "for n in 1 2 3; do (sh \"$D/orphan.sh\" $n >/dev/null &); done\npidfile child\ncat >/dev/null",
        ),
    );
    let run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = Process::of(run.sandbox.wait_pid("child"));
    let orphans: Vec<Process> = (1..=3)
        .map(|n| {
            let pid = run.sandbox.wait_pid(&format!("orphan{n}"));
            let orphan = Process::of(pid);
            wait_parent(pid, agentpipe, "an orphan");
            orphan
        })
        .collect();

    lets_orphans_exit_and_expects_them_reaped(run, &child, &orphans);
}

// ---------------------------------------------------------------------------------------------
// 2. Race-free signalling: the child stays unreaped while its scope lives
// ---------------------------------------------------------------------------------------------

/// While a process of the scope remains, the exited child stays a zombie of agentpipe: neither
/// its pid nor its process-group id can be reused by a stranger that a later signal would hit.
fn exited_child_stays_unreaped_while_the_scope_lives(scope: &str, launch: &str) {
    let sandbox = Sandbox::new(&format!("unreaped-{scope}"));
    script(
        &sandbox,
        "leftover",
        "trap 'log leftover TERM' TERM\npidfile leftover\nspin",
    );
    let command = sandbox.agentpipe(
        &["-v", "--scope", scope, "--term-grace", "30s"],
        // The child exits once the leftover has set its trap.
        sh(&format!(
            "{launch}\nwhile [ ! -e \"$D/leftover.pid\" ]; do sleep 0.01; done\npidfile child\nexit 0"
        )),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = Process::of(run.sandbox.wait_pid("child"));
    let leftover = run.sandbox.wait_pid("leftover");
    // The stop signal reached the leftover after the child exited...
    run.sandbox.wait_log("leftover TERM");
    // ...and the child is still there to be reaped, by agentpipe.
    assert_eq!(child.state(), Some('Z'), "the child was reaped already");
    assert_eq!(stat(child.pid).unwrap().ppid, agentpipe);
    assert!(run.sandbox.live(leftover), "the leftover is gone already");
    if scope == "group" {
        assert_eq!(stat(leftover).unwrap().pgrp, child.pid);
    }

    // An interrupt skips to SIGKILL.
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(0);
    assert_within(done.since(sent), 0.0, 1.5, "exit after SIGKILL");
    run.sandbox.assert_gone(&[child.pid, leftover]);
    run.sandbox.assert_nothing_left();
}

#[test]
fn group_scope_keeps_the_exited_leader_unreaped_while_its_group_lives() {
    exited_child_stays_unreaped_while_the_scope_lives(
        "group",
        "sh \"$D/leftover.sh\" >/dev/null &",
    );
}

#[test]
fn tree_scope_keeps_the_exited_child_unreaped_while_a_descendant_lives() {
    exited_child_stays_unreaped_while_the_scope_lives(
        "tree",
        "(setsid sh \"$D/leftover.sh\" >/dev/null &)",
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A killed agentpipe leaves no unsupervised child
// ---------------------------------------------------------------------------------------------

/// SIGKILL agentpipe: its child dies of PR_SET_PDEATHSIG; descendants in other sessions (which
/// no death signal reaches) see EOF on the child's stdin and EPIPE on its stdout.
fn sigkill_leaves_no_unsupervised_child(scope: &str) {
    let sandbox = Sandbox::new(&format!("sigkill-{scope}"));
    script(
        &sandbox,
        "reader",
        "pidfile reader\ncat >/dev/null\nlog reader EOF",
    );
    script(
        &sandbox,
        "writer",
        "trap '' PIPE\npidfile writer\nwhile echo tick; do sleep 0.02; done 2>/dev/null\nlog writer EPIPE",
    );
    // An asynchronous list's stdin is /dev/null unless redirected: hand the reader the child's
    // stdin through fd 3.
    let command = sandbox.agentpipe(
        &["--scope", scope],
        sh("exec 3<&0
setsid sh \"$D/reader.sh\" <&3 >/dev/null &
exec 3<&-
setsid sh \"$D/writer.sh\" </dev/null &
pidfile child
exec sleep 300"),
    );
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    let reader = run.sandbox.wait_pid("reader");
    let writer = run.sandbox.wait_pid("writer");
    assert_ne!(session(reader), session(child));
    assert_ne!(session(writer), session(child));
    // The writer's output flows through agentpipe.
    run.wait_stdout("tick\n");
    wait_state(child, "sleeping", |state| state == 'S');

    run.signal(Signal::SIGKILL);
    let status = wait_exit(&mut run);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(Signal::SIGKILL as i32)
    );
    // Nothing but the death signal ends `sleep 300`.
    run.sandbox.wait_gone(child, LIMIT);
    run.sandbox.wait_log("reader EOF");
    run.sandbox.wait_log("writer EPIPE");
    run.sandbox.wait_gone(reader, LIMIT);
    run.sandbox.wait_gone(writer, LIMIT);
    run.sandbox.assert_nothing_left();
    run.finish();
}

#[test]
fn sigkill_of_agentpipe_kills_its_child_and_descendants_see_eof_and_epipe() {
    sigkill_leaves_no_unsupervised_child("group");
}

#[test]
fn sigkill_of_agentpipe_in_tree_scope_kills_its_child_and_descendants_see_eof_and_epipe() {
    sigkill_leaves_no_unsupervised_child("tree");
}

// ---------------------------------------------------------------------------------------------
// 4. Clean children
// ---------------------------------------------------------------------------------------------

/// Every signal agentpipe handles, blocked by its parent.
const BLOCKED: [Signal; 12] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGWINCH,
];

/// The child (here `cat` itself, so that no shell adjusts anything) starts with an empty signal
/// mask and SIGPIPE at its default although agentpipe's parent blocked every signal agentpipe
/// handles; what that parent ignored stays ignored, SIGCHLD included (agentpipe must catch it
/// for itself, and restore it for the child) and the signals agentpipe forwards (QUIT).
#[test]
fn child_is_clean_when_the_parent_blocked_every_handled_signal_and_ignored_chld_and_quit() {
    let sandbox = Sandbox::new("clean-signals");
    let mut command = sandbox.agentpipe(&[], ["cat"]);
    let ignored = [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGCHLD,
    ];
    reset_signals(&mut command);
    ignore_signals(&mut command, &ignored);
    block_signals(&mut command, &BLOCKED);
    let mut run = Run::start(sandbox, command);
    let agentpipe = run.pid();
    let child = only_child(agentpipe);
    // `cat` is running once it has read something.
    run.write(b"ping\n");
    run.wait_stdout("ping\n");

    let status = fs::read_to_string(format!("/proc/{child}/status")).unwrap();
    assert_eq!(
        signal_mask(&status, "SigBlk"),
        0,
        "the child starts with signals blocked:\n{status}"
    );
    let expected: u64 = ignored.iter().map(|&signal| mask_bit(signal)).sum();
    // Standard signals only: the C library keeps some real-time ones for itself.
    let got = signal_mask(&status, "SigIgn") & 0x7fff_ffff;
    assert_eq!(
        got, expected,
        "SigIgn {got:#x}, expected {expected:#x} (SIGPIPE default, the parent's ignored kept)"
    );
    // agentpipe's own SIGPIPE is ignored (Rust's runtime): the child's must not be.
    assert_eq!(got & mask_bit(Signal::SIGPIPE), 0);

    run.close_stdin();
    run.finish().assert_code(0);
    run.sandbox.assert_nothing_left();
}

/// A signal ignored when agentpipe started (nohup, `cmd &`) stays ignored: it starts no
/// sequence.
#[test]
fn signals_ignored_by_the_parent_are_no_trigger() {
    let sandbox = Sandbox::new("ignored-no-trigger");
    let mut command = sandbox.agentpipe(
        &["-v", "--grace", "100ms", "--term-grace", "20s"],
        sh("trap 'log USR1' USR1\ntrap 'log TERM; exit 7' TERM\npidfile child\nspin"),
    );
    ignore_signals(&mut command, &[Signal::SIGHUP, Signal::SIGINT]);
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGHUP);
    run.signal(Signal::SIGINT);
    // Signals are taken in number order: had HUP or INT been caught, they would be acted on
    // before USR1 is forwarded.
    run.signal(Signal::SIGUSR1);
    run.wait_stderr("SIGUSR1");
    run.sandbox.wait_log("USR1");
    let stderr = run.stderr_text();
    assert!(
        !stderr.contains("SIGHUP") && !stderr.contains("SIGINT") && !sequence_started(&stderr),
        "an ignored signal acted on:\n{stderr}"
    );
    assert!(run.try_status().is_none(), "agentpipe exited");

    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(sent), 0.1, "TERM after the grace");
    assert_eq!(run.sandbox.log(), ["USR1", "TERM"]);
    run.sandbox.assert_nothing_left();
}

/// A parent that blocks signals before starting agentpipe (a blocked mask is inherited across
/// exec) must not make agentpipe deaf: it still forwards, and still runs the sequence on
/// SIGTERM.
#[test]
fn signals_blocked_by_the_parent_still_reach_agentpipe() {
    let sandbox = Sandbox::new("blocked-still-work");
    let mut command = sandbox.agentpipe(
        &["--grace", "100ms", "--term-grace", "20s"],
        sh("trap 'log USR1' USR1\ntrap 'log TERM; exit 7' TERM\npidfile child\nspin"),
    );
    block_signals(&mut command, &BLOCKED);
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    run.signal(Signal::SIGUSR1);
    wait_until(
        "agentpipe to forward SIGUSR1 although its parent had blocked it",
        LIMIT,
        || {
            run.sandbox
                .log()
                .contains(&"USR1".to_string())
                .then_some(())
        },
    );
    let sent = run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_code(7);
    assert_due(done.since(sent), 0.1, "TERM after the grace");
    assert_eq!(run.sandbox.log(), ["USR1", "TERM"]);
    run.sandbox.assert_gone(&[child]);
    run.sandbox.assert_nothing_left();
}

// ---------------------------------------------------------------------------------------------
// 5. Forwarding and job control
// ---------------------------------------------------------------------------------------------

/// The prompt of the interactive shell on the pseudo-terminal.
const PROMPT: &str = "ap-test$ ";

/// An interactive `sh -i` on a pseudo-terminal, session leader with the terminal as its
/// controlling terminal: real job control, with keys typed on the master side.
struct Terminal {
    master: File,
    output: Capture,
    shell: Run,
}

impl Terminal {
    fn start(sandbox: Sandbox) -> Terminal {
        let (master, slave) = open_pty();
        let mut command = sandbox.command("sh");
        command
            .arg("-i")
            .env("PS1", PROMPT)
            .env("AGENTPIPE", BIN)
            .env_remove("ENV")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()));
        controlling_tty(&mut command, &slave);
        let shell = Run::start(sandbox, command);
        drop(slave);
        let output = Capture::start("the terminal", master.try_clone().unwrap());
        let terminal = Terminal {
            master,
            output,
            shell,
        };
        terminal.wait_prompts(1);
        terminal
    }

    fn sandbox(&self) -> &Sandbox {
        &self.shell.sandbox
    }

    fn type_in(&mut self, keys: &[u8]) {
        self.master.write_all(keys).expect("write to the terminal");
    }

    fn prompts(&self) -> usize {
        self.output.text().matches(PROMPT).count()
    }

    /// Waits until the shell has shown its prompt `count` times in all.
    fn wait_prompts(&self, count: usize) {
        wait_until(&format!("prompt #{count} on the terminal"), LIMIT, || {
            (self.prompts() >= count).then_some(())
        });
    }

    fn wait_output(&self, needle: &str) {
        self.output.wait_for(needle);
    }

    /// Runs `echo "status=$?"` and returns the status it prints.
    fn last_status(&mut self) -> String {
        let prompts = self.prompts();
        self.type_in(b"echo \"status=$?\"\n");
        self.wait_prompts(prompts + 1);
        let text = self.output.text();
        let start = text.rfind("status=").expect("a status line") + "status=".len();
        text[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    }
}

/// Through a terminal: Ctrl-Z suspends agentpipe and the child's group and gives the prompt
/// back; `fg` resumes both; Ctrl-C reaches agentpipe only (the child is in its own group), whose
/// sequence then ends the child, and the shell sees 130.
#[test]
fn terminal_ctrl_z_fg_and_ctrl_c_through_an_interactive_shell() {
    let sandbox = Sandbox::new("pty-job-control");
    script(
        &sandbox,
        "child",
        "trap 'log child INT' INT\ntrap 'log child TERM; exit 7' TERM
sh \"$D/member.sh\" >/dev/null &
pidfile child\nspin",
    );
    // Another process of the child's group.
    script(&sandbox, "member", "pidfile member\nexec sleep 300");
    let mut terminal = Terminal::start(sandbox);
    terminal.type_in(b"\"$AGENTPIPE\" --grace 100ms --term-grace 20s -- sh \"$D/child.sh\"\n");
    let child = terminal.sandbox().wait_pid("child");
    let member = terminal.sandbox().wait_pid("member");
    let agentpipe = stat(child).expect("the child").ppid;
    assert_ne!(stat(agentpipe).unwrap().pgrp, stat(child).unwrap().pgrp);
    assert_eq!(stat(member).unwrap().pgrp, child);
    let stopped = [
        (agentpipe, "agentpipe"),
        (child, "the child"),
        (member, "the child's group"),
    ];

    let prompts = terminal.prompts();
    terminal.type_in(b"\x1a");
    for (pid, what) in stopped {
        wait_state(pid, &format!("{what} stopped by Ctrl-Z"), |state| {
            state == 'T'
        });
    }
    terminal.wait_prompts(prompts + 1);

    terminal.type_in(b"fg\n");
    for (pid, what) in stopped {
        wait_state(pid, &format!("{what} resumed by fg"), |state| state != 'T');
    }

    let prompts = terminal.prompts();
    terminal.type_in(b"\x03");
    terminal.wait_prompts(prompts + 1);
    assert_eq!(
        terminal.last_status(),
        "130",
        "agentpipe did not die of SIGINT"
    );
    assert_eq!(terminal.sandbox().log(), ["child TERM"]);
    terminal.sandbox().assert_gone(&[agentpipe, child, member]);
}

/// Through a terminal: a child that reads the terminal from its own process group is stopped
/// by SIGTTIN; agentpipe says so in one line suggesting --foreground or BatchMode=yes, and the
/// stopped child still ends when the sequence runs.
#[test]
fn terminal_child_stopped_by_sigttin_gets_a_message_and_still_ends() {
    let sandbox = Sandbox::new("pty-ttin");
    script(
        &sandbox,
        "child",
        "pidfile child\nread line </dev/tty\nlog read \"$line\"",
    );
    let mut terminal = Terminal::start(sandbox);
    terminal.type_in(b"\"$AGENTPIPE\" --grace 100ms --term-grace 20s -- sh \"$D/child.sh\"\n");
    let child = terminal.sandbox().wait_pid("child");
    let agentpipe = stat(child).expect("the child").ppid;
    wait_state(child, "stopped by SIGTTIN", |state| state == 'T');
    terminal.wait_output("BatchMode=yes");
    let text = terminal.output.text();
    assert!(
        has_line_with(&text, &["SIGTTIN", "--foreground", "BatchMode=yes"]),
        "no one-line message about SIGTTIN:\n{text}"
    );
    assert!(stat(agentpipe).is_some_and(|stat| stat.state != 'T'));

    let prompts = terminal.prompts();
    terminal.type_in(b"\x03");
    terminal.wait_prompts(prompts + 1);
    assert_eq!(terminal.last_status(), "130");
    assert!(
        terminal.sandbox().log().is_empty(),
        "{:?}",
        terminal.sandbox().log()
    );
    terminal.sandbox().assert_gone(&[agentpipe, child]);
}

// ---------------------------------------------------------------------------------------------
// 6. PID 1
// ---------------------------------------------------------------------------------------------

/// Whether this machine lets us run a command as PID 1 of a new PID namespace.
pub(crate) fn pid_namespaces() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let ok = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !ok {
            eprintln!(
                "SKIPPED: `unshare --pid --fork --mount-proc` is not available (needs util-linux \
                 and the right to create PID namespaces, e.g. root); PID 1 tests not run"
            );
        }
        ok
    })
}

/// `agentpipe OPTIONS -- COMMAND` as PID 1 of a new PID namespace (with its own /proc).
fn as_pid_1(
    sandbox: &Sandbox,
    options: &[&str],
    command: impl IntoIterator<Item = impl AsRef<std::ffi::OsStr>>,
) -> Command {
    let mut unshare = sandbox.command("unshare");
    unshare
        .args(["--pid", "--fork", "--mount-proc", BIN])
        .args(options)
        .arg("--")
        .args(command);
    unshare
}

/// The pid, outside, of the live process of `sandbox` that has `inner` as its pid in a child
/// PID namespace.
fn outer_pid(sandbox: &Sandbox, inner: i32) -> i32 {
    wait_until(&format!("the outer pid of {inner}"), LIMIT, || {
        sandbox.live_processes().into_iter().find(|&pid| {
            let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
                return false;
            };
            status
                .lines()
                .find_map(|line| line.strip_prefix("NSpid:"))
                .is_some_and(|ids| {
                    let ids: Vec<&str> = ids.split_whitespace().collect();
                    ids.len() >= 2 && ids.last() == Some(&inner.to_string().as_str())
                })
        })
    })
}

/// As a container's init, agentpipe reaps every orphan handed to it while its child runs.
#[test]
fn as_pid_1_it_reaps_the_orphans_handed_to_it() {
    if !pid_namespaces() {
        return;
    }
    let sandbox = Sandbox::new("pid1-reap");
    script(
        &sandbox,
        "orphan",
        "pidfile orphan$1\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\nexit 0",
    );
    let command = as_pid_1(
        &sandbox,
        &[],
        sh(
            "for n in 1 2 3; do (setsid sh \"$D/orphan.sh\" $n >/dev/null &); done\npidfile child\ncat >/dev/null",
        ),
    );
    let run = Run::start(sandbox, command);
    let agentpipe = only_child(run.pid());
    let inner_child = run.sandbox.wait_pid("child");
    let child = Process::of(outer_pid(&run.sandbox, inner_child));
    assert_eq!(stat(child.pid).unwrap().ppid, agentpipe);
    let orphans: Vec<Process> = (1..=3)
        .map(|n| {
            let inner = run.sandbox.wait_pid(&format!("orphan{n}"));
            let pid = outer_pid(&run.sandbox, inner);
            let orphan = Process::of(pid);
            wait_parent(pid, agentpipe, "an orphan");
            orphan
        })
        .collect();

    lets_orphans_exit_and_expects_them_reaped(run, &child, &orphans);
}

/// As PID 1, agentpipe cannot die of a signal it raises on itself: where it should (its child
/// was killed by S, or it was interrupted) it exits 128+S instead of hanging or exiting 0.
#[test]
fn as_pid_1_it_exits_128_plus_s_instead_of_dying_by_the_signal() {
    if !pid_namespaces() {
        return;
    }
    for (signal, code) in [("TERM", 143), ("KILL", 137), ("USR1", 138)] {
        let sandbox = Sandbox::new(&format!("pid1-{signal}"));
        let command = as_pid_1(&sandbox, &[], sh(&format!("kill -{signal} $$")));
        let mut run = Run::start(sandbox, command);
        let done = run.finish();
        // unshare exits with its child's code, and dies by its child's signal.
        done.assert_code(code);
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn as_pid_1_an_interrupted_agentpipe_exits_130() {
    if !pid_namespaces() {
        return;
    }
    let sandbox = Sandbox::new("pid1-int");
    let command = as_pid_1(
        &sandbox,
        &["--grace", "100ms", "--term-grace", "20s"],
        eof_logger(EXIT_ON_TERM),
    );
    let mut run = Run::start(sandbox, command);
    let agentpipe = only_child(run.pid());
    run.sandbox.wait_pid("child");
    send(agentpipe, Signal::SIGINT);
    let done = run.finish();
    done.assert_code(130);
    assert_eq!(run.sandbox.log(), ["EOF", "TERM"]);
    run.sandbox.assert_nothing_left();
}

/// Tells the orphans to exit ("go"), then checks that agentpipe reaped each while its child still
/// runs, and that closing its stdin then ends everything.
fn lets_orphans_exit_and_expects_them_reaped(mut run: Run, child: &Process, orphans: &[Process]) {
    File::create(run.sandbox.path("go")).unwrap();
    for orphan in orphans {
        orphan.wait_reaped("an orphan that exited");
    }
    assert!(run.try_status().is_none(), "agentpipe exited early");
    assert!(
        child.state().is_some_and(|state| state != 'Z'),
        "the child ended"
    );

    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    run.sandbox.assert_nothing_left();
}
