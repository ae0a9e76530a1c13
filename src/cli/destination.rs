//! Where `--report` and `--trace` go: agentpipe's own stderr (`-`) or a file.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::PathBuf;

#[cfg(agentpipe_poll)]
use crate::outlet::{Outlet, own_stderr};
#[cfg(agentpipe_poll)]
use crate::private;

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

    /// Writes `bytes` at exit, without blocking and within a bound: through agentpipe's stderr
    /// outlet (in order with its lines), or to the file, created or truncated (a FIFO without a
    /// reader fails at once); see [`Outlet::write_at_exit`]. Signals keep their meaning
    /// meanwhile, since nothing waits longer than the bound.
    #[cfg(agentpipe_poll)]
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stderr => own_stderr().write_at_exit(bytes),
            Destination::File(path) => {
                let file = private::open(path)?;
                Outlet::new(file.into(), bytes.len(), true).write_at_exit(bytes)
            }
        }
    }

    /// Writes `bytes` at once: the threaded front end has no outlet, nor private files, yet.
    #[cfg(agentpipe_threads)]
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        match self {
            Destination::Stderr => io::stderr().lock().write_all(bytes),
            Destination::File(path) => std::fs::write(path, bytes),
        }
    }

    /// At start: the refusals of a file written only at exit (see `private::check`; none on
    /// the threaded front end yet).
    pub fn check(&self) -> io::Result<()> {
        #[cfg(agentpipe_poll)]
        if let Destination::File(path) = self {
            return private::check(path);
        }
        Ok(())
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
