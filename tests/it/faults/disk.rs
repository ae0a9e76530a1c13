//! A full disk behind `--stderr`, as stdout, and behind `--report`.

use super::*;

#[test]
fn a_full_disk_behind_stderr_fails_the_childs_writes_only() {
    let mut run = start(
        "stderr-full",
        &["-v", "--stderr", "/dev/full"],
        sh("if echo to-stderr >&2; then echo stderr-wrote; else echo stderr-failed; fi\nexec cat"),
    );
    let _watchdog = watch(&run);
    run.wait_stdout("stderr-failed\n");
    fault();
    let data = binary_data(1 << 20);
    run.write(&data);
    run.close_stdin();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert!(done.stdout[b"stderr-failed\n".len()..] == data[..]);
    // agentpipe's own messages still reach its own stderr.
    assert!(done.stderr.contains("agentpipe ["), "{}", done.stderr);
    tally("stderr on /dev/full");
}

/// A 64 KiB tmpfs mounted in the sandbox, unmounted (lazily) when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: std::path::PathBuf) -> Option<SmallDisk> {
        fs::create_dir_all(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0755", "agentpipe-test"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_tmpfs_behind_stderr_fails_the_childs_writes_only() {
    if !have_tools("a full tmpfs", &["mount", "umount"]) {
        return;
    }
    let sandbox = Sandbox::new("stderr-tmpfs");
    let Some(disk) = SmallDisk::mount(sandbox.path("small")) else {
        return skipped(
            "a full tmpfs",
            "cannot mount a tmpfs here (the /dev/full test covers a full disk)",
        );
    };
    let log = disk.0.join("child.log");
    let data = binary_data(1 << 20);
    fs::write(sandbox.path("data"), &data).unwrap();
    let command = sandbox.agentpipe(
        &["-v", "--stderr", log.to_str().unwrap()],
        sh("head -c 1048576 \"$D/data\" >&2\necho \"head: $?\"\nexec cat"),
    );
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    run.wait_stdout("head: 1\n");
    fault();
    run.write(&data);
    run.close_stdin();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(0);
    assert!(done.stdout[b"head: 1\n".len()..] == data[..]);
    let logged = fs::metadata(&log).unwrap().len();
    assert!(logged <= 64 * 1024, "{logged} bytes on a 64 KiB disk");
    assert!(done.stderr.contains("agentpipe ["), "{}", done.stderr);
    drop(disk);
    tally("stderr on a full tmpfs");
}

#[test]
fn a_full_disk_as_stdout_is_a_closed_output() {
    let sandbox = Sandbox::new("stdout-full");
    let report = sandbox.path_str("report.json");
    let mut command = sandbox.agentpipe(&["--report", &report], ["sh", "-c", "exec yes"]);
    command.stdout(File::options().write(true).open("/dev/full").unwrap());
    let mut run = Run::start(sandbox, command);
    let _watchdog = watch(&run);
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_signal(Signal::SIGPIPE);
    let report = read_report(&run.sandbox);
    assert!(
        report.at("trigger").str() == "downstream-closed",
        "{report}"
    );
    tally("stdout on /dev/full");
}

#[test]
fn a_full_disk_behind_report_is_said_and_the_status_stands() {
    let mut run = Run::agentpipe(
        "report-full",
        &["--report", "/dev/full"],
        ["sh", "-c", "exit 3"],
    );
    let _watchdog = watch(&run);
    fault();
    let done = run.finish();
    assert_no_panic(&done);
    done.assert_code(3);
    let lines = done.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", done.stderr);
    assert!(
        lines[0].starts_with("agentpipe: cannot write report"),
        "{}",
        done.stderr
    );
    tally("report on /dev/full");
}
