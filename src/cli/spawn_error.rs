//! Why a command could not be started, in words that say what to do.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use nix::libc;

use crate::process::ScopeUnavailable;

/// One line for `error`, the failure to start `program`.
pub(super) fn explain(program: &OsStr, error: &io::Error) -> String {
    // The scope could not be set up (`--scope cgroup` without a cgroup to create): the command
    // is not at fault, and the error says what to do (its status is 125).
    if let Some(scope) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ScopeUnavailable>())
    {
        return scope.to_string();
    }
    let name = program.to_string_lossy();
    let found = locate(program);
    if found.as_deref().is_some_and(Path::is_dir) {
        return format!("cannot run '{name}': it is a directory; give a program to run");
    }
    match error.kind() {
        io::ErrorKind::NotFound => match found.as_deref().and_then(interpreter) {
            Some(interpreter) => format!(
                "cannot run '{name}': its #! line names the interpreter '{interpreter}', which was \
                 not found; install it or fix the #! line"
            ),
            None => not_found(program),
        },
        io::ErrorKind::PermissionDenied => format!(
            "cannot run '{name}': permission denied; check that it is executable (chmod +x) and \
             not on a noexec filesystem"
        ),
        _ if error.raw_os_error() == Some(libc::ENOEXEC) => format!(
            "cannot run '{name}': not a program this system can run; a script needs a #! line"
        ),
        _ => format!("cannot run '{name}': {error}"),
    }
}

/// A program that is not there. PATH is searched only for a name without a slash: a path is
/// taken as it is, a relative one from the current directory.
fn not_found(program: &OsStr) -> String {
    let name = program.to_string_lossy();
    if !program.as_encoded_bytes().contains(&b'/') {
        return format!("cannot run '{name}': not found; check the command name and PATH");
    }
    match std::env::current_dir() {
        Ok(dir) if Path::new(program).is_relative() => format!(
            "cannot run '{name}': no such file in {}; check the path",
            dir.display()
        ),
        _ => format!("cannot run '{name}': no such file; check the path"),
    }
}

/// The file `program` names, as the PATH search would find it.
fn locate(program: &OsStr) -> Option<PathBuf> {
    let path = Path::new(program);
    if program.as_encoded_bytes().contains(&b'/') {
        return path.exists().then(|| path.to_path_buf());
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.exists())
}

/// The interpreter a script's `#!` line names.
fn interpreter(script: &Path) -> Option<String> {
    let mut head = [0; 256];
    let read = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = head[..read].strip_prefix(b"#!")?;
    let line = line.split(|&byte| byte == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    text.split_whitespace().next().map(str::to_string)
}
