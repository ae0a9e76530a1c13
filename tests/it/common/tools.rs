//! Scenarios that need a program agentpipe does not bring (python3, sshd, unshare): under CI a
//! missing one fails the test, since CI installs every such program (`.ci/run`); elsewhere the
//! scenario is skipped with a message on stderr, so that a machine without it still runs the
//! rest. What no install provides (root, the right to create namespaces or mount) is only ever
//! skipped, with [`skipped`].

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Whether the tests run under CI: `CI` set, and not empty, `false` or `0`. `.ci/run` sets it.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "false" | "0"))
}

/// Whether every one of `tools` is installed: a name found on PATH, or an absolute path. When
/// one is missing, fails the test under CI; elsewhere says on stderr that `test` is skipped,
/// and returns false.
pub fn have_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !installed(tool))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("{test}: {} not installed", missing.join(", "));
    assert!(
        !under_ci(),
        "{message}; CI must install it (see .ci/run's test tools)"
    );
    skipped(test, &format!("{} not installed", missing.join(", ")));
    false
}

/// Says on stderr that `test` (or a part of it) is skipped, and why.
pub fn skipped(test: &str, why: &str) {
    eprintln!("skipped: {test}: {why}");
}

fn installed(tool: &str) -> bool {
    let executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if tool.starts_with('/') {
        return executable(Path::new(tool));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(tool))))
}
