//! Files for a trace or a report on the threaded front end (Windows): created, or truncated.
//! The refusals of Unix (a symbolic link or another user's file in a shared sticky directory,
//! mode 0600) are not made here: Windows has no sticky directories, and a new file takes the
//! permissions its directory gives (a user's profile, %TEMP%, is the user's own). Said in the
//! README's platform section.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens `path` for writing, created or truncated.
pub fn open(path: &Path) -> io::Result<File> {
    File::create(path)
}

/// Nothing to refuse before the run (see the module documentation).
pub fn check(_path: &Path) -> io::Result<()> {
    Ok(())
}
