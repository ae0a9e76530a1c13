//! Where `--report` and `--trace` go: agentpipe's own stderr (`-`) or a file.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;

/// Where `--report` or `--trace` goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// `-`: agentpipe's own stderr.
    Stderr,
    /// A file, created or truncated.
    File(PathBuf),
}

impl Destination {
    /// The flag's value: `-` or a path.
    pub fn parse(value: OsString) -> Result<Destination, String> {
        Ok(match value.to_str() {
            Some("-") => Destination::Stderr,
            Some("") => return Err("give a file path, or - for stderr".to_string()),
            _ => Destination::File(PathBuf::from(value)),
        })
    }

    /// Writes `bytes` at once: to stderr in one write, or to the file, created or truncated.
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stderr => io::stderr().lock().write_all(bytes),
            Destination::File(path) => std::fs::write(path, bytes),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Stderr => f.write_str("stderr"),
            Destination::File(path) => write!(f, "'{}'", path.display()),
        }
    }
}
