//! A real transport: an OpenSSH server started by each test on 127.0.0.1 (a free port, a
//! throwaway host key and user key in the sandbox, stopped by pid), and agentpipe wrapping the
//! client: a relay through `ssh ... cat` with exact bytes, a remote command that ignores EOF and
//! TERM, `git push` and `git clone` with `GIT_SSH_COMMAND`, `rsync -e` copying a tree, and the
//! reason of a failing ssh in the report's stderr tail.
//!
//! When sshd, ssh, git or rsync is missing, the tests fail under CI (`CI` set: `.ci/run`
//! installs them) and are skipped with a message elsewhere ([`have_tools`]).

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::robust::Watchdog;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const SSHD: &str = "/usr/sbin/sshd";

/// How long a whole test may take before its processes (the server's and the client's: every
/// process of the test carries its server's tag or is a child of one that does) are killed.
const TEST_LIMIT: Duration = Duration::from_secs(150);

/// A watchdog over the server of a test, its sessions and the remote commands (see
/// [`Watchdog`]); local clients end with their connections.
fn watch(sshd: &Sshd) -> Watchdog {
    let test = std::thread::current()
        .name()
        .unwrap_or("transport")
        .to_string();
    Watchdog::arm(&test, &[&sshd.sandbox.tag], TEST_LIMIT)
}

/// How long one ssh, git or rsync command may take.
const TRANSPORT_LIMIT: Duration = Duration::from_secs(60);

/// An sshd of this test: its own keys, config and port; stopped (by pid) when dropped, and the
/// sessions' processes with it (they carry the sandbox's tag through `SetEnv`).
struct Sshd {
    child: Child,
    stderr: Capture,
    port: u16,
    key: PathBuf,
    sandbox: Sandbox,
}

impl Sshd {
    fn start(name: &str) -> Sshd {
        let sandbox = Sandbox::new(name);
        let dir = &sandbox.dir;
        for key in ["host_key", "user_key"] {
            let status = Command::new("ssh-keygen")
                .args([
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "agentpipe-test",
                    "-f",
                ])
                .arg(dir.join(key))
                .stdin(Stdio::null())
                .status()
                .expect("run ssh-keygen");
            assert!(status.success(), "ssh-keygen failed");
        }
        fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
        // sshd insists on its privilege separation directory.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd (run the tests as root)");
        let config = format!(
            "ListenAddress 127.0.0.1\n\
             HostKey {dir}/host_key\n\
             PidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/authorized_keys\n\
             PermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             StrictModes no\n\
             UsePAM no\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             MaxStartups 100\n\
             SetEnv {TAG_VAR}={tag} D={dir}\n",
            dir = dir.display(),
            tag = sandbox.tag,
        );
        fs::write(dir.join("sshd_config"), config).unwrap();

        // A free port, by asking the kernel for one; another process may take it before sshd
        // binds it, so a bind failure tries another.
        for _ in 0..10 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let mut command = sandbox.command(SSHD);
            command
                .args(["-D", "-e", "-f"])
                .arg(dir.join("sshd_config"))
                .args(["-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null());
            let mut child = command.spawn().expect("start sshd");
            let stderr = Capture::start("sshd stderr", child.stderr.take().unwrap());
            let listening = format!("Server listening on 127.0.0.1 port {port}.");
            let started = wait_until("sshd to listen or exit", LIMIT, || {
                if stderr.text().contains(&listening) {
                    return Some(true);
                }
                match child.try_wait() {
                    Ok(None) => None,
                    Ok(Some(_)) | Err(_) => Some(false),
                }
            });
            if started {
                return Sshd {
                    child,
                    stderr,
                    port,
                    key: dir.join("user_key"),
                    sandbox,
                };
            }
            let _ = child.wait();
            if !stderr.text().contains("Address already in use") {
                panic!("sshd did not start:\n{}", stderr.text());
            }
        }
        panic!("no free port for sshd after 10 tries");
    }

    /// The ssh client's options, without the destination.
    fn ssh_options(&self) -> Vec<String> {
        [
            "-F",
            "/dev/null",
            "-i",
            self.key.to_str().unwrap(),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=20",
            "-p",
            &self.port.to_string(),
        ]
        .map(String::from)
        .to_vec()
    }

    /// `ssh OPTIONS root@127.0.0.1 REMOTE...`.
    fn ssh(&self, remote: &[&str]) -> Vec<String> {
        let mut argv = vec!["ssh".to_string()];
        argv.extend(self.ssh_options());
        argv.push("root@127.0.0.1".into());
        argv.extend(remote.iter().map(|word| word.to_string()));
        argv
    }

    /// `agentpipe OPTIONS -- ssh SSH-OPTIONS` as one command line, for GIT_SSH_COMMAND and
    /// `rsync -e` (no word has a space in it).
    fn wrapped_ssh_command(&self, agentpipe_options: &[&str]) -> String {
        let mut words = vec![BIN.to_string()];
        words.extend(agentpipe_options.iter().map(|word| word.to_string()));
        words.push("--".into());
        words.push("ssh".into());
        words.extend(self.ssh_options());
        assert!(words.iter().all(|word| !word.contains(' ')));
        words.join(" ")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The sandbox, dropped next, kills the sessions and remote commands by their tag.
    }
}

/// Runs `command` (built from `sandbox`) to its end, at most [`TRANSPORT_LIMIT`]; a failure
/// shows the server's log too.
fn run_to_end(sshd: &Sshd, sandbox: Sandbox, command: Command, what: &str) -> Finished {
    let mut run = Run::start(sandbox, command);
    let done = run.finish_within(TRANSPORT_LIMIT);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{what} failed ({:?}):\n{}\nsshd:\n{}",
        done.status,
        done.stderr,
        sshd.stderr.text()
    );
    done
}

/// A git command with no configuration but its own.
fn git(sandbox: &Sandbox, dir: &Path, args: &[&str], ssh_command: &str) -> Command {
    let mut command = sandbox.command("git");
    command
        .current_dir(dir)
        .args([
            "-c",
            "user.name=agentpipe test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.version=2",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_SSH_COMMAND", ssh_command)
        .env_remove("GIT_SSH")
        .env_remove("GIT_SSH_VARIANT")
        .stdin(Stdio::null());
    command
}

fn git_ok(sshd: &Sshd, ssh_command: &str, dir: &Path, args: &[&str], what: &str) -> String {
    let sandbox = Sandbox::new("git");
    let command = git(&sandbox, dir, args, ssh_command);
    run_to_end(sshd, sandbox, command, what).stdout_text()
}

fn report(path: &Path) -> Report {
    Report::read(path)
}

#[test]
fn a_relay_through_ssh_cat_passes_exact_bytes_both_ways() {
    if !have_tools("ssh relay", &[SSHD, "ssh", "ssh-keygen"]) {
        return;
    }
    let sshd = Sshd::start("ssh-relay");
    let _watchdog = watch(&sshd);
    let data = binary_data(8 << 20);
    let sandbox = Sandbox::new("ssh-relay-client");
    let report_path = sandbox.path("report.json");
    let command = sandbox.agentpipe(
        &["--report", report_path.to_str().unwrap()],
        sshd.ssh(&["cat"]),
    );
    let mut run = Run::start(sandbox, command);
    run.write(&data);
    run.close_stdin();
    let done = run.finish_within(TRANSPORT_LIMIT);
    done.assert_code(0);
    assert_eq!(done.stdout.len(), data.len(), "bytes lost or added");
    assert!(done.stdout == data, "the bytes differ");
    let report = report(&report_path);
    assert_eq!(report.at("trigger").str(), "eof", "{report}");
    drop(sshd);
}

#[test]
fn a_failing_ssh_leaves_its_reason_in_the_reports_stderr_tail() {
    if !have_tools("ssh stderr tail", &[SSHD, "ssh", "ssh-keygen"]) {
        return;
    }
    let sshd = Sshd::start("ssh-stderr-tail");
    let _watchdog = watch(&sshd);
    let sandbox = Sandbox::new("ssh-stderr-tail-client");
    let report_path = sandbox.path("report.json");
    let mut ssh = vec!["ssh".to_string()];
    ssh.extend(sshd.ssh_options());
    ssh.extend(["agentpipe-no-such-user@127.0.0.1".into(), "true".into()]);
    let options = [
        "--stderr-tail",
        "4k",
        "--report",
        report_path.to_str().unwrap(),
    ];
    let command = sandbox.agentpipe(&options, ssh);
    // stdin stays open: agentpipe ends when ssh does.
    let mut run = Run::start(sandbox, command);
    let done = run.finish_within(TRANSPORT_LIMIT);
    done.assert_code(255);
    let reason = "Permission denied (publickey)";
    assert!(done.stderr.contains(reason), "{}", done.stderr);
    let report = report(&report_path);
    assert!(report.at("stderr_tail").str().contains(reason), "{report}");
    drop(sshd);
}

/// `sh -c` text for the remote side: ignores TERM and HUP, keeps its stdin open without ever
/// reading it (so EOF does nothing), says it is ready, and sleeps; its pid goes to
/// `$D/NAME.pid`.
fn stubborn_remote(name: &str) -> String {
    format!("trap '' TERM HUP; echo $$ > \"$D/{name}.pid\"; echo ready; exec sleep 1000")
}

#[test]
fn a_remote_command_ignoring_eof_and_term_does_not_hang_the_wrapper_past_its_sequence() {
    if !have_tools("stubborn remote", &[SSHD, "ssh", "ssh-keygen"]) {
        return;
    }
    let sshd = Sshd::start("ssh-stubborn");
    let _watchdog = watch(&sshd);
    let remote = stubborn_remote("remote");
    let sandbox = Sandbox::new("ssh-stubborn-client");
    let command = sandbox.agentpipe(
        &["--sequence", "stdin 500ms, TERM 500ms, KILL"],
        sshd.ssh(&[&remote]),
    );
    let mut run = Run::start(sandbox, command);
    run.wait_stdout("ready\n");
    let eof = run.close_stdin();
    let done = run.finish();
    // ssh ends on TERM (status 255): the stdin step waited its 500 ms, the TERM step ended it.
    assert_within(done.since(eof), 0.45, 0.5 + 0.5 + 1.5, "exit after EOF");
    assert!(
        done.status.code() == Some(255) || done.status.signal().is_some(),
        "{:?}: {}",
        done.status,
        done.stderr
    );
    // The remote command is still there: ssh carries no signal. (It goes with the sandbox.)
    let remote_pid = sshd.sandbox.wait_pid("remote");
    assert!(sshd.sandbox.live(remote_pid));
}

#[test]
fn an_ssh_that_ignores_term_too_is_killed_at_the_end_of_the_sequence() {
    if !have_tools("stubborn ssh", &[SSHD, "ssh", "ssh-keygen"]) {
        return;
    }
    let sshd = Sshd::start("ssh-stubborn-kill");
    let _watchdog = watch(&sshd);
    let remote = stubborn_remote("remote");
    // ssh keeps TERM ignored when it starts with it ignored: only SIGKILL ends it.
    let mut script = String::from("trap '' TERM; exec");
    for word in sshd.ssh(&[&remote]) {
        script.push_str(&format!(" '{}'", word.replace('\'', r"'\''")));
    }
    let sandbox = Sandbox::new("ssh-stubborn-kill-client");
    let report_path = sandbox.path("report.json");
    let command = sandbox.agentpipe(
        &[
            "--sequence",
            "stdin 400ms, TERM 400ms, KILL",
            "--report",
            report_path.to_str().unwrap(),
        ],
        ["sh", "-c", &script],
    );
    let mut run = Run::start(sandbox, command);
    run.wait_stdout("ready\n");
    let eof = run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    assert_within(done.since(eof), 0.75, 0.8 + 1.5, "exit after EOF");
    let report = report(&report_path);
    let steps = report.steps();
    // (action, the signal it sent when that matters)
    for step in [("stdin", None), ("signal", Some("SIGTERM")), ("kill", None)] {
        assert!(
            steps.iter().any(|(_, action, signal)| action == step.0
                && step
                    .1
                    .is_none_or(|wanted| signal.as_deref() == Some(wanted))),
            "{step:?} missing: {report}"
        );
    }
}

#[test]
fn agentpipe_on_the_remote_side_too_bounds_the_remote_command() {
    if !have_tools("remote agentpipe", &[SSHD, "ssh", "ssh-keygen"]) {
        return;
    }
    let sshd = Sshd::start("ssh-remote-agentpipe");
    let _watchdog = watch(&sshd);
    let dir = sshd.sandbox.dir.to_str().unwrap().to_string();
    fs::write(
        sshd.sandbox.path("agent.sh"),
        stubborn_remote("remote") + "\n",
    )
    .unwrap();
    // The remote shell gets: BIN --sequence '...' -- sh DIR/agent.sh
    let remote = format!("{BIN} --sequence 'stdin 300ms, TERM 300ms, KILL' -- sh {dir}/agent.sh");
    let sandbox = Sandbox::new("ssh-remote-agentpipe-client");
    let command = sandbox.agentpipe(&["--grace", "5s"], sshd.ssh(&[&remote]));
    let mut run = Run::start(sandbox, command);
    run.wait_stdout("ready\n");
    let remote_pid = sshd.sandbox.wait_pid("remote");
    let eof = run.close_stdin();
    let done = run.finish();
    // The EOF crosses ssh; the remote agentpipe runs its sequence to SIGKILL, then the session
    // ends and ssh with it, well within the local 5 s grace.
    assert_within(done.since(eof), 0.55, 0.6 + 2.0, "exit after EOF");
    assert!(
        !sshd.sandbox.live(remote_pid),
        "the remote command outlived its agentpipe"
    );
    assert_eq!(done.status.code(), Some(255), "{}", done.stderr);
}

#[test]
fn git_push_and_clone_through_agentpipe_as_git_ssh_command() {
    if !have_tools("git over ssh", &[SSHD, "ssh", "ssh-keygen", "git"]) {
        return;
    }
    let sshd = Sshd::start("git");
    let _watchdog = watch(&sshd);
    let dir = sshd.sandbox.dir.clone();
    let reports = dir.join("reports");
    fs::create_dir(&reports).unwrap();
    let ssh_command = sshd.wrapped_ssh_command(&[
        "--eof-grace",
        "inf",
        "--report",
        &format!("{}/git-$$.json", reports.display()),
    ]);
    // GIT_SSH_COMMAND goes through a shell: each agentpipe writes its own report.
    let git = |dir: &Path, args: &[&str], what: &str| git_ok(&sshd, &ssh_command, dir, args, what);
    let remote_url = format!("root@127.0.0.1:{}/remote.git", dir.display());
    git(&dir, &["init", "-q", "--bare", "remote.git"], "git init");

    let work = dir.join("work");
    git(&dir, &["init", "-q", "work"], "git init work");
    fs::write(work.join("README"), "agentpipe over ssh\n").unwrap();
    fs::create_dir(work.join("data")).unwrap();
    fs::write(work.join("data/blob.bin"), binary_data(3 << 20)).unwrap();
    git(&work, &["add", "-A"], "git add");
    git(&work, &["commit", "-q", "-m", "first"], "git commit");
    git(&work, &["push", "-q", &remote_url, "main"], "git push");
    let head = git(&work, &["rev-parse", "HEAD"], "rev-parse");
    let pushed = git(
        &dir,
        &["--git-dir", "remote.git", "rev-parse", "main"],
        "rev-parse remote",
    );
    assert_eq!(head.trim(), pushed.trim(), "the push did not arrive");

    git(&dir, &["clone", "-q", &remote_url, "clone"], "git clone");
    let clone = dir.join("clone");
    assert_eq!(
        fs::read(clone.join("data/blob.bin")).unwrap(),
        binary_data(3 << 20)
    );
    git(&clone, &["fsck", "--strict"], "git fsck");

    // A second push from the clone: an incremental pack, then the answer after EOF.
    fs::write(clone.join("data/more.bin"), binary_data(1 << 20)).unwrap();
    git(&clone, &["add", "-A"], "git add");
    git(&clone, &["commit", "-q", "-m", "second"], "git commit");
    git(&clone, &["push", "-q", "origin", "main"], "git push 2");
    git(
        &work,
        &["pull", "-q", "--ff-only", &remote_url, "main"],
        "git pull",
    );
    assert_eq!(
        fs::read(work.join("data/more.bin")).unwrap(),
        binary_data(1 << 20)
    );

    // Every transport went through agentpipe, and each ended with ssh's own exit 0.
    let runs: Vec<Report> = fs::read_dir(&reports)
        .unwrap()
        .flatten()
        .map(|entry| report(&entry.path()))
        .collect();
    assert!(
        runs.len() >= 4,
        "only {} agentpipe runs: {runs:?}",
        runs.len()
    );
    for run in &runs {
        assert_eq!(run.at("exit.code").opt_number(), Some(0.0), "{run}");
    }
}

/// Files, directories, links and modes under `root`, with their contents, for comparison.
fn tree(root: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let path = entry.path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.push((name, format!("link -> {}", target.display())));
            } else if meta.is_dir() {
                out.push((name, format!("dir {mode:o}")));
                walk(root, &path, out);
            } else {
                let bytes = fs::read(&path).unwrap();
                let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
                for byte in &bytes {
                    hash = (hash ^ *byte as u64).wrapping_mul(0x100_0000_01b3);
                }
                out.push((name, format!("file {mode:o} {} {hash:x}", bytes.len())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn rsync_through_agentpipe_copies_a_tree_intact() {
    if !have_tools("rsync over ssh", &[SSHD, "ssh", "ssh-keygen", "rsync"]) {
        return;
    }
    let sshd = Sshd::start("rsync");
    let _watchdog = watch(&sshd);
    let dir = sshd.sandbox.dir.clone();
    let source = dir.join("src");
    for sub in ["a/b/c", "empty", "d e", "ünï"] {
        fs::create_dir_all(source.join(sub)).unwrap();
    }
    fs::write(source.join("zero"), b"").unwrap();
    fs::write(source.join("one"), b"1").unwrap();
    fs::write(source.join("a/text"), "line\n".repeat(10_000)).unwrap();
    fs::write(source.join("a/b/c/blob"), binary_data(5 << 20)).unwrap();
    fs::write(source.join("d e/f g"), binary_data(70_001)).unwrap();
    fs::write(source.join("ünï/ñ"), "unicode\n").unwrap();
    let script = source.join("a/run.sh");
    fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(source.join("one"), fs::Permissions::from_mode(0o600)).unwrap();
    symlink("a/b/c/blob", source.join("link")).unwrap();
    symlink("/nonexistent/target", source.join("dangling")).unwrap();

    let remote_shell = sshd.wrapped_ssh_command(&[]);
    let rsync = |from: String, to: String, extra: &[&str]| {
        let sandbox = Sandbox::new("rsync-run");
        let mut command = sandbox.command("rsync");
        command
            .args(["-a", "--checksum"])
            .args(extra)
            .args(["-e", &remote_shell, &from, &to])
            .stdin(Stdio::null());
        run_to_end(&sshd, sandbox, command, &format!("rsync {from} {to}"));
    };
    let remote = |path: &str| format!("root@127.0.0.1:{}/{path}", dir.display());
    let local = |path: &str| format!("{}/{path}", dir.display());

    // Push, then pull back: both ways through agentpipe.
    rsync(local("src/"), remote("dst/"), &[]);
    assert_eq!(tree(&dir.join("dst")), tree(&source), "push");
    rsync(remote("dst/"), local("back/"), &[]);
    assert_eq!(tree(&dir.join("back")), tree(&source), "pull");

    // An update: changed, added and deleted files, sent as deltas.
    let mut blob = binary_data(5 << 20);
    blob[1 << 20] ^= 0xff;
    fs::write(source.join("a/b/c/blob"), &blob).unwrap();
    fs::write(source.join("new"), binary_data(12_345)).unwrap();
    fs::remove_file(source.join("a/text")).unwrap();
    rsync(local("src/"), remote("dst/"), &["--delete"]);
    assert_eq!(tree(&dir.join("dst")), tree(&source), "update");
}
