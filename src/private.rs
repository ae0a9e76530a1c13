//! Files only their user reads: a trace or a report holds whatever the protocol carries
//! (tokens, prompts, answers). In a directory other users can write to and whose sticky bit
//! keeps them from removing each other's files (/tmp), a path may have been prepared by someone
//! else: a symlink planted there would make agentpipe write the victim's own file, and a file
//! another user created there stays theirs whatever agentpipe writes into it. Both are refused.
//! Elsewhere a file is created with mode 0600, or truncated and narrowed to 0600.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::libc;

/// Opens `path` for writing without waiting (a FIFO without a reader fails at once), refusing
/// what the module documentation says; a regular file is then narrowed to 0600 and truncated.
pub fn open(path: &Path) -> io::Result<File> {
    let shared = in_shared_directory(path);
    let nofollow = if shared { libc::O_NOFOLLOW } else { 0 };
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | nofollow)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(libc::ELOOP) if shared => symlink_refused(),
            Some(libc::ENXIO) => io::Error::new(
                error.kind(),
                "no process reads it (a FIFO needs a reader when agentpipe writes)",
            ),
            _ => error,
        })?;
    let meta = file.metadata()?;
    if meta.is_file() {
        if shared && meta.uid() != euid() {
            return Err(owner_refused(meta.uid()));
        }
        // Where its owner may: root writing another user's file narrows it too.
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
        file.set_len(0)?;
    }
    Ok(file)
}

/// The refusals of [`open`], looked for without opening: what is checked at start for a file
/// that is written only at exit, so that a path prepared by someone else fails before anything
/// runs (status 125). [`open`] checks again, since the path may change meanwhile.
pub fn check(path: &Path) -> io::Result<()> {
    if !in_shared_directory(path) {
        return Ok(());
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(symlink_refused()),
        Ok(meta) if meta.is_file() && meta.uid() != euid() => Err(owner_refused(meta.uid())),
        _ => Ok(()),
    }
}

/// The user agentpipe writes as.
fn euid() -> u32 {
    // SAFETY: geteuid takes nothing and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether the directory `path` is in lets other users create files there that they keep: it
/// is world-writable and sticky, as /tmp is.
fn in_shared_directory(path: &Path) -> bool {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::metadata(parent)
        .is_ok_and(|meta| meta.mode() & 0o1000 != 0 && meta.mode() & 0o002 != 0)
}

fn symlink_refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "it is a symbolic link in a directory other users can write to, which agentpipe never \
         writes through; give a path of your own",
    )
}

fn owner_refused(uid: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "it belongs to another user (uid {uid}) in a directory other users can write to, who \
             could read what agentpipe writes; remove it or give another path"
        ),
    )
}
