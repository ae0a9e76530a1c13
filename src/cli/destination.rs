//! Where `--report` and `--trace` go: agentpipe's own stderr (`-`) or a file.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::outlet::{Outlet, own_stderr};
use crate::private;
use crate::report::Start;
use crate::trace::{Recorder, Trace};

use super::Cli;

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
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stderr => own_stderr().write_at_exit(bytes),
            Destination::File(path) => {
                let file = private::open(path)?;
                Outlet::new(file, bytes.len(), true).write_at_exit(bytes)
            }
        }
    }

    /// At start: the refusals of a file written only at exit (see `private::check`).
    pub fn check(&self) -> io::Result<()> {
        match self {
            Destination::File(path) => private::check(path),
            Destination::Stderr => Ok(()),
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

/// The trace `--trace` asks for, recording from agentpipe's start: the same records on every
/// front end.
pub(super) fn trace(cli: &Cli, start: Start) -> Result<Option<Recorder>> {
    let trace = match &cli.trace {
        None => return Ok(None),
        Some(Destination::Stderr) => Trace::own_stderr(),
        Some(Destination::File(path)) => Trace::create(path).with_context(|| {
            format!(
                "cannot open --trace file '{}'; check the path and its permissions (a FIFO needs a reader)",
                path.display()
            )
        })?,
    };
    let trace = trace
        .format(cli.trace_format.format())
        .limit(cli.trace_limit);
    Ok(Some(Recorder::new(trace, start.instant, start.time)))
}
