//! agentpipe: run a child process behind pipes and end it with a graceful-then-forceful close
//! sequence (wait, close its stdin, signal, SIGKILL), always reaping it.
//!
//! The library's entry point is [`Stream`]: a child seen as a byte stream (`Read` from its
//! stdout, `Write` to its stdin) whose [`close`](Stream::close) guarantees, when it returns, that
//! the child has terminated and every handle is closed, and says how it went ([`Outcome`]). The
//! `agentpipe` command line drives the same event loop and close sequence with its own stdin and
//! stdout.
//!
//! # Quick start
//!
//! A client of an agent that speaks a line protocol on stdio (an MCP server, say): start it, send
//! a request, read the answer, close it.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::process::Command;
//! use agentpipe::{Config, Exit, Stream};
//!
//! // A stand-in server: answers one line, then waits for its stdin to end.
//! let mut command = Command::new("sh");
//! command.args(["-c", r#"read request; echo "{\"answer\":42}"; cat >/dev/null"#]);
//! let mut stream = Stream::spawn(&mut command)?;
//! stream.write_all(b"{\"question\":\"?\"}\n")?;
//! let mut answer = String::new();
//! BufReader::new(&stream).read_line(&mut answer)?;
//! assert_eq!(answer, "{\"answer\":42}\n");
//! // wait 0s, stdin 1s, TERM 1s, KILL: the server exits at the end of its input.
//! let outcome = stream.close(&Config::default())?;
//! assert_eq!(outcome.exit, Exit::Code(0));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`Config`] chooses the close sequence ([`Sequence`]: `"stdin 5s, TERM 2s, KILL".parse()`)
//! and how long descendants' output is still read after the child exits; [`StreamOptions`]
//! chooses the child's stderr, a trace, idle timeouts and the [`Scope`] of processes the
//! sequence ends.
//!
//! # Features
//!
//! - `cli` (default): the `agentpipe` program, with its argument parser and JSON report
//!   (clap, anyhow, serde, serde_json). A library user turns it off:
//!   `agentpipe = { version = "0.1", default-features = false }` builds on nix alone
//!   (windows-sys on Windows).
//! - `json` (part of `cli`): [`TraceFormat::JsonLines`], written by serde_json, and
//!   [`Protocol`], the JSON-RPC framings (MCP, LSP), whose messages serde_json reads.
//! - `tokio`: `agentpipe::tokio::Stream`, the same stream for an async program (below); it adds
//!   tokio (with its `net`, `rt` and `time` features) and nothing else:
//!   `agentpipe = { version = "0.1", default-features = false, features = ["tokio"] }`.
//!
//! # With tokio
//!
//! `agentpipe::tokio::Stream` is to [`Stream`] what `tokio::process` is to `std::process`:
//! `AsyncRead` from the child's stdout, `AsyncWrite` to its stdin (`shutdown` closes it), halves
//! two tasks can own, and an `async` close that runs the same sequence, driven by the same state
//! machine, without ever blocking a runtime thread.
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::process::Command;
//! use agentpipe::{Config, Exit};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! let mut command = Command::new("sh");
//! command.args(["-c", r#"read request; echo "{\"answer\":42}"; cat >/dev/null"#]);
//! let mut stream = agentpipe::tokio::Stream::spawn(&mut command)?;
//! stream.write_all(b"{\"question\":\"?\"}\n").await?;
//! let mut lines = BufReader::new(stream);
//! let mut answer = String::new();
//! lines.read_line(&mut answer).await?;
//! assert_eq!(answer, "{\"answer\":42}\n");
//! let outcome = lines.into_inner().close(&Config::default()).await?;
//! assert_eq!(outcome.exit, Exit::Code(0));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! # Dropping a stream
//!
//! Dropping a [`Stream`] that was not closed runs the default close sequence before `drop`
//! returns: the caller waits (up to about 2 s for a child that ignores SIGTERM) rather than
//! leave a child running that nobody reaps. See [`Stream`] for why. A tokio stream's drop
//! returns at once and leaves the sequence to the runtime (see `agentpipe::tokio`).

#![warn(missing_docs)]
// Without the command line, its parts of the event loop, the relay and the platform layer (its
// own stdin and stdout, the parent watch, the signal source) are compiled but unused. Dead code
// is found in the full build, which has every user; this one is a subset of it.
// Likewise the threaded front end (Windows), which has no terminal, no forwarded signals and no
// --protocol yet: the vocabulary of those is compiled and unused there.
#![cfg_attr(
    any(not(feature = "cli"), agentpipe_threads),
    allow(dead_code, unused_imports)
)]

#[cfg(feature = "cli")]
mod cli;
mod config;
mod direction;
mod duration;
#[cfg(feature = "cli")]
mod exit_status;
mod hook;
mod machine;
mod outcome;
mod parse_error;
mod platform;
#[cfg(feature = "json")]
mod protocol;
#[cfg(feature = "cli")]
mod report;
mod rfc3339;
mod scope;
mod sequence;
mod signals;
mod timeline;
mod trace;

// The writer that never blocks and the files only their user reads, each front end's own way
// (the trace and the timeline above them are shared).
#[cfg(agentpipe_poll)]
mod outlet;
#[cfg(agentpipe_threads)]
#[path = "outlet/threaded.rs"]
mod outlet;
#[cfg(agentpipe_poll)]
mod private;
#[cfg(agentpipe_threads)]
#[path = "private/threaded.rs"]
mod private;

// The front end of every Unix: one readiness wait over the relay's descriptors (the front end
// is chosen by src/platform/build.rs).
#[cfg(agentpipe_poll)]
mod duplex;
#[cfg(agentpipe_poll)]
mod event_loop;
#[cfg(agentpipe_poll)]
mod poller;
#[cfg(agentpipe_poll)]
mod process;
#[cfg(agentpipe_poll)]
mod relay;
#[cfg(agentpipe_poll)]
mod stderr;
#[cfg(agentpipe_poll)]
mod stream;
#[cfg(all(feature = "tokio", agentpipe_poll))]
pub mod tokio;

// The front end of Windows: a thread per direction, the child in a Job Object.
#[cfg(agentpipe_threads)]
mod threaded;

#[cfg(test)]
mod proptests;

pub use config::Config;
pub use duration::parse_limit;
pub use outcome::{Bytes, CommandRun, Exit, Outcome, TakenStep, Trigger, Unanswered};
pub use parse_error::{ParseError, ParseErrorKind};
#[cfg(feature = "json")]
pub use protocol::Protocol;
pub use scope::{CgroupUsage, Scope, Unseen};
pub use sequence::{Action, Limit, Sequence, Step};
pub use signals::Signal;
#[cfg(agentpipe_poll)]
pub use stream::{Closer, Stream, StreamOptions};
#[cfg(agentpipe_threads)]
pub use threaded::{Closer, Stream, StreamOptions};
pub use trace::{Trace, TraceFormat};

/// The `agentpipe` program (src/main.rs), which is the command line's only user: not part of
/// the library's API, and absent without the `cli` feature. The command line stays private to
/// the crate because it drives the event loop, the report and the timeline, which the library
/// does not expose.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub fn __cli_main() -> ! {
    cli::main()
}

/// The program's entry where it starts without the standard library's runtime (src/main.rs):
/// what of that runtime agentpipe needs, then [`__cli_main`]. Not part of the library's API.
#[cfg(all(feature = "cli", agentpipe_own_start))]
#[doc(hidden)]
pub fn __cli_start() -> std::ffi::c_int {
    platform::ignore_sigpipe();
    // As the runtime's start: a panic (said by the panic hook) ends the program with 101.
    match std::panic::catch_unwind(|| cli::main()) {
        Ok(never) => never,
        Err(_) => std::process::exit(101),
    }
}

/// The program's allocator (src/main.rs installs it): out of memory ends the command's scope and
/// exits 125 with one line, instead of aborting. Not part of the library's API.
#[cfg(all(feature = "cli", agentpipe_poll))]
#[doc(hidden)]
pub use cli::oom::FailClosed as __CliAllocator;
