//! Failing closed: every exit recognised, no wait at exit that a signal cannot break, no process
//! left behind by a composition of rules, and private trace and report files.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use nix::sys::signal::Signal;

/// The report agentpipe wrote to `$D/NAME`.
fn report(sandbox: &Sandbox, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(sandbox.path(name)).expect("the report was written");
    serde_json::from_str(&text).expect("the report is JSON")
}

#[test]
fn a_child_killed_by_a_real_time_signal_ends_the_run_by_the_same_signal_in_every_scope() {
    for (scope, number, name) in [
        ("child", 34, "SIGRTMIN"),
        ("group", 40, "SIGRTMIN+6"),
        ("tree", 64, "SIGRTMAX"),
    ] {
        let sandbox = Sandbox::new("rt-exit");
        let report_path = sandbox.path_str("report.json");
        let script = format!("kill -{number} $$");
        let options = ["--scope", scope, "-v", "--report", &report_path];
        let mut command = sandbox.agentpipe(&options, ["sh", "-c", &script]);
        command.stdin(Stdio::null());
        let mut run = Run::start(sandbox, command);
        let done = run.finish_within(Duration::from_secs(5));
        assert_eq!(
            done.status.signal(),
            Some(number),
            "{scope}: {}",
            done.stderr
        );
        assert!(!done.status.core_dumped());
        assert!(
            done.stderr.contains(&format!("killed by {name}")),
            "{}",
            done.stderr
        );
        let report = report(&run.sandbox, "report.json");
        assert_eq!(report["exit"]["signal"], name, "{report}");
        assert_eq!(report["exit"]["status"], 128 + number, "{report}");
        run.sandbox.assert_nothing_left();
    }
}

#[test]
fn a_run_step_killed_by_a_real_time_signal_is_reported_as_killed_by_it() {
    let sandbox = Sandbox::new("rt-run");
    let report_path = sandbox.path_str("report.json");
    let options = [
        "--sequence",
        "run \"kill -34 $$\" 1s, KILL",
        "--report",
        &report_path,
    ];
    let command = sandbox.agentpipe(&options, sh("trap '' TERM; pidfile child; exec sleep 20"));
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    let report = report(&run.sandbox, "report.json");
    let step = &report["commands"][0];
    assert_eq!(step["signal"], "SIGRTMIN", "{report}");
    assert_eq!(step["ended"], false, "{report}");
}

/// A pipe whose write end is full and whose read end nobody reads: (read end, write end).
fn full_pipe() -> (std::fs::File, std::fs::File) {
    let (reader, writer) = pipe();
    let fd = std::os::fd::AsFd::as_fd(&writer);
    let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).expect("flags");
    let nonblocking = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(nonblocking)).expect("O_NONBLOCK");
    while nix::unistd::write(fd, &[0; 4096]).is_ok() {}
    nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::from_bits_truncate(flags)),
    )
    .expect("blocking again");
    (reader, writer)
}

#[test]
fn a_report_to_a_stderr_nobody_reads_is_given_up_within_a_bound_and_the_status_stands() {
    let sandbox = Sandbox::new("report-unread-stderr");
    let (_reader, writer) = full_pipe();
    let mut command = sandbox.agentpipe(&["--report", "-"], ["sh", "-c", "exit 3"]);
    command.stdin(Stdio::null()).stderr(writer);
    let mut run = Run::start(sandbox, command);
    let done = run.finish_within(Duration::from_secs(5));
    done.assert_code(3);
}

#[test]
fn a_report_to_a_fifo_without_a_reader_is_one_line_and_the_status_stands() {
    let sandbox = Sandbox::new("report-fifo");
    let fifo = sandbox.path("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let fifo = fifo.to_str().expect("UTF-8").to_string();
    let mut command = sandbox.agentpipe(&["--report", &fifo], ["sh", "-c", "exit 3"]);
    command.stdin(Stdio::null());
    let mut run = Run::start(sandbox, command);
    let done = run.finish_within(Duration::from_secs(5));
    done.assert_code(3);
    done.assert_one_error_line();
    assert!(
        done.stderr.contains("no process reads it"),
        "{}",
        done.stderr
    );
}

#[test]
fn a_trace_on_a_full_disk_says_so() {
    let mut run = Run::agentpipe(
        "trace-full",
        &["--trace", "/dev/full"],
        ["sh", "-c", "echo hi"],
    );
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "hi\n");
    done.assert_one_error_line();
    assert!(
        done.stderr.contains("the trace stopped early"),
        "{}",
        done.stderr
    );
}

#[test]
fn end_with_parent_refuses_with_one_line_when_the_parent_is_init_or_agentpipe_is_pid_1() {
    if !crate::containment::pid1::pid_namespaces() {
        return;
    }
    let sandbox = Sandbox::new("end-with-parent-init");
    // sh is PID 1 of the namespace, and agentpipe's parent: what an orphan is handed to.
    let script = format!("{BIN} --end-with-parent -- sleep 20; echo status $?");
    for (inner, wanted) in [
        (
            vec!["sh", "-c", script.as_str()],
            "its parent is already init",
        ),
        (
            vec![BIN, "--end-with-parent", "--", "sleep", "20"],
            "agentpipe is PID 1 here",
        ),
    ] {
        let mut command = sandbox.command("unshare");
        command
            .args(["--pid", "--fork", "--mount-proc"])
            .args(&inner);
        command.stdin(Stdio::null());
        let output = command.output().expect("run unshare");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("agentpipe: ") && stderr.contains(wanted),
            "{stderr}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let refused = stdout.contains("status 125") || output.status.code() == Some(125);
        assert!(refused, "{stdout} {:?}", output.status);
    }
    sandbox.assert_nothing_left();
}

/// A directory of the sandbox that any user can write to, sticky as /tmp is.
fn shared_directory(sandbox: &Sandbox) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = sandbox.path("shared");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    dir
}

#[test]
fn a_trace_or_report_prepared_by_another_user_in_a_shared_directory_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { nix::libc::geteuid() } != 0 {
        eprintln!("SKIPPED: giving a file to another user needs root");
        return;
    }
    let sandbox = Sandbox::new("private-files");
    let dir = shared_directory(&sandbox);
    let theirs = dir.join("theirs");
    std::fs::write(&theirs, "").expect("create");
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("chown to nobody");
    let victim = sandbox.path("victim");
    std::fs::write(&victim, "keep me\n").expect("victim");
    let link = dir.join("link");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    for flag in ["--trace", "--report"] {
        for path in [&theirs, &link] {
            let path = path.to_str().expect("UTF-8");
            let command = sandbox.agentpipe(&[flag, path], ["sh", "-c", "echo ran"]);
            let mut run = Run::start(Sandbox::new("private-run"), command);
            let done = run.finish();
            done.assert_code(125);
            done.assert_one_error_line();
            assert_eq!(done.stdout_text(), "", "nothing ran");
        }
    }
    let meta = std::fs::metadata(&theirs).expect("still there");
    assert_eq!(
        (meta.uid(), meta.len()),
        (65534, 0),
        "their file is untouched"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    // A file of one's own there is narrowed to 0600.
    let mine = dir.join("mine");
    std::fs::write(&mine, "old").expect("create");
    std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let path = mine.to_str().expect("UTF-8");
    let command = sandbox.agentpipe(&["--trace", path], ["true"]);
    Run::start(Sandbox::new("private-mine"), command)
        .finish()
        .assert_code(0);
    assert_eq!(std::fs::metadata(&mine).unwrap().mode() & 0o777, 0o600);
}

/// The lowest descriptor number `pid` has free: the next one it would open.
fn lowest_free_fd(pid: i32) -> u64 {
    let open: Vec<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("list the descriptors")
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|fd| !open.contains(fd)).expect("a free number")
}

/// Lowers the descriptor limit of the running `pid` so that it can open nothing more.
fn exhaust_descriptors(pid: i32) {
    limit_descriptors(pid, lowest_free_fd(pid));
}

#[test]
fn bytes_a_trace_skips_for_want_of_a_descriptor_say_so_not_a_slow_destination() {
    let sandbox = Sandbox::new("trace-untapped");
    let trace = sandbox.path_str("trace");
    // It runs on after its output, so that the output is spliced (and teed), not drained; and
    // the output is a stream (1 MiB, more than the relay's copy buffer takes at once), since
    // small transfers are copied, not spliced, and need no pipe to be traced.
    let script = "pidfile child; while [ ! -e \"$D/go\" ]; do sleep 0.01; done; \
                  head -c 1048576 /dev/zero; echo hello; cat >/dev/null";
    let options = ["--scope", "child", "--trace", &trace];
    // stdin stays open: no descriptor of agentpipe's closes while the limit is computed.
    let command = sandbox.agentpipe(&options, sh(script));
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    exhaust_descriptors(run.pid());
    std::fs::write(run.sandbox.path("go"), "").expect("go");
    run.wait_stdout("hello");
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout.len(), 1_048_576 + 6);
    assert!(done.stdout.ends_with(b"hello\n"));
    let text = std::fs::read_to_string(&trace).expect("the trace");
    assert!(
        text.contains("could not create the pipe that copies them"),
        "{text}"
    );
    assert!(!text.contains("slower than the relay"), "{text}");
}

#[test]
fn with_sequence_the_signal_lines_name_its_steps_not_the_flags_it_refuses() {
    let sequence = ["--sequence", "stdin 0s, TERM 300ms, KILL"];
    let command = sh("trap '' TERM; pidfile child; exec sleep 20");
    let mut run = Run::agentpipe("sequence-words", &sequence, command);
    run.sandbox.wait_pid("child");
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    let kill_line = done
        .stderr_lines()
        .into_iter()
        .find(|line| line.contains("sent SIGKILL"));
    let kill_line = kill_line.unwrap_or_else(|| panic!("no SIGKILL line: {}", done.stderr));
    assert!(
        kill_line.contains("(step 2 of --sequence waits 300ms)"),
        "{kill_line}"
    );
    assert!(!done.stderr.contains("--term-grace") && !done.stderr.contains("--grace"));
}

#[test]
fn nested_agentpipes_with_defaults_leave_nothing_alive_after_one_sigterm_to_the_outermost() {
    let sandbox = Sandbox::new("nested");
    let script = "trap '' TERM\nsleep 20 &\necho $! > \"$D/sleep.tmp\" && mv \"$D/sleep.tmp\" \
                  \"$D/sleep.pid\"\npidfile command\nwait";
    let mut inner = vec![BIN.to_string(), "--".into(), BIN.into(), "--".into()];
    inner.extend(sh(script));
    let command = sandbox.agentpipe(&[], inner);
    let mut run = Run::start(sandbox, command);
    let sleep = run.sandbox.wait_pid("sleep");
    let shell = run.sandbox.wait_pid("command");
    run.signal(Signal::SIGTERM);
    let done = run.finish();
    // Every level ends by its command's SIGKILL, and dies by it.
    assert_eq!(
        done.status.signal(),
        Some(Signal::SIGKILL as i32),
        "{}",
        done.stderr
    );
    run.sandbox.assert_gone(&[shell, sleep]);
    run.sandbox.assert_nothing_left();
}

/// The address space `pid` has mapped now, in bytes.
fn address_space(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmSize:"))
        .expect("VmSize");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("kB");
    kib * 1024
}

#[test]
fn out_of_memory_ends_the_scope_says_one_line_and_exits_125_without_a_core() {
    out_of_memory_in("group", "");
}

#[test]
fn out_of_memory_under_tree_or_cgroup_ends_what_left_the_group_too() {
    if !have_tools("out of memory under tree", &["setsid"]) {
        return;
    }
    for scope in ["tree", "cgroup"] {
        if scope == "cgroup" && !crate::fail_closed_scope::cgroup_scope() {
            continue;
        }
        out_of_memory_in(scope, "setsid");
    }
}

#[test]
fn a_stderr_tail_is_reserved_at_start_and_grows_nothing_under_a_memory_limit() {
    let sandbox = Sandbox::new("tail-reserved");
    let script = "pidfile child\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\n\
                  head -c 4000000 /dev/zero >&2\nexit 3";
    let options = ["--stderr-tail", "1M", "--stderr", "null"];
    let mut command = sandbox.agentpipe(&options, sh(script));
    command.stdin(Stdio::null());
    let mut run = Run::start(sandbox, command);
    run.sandbox.wait_pid("child");
    limit_address_space(run.pid());
    std::fs::write(run.sandbox.path("go"), "").expect("go");
    let done = run.finish();
    done.assert_code(3);
    assert!(!done.stderr.contains("out of memory"), "{}", done.stderr);
}

/// Lowers the address space of the running `pid` to what it has mapped now and 64 KiB more.
fn limit_address_space(pid: i32) {
    let limit = address_space(pid) + 64 * 1024;
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--as={limit}:{limit}")])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit failed");
}

/// The command's output makes agentpipe's trace records under an address-space limit set after
/// start (the stderr tail asked for is reserved at start, and takes nothing more): the
/// allocation that fails ends the scope, a background sleep (`detach`ed: in a session of its
/// own) included.
fn out_of_memory_in(scope: &str, detach: &str) {
    let sandbox = Sandbox::new("oom");
    let script = format!(
        "{detach} sh -c 'echo $$ > \"$D/sleep.tmp\" && mv \"$D/sleep.tmp\" \"$D/sleep.pid\"; \
         exec sleep 20' &\n\
         pidfile child\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done\n\
         head -c 4000000 /dev/urandom\nhead -c 4000000 /dev/zero >&2\nwait"
    );
    let trace = sandbox.path_str("trace");
    let options = [
        "--scope",
        scope,
        "--stderr-tail",
        "1M",
        "--stderr",
        "null",
        "--trace",
        &trace,
    ];
    let mut command = sandbox.agentpipe(&options, sh(&script));
    command.stdin(Stdio::null());
    let mut run = Run::start(sandbox, command);
    let sleep = run.sandbox.wait_pid("sleep");
    let child = run.sandbox.wait_pid("child");
    // Room for what it holds now, not for the trace records it makes as output comes.
    limit_address_space(run.pid());
    std::fs::write(run.sandbox.path("go"), "").expect("go");
    let done = run.finish();
    done.assert_code(125);
    assert!(!done.status.core_dumped());
    done.assert_one_error_line();
    assert!(done.stderr.contains("out of memory"), "{}", done.stderr);
    for pid in [child, sleep] {
        run.sandbox.wait_gone(pid, Duration::from_secs(5));
    }
    let left = crate::fail_closed_scope::cgroups_of(run.pid());
    assert!(left.is_empty(), "{scope}: cgroups left behind: {left:?}");
    run.sandbox.assert_nothing_left();
}
