//! How the command line starts its command (on Linux, a spawn of agentpipe's own, in its memory):
//! the program found as execvp(3) finds it, a file without a `#!` line run by /bin/sh, the
//! arguments and environment passed as they are, the child a direct child in its own group.
//! The child's set-up (signal mask and dispositions, descriptors, parent-death signal, group,
//! terminal, cgroup) is tested where each is: processes.rs, containment/, pty.rs, exit_status.rs.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

fn write_program(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A sandbox with three PATH directories: `first` holds a non-executable `tool` and a directory
/// named `prog`, `second` a directory `tool` and an executable `prog`, `third` an executable
/// `tool`.
fn path_dirs(sandbox: &Sandbox) -> String {
    let dirs = ["first", "second", "third"].map(|dir| sandbox.path(dir));
    for dir in &dirs {
        fs::create_dir(dir).unwrap();
    }
    write_program(&dirs[0].join("tool"), "#!/bin/sh\necho wrong\n", 0o644);
    fs::create_dir(dirs[0].join("prog")).unwrap();
    fs::create_dir(dirs[1].join("tool")).unwrap();
    write_program(
        &dirs[1].join("prog"),
        "#!/bin/sh\necho prog \"$0\" \"$@\"\n",
        0o755,
    );
    write_program(
        &dirs[2].join("tool"),
        "#!/bin/sh\necho tool \"$@\"\n",
        0o755,
    );
    let dirs = dirs.map(|dir| dir.display().to_string());
    format!("{}:/usr/bin:/bin", dirs.join(":"))
}

#[test]
fn path_is_searched_as_execvp_does_passing_over_what_cannot_be_executed() {
    let sandbox = Sandbox::new("spawn-path");
    let path = path_dirs(&sandbox);
    let mut command = sandbox.agentpipe(&[], ["tool", "a b", ""]);
    command.env("PATH", &path);
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "tool a b \n", "stderr: {}", done.stderr);

    // argv[0] is the name as given, not the file found.
    let sandbox = Sandbox::new("spawn-path-prog");
    let mut command = sandbox.agentpipe(&[], ["prog", "x"]);
    command.env("PATH", path_dirs(&sandbox));
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert!(
        done.stdout_text().starts_with("prog ") && done.stdout_text().ends_with("/prog x\n"),
        "{}",
        done.stdout_text()
    );
}

#[test]
fn a_name_found_in_path_only_as_what_cannot_run_exits_126_and_a_missing_one_127() {
    let sandbox = Sandbox::new("spawn-denied");
    let dir = sandbox.path("bin");
    fs::create_dir(&dir).unwrap();
    write_program(&dir.join("plain"), "echo never\n", 0o644);
    fs::create_dir(dir.join("folder")).unwrap();
    for (name, code, said) in [
        ("plain", 126, "permission denied"),
        ("folder", 126, "it is a directory"),
        ("agentpipe-test-nowhere", 127, "not found"),
    ] {
        let case = Sandbox::new("spawn-denied-case");
        let mut command = case.agentpipe(&[], [name]);
        command.env("PATH", &dir);
        let done = Run::start(case, command).finish();
        done.assert_code(code);
        done.assert_one_error_line();
        assert!(done.stderr.contains(said), "{name}: {}", done.stderr);
        assert!(done.stdout.is_empty());
    }
}

#[test]
fn without_path_the_default_path_is_searched() {
    let sandbox = Sandbox::new("spawn-no-path");
    let mut command = sandbox.agentpipe(&[], ["echo", "found"]);
    command.env_remove("PATH");
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout_text(), "found\n");
}

#[test]
fn a_file_without_a_hash_bang_line_is_run_by_the_shell_with_its_arguments() {
    let sandbox = Sandbox::new("spawn-no-hash-bang");
    let script = sandbox.path("script");
    write_program(&script, "echo \"from sh: $0 $1 $2\"\nexit 3\n", 0o755);
    let command = sandbox.agentpipe(&[], [script.to_str().unwrap(), "one", "two"]);
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(3);
    assert_eq!(
        done.stdout_text(),
        format!("from sh: {} one two\n", script.display())
    );
}

#[test]
fn the_command_is_a_direct_child_in_its_own_group_with_agentpipes_environment() {
    let sandbox = Sandbox::new("spawn-child");
    let mut command = sandbox.agentpipe(
        &[],
        sh("echo \"$AGENTPIPE_TEST_SPAWN\"\npidfile child\nexec cat"),
    );
    command.env("AGENTPIPE_TEST_SPAWN", "passed on");
    let mut run = Run::start(sandbox, command);
    let child = run.sandbox.wait_pid("child");
    run.wait_stdout("passed on\n");
    let stat = stat(child).expect("the child runs");
    assert_eq!(stat.ppid, run.pid(), "agentpipe's own child");
    assert_eq!(stat.pgrp, child, "a group of its own");
    run.close_stdin();
    run.finish().assert_code(0);
    run.sandbox.assert_nothing_left();
}
